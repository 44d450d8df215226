package headless

import (
	"net"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/headless-e2e/headless-e2e/pkg/dns"
)

// IP families. A dual-stack pod has one address of each family (status.podIPs, the primary
// first). A headless Service publishes the families in its spec.ipFamilies: one EndpointSlice
// per family (its address type), and DNS answers A records from the IPv4 slices and AAAA from
// the IPv6 ones. Which families a headless Service gets when it does not ask is the cluster's
// business (kubernetes.io/docs/concepts/services-networking/dual-stack, "Services"): with a
// selector SingleStack, the first service range's family; without one RequireDualStack.

// RecordType is the DNS record type of a family's addresses: A for IPv4, AAAA for IPv6.
func RecordType(f corev1.IPFamily) string {
	if f == corev1.IPv6Protocol {
		return "AAAA"
	}
	return "A"
}

// FamilyOf is the family of an IP address ("" when ip is not one).
func FamilyOf(ip string) corev1.IPFamily {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil:
		return ""
	case parsed.To4() != nil:
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

// IPOf is the pod's address of family f, or "" when it has none.
func (p PodAddr) IPOf(f corev1.IPFamily) string {
	for _, ip := range p.addresses() {
		if FamilyOf(ip) == f {
			return ip
		}
	}
	return ""
}

// addresses are every address of the pod, primary first: IPs, or IP alone when IPs is unset.
func (p PodAddr) addresses() []string {
	if len(p.IPs) > 0 {
		return p.IPs
	}
	if p.IP != "" {
		return []string{p.IP}
	}
	return nil
}

// IPsOf are the pods' addresses of family f, sorted.
func IPsOf(pods []PodAddr, f corev1.IPFamily) []string {
	var ips []string
	for _, p := range pods {
		if ip := p.IPOf(f); ip != "" {
			ips = append(ips, ip)
		}
	}
	sort.Strings(ips)
	return ips
}

// AddressChecks are the checks that q answers exactly the pods' addresses: one per family, q
// asked for that family's record type (A, AAAA) and answering exactly their addresses of it.
// No family is IPv4 alone, never no check.
func AddressChecks(q dns.Query, families []corev1.IPFamily, pods ...PodAddr) []DNSCheck {
	if len(families) == 0 {
		families = []corev1.IPFamily{corev1.IPv4Protocol}
	}
	var checks []DNSCheck
	for _, f := range families {
		q := q
		q.Type = RecordType(f)
		checks = append(checks, DNSCheck{Query: q, Want: dns.Exactly(q.Type, IPsOf(pods, f)...)})
	}
	return checks
}

// ServiceFamilies are the families a Service publishes (spec.ipFamilies); a Service the API
// server has not defaulted (a fake's) is its first cluster IP's family, else IPv4.
func ServiceFamilies(svc *corev1.Service) []corev1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies
	}
	if f := FamilyOf(svc.Spec.ClusterIP); f != "" {
		return []corev1.IPFamily{f}
	}
	return []corev1.IPFamily{corev1.IPv4Protocol}
}
