// Package secret seals what Steward must keep but nobody may read from the
// database: provider credentials and binding credentials. A Box encrypts
// with AES-256-GCM under a 32-byte key that lives outside the database
// (STEWARD_SECRET_KEY, or a key file beside the SQLite database).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the length of a key in bytes.
const KeySize = 32

// prefix marks sealed text, and the scheme that sealed it.
const prefix = "v1:"

// Box seals and opens secrets under one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("the secret key must be %d bytes (base64: 44 characters); it is %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// NewKey returns a fresh random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k)
	return k
}

// ParseKey reads a base64 key.
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("the secret key is not base64: %w", err)
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("the secret key must be %d bytes; it is %d (make one with: head -c 32 /dev/urandom | base64)", KeySize, len(k))
	}
	return k, nil
}

// LoadOrCreateKeyFile reads a base64 key from path, creating the file
// (mode 0600) with a fresh key when it does not exist.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k := NewKey()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create the secret key file: %w", err)
		}
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
			f.Close()
			return nil, err
		}
		return k, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("read the secret key file: %w", err)
	}
	return ParseKey(string(b))
}

// Seal encrypts plain text; the empty string stays empty.
func (b *Box) Seal(plain string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return prefix + base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plain), nil))
}

// ErrKey is returned when sealed text was sealed under another key.
var ErrKey = errors.New("the secret was sealed under another key: is STEWARD_SECRET_KEY the one this database was written with?")

// Open decrypts what Seal made.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if !strings.HasPrefix(sealed, prefix) {
		return "", errors.New("not a sealed secret")
	}
	raw, err := base64.StdEncoding.DecodeString(sealed[len(prefix):])
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", errors.New("a sealed secret is damaged")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", ErrKey
	}
	return string(plain), nil
}
