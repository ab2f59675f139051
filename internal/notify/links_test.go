package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/fuzztest"
)

// FuzzLinkOpen: a link's token comes from a URL anyone can type; opening
// it never panics, and only what was signed opens.
func FuzzLinkOpen(f *testing.F) {
	k := newLinkKey([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	good := k.sign(Link{Action: ActionApprove, User: "u", Object: "o", Expires: now.Add(time.Hour).Unix()})
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add("")
	f.Add(".")
	f.Add("eyJhIjoiYXBwcm92ZSJ9.")
	f.Fuzz(func(t *testing.T, token string) {
		defer fuzztest.Bound(t)()
		l, err := k.open(token, now)
		if err == nil && token != good {
			t.Fatalf("a token that was not signed opened: %q → %+v", token, l)
		}
	})
}

// A signature has one spelling: the same bits written with other padding
// bits in its last character do not open, so a used link cannot be used
// again spelt differently.
func TestLinkHasOneSpelling(t *testing.T) {
	k := newLinkKey([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	good := k.sign(Link{Action: ActionApprove, User: "u", Object: "o", Expires: now.Add(time.Hour).Unix()})
	if _, err := k.open(good, now); err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, good[len(good)-1])
	for low := 1; low < 4; low++ { // 32 bytes in 43 characters leave 2 bits over
		other := good[:len(good)-1] + string(alphabet[last^low])
		if _, err := k.open(other, now); err == nil {
			t.Errorf("another spelling of the signature opened: %s", other)
		}
	}
	// The base64 decoder skips CR and LF, even when strict.
	for _, other := range []string{good[:len(good)-5] + "\r\n" + good[len(good)-5:], good + "\n", strings.Replace(good, ".", ".\r", 1)} {
		if _, err := k.open(other, now); err == nil {
			t.Errorf("the signature spelt with line breaks opened: %q", other)
		}
	}
	if _, err := k.open(good, now.Add(2*time.Hour)); err == nil {
		t.Error("an expired link opened")
	}
}
