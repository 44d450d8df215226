package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/headless-e2e/headless-e2e/e2e/framework"
	"github.com/headless-e2e/headless-e2e/manifests"
)

// The whole DNS contract of a headless Service (kubernetes/dns docs/specification.md, schema
// 1.1.0, section 2.4), and how fast it follows the pods. Each feature is labelled area=contract
// and contract=<part>, and leaves the course's workload (3 Ready pods behind headless-demo, the
// client) as it found it: features run in any order in the same namespace.

const (
	statefulSet = "hello-kubernetes"
	portName    = "http"
	dnsTimeout  = 30 * time.Second
	// kubeadm's Corefile turns caching off for cluster.local only: PTR answers (in-addr.arpa)
	// are cached for their 30 s TTL, so a reverse name may lag a change by that much.
	ptrTimeout = 45 * time.Second
	// Per DNS try for names that leave the cluster zone: with upstream unreachable (offline),
	// CoreDNS's forward gives up with SERVFAIL after about 2 s.
	upstreamTimeout = 5 * time.Second
	// Long enough for a pod to be scheduled, started and probed on this 2-core machine.
	podTimeout = 2 * time.Minute
)

func TestContractSRV(t *testing.T) {
	f := features.New("contract: SRV _http._tcp.headless-demo has one record per ready pod (spec 2.4.2)").
		WithLabel("area", "contract").WithLabel("contract", "srv").
		Assess("exactly one SRV per ready pod, target hello-kubernetes-N.headless-demo.<ns>.svc.<zone>., port 8080: the endpoints' port, where the spec says the Service's (80)", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Spec 2.4.2 says the Service port's number (80). CoreDNS publishes, for a headless
			// Service, the endpoints' port (8080): the one a client can reach, as no proxy
			// translates 80 to it. Asserted as served; the ClusterIP contrast (contract=lb)
			// shows the Service port there.
			pods := readyHelloPods(ctx, t)
			recs, err := framework.AwaitSRV(ctx, framework.AwaitSRVInput{
				Lookup:  framework.LookupInput{Exec: suite.Exec(), Namespace: suite.Namespace, Pod: clientPod(ctx, t), Name: "_" + portName + "._tcp." + fqdn(service)},
				Targets: podFQDNs(pods), Port: targetPort, Timeout: dnsTimeout,
			})
			for _, r := range recs {
				t.Logf("SRV priority %d weight %d port %d %s", r.Priority, r.Weight, r.Port, r.Target)
			}
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestContractPTR(t *testing.T) {
	b := features.New("contract: each pod IP reverses to its pod's name (spec 2.4.3)").
		WithLabel("area", "contract").WithLabel("contract", "ptr")
	for _, name := range framework.Ordinals(statefulSet, 3) {
		b = b.Assess("dig -x <IP of "+name+"> answers exactly "+name+".headless-demo.<ns>.svc.<zone>.", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			q := query(ctx, t, podIP(ctx, t, name), "")
			q.Reverse = true
			expectDNS(ctx, t, q, framework.WantRecords("PTR", podFQDN(name, service)), ptrTimeout)
			return ctx
		})
	}
	testenv.Test(t, b.Feature())
}

func TestContractReadiness(t *testing.T) {
	const all = "headless-demo-all"
	var victim framework.PodAddr
	f := features.New("contract: only ready pods are published, unless publishNotReadyAddresses").
		WithLabel("area", "contract").WithLabel("contract", "readiness").
		Assess("one pod unready: its IP leaves headless-demo's answer and its SRV, its own name is NXDOMAIN, the others stay", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := readyHelloPods(ctx, t)
			victim = pods[1]
			others := []framework.PodAddr{pods[0], pods[2]}
			setReadiness(ctx, t, []framework.PodAddr{victim}, false)
			expectDNS(ctx, t, query(ctx, t, fqdn(service), "A"), framework.WantRecords("A", framework.IPs(others)...), dnsTimeout)
			expectDNS(ctx, t, query(ctx, t, podFQDN(victim.Name, service), "A"), framework.WantRcode("NXDOMAIN"), dnsTimeout)
			for _, p := range others {
				expectDNS(ctx, t, query(ctx, t, podFQDN(p.Name, service), "A"), framework.WantRecords("A", p.IP), dnsTimeout)
			}
			expectSRV(ctx, t, others)
			return ctx
		}).
		Assess("ready again: its IP, its name and its SRV record are back", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			setReadiness(ctx, t, []framework.PodAddr{victim}, true)
			pods := readyHelloPods(ctx, t)
			expectDNS(ctx, t, query(ctx, t, fqdn(service), "A"), framework.WantRecords("A", framework.IPs(pods)...), dnsTimeout)
			expectDNS(ctx, t, query(ctx, t, podFQDN(victim.Name, service), "A"), framework.WantRecords("A", victim.IP), dnsTimeout)
			expectSRV(ctx, t, pods)
			return ctx
		}).
		Assess("all unready: headless-demo, its SRV name and every pod name are NXDOMAIN", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := readyHelloPods(ctx, t)
			setReadiness(ctx, t, pods, false)
			expectDNS(ctx, t, query(ctx, t, fqdn(service), "A"), framework.WantRcode("NXDOMAIN"), dnsTimeout)
			expectDNS(ctx, t, query(ctx, t, "_"+portName+"._tcp."+fqdn(service), "SRV"), framework.WantRcode("NXDOMAIN"), dnsTimeout)
			for _, p := range pods {
				expectDNS(ctx, t, query(ctx, t, podFQDN(p.Name, service), "A"), framework.WantRcode("NXDOMAIN"), dnsTimeout)
			}
			return ctx
		}).
		Assess("publishNotReadyAddresses: a second Service (headless-demo-all) answers the 3 unready pods, headless-demo stays NXDOMAIN", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			pods := allHelloPods(ctx, t)
			g.Expect(framework.Names(pods)).To(Equal(framework.Ordinals(statefulSet, 3)))
			setReadiness(ctx, t, pods, false)
			_, err := framework.CreateServiceLike(ctx, framework.ServiceLikeInput{
				Client: suite.Client, Namespace: suite.Namespace, From: service, Name: all,
				Mutate: func(s *corev1.Service) {
					s.Spec.ClusterIP, s.Spec.PublishNotReadyAddresses = corev1.ClusterIPNone, true
				},
			})
			g.Expect(err).NotTo(HaveOccurred())
			expectDNS(ctx, t, query(ctx, t, fqdn(all), "A"), framework.WantRecords("A", framework.IPs(pods)...), dnsTimeout)
			expectDNS(ctx, t, query(ctx, t, fqdn(service), "A"), framework.WantRcode("NXDOMAIN"), dnsTimeout)
			// A pod's own name exists only under the Service its spec.subdomain names: the
			// EndpointSlice controller gives headless-demo-all's endpoints no hostname.
			expectDNS(ctx, t, query(ctx, t, podFQDN(pods[0].Name, all), "A"), framework.WantRcode("NXDOMAIN"), dnsTimeout)
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			if pods, err := framework.PodsByName(ctx, suite.Client, suite.Namespace, helloPods); err != nil {
				t.Errorf("listing hello pods to make them ready again: %v", err)
			} else if err := framework.SetReadiness(ctx, readinessInput(ctx, t, pods, true)); err != nil {
				t.Errorf("making the hello pods ready again: %v", err)
			}
			if err := framework.DeleteService(ctx, framework.DeleteServiceInput{Client: suite.Client, Namespace: suite.Namespace, Name: all, Timeout: dnsTimeout}); err != nil {
				t.Errorf("%v", err)
			}
			restoreCourse(ctx, t, nil)
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestContractScale(t *testing.T) {
	scale := func(replicas int, gone []string) func(context.Context, *testing.T, *envconf.Config) context.Context {
		return func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			pods, took, err := framework.Scale(ctx, framework.ScaleInput{
				Client: suite.Client, Namespace: suite.Namespace, StatefulSet: statefulSet, Selector: helloPods, Replicas: replicas, Timeout: podTimeout,
			})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(framework.Names(pods)).To(Equal(framework.Ordinals(statefulSet, replicas)))
			t.Logf("scaled to %d: %v Ready %s after the scale call", replicas, pods, took.Round(time.Millisecond))
			published, err := framework.AwaitPublished(ctx, publishedInput(ctx, t, pods, gone))
			g.Expect(err).NotTo(HaveOccurred())
			t.Logf("EndpointSlices, A, per-pod names and SRV exact %s after the pods were Ready", published.Round(time.Millisecond))
			return ctx
		}
	}
	f := features.New("contract: scaling 3 -> 5 -> 2, DNS and EndpointSlices follow exactly").
		WithLabel("area", "contract").WithLabel("contract", "scale").
		Assess("3 -> 5: hello-kubernetes-0..4 published, exactly", scale(5, nil)).
		Assess("5 -> 2: hello-kubernetes-0..1 published, exactly; 2..4 are NXDOMAIN", scale(2, framework.Ordinals(statefulSet, 5)[2:])).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			_, _, err := framework.Scale(ctx, framework.ScaleInput{
				Client: suite.Client, Namespace: suite.Namespace, StatefulSet: statefulSet, Selector: helloPods, Replicas: 3, Timeout: podTimeout,
			})
			if err != nil {
				t.Errorf("scaling back to 3: %v", err)
			}
			restoreCourse(ctx, t, framework.Ordinals(statefulSet, 5)[3:])
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestContractClientSideBalancing(t *testing.T) {
	const (
		clusterIP = "hello-clusterip"
		requests  = 30
	)
	var clientSide map[string]int
	f := features.New("contract: clients balance over a headless Service's answer; kube-proxy balances a ClusterIP").
		WithLabel("area", "contract").WithLabel("contract", "lb").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Not Fatal: a failing Setup step would skip the Teardown.
			if _, err := framework.CreateServiceLike(ctx, framework.ServiceLikeInput{Client: suite.Client, Namespace: suite.Namespace, From: service, Name: clusterIP}); err != nil {
				t.Error(err)
			}
			return ctx
		}).
		Assess(fmt.Sprintf("client side: resolve headless-demo, send %d requests round-robin over its IPs: each pod serves exactly %d", requests, requests/3), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			pods := readyHelloPods(ctx, t)
			answer := expectDNS(ctx, t, query(ctx, t, fqdn(service), "A"), framework.WantRecords("A", framework.IPs(pods)...), dnsTimeout)
			replies, err := framework.Requests(ctx, framework.RequestsInput{
				Exec: suite.Exec(), Namespace: suite.Namespace, ClientPod: clientPod(ctx, t),
				URLs: framework.RoundRobinURLs(answer.Data("A"), requests, targetPort, "/?format=json"),
			})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			clientSide = framework.Tally(replies)
			t.Log(framework.FormatTally("client-side round robin over "+service+"'s answer", clientSide, framework.Names(pods)))
			byIP := map[string]string{}
			for _, p := range pods {
				byIP[p.IP] = p.Name
			}
			NewWithT(t).Expect(framework.CheckEvenSpread(replies, byIP)).To(Succeed())
			return ctx
		}).
		Assess("ClusterIP contrast in DNS: hello-clusterip answers its one cluster IP, and one SRV record, the Service itself on port 80", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			svc := getService(ctx, t, clusterIP)
			expectDNS(ctx, t, query(ctx, t, fqdn(clusterIP), "A"), framework.WantRecords("A", svc.Spec.ClusterIP), dnsTimeout)
			expectDNS(ctx, t, query(ctx, t, "_"+portName+"._tcp."+fqdn(clusterIP), "SRV"), func(r framework.DigResult) error {
				_, err := framework.CheckSRV(r.Data("SRV"), []string{fqdn(clusterIP)}, 80)
				return err
			}, dnsTimeout)
			return ctx
		}).
		Assess(fmt.Sprintf("kube-proxy: %d requests to hello-clusterip by name: all answered, each by one of the 3 pods; its spread is printed", requests), func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			g := NewWithT(t)
			client := clientPod(ctx, t)
			url := "http://" + clusterIP + "/?format=json"
			// kube-proxy programs a new Service's rules a moment after it exists.
			g.Expect(framework.AwaitReply(ctx, framework.AwaitReplyInput{Exec: suite.Exec(), Namespace: suite.Namespace, ClientPod: client, URL: url, Timeout: dnsTimeout})).To(Succeed())
			replies, err := framework.Requests(ctx, framework.RequestsInput{Exec: suite.Exec(), Namespace: suite.Namespace, ClientPod: client, URLs: framework.SameURL(url, requests)})
			g.Expect(err).NotTo(HaveOccurred())
			pods := framework.Names(readyHelloPods(ctx, t))
			t.Log(framework.FormatTally("client-side round robin over "+service+"'s answer", clientSide, pods))
			t.Log(framework.FormatTally("kube-proxy behind "+clusterIP+" (random per connection)", framework.Tally(replies), pods))
			g.Expect(replies).To(HaveLen(requests))
			g.Expect(framework.CheckServedBy(replies, pods)).To(Succeed())
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			if err := framework.DeleteService(ctx, framework.DeleteServiceInput{Client: suite.Client, Namespace: suite.Namespace, Name: clusterIP, Timeout: dnsTimeout}); err != nil {
				t.Error(err)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

func TestContractNames(t *testing.T) {
	const pod0 = statefulSet + "-0"
	short := pod0 + "." + service // hello-kubernetes-0.headless-demo
	peer := suite.Namespace + "-peer"
	peerClient := "client"
	inPeer := func(name string) framework.DigInput {
		return framework.DigInput{Exec: suite.Exec(), Namespace: peer, Pod: peerClient, Name: name, Timeout: upstreamTimeout}
	}
	f := features.New("contract: short names, FQDNs and other namespaces (the search list)").
		WithLabel("area", "contract").WithLabel("contract", "names").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Not Fatal: a failing Setup step would skip the Teardown that deletes the namespace.
			if err := framework.CreateRestrictedNamespace(ctx, framework.NamespaceInput{Client: suite.Client, Name: peer}); err != nil {
				t.Error(err)
				return ctx
			}
			_, client, err := framework.CourseTemplates(ctx, manifests.Headless, "headless/*.yaml",
				map[string]string{suite.Versions.HelloImage: suite.Settings.HelloImage, suite.Versions.ClientImage: suite.Settings.ClientImage})
			if err == nil {
				err = framework.RunClientPod(ctx, framework.ClientPodInput{Client: suite.Client, Namespace: peer, Name: peerClient, Template: client, Timeout: podTimeout})
			}
			if err != nil {
				t.Error(err)
			}
			return ctx
		}).
		Assess("from <ns>: the short name "+short+" resolves through the first search domain, <ns>.svc.<zone>, to exactly pod 0's IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ip := podIP(ctx, t, pod0)
			expectWalk(ctx, t, suite.Namespace, clientPod(ctx, t), short, []framework.WalkStep{{Name: fqdn(short), Check: framework.WantRecords("A", ip)}})
			expectResolves(ctx, t, short, []string{ip})
			return ctx
		}).
		Assess("from <ns>: the FQDN resolves to exactly pod 0's IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			expectDNS(ctx, t, query(ctx, t, fqdn(short), "A"), framework.WantRecords("A", podIP(ctx, t, pod0)), dnsTimeout)
			return ctx
		}).
		Assess("from a second namespace: the short name is NXDOMAIN in every search domain, then goes upstream and fails as any unknown name does", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// The last try, the name as it is, leaves the cluster zone: whatever upstream says
			// to an unknown name (NXDOMAIN online; SERVFAIL here, offline) it must say here too.
			control := expectDNS(ctx, t, inPeer("no-such-name.invalid."), func(r framework.DigResult) error {
				if r.Rcode == "NOERROR" || r.Rcode == "TIMEOUT" || len(r.Answer) > 0 {
					return fmt.Errorf("%s; want a failure status for an unknown name outside the cluster", r)
				}
				return nil
			}, dnsTimeout)
			zone := "." + suite.Zone + "."
			expectWalk(ctx, t, peer, peerClient, short, []framework.WalkStep{
				{Name: short + "." + peer + ".svc" + zone, Check: framework.WantRcode("NXDOMAIN")},
				{Name: short + ".svc" + zone, Check: framework.WantRcode("NXDOMAIN")},
				{Name: short + zone, Check: framework.WantRcode("NXDOMAIN")},
				{Name: short + ".", Check: framework.WantRcode(control.Rcode)},
			})
			a, err := framework.LookupWithTimeout(ctx, framework.LookupInput{Exec: suite.Exec(), Namespace: peer, Pod: peerClient, Name: short}, upstreamTimeout)
			g := NewWithT(t)
			g.Expect(err).NotTo(HaveOccurred())
			t.Logf("nslookup %s from %s: %s", short, peer, a)
			g.Expect(a.IPs).To(BeEmpty(), a.Raw)
			g.Expect(a.Rcode).To(Equal(control.Rcode), a.Raw)
			return ctx
		}).
		Assess("from a second namespace: "+short+".<ns> resolves through the search domain svc.<zone>, to exactly pod 0's IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			ip := podIP(ctx, t, pod0)
			qualified := short + "." + suite.Namespace
			expectWalk(ctx, t, peer, peerClient, qualified, []framework.WalkStep{
				{Name: qualified + "." + peer + ".svc." + suite.Zone + ".", Check: framework.WantRcode("NXDOMAIN")},
				{Name: fqdn(short), Check: framework.WantRecords("A", ip)},
			})
			a, err := framework.Lookup(ctx, framework.LookupInput{Exec: suite.Exec(), Namespace: peer, Pod: peerClient, Name: qualified})
			NewWithT(t).Expect(err).NotTo(HaveOccurred())
			NewWithT(t).Expect(framework.ExactAnswer(a, []string{ip})).To(Succeed())
			return ctx
		}).
		Assess("from a second namespace: the FQDN resolves to exactly pod 0's IP", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			expectDNS(ctx, t, inPeer(fqdn(short)), framework.WantRecords("A", podIP(ctx, t, pod0)), dnsTimeout)
			return ctx
		}).
		Teardown(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Also after Ctrl-C: the suite deletes only its own namespace.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if err := framework.DeleteNamespace(ctx, framework.NamespaceInput{Client: suite.Client, Name: peer, Timeout: time.Minute}); err != nil {
				t.Errorf("deleting namespace %s: %v", peer, err)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// --- helpers of the contract features ---

func podFQDN(pod, svc string) string {
	return framework.PodFQDN(pod, svc, suite.Namespace, suite.Zone)
}

func podFQDNs(pods []framework.PodAddr) []string {
	var out []string
	for _, p := range pods {
		out = append(out, podFQDN(p.Name, service))
	}
	return out
}

// query is a dig from the course's client pod; qtype "" is A.
func query(ctx context.Context, t *testing.T, name, qtype string) framework.DigInput {
	t.Helper()
	return framework.DigInput{Exec: suite.Exec(), Namespace: suite.Namespace, Pod: clientPod(ctx, t), Name: name, Type: qtype}
}

// expectDNS polls the query until check passes and logs the answer and how long it took.
func expectDNS(ctx context.Context, t *testing.T, q framework.DigInput, check func(framework.DigResult) error, timeout time.Duration) framework.DigResult {
	t.Helper()
	r, took, err := framework.AwaitDNS(ctx, framework.AwaitDNSInput{Query: q, Check: check, Timeout: timeout})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	t.Logf("%s [from %s/%s, after %s]", r, q.Namespace, q.Pod, took.Round(time.Millisecond))
	return r
}

// expectSRV polls headless-demo's SRV name until it holds exactly one record per pod.
func expectSRV(ctx context.Context, t *testing.T, pods []framework.PodAddr) {
	t.Helper()
	_, err := framework.AwaitSRV(ctx, framework.AwaitSRVInput{
		Lookup:  framework.LookupInput{Exec: suite.Exec(), Namespace: suite.Namespace, Pod: clientPod(ctx, t), Name: "_" + portName + "._tcp." + fqdn(service)},
		Targets: podFQDNs(pods), Port: targetPort, Timeout: dnsTimeout,
	})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
}

// expectWalk polls until the names the pod's resolver tries for name, and their answers, are
// exactly steps; it logs the walk.
func expectWalk(ctx context.Context, t *testing.T, namespace, pod, name string, steps []framework.WalkStep) {
	t.Helper()
	var walk []framework.DigResult
	eventually(ctx, t, "the resolver's walk for "+name, func() error {
		var err error
		if walk, err = framework.SearchWalk(ctx, framework.SearchInput{Exec: suite.Exec(), Namespace: namespace, Pod: pod, Name: name, Timeout: upstreamTimeout}); err != nil {
			return err
		}
		return framework.CheckWalk(walk, steps)
	})
	t.Logf("resolving %s from %s/%s:\n%s", name, namespace, pod, framework.FormatWalk(walk))
}

func allHelloPods(ctx context.Context, t *testing.T) []framework.PodAddr {
	t.Helper()
	pods, err := framework.PodsByName(ctx, suite.Client, suite.Namespace, helloPods)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	return pods
}

func readinessInput(ctx context.Context, t *testing.T, pods []framework.PodAddr, ready bool) framework.ReadinessInput {
	return framework.ReadinessInput{
		Client: suite.Client, Exec: suite.Exec(), Namespace: suite.Namespace, ClientPod: clientPod(ctx, t),
		Pods: pods, Ready: ready, Port: targetPort, Timeout: dnsTimeout,
	}
}

func setReadiness(ctx context.Context, t *testing.T, pods []framework.PodAddr, ready bool) {
	t.Helper()
	NewWithT(t).Expect(framework.SetReadiness(ctx, readinessInput(ctx, t, pods, ready))).To(Succeed())
	t.Logf("pods %v now Ready=%v", framework.Names(pods), ready)
}

func publishedInput(ctx context.Context, t *testing.T, pods []framework.PodAddr, gone []string) framework.PublishedInput {
	return framework.PublishedInput{
		Client: suite.Client, Exec: suite.Exec(), Namespace: suite.Namespace, ClientPod: clientPod(ctx, t),
		Service: service, Zone: suite.Zone, Pods: pods, Gone: gone, TargetPort: targetPort, PortName: portName, Timeout: time.Minute,
	}
}

// restoreCourse waits, in a Teardown, until the course is as the other features expect it:
// exactly its 3 pods Ready and published everywhere, and the gone names NXDOMAIN.
func restoreCourse(ctx context.Context, t *testing.T, gone []string) {
	t.Helper()
	pods, err := framework.WaitPodsReady(ctx, framework.WaitPodsInput{Client: suite.Client, Namespace: suite.Namespace, Selector: helloPods, Count: 3, Timeout: podTimeout})
	if err != nil {
		t.Errorf("restoring the course: %v", err)
		return
	}
	ready, err := framework.ReadyPods(ctx, suite.Client, suite.Namespace, helloPods)
	if err != nil || len(ready) != len(pods) {
		t.Errorf("restoring the course: Ready pods %v: %v", ready, err)
		return
	}
	took, err := framework.AwaitPublished(ctx, publishedInput(ctx, t, ready, gone))
	if err != nil {
		t.Errorf("restoring the course: %v", err)
		return
	}
	t.Logf("course restored: %v published exactly (%s)", ready, took.Round(time.Millisecond))
}
