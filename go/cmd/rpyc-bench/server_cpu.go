package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/PID/stat's CPU times: 100 on every Linux we build for.
const userHZ = 100

// processCPU is the user plus system CPU time process pid has used so far (0 for pid 0:
// no server process given).
func processCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	must(err, "read the server's /proc stat")
	// The command name, in parentheses, may hold spaces: the fields start after it.
	_, rest, _ := strings.Cut(string(stat), ") ")
	fields := strings.Fields(rest)
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime (fields 14 and 15 of stat(5))
		n, err := strconv.ParseInt(f, 10, 64)
		must(err, "parse the server's /proc stat")
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ
}
