package main

import (
	"regexp"
	"strings"
	"testing"
)

// Issue 15, finding 15: without a metrics token /metrics is not on the
// main address; --metrics-addr serves it on an internal one.
func TestServeMetricsAddress(t *testing.T) {
	getenv := envFor(t, nil)
	url, out, _ := startServe(t, getenv, "--metrics-addr", "127.0.0.1:0")
	if code, body := get(t, url+"/metrics", ""); code == 200 || strings.Contains(body, "steward_http") {
		t.Errorf("/metrics on the main address without a token = %d %.80s", code, body)
	}
	m := regexp.MustCompile(`Metrics at (http://\S+/metrics)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("serve does not print the metrics address:\n%s", out.String())
	}
	get(t, url+"/healthz", "")
	if code, body := get(t, m[1], ""); code != 200 || !strings.Contains(body, "steward_http_requests_total") {
		t.Errorf("%s = %d, without steward_http_requests_total", m[1], code)
	}
}
