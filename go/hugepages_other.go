//go:build !linux

package rpyc

// adviseHugePages is Linux's madvise(MADV_HUGEPAGE); elsewhere the kernel decides alone.
func adviseHugePages([]byte) {}
