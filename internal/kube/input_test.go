package kube

import (
	"context"
	"strings"
	"testing"
)

// Every helper checks its Input up front: a zero Input is an error naming the Input, not a
// nil-pointer panic halfway through.
func TestZeroInputsAreErrors(t *testing.T) {
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"DeployInput":        func() error { return Deploy(ctx, DeployInput{}) },
		"ReadinessInput":     func() error { return SetReadiness(ctx, ReadinessInput{}) },
		"ScaleInput":         func() error { _, _, err := Scale(ctx, ScaleInput{}); return err },
		"ServiceLikeInput":   func() error { _, err := CreateServiceLike(ctx, ServiceLikeInput{}); return err },
		"DeleteServiceInput": func() error { return DeleteService(ctx, DeleteServiceInput{}) },
		"NamespaceInput":     func() error { return CreateRestrictedNamespace(ctx, NamespaceInput{}) },
		"ClientPodInput":     func() error { return RunClientPod(ctx, ClientPodInput{}) },
		"WaitStartedInput":   func() error { return WaitStartedAfter(ctx, WaitStartedInput{}) },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(name, "Input")) && !strings.Contains(err.Error(), "From") {
			t.Errorf("%s{}: got %v, want an error naming it (or its From)", name, err)
		}
	}
}
