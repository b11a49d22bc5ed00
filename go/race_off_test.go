//go:build !race

package rpyc_test

const raceDetector = false
