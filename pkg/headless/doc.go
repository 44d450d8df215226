// Package framework asserts what a Kubernetes headless Service promises, on a real cluster,
// from inside a pod: that its name answers exactly its ready endpoints, that each endpoint
// with a hostname has a name of its own, that SRV and PTR records follow, and how fast all of
// it follows the pods. It is the library behind headless-e2e's suite, bench and lab, and it is
// meant to be imported by other projects' e2e-framework suites: an operator that runs Kafka,
// etcd or Cassandra as a StatefulSet behind a headless Service can assert its own Service with
// HeadlessServiceFeature, from a TestXxx of its own e2e-framework suite (the client pod runs
// headless-e2e's client image, which carries the DNS probe):
//
//	feature := framework.HeadlessServiceFeature("kafka brokers have stable names", framework.HeadlessFeatureInput{
//		Service:   "kafka-headless",
//		Selector:  "app.kubernetes.io/name=kafka",
//		Replicas:  3,
//		Port:      9092,
//		PortName:  "broker",
//		ClientPod: "dns-client",
//	}).WithLabel("area", "discovery").Feature()
//	testenv.Test(t, feature)
//
// It asserts that the Service has no cluster IP, that exactly Replicas pods are Ready, and
// that the EndpointSlices, the Service name, each pod's own name and the SRV records publish
// exactly those pods. ExampleHeadlessServiceFeature compiles it; headless-e2e's own suite runs
// it on the course's Service (TestFrameworkAssertsTheCourseAsALibraryUserWould).
//
// The parts, one place each:
//   - package dns (pkg/dns): how DNS is asked (dns.Query, answered as a structured dns.Answer by the
//     dnsprobe program in the client image) and how an answer is judged (dns.Exactly,
//     dns.Status);
//   - package poll (pkg/poll): the one way to wait, with a deadline and the last state seen;
//   - this package: the Kubernetes side (deploying, pods, Services, EndpointSlices, replacing
//     and scaling pods) and the waits that join both (AwaitDNS, AwaitPublished); and what
//     applications' own resolvers make of it (Resolvers, StartProbe, the Judge* functions and
//     the Matrix): glibc, musl, Go and the JVM, probed from the resolvers image.
//
// Helpers take an Input struct, check it up front, and return errors that name the cause,
// so they serve tests, the bench and command-line tools alike; only the feature builder
// (HeadlessServiceFeature) and the teardown steps (Course's ...Step methods) report to a
// *testing.T themselves.
package headless
