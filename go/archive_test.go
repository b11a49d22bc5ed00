package rpyc_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"runtime"
	"testing"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// The generated per-platform file must name the archive that is really there, so that a
// rebuilt archive always reaches the binary.
func TestArchiveHashMatchesTheArchive(t *testing.T) {
	data, err := os.ReadFile("lib/" + runtime.GOOS + "-" + runtime.GOARCH + "/librpyc_bridge.a")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != rpyc.ArchiveSHA256() {
		t.Fatalf("linked archive %s, dist has %s: run scripts/build.sh", rpyc.ArchiveSHA256(), got)
	}
}
