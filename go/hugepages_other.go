//go:build !linux

package rpyc

// adviseHugePages is Linux's madvise(MADV_HUGEPAGE); elsewhere the kernel decides alone.
func adviseHugePages([]byte) {}

// physicalMemory is unknown here: large results stay in library memory until copied.
func physicalMemory() uint64 { return 0 }
