package dns

import (
	"fmt"
	"strings"

	mdns "github.com/miekg/dns"
)

// ParseResolvConf reads a resolv.conf: nameservers, search list and ndots, with the defaults
// of the C resolvers (ndots 1). Its NameList gives the names a stub resolver tries, in order.
func ParseResolvConf(text string) (*mdns.ClientConfig, error) {
	conf, err := mdns.ClientConfigFromReader(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("resolv.conf: %w", err)
	}
	return conf, nil
}

// ClusterZone reads the cluster DNS zone from a pod's search list ("search <ns>.svc.<zone>
// svc.<zone> <zone>"), so nothing assumes cluster.local.
func ClusterZone(conf *mdns.ClientConfig, namespace string) (string, error) {
	prefix := namespace + ".svc."
	for _, d := range conf.Search {
		if strings.HasPrefix(d, prefix) {
			return strings.TrimSuffix(strings.TrimPrefix(d, prefix), "."), nil
		}
	}
	return "", fmt.Errorf("no %s<zone> entry in the pod's search list %v", prefix, conf.Search)
}

// ServiceFQDN is a Service's absolute name (trailing dot: no search list involved).
func ServiceFQDN(service, namespace, zone string) string {
	return fmt.Sprintf("%s.%s.svc.%s.", service, namespace, zone)
}

// HostFQDN is the absolute name of an endpoint's hostname under a headless Service: for a
// StatefulSet pod, the pod's name under its serviceName.
func HostFQDN(hostname, service, namespace, zone string) string {
	return hostname + "." + ServiceFQDN(service, namespace, zone)
}

// SRVName is the SRV name of a Service's named port: _<port>._<proto>.<service FQDN>.
func SRVName(port, proto, service, namespace, zone string) string {
	return "_" + port + "._" + strings.ToLower(proto) + "." + ServiceFQDN(service, namespace, zone)
}

// FitA is how many A records for qname fit in a DNS message of limit bytes without EDNS (512
// over UDP, 65,535 over TCP): a 12-byte header, the question (the name in wire form, type and
// class), then 16 bytes per record (a compression pointer to the question's name, type,
// class, TTL, length, 4 address bytes). A longer name leaves room for fewer records.
func FitA(qname string, limit int) int {
	wire := len(strings.TrimSuffix(qname, ".")) + 2
	return (limit - 12 - wire - 4) / 16
}
