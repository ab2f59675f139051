package identity

import (
	"testing"
	"time"
)

func TestThrottleDelays(t *testing.T) {
	for _, tc := range []struct {
		rule throttleRule
		n    int
		want time.Duration
	}{
		{throttlePair, 3, 0},
		{throttlePair, 4, time.Second},
		{throttlePair, 5, 2 * time.Second},
		{throttlePair, 13, 512 * time.Second},
		{throttlePair, 14, 15 * time.Minute},
		{throttlePair, 1 << 30, 15 * time.Minute},
		{throttleAccount, 10, 0},
		{throttleAccount, 16, 32 * time.Second},
		{throttleAccount, 17, time.Minute},
		{throttleAccount, 10000, time.Minute},
		{throttleAddress, 30, 0},
		{throttleAddress, 31, time.Second},
	} {
		if got := tc.rule.delay(tc.n); got != tc.want {
			t.Errorf("%s delay after %d failures = %v, want %v", tc.rule.prefix, tc.n, got, tc.want)
		}
	}
}
