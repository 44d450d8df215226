package cluster

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
)

// PublishedNodeImage is the kindest/node image the kind version in go.mod defaults to.
const PublishedNodeImage = defaults.Image

// PublishedNodeVersion is the Kubernetes version of PublishedNodeImage (its tag, "v1.37.0").
func PublishedNodeVersion() string {
	ref, _, _ := strings.Cut(PublishedNodeImage, "@")
	return ref[strings.LastIndex(ref, ":")+1:]
}

// ImageChoice is the node image a cluster is created from, and why, so the log says which of
// the two worlds (kind's published image, or the one built here) a run is in.
type ImageChoice struct {
	Image  string
	Reason string
}

// ImageEnv is what the choice depends on.
type ImageEnv struct {
	Override   string // KIND_NODE_IMAGE
	Offline    bool   // OFFLINE=1: never contact a registry
	LocalImage string // the image `make node-image` builds
	// Present reports whether docker holds an image; Pull fetches one.
	Present func(image string) bool
	Pull    func(image string) error
}

// ErrNoNodeImage means nothing usable is there and nothing may be fetched.
var ErrNoNodeImage = errors.New("no node image")

// ChooseNodeImage picks, in order: KIND_NODE_IMAGE; with OFFLINE=1 the local build (nothing
// here may contact a registry); kind's published image if present or pullable; else the
// local build.
func ChooseNodeImage(e ImageEnv) (ImageChoice, error) {
	if e.Override != "" {
		return ImageChoice{e.Override, "KIND_NODE_IMAGE is set"}, nil
	}
	local := func(why string) (ImageChoice, error) {
		if !e.Present(e.LocalImage) {
			return ImageChoice{}, fmt.Errorf("%w: %s, and the locally built %s is not in docker: run make node-image", ErrNoNodeImage, why, e.LocalImage)
		}
		return ImageChoice{e.LocalImage, why + ": using the node image built here from Debian packages and Go modules"}, nil
	}
	if e.Offline {
		return local("OFFLINE=1")
	}
	if e.Present(PublishedNodeImage) {
		return ImageChoice{PublishedNodeImage, "kind's published node image is present"}, nil
	}
	err := e.Pull(PublishedNodeImage)
	if err == nil {
		return ImageChoice{PublishedNodeImage, "pulled kind's published node image"}, nil
	}
	return local(fmt.Sprintf("kind's published node image could not be pulled (%v)", err))
}
