package course

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/headless-e2e/headless-e2e/internal/versions"
	"github.com/headless-e2e/headless-e2e/manifests"
)

// The suite and the lab replace images by the names the manifests use: a manifest image no
// knob maps would run as written, and fail to pull offline.
func TestTheManifestsNameTheCourseImagesOfVersionsEnv(t *testing.T) {
	v := versions.MustLoad()
	got, err := ManifestImages(manifests.Headless, "headless/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{v.CourseClientImage, v.CourseHelloImage}; !reflect.DeepEqual(got, want) {
		t.Errorf("manifests/headless name %v, want versions.env's COURSE_CLIENT_IMAGE and COURSE_HELLO_IMAGE %v", got, want)
	}
	got, err = ManifestImages(manifests.Resolvers, "resolvers/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{v.ResolversImage}; !reflect.DeepEqual(got, want) {
		t.Errorf("manifests/resolvers name %v, want RESOLVERS_IMAGE %v", got, want)
	}
}

func TestRenderManifestsReplacesImagesAndKeepsTheRest(t *testing.T) {
	v := versions.MustLoad()
	dir := t.TempDir()
	made, err := RenderManifests(manifests.Headless, "headless/*.yaml", dir, map[string]string{v.CourseHelloImage: v.HelloImage, v.CourseClientImage: v.CourseClientImage})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{v.CourseHelloImage + " -> " + v.HelloImage}; !reflect.DeepEqual(made, want) {
		t.Errorf("replacements %v, want %v", made, want)
	}
	got, err := ManifestImages(os.DirFS(dir), "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{v.HelloImage, v.CourseClientImage}; !reflect.DeepEqual(got, want) {
		t.Errorf("rendered images %v, want %v", got, want)
	}
	orig, _ := manifests.Headless.ReadFile("headless/hello.yaml")
	out, _ := os.ReadFile(filepath.Join(dir, "hello.yaml"))
	if strings.ReplaceAll(string(orig), "image: "+v.CourseHelloImage+"\n", "image: "+v.HelloImage+"\n") != string(out) {
		t.Errorf("rendered hello.yaml differs from the original beyond the image")
	}
}
