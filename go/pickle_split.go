package rpyc

import (
	"encoding/binary"
	"sync"
)

// A large pickled list decodes on several cores. Python's pickler writes a list's items
// in batches, MARK item... APPENDS, and the server's pickles have no memo
// (wireformat.plain_pickle), so each batch stands alone: the list is cut at the MARKs
// nearest to equal shares of the pickle, and each share is decoded into a list of its
// own by an unpickler of its own (on 2 cores, 10k records: 6.2-7.9 -> 4.7-5.7 ms).
//
// A share decodes exactly as it would have in one pass, or not at all: it must begin
// and end with only the list on the stack, and none may use the memo, which the shares
// do not have in common (BINGET of a memo index it did not set fails). When one fails,
// the whole pickle is decoded again in one pass, which gives the value or the error.

// Measured on 2 cores: shares were slower for 3000 records (170 kB) and faster from 5000
// (280 kB; 100k records: 63-89 -> 47-53 ms). For lists of scalars (30k ints, 300k strs) they
// were slower at any size: decoding a scalar costs little beside the shares' copying.
const (
	splitMin    = 256 << 10 // bytes of pickle
	splitSparse = 128       // bytes of pickle per container made, at most
	splitMost   = 4         // shares
)

// unpickleShares decodes a pickled list in n shares at most; false when the pickle is
// not one, or is not cut so.
func unpickleShares(data []byte, n int) (any, bool) {
	if len(data) == 0 || data[len(data)-1] != opStop {
		return nil, false
	}
	bounds := listCuts(data, n)
	if len(bounds) < 3 {
		return nil, false
	}
	bounds[len(bounds)-1] = len(data) - 1 // the last share ends at the STOP
	shares := make([][]any, len(bounds)-1)
	decoded := make([]bool, len(shares))
	var wg sync.WaitGroup
	for i := 1; i < len(shares); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shares[i], decoded[i] = listShare(data[:bounds[i+1]], bounds[i])
		}()
	}
	shares[0], decoded[0] = listShare(data[:bounds[1]], bounds[0])
	wg.Wait()
	total := 0
	for i, items := range shares {
		if !decoded[i] {
			return nil, false
		}
		total += len(items)
	}
	list := make([]any, 0, total)
	for _, items := range shares {
		list = append(list, items...)
	}
	return list, true
}

// listCuts scans a pickle that makes a list: where its items begin (just past
// EMPTY_LIST), then the MARK of a batch at or past each n-th of the pickle, then
// len(data). Nil for any other pickle, or one with a memo. It only steps over operands
// (a tenth of the time decoding takes); the shares check everything else.
func listCuts(data []byte, n int) []int {
	u := &unpickler{data: data}
	if op, _, _, err := u.next(); err != nil || op != opEmptyList {
		return nil
	}
	cuts := []int{u.pos}
	marks, made := 0, 0 // MARKs open, containers made
	pos := u.pos
	for len(cuts) < n && pos >= 0 && pos < len(data) {
		at, op := pos, data[pos]
		pos++
		switch op {
		case opBinInt1, opProto:
			pos++
		case opBinInt2:
			pos += 2
		case opBinInt:
			pos += 4
		case opBinFloat, opFrame:
			pos += 8
		case opShortUnicode, opShortBinBytes, opLong1:
			if pos < len(data) { // the common case, inline
				pos += 1 + int(data[pos])
			}
		case opBinUnicode, opBinBytes, opLong4:
			pos = pastSized(data, pos, 4)
		case opBinUnicode8, opBinBytes8, opByteArray8:
			pos = pastSized(data, pos, 8)
		case opMark:
			if marks == 0 && at >= len(data)*len(cuts)/n {
				cuts = append(cuts, at)
			}
			marks++
		case opTuple, opFrozenSet:
			made++
			fallthrough
		case opAppends, opSetItems, opAddItems, opPopMark:
			if marks--; marks < 0 {
				return nil
			}
		case opEmptyList, opEmptyDict, opEmptySet, opEmptyTuple, opTuple1, opTuple2, opTuple3:
			made++
		case opMemoize, opBinPut, opLongBinPut, opBinGet, opLongBinGet:
			return nil
		case opStop:
			pos = len(data)
		}
	}
	if pos < 0 || made*splitSparse < pos {
		return nil // items of a few scalars each: shares would not pay for themselves
	}
	return append(cuts, len(data))
}

// pastSized is where the operand at pos ends, its size first in w = 4 or 8 bytes
// (little-endian), or -1 when it runs past the data.
func pastSized(data []byte, pos, w int) int {
	if w > len(data)-pos {
		return -1
	}
	size := uint64(binary.LittleEndian.Uint32(data[pos:]))
	if w == 8 {
		size = binary.LittleEndian.Uint64(data[pos:])
	}
	if size > uint64(len(data)-pos-w) {
		return -1
	}
	return pos + w + int(size)
}

// listShare decodes data[from:] as the items of a list on the stack, to the end of data:
// the share's items, or false when it does not end with only that list on the stack.
func listShare(data []byte, from int) ([]any, bool) {
	u, done := withScratch(data, from)
	defer done()
	list := u.container()
	list.kind = opEmptyList
	u.push(list)
	if _, err := u.run(); err != errNoStop || u.pos != len(data) {
		return nil, false
	}
	if len(u.stack) != 1 || u.stack[0].v != any(list) || len(u.marks) != 0 || list.used {
		return nil, false
	}
	return list.items, true
}
