package identity

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottleWindowAndBound(t *testing.T) {
	th := newThrottle()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range throttlePerAccount {
		if w := th.wait(now, "a@example.com", fmt.Sprint("10.0.0.", i)); w != 0 {
			t.Fatalf("failure %d: must wait %v already", i, w)
		}
		th.fail(now, "a@example.com", fmt.Sprint("10.0.0.", i))
	}
	if w := th.wait(now, "a@example.com", "10.9.9.9"); w != throttleWindow {
		t.Errorf("after %d failures: wait %v, want %v", throttlePerAccount, w, throttleWindow)
	}
	if w := th.wait(now.Add(throttleWindow), "a@example.com", "10.9.9.9"); w != 0 {
		t.Errorf("after the window: wait %v", w)
	}
	// A flood of distinct accounts does not grow the map past the bound
	// once their windows have passed.
	later := now.Add(2 * throttleWindow)
	for i := range maxKeys {
		th.fail(now, fmt.Sprint("x", i, "@example.com"), "192.0.2.1")
	}
	th.fail(later, "last@example.com", "192.0.2.2")
	if n := len(th.failures); n > 4 {
		t.Errorf("%d keys kept after the sweep, want only the live ones", n)
	}
}
