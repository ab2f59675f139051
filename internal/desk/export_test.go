package desk

// SetChangeListLimit makes the CAB agenda and the change calendar list at
// most n changes until the returned function is called.
func SetChangeListLimit(n int) (restore func()) {
	agenda, calendar := maxAgenda, maxCalendar
	maxAgenda, maxCalendar = n, n
	return func() { maxAgenda, maxCalendar = agenda, calendar }
}
