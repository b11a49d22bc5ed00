//go:build race

package rpyc_test

// raceDetector: the race detector's shadow memory grows with the work done, so bounds on
// RSS must allow for it.
const raceDetector = true
