package sso

import "encoding/json"

// ForgeNonce returns a flow cookie like the given one with another nonce,
// sealed under the service's key: what an attacker who could write the
// cookie would send. Tests use it to show the ID token's nonce is checked.
func ForgeNonce(s *Service, cookie, nonce string) (string, error) {
	plain, err := s.box.Open(cookie)
	if err != nil {
		return "", err
	}
	var f flow
	if err := json.Unmarshal([]byte(plain), &f); err != nil {
		return "", err
	}
	f.Nonce = nonce
	b, _ := json.Marshal(f)
	return s.box.Seal(string(b)), nil
}
