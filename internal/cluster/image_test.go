package cluster

import (
	"errors"
	"strings"
	"testing"

	"github.com/headless-e2e/headless-e2e/internal/versions"
)

func TestChooseNodeImage(t *testing.T) {
	const local = "headless-e2e/node:v1.37.2"
	pullFails := func(string) error { return errors.New("dial tcp: no route to host") }
	pullWorks := func(string) error { return nil }
	for name, tc := range map[string]struct {
		env        ImageEnv
		present    string // the one image docker holds
		want       string
		wantReason string
		wantErr    string
	}{
		"override wins":              {env: ImageEnv{Override: "my/node:1", Offline: true}, want: "my/node:1", wantReason: "KIND_NODE_IMAGE"},
		"offline uses local":         {present: local, env: ImageEnv{Offline: true}, want: local, wantReason: "OFFLINE=1"},
		"offline never pulls":        {env: ImageEnv{Offline: true}, wantErr: "run make node-image"},
		"published present":          {present: PublishedNodeImage, env: ImageEnv{Pull: pullFails}, want: PublishedNodeImage, wantReason: "is present"},
		"published pulled":           {env: ImageEnv{Pull: pullWorks}, want: PublishedNodeImage, wantReason: "pulled"},
		"pull fails, local present":  {present: local, env: ImageEnv{Pull: pullFails}, want: local, wantReason: "could not be pulled"},
		"pull fails, nothing at all": {env: ImageEnv{Pull: pullFails}, wantErr: "no route to host"},
	} {
		t.Run(name, func(t *testing.T) {
			e := tc.env
			e.LocalImage = local
			pulled := false
			e.Present = func(img string) bool { return img == tc.present }
			if e.Pull != nil {
				inner := e.Pull
				e.Pull = func(img string) error { pulled = true; return inner(img) }
			} else {
				e.Pull = func(string) error { pulled = true; return errors.New("unexpected pull") }
			}
			got, err := ChooseNodeImage(e)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got.Image != tc.want || !strings.Contains(got.Reason, tc.wantReason) {
				t.Fatalf("got %+v, %v; want %s (%s)", got, err, tc.want, tc.wantReason)
			}
			if tc.env.Offline && pulled {
				t.Fatal("OFFLINE=1 tried to pull")
			}
		})
	}
}

// Online the cluster is kind's published node image, offline the one built here at
// KUBERNETES_VERSION: the patch versions may differ (kind publishes what it was released
// with), the minor must not, or the two paths would test different Kubernetes.
func TestPublishedNodeImageIsTheMinorVersionBuiltHere(t *testing.T) {
	got, want := PublishedNodeVersion(), versions.MustLoad().Kubernetes
	minor := func(v string) string { p := strings.Split(v, "."); return p[0] + "." + p[1] }
	if !strings.HasPrefix(got, "v1.") || minor(got) != minor(want) {
		t.Errorf("kind's published node image is %s (%s), KUBERNETES_VERSION %s: bump one of them", got, PublishedNodeImage, want)
	}
}
