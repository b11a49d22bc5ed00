package rpyc

import (
	"encoding/binary"
	"hash/maphash"
	"reflect"
	"strconv"
	"testing"
)

// The hash order (mapfill.go) must be the map's own on the Go versions this module
// supports, or large dicts quietly decode at the old speed: if this fails, the runtime's
// map header or its hash changed, and mapSeed needs looking at.
func TestMapSeedGivesTheMapsOwnOrder(t *testing.T) {
	if !hashOrderWorks() {
		t.Fatal("mapSeed does not give the map's hash: large maps are filled in the pickle's order")
	}
	m := probeMap()
	if iteratesInHashOrder(m, maphash.MakeSeed()) {
		t.Fatal("the check takes another seed for the map's")
	}
	if _, ok := mapSeed(map[string]bool(nil)); ok {
		t.Fatal("a nil map has no seed")
	}
}

// A dict past hashOrderMin, whose keys go in in hash order, decodes as the general path
// decodes it, with a key that comes twice keeping its last value, as in Python.
func TestDictsInHashOrderKeepEveryEntry(t *testing.T) {
	n := hashOrderMin + 1000
	data := []byte{opProto, pickleProtocol, opEmptyDict}
	for i := range n {
		if i%1000 == 0 {
			data = append(data, opMark)
		}
		key := "k" + strconv.Itoa(i%(n/2)) // each key twice
		if i%7 == 0 {
			key = string(make([]byte, 130+i%50)) + key // longer than maphash's 128-byte block
		}
		data = append(data, opBinUnicode)
		data = binary.LittleEndian.AppendUint32(data, uint32(len(key)))
		data = append(data, key...)
		data = append(data, opBinInt)
		data = binary.LittleEndian.AppendUint32(data, uint32(i))
		if i%1000 == 999 || i == n-1 {
			data = append(data, opSetItems)
		}
	}
	data = append(data, opStop)
	var typed map[string]int64
	if !decodePickled(data, &typed) {
		t.Fatal("typed decoding stepped aside")
	}
	tree, err := unpickle(data)
	if err != nil {
		t.Fatal(err)
	}
	var general map[string]int64
	if err := assign(reflect.ValueOf(&general).Elem(), tree); err != nil {
		t.Fatal(err)
	}
	if len(typed) != len(general) || !reflect.DeepEqual(typed, general) {
		t.Fatalf("typed has %d entries, general %d, or they differ", len(typed), len(general))
	}
	if got := typed["k5"]; got != int64(n/2+5) {
		t.Fatalf("k5 is %d, want its last value %d", got, n/2+5)
	}
}

// A large flat dict read as a value (unpickle, as Interface does) is filled as typed
// decoding fills one, and holds what one pass of the general unpickler makes.
func TestLargeFlatDictsDecodeAsOnePassDoes(t *testing.T) {
	exprs := []string{
		`{"k%d" % i: [None, True, i, 2**70 + i, i * 0.5, "v%d" % (i % 9), b"b", "é" * (i % 3)][i % 8] for i in range(150000)}`,
		`{"k%d" % i: i if i < 149999 else [i] for i in range(150000)}`, // not flat: one pass decodes it
		`{i: i for i in range(150000)}`, // not str keys
	}
	for i, data := range serverPickles(t, exprs) {
		if len(data) < splitMin {
			t.Fatalf("%s: %d bytes, under splitMin: unpickle would not try flatDict", exprs[i], len(data))
		}
		_, flat := flatDict(data)
		if flat != (i == 0) {
			t.Errorf("%s: flatDict took it: %v", exprs[i], flat)
		}
		got, err := unpickle(data)
		want, wantErr := unpickleOnePass(data)
		if err != nil || wantErr != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: unpickle %v (%v), one pass %v (%v)", exprs[i], abbrev(got), err, abbrev(want), wantErr)
		}
	}
}
