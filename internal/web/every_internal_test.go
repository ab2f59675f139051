package web

import (
	"testing"
	"time"
)

// TestEvery: issue 17: the jobs page said "every 24h0m0s".
func TestEvery(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "every day", 48 * time.Hour: "every 2 days", time.Hour: "every hour", 6 * time.Hour: "every 6 hours",
		time.Minute: "every minute", 90 * time.Minute: "every 90 minutes", 30 * time.Second: "every 30 seconds", 1500 * time.Millisecond: "every 1.5s",
	} {
		if got := every(d); got != want {
			t.Errorf("every(%v) = %q, want %q", d, got, want)
		}
	}
}
