package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/steward-itaas/steward/internal/errs"
)

// Argon2Params is the cost of Argon2id password hashing.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 follows the OWASP password storage recommendation for
// Argon2id: 19 MiB, two passes, one lane.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Password length limits: long enough to be worth it, short enough that
// hashing a submitted one cannot be used to exhaust the server.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

func validatePassword(v *errs.Validator, field, pw string) {
	n := utf8.RuneCountInString(pw)
	v.Check(n >= MinPasswordLen && len(pw) <= MaxPasswordLen, field, "length",
		fmt.Sprintf("password must be %d to %d characters; a passphrase of a few words is best", MinPasswordLen, MaxPasswordLen))
}

// hashPassword returns the PHC string of an Argon2id hash with a random salt.
func hashPassword(pw string, p Argon2Params) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// checkPassword reports whether pw matches the PHC-encoded hash; the cost is
// read from the hash, so old hashes keep working when the default changes.
func checkPassword(pw, encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
