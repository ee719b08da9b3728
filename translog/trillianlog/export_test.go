package trillianlog

// SetMaxRound sets how many leaves a round or an import step integrates,
// so that tests cross step boundaries with few entries; it returns the
// function that restores it.
func SetMaxRound(n int64) (restore func()) {
	old := maxRound
	maxRound = n
	return func() { maxRound = old }
}
