package headless_test

import (
	"testing"

	"github.com/headless-e2e/headless-e2e/pkg/headless"
	"sigs.k8s.io/e2e-framework/pkg/env"
)

var testenv env.Environment

// An operator's own e2e-framework suite asserting its Kafka brokers' headless Service: every
// Ready broker is published under the Service's name, under its own stable name
// (kafka-0.kafka-headless...), and in the SRV records of the named port. The client pod runs
// the headless-e2e client image, which carries the DNS probe. headless-e2e's own suite runs
// this very function on the course's Service (e2e/headless_test.go,
// TestFrameworkAssertsTheCourseAsALibraryUserWould).
func ExampleHeadlessServiceFeature() {
	TestKafkaBrokersHaveStableNames := func(t *testing.T) {
		feature := headless.HeadlessServiceFeature("kafka brokers have stable names", headless.HeadlessFeatureInput{
			Service:   "kafka-headless",
			Selector:  "app.kubernetes.io/name=kafka",
			Replicas:  3,
			Port:      9092,
			PortName:  "broker",
			ClientPod: "dns-client",
		}).WithLabel("area", "discovery").Feature()
		testenv.Test(t, feature)
	}
	_ = TestKafkaBrokersHaveStableNames
}
