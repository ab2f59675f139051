package desk

// SetChangeListLimit makes the change calendar list at most n changes
// until the returned function is called.
func SetChangeListLimit(n int) (restore func()) {
	calendar := maxCalendar
	maxCalendar = n
	return func() { maxCalendar = calendar }
}
