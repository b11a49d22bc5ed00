package rpyc

// LentBuffers is, for the tests, the number of result buffers in Go memory that the
// library holds now (lent, not yet handed back or released), and the number ever lent.
func LentBuffers() (now, ever int) {
	pinnedResults.Lock()
	defer pinnedResults.Unlock()
	return len(pinnedResults.buffers), int(pinnedResults.next)
}
