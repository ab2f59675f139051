package identity

import (
	"sync"
	"time"
)

// throttle limits failed sign-ins per account and per client address within
// a sliding window. It counts failures for unknown accounts exactly as for
// known ones, so it tells an attacker nothing. It is per process: with
// several replicas the limit is per replica, which still bounds guessing.
type throttle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	throttleWindow     = 15 * time.Minute
	throttlePerAccount = 5
	throttlePerAddress = 30
)

func newThrottle() *throttle { return &throttle{failures: map[string][]time.Time{}} }

// wait returns how long the caller must wait before trying again, 0 if not.
func (t *throttle) wait(now time.Time, account, addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var longest time.Duration
	for _, k := range []struct {
		key string
		max int
	}{{"a:" + account, throttlePerAccount}, {"i:" + addr, throttlePerAddress}} {
		fs := t.prune(k.key, now)
		if len(fs) >= k.max {
			if w := fs[len(fs)-k.max].Add(throttleWindow).Sub(now); w > longest {
				longest = w
			}
		}
	}
	return longest
}

// maxKeys bounds the memory a flood of distinct accounts or addresses can
// take: past it, every key is pruned, and only live windows stay.
const maxKeys = 100_000

func (t *throttle) fail(now time.Time, account, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failures) >= maxKeys {
		for key := range t.failures {
			t.prune(key, now)
		}
	}
	for _, key := range []string{"a:" + account, "i:" + addr} {
		t.failures[key] = append(t.prune(key, now), now)
	}
}

func (t *throttle) succeed(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "a:"+account)
}

func (t *throttle) prune(key string, now time.Time) []time.Time {
	fs := t.failures[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= throttleWindow {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(t.failures, key)
		return nil
	}
	t.failures[key] = fs
	return fs
}
