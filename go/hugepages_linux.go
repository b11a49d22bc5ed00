package rpyc

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on x86-64 and on arm64 with 4 kB pages.
const hugePage = 2 << 20

// adviseHugePages asks Linux to back b's whole 2 MB pages with huge pages before b is first
// written: filling fresh memory then takes a page fault per 2 MB instead of per 4 kB, which
// on a virtual machine can cost more than the copy itself. Only advice: b's contents never
// change, and a kernel that declines changes nothing.
func adviseHugePages(b []byte) {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := (start + hugePage - 1) &^ (hugePage - 1)
	end := (start + uintptr(len(b))) &^ (hugePage - 1)
	if end > first {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, first, end-first, syscall.MADV_HUGEPAGE)
	}
}

// physicalMemory is the machine's RAM in bytes (0 if unknown).
func physicalMemory() uint64 {
	var info syscall.Sysinfo_t
	if syscall.Sysinfo(&info) != nil {
		return 0
	}
	return uint64(info.Totalram) * uint64(info.Unit)
}
