package fuzztest

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what a bound said instead of failing.
type recorder struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msg = format
}

var sink [][]byte

// watch makes the watchdog tell the returned channel, not panic, until the
// test ends.
func watch(t *testing.T) <-chan string {
	caught := make(chan string, 1)
	old := exceeded
	exceeded = func(msg string) { caught <- msg }
	t.Cleanup(func() { exceeded = old })
	return caught
}

// TestBoundPassesSmallInputs: an input well inside the bounds says nothing.
func TestBoundPassesSmallInputs(t *testing.T) {
	r := &recorder{TB: t}
	stop := bound(r, 64<<20, time.Minute)
	sink = append(sink[:0], make([]byte, 1<<20))
	stop()
	if r.msg != "" {
		t.Errorf("a 1 MiB input was refused: %s", r.msg)
	}
}

// TestBoundCatchesAllocation: an input allocating past the bound fails when
// it is over, and the watchdog sees it while it still runs (the input here
// keeps allocating until it is told).
func TestBoundCatchesAllocation(t *testing.T) {
	r, caught := &recorder{TB: t}, watch(t)
	stop := bound(r, 8<<20, time.Hour)
	var msg string
	for msg == "" {
		sink = append(sink, make([]byte, 1<<20))
		if len(sink) > 64 {
			sink = sink[:0]
		}
		select {
		case msg = <-caught:
		case <-time.After(time.Millisecond):
		}
	}
	stop()
	if !strings.Contains(msg, "over the bound of 8388608") {
		t.Errorf("the watchdog said %q", msg)
	}
	if !strings.Contains(r.msg, "over the bound") {
		t.Errorf("the check at the end said %q", r.msg)
	}
}

// TestBoundCatchesAHang: an input running past the time bound is caught
// while it runs.
func TestBoundCatchesAHang(t *testing.T) {
	r, caught := &recorder{TB: t}, watch(t)
	stop := bound(r, 1<<30, 50*time.Millisecond)
	msg := <-caught // the input "hangs" until the watchdog speaks
	stop()
	if !strings.Contains(msg, "over the bound of 50ms") {
		t.Errorf("the watchdog said %q", msg)
	}
}
