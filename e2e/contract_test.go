package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/internal/course"
	"github.com/headless-e2e/headless-e2e/internal/harness"
	"github.com/headless-e2e/headless-e2e/internal/kube"
	"github.com/headless-e2e/headless-e2e/manifests"
	"github.com/headless-e2e/headless-e2e/pkg/dns"
	"github.com/headless-e2e/headless-e2e/pkg/headless"
)

// The whole DNS contract of a headless Service (kubernetes/dns docs/specification.md, schema
// 1.1.0, section 2.4), and how fast it follows the pods. Each feature is labelled area=contract
// and contract=<part>, and leaves the course's workload (3 Ready pods behind headless-demo, the
// client) as it found it: features run in any order in the same namespace.

const (
	// kubeadm's Corefile turns caching off for cluster.local only: PTR answers (in-addr.arpa)
	// are cached for their 30 s TTL, so a reverse name may lag a change by that much.
	ptrTimeout = 45 * time.Second
	// Per DNS try for names that leave the cluster zone: with upstream unreachable (offline),
	// CoreDNS's forward gives up with SERVFAIL after about 2 s.
	upstreamTimeout = 5 * time.Second
)

func TestContractSRV(t *testing.T) {
	t.Parallel()
	f := features.New(suite.Named("contract: SRV _http._tcp.headless-demo has one record per ready pod (spec 2.4.2)")).
		WithLabel("area", "contract").WithLabel("contract", "srv").
		Assess("exactly one SRV per ready pod, target hello-kubernetes-N.headless-demo.<ns>.svc.<zone>., port 8080: the endpoints' port, where the spec says the Service's (80)", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Spec 2.4.2 says the Service port's number (80). CoreDNS publishes, for a headless
			// Service, the endpoints' port (8080): the one a client can reach, as no proxy
			// translates 80 to it. Asserted as served; the ClusterIP contrast (contract=lb)
			// shows the Service port there.
			pods := harness.Must(suite.Course.AwaitReadyPods(ctx))(t)
			a, _, err := suite.Course.Expect(ctx, dns.Query{Name: suite.Course.SRVName(course.CourseService), Type: "SRV"},
				dns.Exactly("SRV", suite.Course.SRVValues(course.CourseService, pods)...), suite.DNSTimeout())
			for _, r := range a.Records {
				t.Logf("SRV %s", r.Data)
			}
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Assess("each SRV target answers exactly its pod's addresses, in each IP family of the cluster (a client dials the target it picked)", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var checks []headless.DNSCheck
			for _, p := range harness.Must(suite.Course.AwaitReadyPods(ctx))(t) {
				checks = append(checks, suite.Course.Addresses(dns.Query{Name: suite.Course.HostFQDN(p.Name)}, p)...)
			}
			answers, _, err := suite.Course.ExpectAll(ctx, checks, suite.DNSTimeout())
			for _, a := range answers {
				t.Log(a)
			}
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestContractPTR(t *testing.T) {
	t.Parallel()
	b := features.New(suite.Named("contract: each pod IP reverses to its pod's name (spec 2.4.3), IPv4 under in-addr.arpa, IPv6 under ip6.arpa in nibbles")).
		WithLabel("area", "contract").WithLabel("contract", "ptr")
	for _, name := range kube.Ordinals(course.CourseStatefulSet, course.CourseReplicas) {
		b = b.Assess("PTR of each IP of "+name+" answers exactly "+name+".headless-demo.<ns>.svc.<zone>.", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pod := harness.Must(suite.Course.Pod(ctx, name))(t)
			var checks []headless.DNSCheck
			for _, f := range suite.Course.Families {
				reverse := harness.Must(dns.Reverse(pod.IPOf(f)))(t)
				checks = append(checks, headless.DNSCheck{Query: dns.Query{Name: reverse, Type: "PTR"}, Want: dns.Exactly("PTR", suite.Course.HostFQDN(name))})
			}
			answers, _, err := suite.Course.ExpectAll(ctx, checks, ptrTimeout)
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			for _, a := range answers {
				t.Log(a)
			}
			return ctx
		})
	}
	testenv.Test(t, b.Feature())
}

func TestContractReadiness(t *testing.T) {
	t.Parallel()
	const all = "headless-demo-all"
	var victim headless.PodAddr
	var own course.Course // a copy of the course of its own: readiness changes the workload
	c := func() course.Course { return own }
	expect := func(ctx context.Context, t *testing.T, checks ...headless.DNSCheck) {
		t.Helper()
		_, took, err := headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: harness.Must(c().ClientFrom(ctx))(t), Checks: checks, Timeout: suite.DNSTimeout()})
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		t.Logf("%d answers as expected after %s", len(checks), took.Round(time.Millisecond))
	}
	a := func(name string, want dns.Want) headless.DNSCheck {
		return headless.DNSCheck{Query: dns.Query{Name: name}, Want: want}
	}
	addrs := func(name string, pods ...headless.PodAddr) []headless.DNSCheck {
		return c().Addresses(dns.Query{Name: name}, pods...)
	}
	f := features.New(suite.Named("contract: only ready pods are published, unless publishNotReadyAddresses")).
		WithLabel("area", "contract").WithLabel("contract", "readiness").
		Setup(suite.DeployCourseInStep(&own, "readiness")).
		Assess("one pod unready: its IP leaves headless-demo's answer and its SRV, its own name is NXDOMAIN, the others stay", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := harness.Must(c().AwaitReadyPods(ctx))(t)
			victim = pods[1]
			others := []headless.PodAddr{pods[0], pods[2]}
			NewWithT(t).Expect(c().SetReadiness(ctx, []headless.PodAddr{victim}, false)).To(Succeed())
			checks := slices.Concat(addrs(c().FQDN(course.CourseService), others...), addrs(c().HostFQDN(others[0].Name), others[0]), addrs(c().HostFQDN(others[1].Name), others[1]))
			expect(ctx, t, append(checks,
				a(c().HostFQDN(victim.Name), dns.Status("NXDOMAIN")),
				headless.DNSCheck{Query: dns.Query{Name: c().SRVName(course.CourseService), Type: "SRV"}, Want: dns.Exactly("SRV", c().SRVValues(course.CourseService, others)...)})...)
			return ctx
		}).
		Assess("ready again: its IP, its name and its SRV record are back", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			NewWithT(t).Expect(c().SetReadiness(ctx, []headless.PodAddr{victim}, true)).To(Succeed())
			pods := harness.Must(c().AwaitReadyPods(ctx))(t)
			expect(ctx, t, append(slices.Concat(addrs(c().FQDN(course.CourseService), pods...), addrs(c().HostFQDN(victim.Name), victim)),
				headless.DNSCheck{Query: dns.Query{Name: c().SRVName(course.CourseService), Type: "SRV"}, Want: dns.Exactly("SRV", c().SRVValues(course.CourseService, pods)...)})...)
			return ctx
		}).
		Assess("all unready: headless-demo, its SRV name and every pod name are NXDOMAIN", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := harness.Must(c().AwaitReadyPods(ctx))(t)
			NewWithT(t).Expect(c().SetReadiness(ctx, pods, false)).To(Succeed())
			checks := []headless.DNSCheck{
				a(c().FQDN(course.CourseService), dns.Status("NXDOMAIN")),
				{Query: dns.Query{Name: c().SRVName(course.CourseService), Type: "SRV"}, Want: dns.Status("NXDOMAIN")},
			}
			for _, p := range pods {
				checks = append(checks, a(c().HostFQDN(p.Name), dns.Status("NXDOMAIN")))
			}
			expect(ctx, t, checks...)
			return ctx
		}).
		Assess("publishNotReadyAddresses: a second Service (headless-demo-all) answers the 3 unready pods, headless-demo stays NXDOMAIN", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			pods := harness.Must(headless.ListPodsWithIP(ctx, own.Client, own.Namespace, course.CourseSelector))(t)
			g.Expect(headless.Names(pods)).To(Equal(kube.Ordinals(course.CourseStatefulSet, course.CourseReplicas)))
			g.Expect(c().SetReadiness(ctx, pods, false)).To(Succeed())
			_, err := kube.CreateServiceLike(ctx, kube.ServiceLikeInput{
				Client: own.Client, Namespace: own.Namespace, Like: course.CourseService, Name: all,
				Mutate: func(s *corev1.Service) {
					s.Spec.ClusterIP, s.Spec.PublishNotReadyAddresses = corev1.ClusterIPNone, true
				},
			})
			g.Expect(err).NotTo(HaveOccurred())
			// A pod's own name exists only under the Service its spec.subdomain names: the
			// EndpointSlice controller gives headless-demo-all's endpoints no hostname.
			expect(ctx, t, append(addrs(c().FQDN(all), pods...),
				a(c().FQDN(course.CourseService), dns.Status("NXDOMAIN")),
				a(c().HostFQDN(pods[0].Name, all), dns.Status("NXDOMAIN")))...)
			return ctx
		}).
		Teardown(own.DeleteNamespaceStep()).Feature()
	testenv.Test(t, f)
}

func TestContractScale(t *testing.T) {
	t.Parallel()
	var own course.Course // a copy of the course of its own: scaling changes the workload
	scale := func(replicas int, gone []string) func(context.Context, *testing.T, *envconf.Config) context.Context {
		return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			pods, took, err := own.Scale(ctx, replicas)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(headless.Names(pods)).To(Equal(kube.Ordinals(course.CourseStatefulSet, replicas)))
			t.Logf("scaled to %d: %v Ready %s after the scale call", replicas, pods, took.Round(time.Millisecond))
			published, err := headless.AwaitPublished(ctx, own.Published(harness.Must(own.ClientFrom(ctx))(t), pods, gone))
			g.Expect(err).NotTo(HaveOccurred())
			t.Logf("EndpointSlices, A, per-pod names and SRV exact %s after the pods were Ready", published.Round(time.Millisecond))
			return ctx
		}
	}
	f := features.New(suite.Named("contract: scaling 3 -> 5 -> 2, DNS and EndpointSlices follow exactly")).
		WithLabel("area", "contract").WithLabel("contract", "scale").
		Setup(suite.DeployCourseInStep(&own, "scale")).
		Assess("3 -> 5: hello-kubernetes-0..4 published, exactly", scale(5, nil)).
		Assess("5 -> 2: hello-kubernetes-0..1 published, exactly; 2..4 are NXDOMAIN", scale(2, kube.Ordinals(course.CourseStatefulSet, 5)[2:])).
		Teardown(own.DeleteNamespaceStep()).Feature()
	testenv.Test(t, f)
}

func TestContractClientSideBalancing(t *testing.T) {
	t.Parallel()
	const (
		clusterIP = "hello-clusterip"
		requests  = 30
	)
	var clientSide map[string]int
	// A copy of the course of its own: the ClusterIP Service it adds would also add a PTR record
	// for the course's pods, which the PTR feature, running beside it, asserts exactly.
	var own course.Course
	spread := func(ctx context.Context, t *testing.T, balance course.Balancer) ([]course.Reply, map[string]string, []headless.PodAddr) {
		pods := harness.Must(own.AwaitReadyPods(ctx))(t)
		// The primary family's answer: a client dials one address per pod.
		check := own.Addresses(dns.Query{Name: own.FQDN(course.CourseService)}, pods...)[0]
		answer, _, err := own.Expect(ctx, check.Query, check.Want, suite.DNSTimeout())
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		replies := harness.Must(course.Requests(ctx, course.RequestsInput{From: harness.Must(own.ClientFrom(ctx))(t),
			URLs: course.BalancedURLs(balance, answer.Values(check.Query.Type), requests, course.CourseTargetPort, "/?format=json")}))(t)
		byIP := map[string]string{}
		for _, p := range pods {
			byIP[p.IP] = p.Name
		}
		return replies, byIP, pods
	}
	f := features.New(suite.Named("contract: clients balance over a headless Service's answer; kube-proxy balances a ClusterIP")).
		WithLabel("area", "contract").WithLabel("contract", "lb").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var err error
			if own, err = suite.DeployCourseIn(ctx, "lb"); err == nil {
				_, err = kube.CreateServiceLike(ctx, kube.ServiceLikeInput{Client: own.Client, Namespace: own.Namespace, Like: course.CourseService, Name: clusterIP})
			}
			if err != nil {
				t.Error(err) // not Fatal: a failing Setup step would skip the Teardown
			}
			return ctx
		}).
		Assess(fmt.Sprintf("client side: resolve headless-demo, send %d requests round-robin over its IPs: each pod serves exactly %d", requests, requests/3), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			replies, byIP, pods := spread(ctx, t, course.RoundRobin)
			clientSide = course.Tally(replies)
			t.Log(course.FormatTally("client-side round robin over "+course.CourseService+"'s answer", clientSide, headless.Names(pods)))
			NewWithT(t).Expect(course.CheckEvenSpread(replies, byIP)).To(Succeed())
			return ctx
		}).
		Assess("negative control: a client that always dials the first address fails the same check, naming the pod that took every request", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			replies, byIP, pods := spread(ctx, t, course.FirstAddress)
			t.Log(course.FormatTally("first address of "+course.CourseService+"'s answer", course.Tally(replies), headless.Names(pods)))
			err := course.CheckEvenSpread(replies, byIP)
			NewWithT(t).Expect(err).To(MatchError(MatchRegexp(fmt.Sprintf(`pod hello-kubernetes-\d served (0|%d) requests, want exactly %d`, requests, requests/3))))
			t.Logf("reported as: %v", err)
			return ctx
		}).
		Assess("ClusterIP contrast in DNS: hello-clusterip answers its one cluster IP (per family), and one SRV record, the Service itself on port 80", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			svc := harness.Must(own.Client.CoreV1().Services(own.Namespace).Get(ctx, clusterIP, metav1.GetOptions{}))(t)
			NewWithT(t).Expect(svc.Spec.ClusterIPs).To(HaveLen(len(own.Families)), "a copy of the course's Service gets a cluster IP of each family the cluster has")
			checks := []headless.DNSCheck{{Query: dns.Query{Name: own.SRVName(clusterIP), Type: "SRV"}, Want: dns.Exactly("SRV", dns.SRVValue(course.CoursePort, own.FQDN(clusterIP)))}}
			for _, ip := range svc.Spec.ClusterIPs {
				qtype := headless.RecordType(headless.FamilyOf(ip))
				checks = append(checks, headless.DNSCheck{Query: dns.Query{Name: own.FQDN(clusterIP), Type: qtype}, Want: dns.Exactly(qtype, ip)})
			}
			_, _, err := headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: harness.Must(own.ClientFrom(ctx))(t), Timeout: suite.DNSTimeout(), Checks: checks})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Assess(fmt.Sprintf("kube-proxy: %d requests to hello-clusterip by name: all answered, each by one of the 3 pods; its spread is printed", requests), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			from := harness.Must(own.ClientFrom(ctx))(t)
			url := "http://" + clusterIP + "/?format=json"
			// kube-proxy programs a new Service's rules a moment after it exists.
			g.Expect(course.AwaitReply(ctx, course.AwaitReplyInput{From: from, URL: url, Timeout: suite.DNSTimeout()})).To(Succeed())
			replies := harness.Must(course.Requests(ctx, course.RequestsInput{From: from, URLs: course.SameURL(url, requests)}))(t)
			pods := headless.Names(harness.Must(own.AwaitReadyPods(ctx))(t))
			t.Log(course.FormatTally("client-side round robin over "+course.CourseService+"'s answer", clientSide, pods))
			t.Log(course.FormatTally("kube-proxy behind "+clusterIP+" (random per connection)", course.Tally(replies), pods))
			g.Expect(replies).To(HaveLen(requests))
			g.Expect(course.CheckServedBy(replies, pods)).To(Succeed())
			return ctx
		}).
		Teardown(own.DeleteNamespaceStep()).Feature()
	testenv.Test(t, f)
}

func TestContractNames(t *testing.T) {
	t.Parallel()
	pod0 := course.CourseStatefulSet + "-0"
	short := pod0 + "." + course.CourseService // hello-kubernetes-0.headless-demo
	peer := suite.Namespace() + "-peer"
	inPeer := headless.From{Exec: suite.Course.Exec, Namespace: peer, Pod: "client"}
	c := func() course.Course { return suite.Course }
	expectFrom := func(ctx context.Context, t *testing.T, from headless.From, q dns.Query, want dns.Want) dns.Answer {
		t.Helper()
		a, took, err := headless.AwaitAnswer(ctx, from, q, want, suite.DNSTimeout())
		NewWithT(t).Expect(err).NotTo(HaveOccurred())
		t.Logf("from %s: %s [after %s]\n%s", from, a, took.Round(time.Millisecond), dns.FormatWalk(a.Walk))
		return a
	}
	// The walks are asked in the cluster's first family (PrimaryType): the search list is the
	// same for every record type.
	f := features.New(suite.Named("contract: short names, FQDNs and other namespaces (the search list)")).
		WithLabel("area", "contract").WithLabel("contract", "names").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Not Fatal: a failing Setup step would skip the Teardown that deletes the namespace.
			if err := kube.CreateRestrictedNamespace(ctx, kube.NamespaceInput{Client: suite.Client(), Name: peer}); err != nil {
				t.Error(err)
				return ctx
			}
			_, client, err := course.CourseTemplates(ctx, manifests.Headless, "headless/*.yaml", suite.Settings.Images(suite.Versions))
			if err == nil {
				err = kube.RunClientPod(ctx, kube.ClientPodInput{Client: suite.Client(), Namespace: peer, Name: inPeer.Pod, Template: client, Timeout: course.PodTimeout})
			}
			if err != nil {
				t.Error(err)
			}
			return ctx
		}).
		Assess("from <ns>: the short name "+short+" resolves through the first search domain, <ns>.svc.<zone>, to exactly pod 0's IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ip := harness.Must(c().Pod(ctx, pod0))(t).IP
			expectFrom(ctx, t, harness.Must(c().ClientFrom(ctx))(t), dns.Query{Name: short, Type: c().PrimaryType(), Search: true},
				headless.Walk{{Name: c().FQDN(short), Want: dns.Exactly(c().PrimaryType(), ip)}}.Judge)
			return ctx
		}).
		Assess("from <ns>: the FQDN resolves to exactly pod 0's IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			expectFrom(ctx, t, harness.Must(c().ClientFrom(ctx))(t), dns.Query{Name: c().FQDN(short), Type: c().PrimaryType()}, dns.Exactly(c().PrimaryType(), harness.Must(c().Pod(ctx, pod0))(t).IP))
			return ctx
		}).
		Assess("from a second namespace: the short name is NXDOMAIN in every search domain, then goes upstream and fails as any unknown name does", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// The last try, the name as it is, leaves the cluster zone: whatever upstream says
			// to an unknown name (NXDOMAIN online; SERVFAIL here, offline) it must say here too.
			control := expectFrom(ctx, t, inPeer, dns.Query{Name: "no-such-name.invalid.", Timeout: upstreamTimeout}, func(a dns.Answer) error {
				if a.Rcode == "NOERROR" || a.Rcode == "TIMEOUT" || a.Rcode == "ERROR" || len(a.Records) > 0 {
					return fmt.Errorf("%s; want a failure status for an unknown name outside the cluster", a)
				}
				return nil
			})
			zone := "." + c().Zone + "."
			a := expectFrom(ctx, t, inPeer, dns.Query{Name: short, Type: c().PrimaryType(), Search: true, Timeout: upstreamTimeout}, headless.Walk{
				{Name: short + "." + peer + ".svc" + zone, Want: dns.Status("NXDOMAIN")},
				{Name: short + ".svc" + zone, Want: dns.Status("NXDOMAIN")},
				{Name: short + zone, Want: dns.Status("NXDOMAIN")},
				{Name: short + ".", Want: dns.Status(control.Rcode)},
			}.Judge)
			NewWithT(t).Expect(dns.Status(control.Rcode)(a)).To(Succeed(), "the resolver's final answer")
			return ctx
		}).
		Assess("from a second namespace: "+short+".<ns> resolves through the search domain svc.<zone>, to exactly pod 0's IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ip := harness.Must(c().Pod(ctx, pod0))(t).IP
			qualified := short + "." + suite.Namespace()
			a := expectFrom(ctx, t, inPeer, dns.Query{Name: qualified, Type: c().PrimaryType(), Search: true, Timeout: upstreamTimeout}, headless.Walk{
				{Name: qualified + "." + peer + ".svc." + c().Zone + ".", Want: dns.Status("NXDOMAIN")},
				{Name: c().FQDN(short), Want: dns.Exactly(c().PrimaryType(), ip)},
			}.Judge)
			NewWithT(t).Expect(dns.Exactly(c().PrimaryType(), ip)(a)).To(Succeed(), "the resolver's final answer")
			return ctx
		}).
		Assess("from a second namespace: the FQDN resolves to exactly pod 0's IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			expectFrom(ctx, t, inPeer, dns.Query{Name: c().FQDN(short), Type: c().PrimaryType()}, dns.Exactly(c().PrimaryType(), harness.Must(c().Pod(ctx, pod0))(t).IP))
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Also after Ctrl-C (a context of its own); not waited for: the next run checks.
			if err := kube.StartNamespaceDeletion(context.WithoutCancel(ctx), suite.Client(), peer); err != nil {
				t.Errorf("deleting namespace %s: %v", peer, err)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// The IP families a headless Service publishes, as the Kubernetes documentation says they are
// defaulted and asked (kubernetes.io/docs/concepts/services-networking/dual-stack, "Services"):
// a headless Service with a selector and no ipFamilyPolicy is SingleStack in the cluster's
// first family; without a selector it is RequireDualStack, both families (on a single-stack
// cluster too: nothing is allocated); a Service with a selector asking RequireDualStack is
// refused by a single-stack cluster; each publishes exactly its spec.ipFamilies, in its EndpointSlices and
// as A/AAAA records, and answers NOERROR with no record (NODATA) for the other family.
func TestContractIPFamilies(t *testing.T) {
	t.Parallel()
	var own course.Course // a copy of the course: the Services below add PTR records for its pods
	type service struct {
		name   string
		mutate func(*corev1.Service)
		// policy and families are what the API server must have made of it on this cluster;
		// refused, that it must refuse it.
		policy   corev1.IPFamilyPolicy
		families []corev1.IPFamily
		refused  bool
	}
	policy := func(p corev1.IPFamilyPolicy) *corev1.IPFamilyPolicy { return &p }
	services := func() []service {
		first, dual := own.Families[:1], len(own.Families) == 2
		out := []service{
			{name: "fam-default", mutate: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = nil },
				policy: corev1.IPFamilyPolicySingleStack, families: first},
			{name: "fam-prefer", mutate: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = policy(corev1.IPFamilyPolicyPreferDualStack) },
				policy: corev1.IPFamilyPolicyPreferDualStack, families: own.Families},
			{name: "fam-require", mutate: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = policy(corev1.IPFamilyPolicyRequireDualStack) },
				policy: corev1.IPFamilyPolicyRequireDualStack, families: own.Families, refused: !dual},
		}
		// Without a selector no address is allocated, so even a single-stack cluster makes it
		// RequireDualStack, its own family first (seen on ipv6: [IPv6 IPv4]).
		both := []corev1.IPFamily{first[0], corev1.IPv6Protocol}
		if first[0] == corev1.IPv6Protocol {
			both[1] = corev1.IPv4Protocol
		}
		out = append(out, service{name: "fam-noselector", mutate: func(s *corev1.Service) { s.Spec.IPFamilyPolicy, s.Spec.Selector = nil, nil },
			policy: corev1.IPFamilyPolicyRequireDualStack, families: both})
		if dual {
			out = append(out, service{name: "fam-second", mutate: func(s *corev1.Service) {
				s.Spec.IPFamilyPolicy, s.Spec.IPFamilies = policy(corev1.IPFamilyPolicySingleStack), own.Families[1:]
			}, policy: corev1.IPFamilyPolicySingleStack, families: own.Families[1:]})
		}
		return out
	}
	f := features.New(suite.Named("contract: a headless Service publishes exactly the IP families its ipFamilyPolicy gives it")).
		WithLabel("area", "contract").WithLabel("contract", "families").
		Setup(suite.DeployCourseInStep(&own, "families")).
		Assess("each Service's spec.ipFamilyPolicy and spec.ipFamilies are the documented defaults, or what it asked; RequireDualStack is refused on a single-stack cluster", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			course := harness.Must(own.Client.CoreV1().Services(own.Namespace).Get(ctx, course.CourseService, metav1.GetOptions{}))(t)
			g.Expect(*course.Spec.IPFamilyPolicy).To(Equal(corev1.IPFamilyPolicyPreferDualStack), "the course's Service (manifests/headless/service.yaml)")
			g.Expect(course.Spec.IPFamilies).To(Equal(own.Families), "the course's Service publishes every family of the cluster")
			for _, s := range services() {
				created, err := kube.CreateServiceLike(ctx, kube.ServiceLikeInput{Client: own.Client, Namespace: own.Namespace, Like: course.Name, Name: s.name,
					Mutate: func(svc *corev1.Service) { svc.Spec.ClusterIP = corev1.ClusterIPNone; s.mutate(svc) }})
				if s.refused {
					g.Expect(err).To(MatchError(ContainSubstring("not configured for dual-stack")), "%s: RequireDualStack on a single-stack cluster", s.name)
					t.Logf("%s: refused: %v", s.name, err)
					continue
				}
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(created.Spec.IPFamilyPolicy).NotTo(BeNil(), s.name)
				t.Logf("%s: ipFamilyPolicy %s, ipFamilies %v, clusterIPs %v", s.name, *created.Spec.IPFamilyPolicy, created.Spec.IPFamilies, created.Spec.ClusterIPs)
				g.Expect(*created.Spec.IPFamilyPolicy).To(Equal(s.policy), s.name)
				g.Expect(created.Spec.IPFamilies).To(Equal(s.families), s.name)
				g.Expect(created.Spec.ClusterIPs).To(Equal([]string{corev1.ClusterIPNone}), s.name)
			}
			return ctx
		}).
		Assess("each publishes exactly its families: one EndpointSlice per family it has, A/AAAA exactly the pods' addresses of those, NODATA for the other", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			pods := harness.Must(own.AwaitReadyPods(ctx))(t)
			// Their endpoints carry no hostname: a pod's own name exists only under the
			// Service its spec.subdomain names (headless-demo).
			unnamed := slices.Clone(pods)
			for i := range unnamed {
				unnamed[i].Name = ""
			}
			var checks []headless.DNSCheck
			for _, s := range services() {
				if s.refused || s.name == "fam-noselector" { // no selector: nothing publishes its endpoints
					continue
				}
				_, err := kube.AwaitObject(ctx, "EndpointSlices of "+s.name, suite.DNSTimeout(), func(ctx context.Context) (any, error) {
					list, err := own.Client.DiscoveryV1().EndpointSlices(own.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + s.name})
					if err != nil {
						return nil, err
					}
					return list, headless.CheckEndpointSlices(list.Items, unnamed, course.CourseTargetPort, s.families...)
				})
				g.Expect(err).NotTo(HaveOccurred(), s.name)
				for _, f := range []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol} {
					q := dns.Query{Name: own.FQDN(s.name), Type: headless.RecordType(f)}
					if slices.Contains(s.families, f) {
						checks = append(checks, headless.DNSCheck{Query: q, Want: dns.Exactly(q.Type, headless.IPsOf(pods, f)...)})
					} else {
						checks = append(checks, headless.DNSCheck{Query: q, Want: dns.Status("NOERROR")}) // NODATA: the name exists
					}
				}
			}
			answers, _, err := headless.AwaitDNS(ctx, headless.AwaitDNSInput{From: harness.Must(own.ClientFrom(ctx))(t), Checks: checks, Timeout: suite.DNSTimeout()})
			for _, a := range answers {
				t.Log(a)
			}
			g.Expect(err).NotTo(HaveOccurred())
			return ctx
		}).
		Assess("negative control: a headless Service left to its default, held to every family of a dual-stack cluster, fails naming its ipFamilyPolicy", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			if len(own.Families) < 2 {
				t.Logf("a %v cluster: the default publishes its one family, there is nothing to miss", own.Families)
				return ctx
			}
			pods := harness.Must(own.AwaitReadyPods(ctx))(t)
			in := own.Published(harness.Must(own.ClientFrom(ctx))(t), pods, nil)
			in.Service, in.PortName, in.Timeout = "fam-default", "", 10*time.Second
			_, err := headless.AwaitPublished(ctx, in)
			NewWithT(t).Expect(err).To(MatchError(ContainSubstring("cause: Service fam-default publishes only [IPv4] (spec.ipFamilies; ipFamilyPolicy SingleStack), so its names answer no AAAA record")))
			t.Logf("reported as: %v", err)
			return ctx
		}).
		Teardown(own.DeleteNamespaceStep()).Feature()
	testenv.Test(t, f)
}
