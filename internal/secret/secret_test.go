package secret

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal(`{"password":"hunter2"}`)
	if strings.Contains(s, "hunter2") || !strings.HasPrefix(s, "v1:") {
		t.Fatalf("sealed text shows the secret: %s", s)
	}
	if s == b.Seal(`{"password":"hunter2"}`) {
		t.Fatal("two seals of the same text are equal: the nonce is not random")
	}
	if got, err := b.Open(s); err != nil || got != `{"password":"hunter2"}` {
		t.Fatalf("open = %q, %v", got, err)
	}
	other, _ := New(NewKey())
	if _, err := other.Open(s); err != ErrKey {
		t.Fatalf("open under another key: %v, want ErrKey", err)
	}
	if b.Seal("") != "" {
		t.Fatal("empty must stay empty")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steward.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("second load gave another key: %v", err)
	}
	if _, err := ParseKey("bm90IDMyIGJ5dGVz"); err == nil {
		t.Fatal("a 12-byte key was accepted")
	}
}
