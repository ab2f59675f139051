package middleware

import (
	"net/http/httptest"
	"testing"
)

// Issue 15, finding 13: behind a trusted reverse proxy the client is the
// right-most untrusted X-Forwarded-For address; from anyone else the
// header is ignored, so a client cannot choose the address it is counted
// (throttled, logged) as.
func TestProxiesClient(t *testing.T) {
	ps, err := ParseProxies("10.0.0.0/8, 192.0.2.7 ,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.5:4000", "", "203.0.113.5"},
		{"203.0.113.5:4000", "198.51.100.1", "203.0.113.5"}, // not a proxy: header ignored
		{"10.1.2.3:4000", "", "10.1.2.3"},
		{"10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:4000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},           // the left part may be forged
		{"10.1.2.3:4000", "198.51.100.1, 192.0.2.7", "198.51.100.1"},         // two proxies
		{"10.1.2.3:4000", "198.51.100.1,10.9.9.9, 10.8.8.8", "198.51.100.1"}, // all hops trusted but one
		{"10.1.2.3:4000", "not-an-address", "10.1.2.3"},
		{"10.1.2.3:4000", "198.51.100.1:4711", "198.51.100.1"},         // a proxy that appends the port
		{"10.1.2.3:4000", "[2001:db8::7]:4711", "2001:db8::7"},         // the same for IPv6
		{"10.1.2.3:4000", "198.51.100.1, 10.9.9.9:80", "198.51.100.1"}, // a trusted hop with a port
		{"[::1]:4000", "2001:db8::1", "2001:db8::1"},
		{"192.0.2.8:1", "198.51.100.1", "192.0.2.8"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := ps.Client(r); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	if _, err := ParseProxies("10.0.0.0/8,example.com"); err == nil {
		t.Error("a host name was accepted as a trusted proxy")
	}
	var none Proxies
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:4"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := none.Client(r); got != "10.1.2.3" {
		t.Errorf("with no trusted proxies the client is %s, want the peer", got)
	}
}
