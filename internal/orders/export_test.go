package orders

// SetBeforeSlowWork sets a func called before each item is priced and each
// approval policy is evaluated on submit (what: "price", "policy").
func (s *Service) SetBeforeSlowWork(f func(what string)) { s.beforeSlowWork = f }
