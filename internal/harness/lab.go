package harness

import (
	"github.com/headless-e2e/headless-e2e/internal/knobs"
	"github.com/headless-e2e/headless-e2e/internal/versions"
)

// LabImages are the images `make lab` runs: HELLO_IMAGE and CLIENT_IMAGE when set; else the
// course's own online (COURSE_HELLO_IMAGE, COURSE_CLIENT_IMAGE, pulled, as the course note
// runs them) and this project's offline (built here: no registry is reached). The lab's
// checks ask DNS from a probe pod of PROBE_IMAGE, so they work whatever the client carries;
// RESOLVERS_IMAGE is its LAB_RESOLVERS step's, as the suite's.
type LabImages struct {
	Hello, Client, Probe, Resolvers string
}

// LoadLabImages reads the knobs; OFFLINE (a boolean) picks the defaults.
func LoadLabImages(v versions.Versions) (LabImages, error) {
	offline, err := knobs.Bool("OFFLINE")
	if err != nil {
		return LabImages{}, err
	}
	hello, client := v.CourseHelloImage, v.CourseClientImage
	if offline {
		hello, client = v.HelloImage, v.ClientImage
	}
	return LabImages{
		Hello:     envOr("HELLO_IMAGE", hello),
		Client:    envOr("CLIENT_IMAGE", client),
		Probe:     envOr("PROBE_IMAGE", v.ProbeImage),
		Resolvers: envOr("RESOLVERS_IMAGE", v.ResolversImage),
	}, nil
}

// Images maps the images the manifests name to the ones the lab runs, as Settings.Images does
// for the suite.
func (l LabImages) Images(v versions.Versions) map[string]string {
	return manifestImages(v, l.Hello, l.Client, l.Resolvers)
}
