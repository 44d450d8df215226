package synthetic

import (
	"context"
	"net"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestSyntheticAddressesStayInTheBenchmarkingRange(t *testing.T) {
	_, benchmarking, _ := net.ParseCIDR("198.18.0.0/15")
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 254, 255, 256, 65534, 65535, 65536, MaxSyntheticEndpoints - 1} {
		a := SyntheticAddress(i)
		ip := net.ParseIP(a)
		if ip == nil || !benchmarking.Contains(ip) || a == "198.18.0.0" || a == "198.19.255.255" || seen[a] {
			t.Fatalf("endpoint %d: address %s outside 198.18.0.0/15, its network or broadcast address, or repeated", i, a)
		}
		seen[a] = true
	}
}

// The slices are written at most PerSlice endpoints each, every endpoint ready with a hostname,
// and one change rewrites exactly one slice.
func TestCreateSyntheticSplitsIntoSlices(t *testing.T) {
	client := fake.NewSimpleClientset()
	ctx := context.Background()
	s, err := CreateSynthetic(ctx, SyntheticInput{Client: client, Namespace: "ns", Service: "big", Endpoints: 250})
	if err != nil {
		t.Fatal(err)
	}
	list, err := client.DiscoveryV1().EndpointSlices("ns").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=big"})
	if err != nil || len(list.Items) != 3 || s.Slices() != 3 {
		t.Fatalf("%d slices (%v), want 3", len(list.Items), err)
	}
	sizes := map[string]int{}
	for _, es := range list.Items {
		sizes[es.Name] = len(es.Endpoints)
	}
	if sizes["big-000"] != 100 || sizes["big-001"] != 100 || sizes["big-002"] != 50 {
		t.Fatalf("slice sizes %v", sizes)
	}
	if got := len(s.Addresses()); got != 250 {
		t.Fatalf("%d ready addresses, want 250", got)
	}
	if err := s.SetReady(ctx, 149, false); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Addresses()); got != 249 {
		t.Fatalf("%d ready addresses after one flip, want 249", got)
	}
	es, _ := client.DiscoveryV1().EndpointSlices("ns").Get(ctx, "big-001", metav1.GetOptions{})
	if r := es.Endpoints[49].Conditions.Ready; r == nil || *r || *es.Endpoints[49].Hostname != "ep-149" {
		t.Fatalf("endpoint 149 in the API: %+v", es.Endpoints[49])
	}
	if err := s.SetReady(ctx, 250, true); err == nil {
		t.Fatal("an endpoint past the end was accepted")
	}
	if _, err := CreateSynthetic(ctx, SyntheticInput{Client: client, Namespace: "ns", Service: "zero"}); err == nil {
		t.Fatal("zero endpoints accepted")
	}
}
