package course

import (
	"testing"
)

func TestMetricValue(t *testing.T) {
	exposition := "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 2.5165824e+07\nprocess_resident_memory_bytes_total{x=\"y\"} 3\n"
	if v, err := metricValue(exposition, "process_resident_memory_bytes"); err != nil || v != 25165824 {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := metricValue(exposition, "coredns_dns_requests_total"); err == nil {
		t.Fatal("a missing metric was found")
	}
}
