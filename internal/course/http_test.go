package course

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

func TestParseCurlReplies(t *testing.T) {
	out := `{"pod":"hello-kubernetes-1","namespace":"ns1","node":"kind-worker2","ip":"10.244.2.7"}

URL=http://10.244.2.7:8080/?format=json CODE=200

URL=http://10.244.1.99:8080/?format=json CODE=000
{"pod":"hello-kubernetes-2","namespace":"ns1","node":"kind-worker","ip":"10.244.1.10"}

URL=http://hello-clusterip/?format=json CODE=200
`
	got, err := ParseCurlReplies(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Reply{
		{URL: "http://10.244.2.7:8080/?format=json", Code: 200, Pod: "hello-kubernetes-1", IP: "10.244.2.7"},
		{URL: "http://10.244.1.99:8080/?format=json", Code: 0},
		{URL: "http://hello-clusterip/?format=json", Code: 200, Pod: "hello-kubernetes-2", IP: "10.244.1.10"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ParseCurlReplies =\n%+v\nwant\n%+v", got, want)
	}
	if got[2].Host() != "hello-clusterip" || got[0].Host() != "10.244.2.7" {
		t.Fatalf("Host() = %q, %q", got[2].Host(), got[0].Host())
	}
	if _, err := ParseCurlReplies("<html>oops</html>\nURL=http://x/ CODE=200\n"); err == nil {
		t.Fatal("want an error for a body that is not the hello server's identity")
	}
}

func replyFrom(ip, pod string) Reply {
	return Reply{URL: fmt.Sprintf("http://%s:8080/?format=json", ip), Code: 200, Pod: pod, IP: ip}
}

func TestCheckEvenSpread(t *testing.T) {
	byIP := map[string]string{"10.0.0.1": "p0", "10.0.0.2": "p1", "10.0.0.3": "p2"}
	ips := slices.Sorted(maps.Keys(byIP))
	urls := BalancedURLs(RoundRobin, ips, 6, 8080, "/?format=json")
	if urls[0] != urls[3] || urls[0] == urls[1] || urls[5] != "http://10.0.0.3:8080/?format=json" {
		t.Fatalf("round robin = %v", urls)
	}
	if first := BalancedURLs(FirstAddress, ips, 3, 8080, "/"); first[0] != first[2] || first[0] != "http://10.0.0.1:8080/" {
		t.Fatalf("first address = %v", first)
	}
	var even []Reply
	for i := range 6 {
		ip := ips[i%3]
		even = append(even, replyFrom(ip, byIP[ip]))
	}
	if err := CheckEvenSpread(even, byIP); err != nil {
		t.Fatal(err)
	}
	skewed := slices.Clone(even)
	skewed[0] = replyFrom("10.0.0.2", "p1")
	if err := CheckEvenSpread(skewed, byIP); err == nil {
		t.Fatal("want an error when a pod served more than its share")
	}
	impostor := slices.Clone(even)
	impostor[0].Pod = "p1" // answered from 10.0.0.1 but claims to be p1
	if err := CheckEvenSpread(impostor, byIP); err == nil {
		t.Fatal("want an error when an IP is answered by another pod")
	}
	failed := slices.Clone(even)
	failed[4].Code = 0
	if err := CheckEvenSpread(failed, byIP); err == nil {
		t.Fatal("want an error for a failed request")
	}
	if err := CheckEvenSpread(even[:5], byIP); err == nil {
		t.Fatal("want an error when the count cannot be split evenly")
	}
}

func TestCheckServedBy(t *testing.T) {
	replies := []Reply{replyFrom("10.96.1.1", "p0"), replyFrom("10.96.1.1", "p0"), replyFrom("10.96.1.1", "p2")}
	if err := CheckServedBy(replies, []string{"p0", "p1", "p2"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckServedBy(replies, []string{"p0", "p1"}); err == nil {
		t.Fatal("want an error for a reply from a pod outside the set")
	}
	table := FormatTally("kube-proxy", Tally(replies), []string{"p2", "p1", "p0"})
	want := "kube-proxy (3 requests)\n  p0                     2 ##\n  p1                     0 \n  p2                     1 #\n"
	if table != want {
		t.Fatalf("FormatTally =\n%q\nwant\n%q", table, want)
	}
}
