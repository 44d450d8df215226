package example

import (
	"context"
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// The brokers of a StatefulSet have stable names: every Ready pod is published under the
// Service's name, under its own name (web-0.web...), and in the SRV records of the named
// port, exactly. No client pod is named, so the feature starts a probe pod of its own.
func TestWebHasStableNames(t *testing.T) {
	feature := headless.HeadlessServiceFeature("web's pods have stable names", headless.HeadlessFeatureInput{
		Service:    "web",
		Selector:   "app=web",
		Replicas:   2,
		Port:       8080,
		PortName:   "http",
		ProbeImage: os.Getenv("PROBE_IMAGE"), // "": headless.DefaultProbeImage()
	}).WithLabel("area", "example").Feature()
	testenv.Test(t, feature)
}

// createWeb decodes testdata/web.yaml into the namespace, with the StatefulSet's image set.
func createWeb(ctx context.Context, cfg *envconf.Config, image string) error {
	r, err := cfg.NewClient()
	if err != nil {
		return err
	}
	return decoder.DecodeEachFile(ctx, os.DirFS("testdata"), "*.yaml", decoder.CreateHandler(r.Resources()),
		decoder.MutateNamespace(namespace),
		decoder.MutateOption(func(obj k8s.Object) error {
			if s, ok := obj.(*appsv1.StatefulSet); ok {
				s.Spec.Template.Spec.Containers[0].Image = image
			}
			return nil
		}))
}
