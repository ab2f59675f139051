// Package fuzztest bounds what one fuzz input may cost. Every fuzz target
// calls Bound first thing in its body:
//
//	f.Fuzz(func(t *testing.T, data []byte) {
//		defer fuzztest.Bound(t)()
//		…
//	})
//
// so the "bounded memory and time" every parser and user-supplied program
// promises (docs/limits.md) is checked on each input the fuzzer tries, not
// only stated. The bounds are far above what any input should need (they
// catch an alias bomb or an unbounded expansion, not a slow machine): an
// input that allocates more than MaxBytes in all, or runs longer than
// MaxTime, fails. The memory is watched while the input runs, so a bomb
// is stopped before it exhausts the machine: the watchdog panics, which
// ends the fuzz worker, and go test reports the input as a crasher and
// writes it to testdata/fuzz.
package fuzztest

import (
	"fmt"
	"runtime/metrics"
	"testing"
	"time"
)

const (
	// MaxBytes is the most one input may allocate in all (not only hold).
	MaxBytes = 512 << 20
	// MaxTime is the longest one input may run: a hang, not a budget (a
	// database-backed input takes milliseconds, on a loaded machine a
	// second).
	MaxTime = 2 * time.Minute
	// every is how often the watchdog looks.
	every = 20 * time.Millisecond
)

// exceeded is what the watchdog does when an input goes past a bound
// while running; a test replaces it.
var exceeded = func(msg string) { panic(msg) }

// allocated returns the bytes allocated on the heap since the program
// started (runtime/metrics: no stop-the-world, unlike ReadMemStats).
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Bound starts watching one input and returns the func that stops
// watching and checks the totals; defer it.
func Bound(t testing.TB) func() {
	return bound(t, MaxBytes, MaxTime)
}

func bound(t testing.TB, maxBytes uint64, maxTime time.Duration) func() {
	t.Helper()
	start, began := allocated(), time.Now()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if n := allocated() - start; n > maxBytes {
					exceeded(fmt.Sprintf("fuzztest: this input allocated %d bytes while running, over the bound of %d", n, maxBytes))
					return
				}
				if d := time.Since(began); d > maxTime {
					exceeded(fmt.Sprintf("fuzztest: this input has run %s, over the bound of %s", d.Round(time.Second), maxTime))
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		if n := allocated() - start; n > maxBytes {
			t.Fatalf("fuzztest: this input allocated %d bytes, over the bound of %d", n, maxBytes)
		}
	}
}
