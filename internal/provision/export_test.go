package provision

// SetBeforePlace makes the service call f before it evaluates a placement
// policy.
func (s *Service) SetBeforePlace(f func()) { s.beforePlace = f }
