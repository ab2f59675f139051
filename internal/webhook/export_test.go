package webhook

import "context"

// ClaimAndDie claims due deliveries and never records them: a deliverer
// killed (kill -9) mid-attempt.
func (s *Service) ClaimAndDie(ctx context.Context) (int, error) {
	c, err := s.claim(ctx)
	return len(c), err
}
