package harness

import (
	"testing"

	"github.com/headless-e2e/headless-e2e/internal/versions"
)

func TestLabImagesAreTheCoursesOnlineAndOursOffline(t *testing.T) {
	v := versions.MustLoad()
	for _, k := range []string{"HELLO_IMAGE", "CLIENT_IMAGE", "PROBE_IMAGE", "RESOLVERS_IMAGE"} {
		t.Setenv(k, "")
	}
	cases := []struct {
		offline, hello, client string
		want                   LabImages
	}{
		{"", "", "", LabImages{v.CourseHelloImage, v.CourseClientImage, v.ProbeImage, v.ResolversImage}},
		{"true", "", "", LabImages{v.HelloImage, v.ClientImage, v.ProbeImage, v.ResolversImage}},
		{"1", "paulbouwer/hello-kubernetes:1.7", "", LabImages{"paulbouwer/hello-kubernetes:1.7", v.ClientImage, v.ProbeImage, v.ResolversImage}},
		{"no", "my/hello:1", "my/client:1", LabImages{"my/hello:1", "my/client:1", v.ProbeImage, v.ResolversImage}},
	}
	for _, c := range cases {
		t.Setenv("OFFLINE", c.offline)
		t.Setenv("HELLO_IMAGE", c.hello)
		t.Setenv("CLIENT_IMAGE", c.client)
		got, err := LoadLabImages(v)
		if err != nil || got != c.want {
			t.Errorf("OFFLINE=%q HELLO_IMAGE=%q CLIENT_IMAGE=%q: %+v, %v; want %+v", c.offline, c.hello, c.client, got, err, c.want)
		}
	}
	t.Setenv("OFFLINE", "sure")
	if _, err := LoadLabImages(v); err == nil {
		t.Error("OFFLINE=sure: no error")
	}
}
