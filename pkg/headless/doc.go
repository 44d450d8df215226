// Package headless asserts what a Kubernetes headless Service promises, on a real cluster, from
// inside a pod: that its name answers exactly its ready endpoints, that each endpoint with a
// hostname has a name of its own, that SRV records follow, and how fast all of it follows the
// pods. It is headless-e2e's library, for other projects' e2e-framework suites: an operator
// that runs Kafka, etcd or Cassandra as a StatefulSet behind a headless Service asserts its own
// Service with HeadlessServiceFeature, from a TestXxx of its own suite:
//
//	feature := headless.HeadlessServiceFeature("web's pods have stable names", headless.HeadlessFeatureInput{
//		Service:  "web",
//		Selector: "app=web",
//		Replicas: 2,
//		Port:     8080,
//		PortName: "http",
//	}).WithLabel("area", "example").Feature()
//	testenv.Test(t, feature)
//
// It asserts that the Service has no cluster IP, that exactly Replicas pods are Ready, and
// that the EndpointSlices, the Service name, each pod's own name and the SRV records publish
// exactly those pods. DNS is asked from a pod that carries the probe (dnsprobe): the ClientPod
// named, or a probe pod the feature starts itself (StartProbePod) and deletes at the end.
// headless-e2e's examples/headless is the complete suite (a TestMain and this feature), and
// its `make test` runs it as it is; its own suite runs the feature on the course's Service.
//
// The parts, one place each:
//   - package dns (pkg/dns): how DNS is asked (dns.Query, answered as a structured dns.Answer
//     by the probe) and how an answer is judged (dns.Exactly, dns.Status);
//   - package poll (pkg/poll): the one way to wait, with a deadline and the last state seen;
//   - this package: the checks on Services and EndpointSlices (Check*), the waits that join
//     them to DNS (AwaitDNS, AwaitPublished, WaitPodsReady), the diagnosis of a Service whose
//     names are wrong (DiagnoseService), and where DNS is asked from (From, Executor,
//     StartProbePod).
//
// IP families: on a dual-stack or IPv6 cluster a pod has an address of each family (PodAddr.IPs)
// and a Service publishes the families in its spec.ipFamilies, A records for IPv4 and AAAA for
// IPv6. The checks hold each family a Service publishes (AwaitPublished reads them, or takes
// PublishedInput.Families), AddressChecks builds one exact check per family, and the diagnosis
// names a Service that lacks a family asked (a SingleStack Service on a dual-stack cluster).
//
// Every helper takes an Input struct and checks it up front, and returns errors that name the
// cause; only the feature builder (HeadlessServiceFeature) reports to a *testing.T itself.
package headless
