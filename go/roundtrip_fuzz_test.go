package rpyc_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// FuzzRoundTrip: random nested values go Go -> a real classic server -> Go and come back
// equal. The server echoes them (bridge_fixtures.echo), each twice. The function is
// resolved once per process, so plain arguments go straight to its netref and plain
// replies are read by the Rust wire reader; others take the general path. `go test` replays the seeds;
// scripts/fuzz.sh fuzzes it for a bounded time.
//
// Input: data, read by valueGen as a stream of choices; bigLen, the length of one large text
// (modulo 3 MiB) put beside the value, half of it non-ASCII, with invalid UTF-8 when odd.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{}, uint32(0))
	f.Add([]byte{9, 5, 1, 1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 5, 0, 0, 0, 0, 0, 0, 248, 127, 6, 3, 'a', 'b', 'c'}, uint32(0))
	f.Add([]byte{10, 3, 6, 2, '$', 'k', 3, 200, 7, 4, 0xe9, 0x00, 0x1f, 0x60, 0xd8, 0x3d, 0xf6, 0x00, 8, 3, 0, 255, 10}, uint32(1<<20))
	f.Add([]byte{4, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 4, 9, 0x80, 1, 2, 3, 4, 5, 6, 7, 8}, uint32(0))
	f.Add([]byte{9, 6, 9, 6, 9, 6, 9, 6, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 11, 3, 1, 2, 3, 4, 5, 6, 7, 8}, uint32(100))
	f.Add([]byte{9, 3, 5, 0, 0, 0, 0, 0, 0, 0, 0x80, 11, 1, 0, 0, 0, 0, 0, 0, 0, 0x80, 5, 0, 0, 0, 0, 0, 0, 0xf0, 0xff}, uint32(0)) // -0.0, -inf
	f.Add([]byte{12, 7, 3, 0xe4, 0xb8, 0xad, 12, 3, 0xce, 0xb1, 0xcf}, uint32(3<<20-1))
	f.Fuzz(func(t *testing.T, data []byte, bigLen uint32) {
		conn := roundTripConn(t)
		g := &valueGen{data: data}
		in, want := g.value(0)
		text, wantText := bigText(int(bigLen % (3 << 20)))
		args := []any{in, text}
		wants := []any{want, wantText}
		for attempt := 0; attempt < 2; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			v, err := conn.Call(ctx, "bridge_fixtures", "echo", args)
			cancel()
			if err != nil {
				t.Fatalf("echo %s: %v", describe(in), err)
			}
			got, err := v.Interface()
			if err != nil {
				t.Fatal(err)
			}
			if msg := mismatch(wants, got, "value"); msg != "" {
				t.Fatalf("call %d: %s\nsent %s", attempt+1, msg, describe(in))
			}
		}
	})
}

var (
	roundTripOnce sync.Once
	roundTrip     *rpyc.Conn
	roundTripErr  error
)

// roundTripConn is one connection to the test server for the whole process: fuzzing
// runs many inputs, and a dial per input would measure dials.
func roundTripConn(t *testing.T) *rpyc.Conn {
	t.Helper()
	roundTripOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		roundTrip, roundTripErr = rpyc.Dial(ctx, serverAddr)
		if roundTripErr == nil {
			// A str result: echo is then called straight through its netref.
			_, roundTripErr = roundTrip.Call(ctx, "bridge_fixtures", "echo", "warm up")
		}
	})
	if roundTripErr != nil {
		t.Fatal(roundTripErr)
	}
	return roundTrip
}

// bigText is a string of about n bytes, with its second half non-ASCII (2-, 3- and 4-byte
// UTF-8) and, when n is odd, bytes that are not UTF-8; and the string that comes back.
func bigText(n int) (string, string) {
	var b strings.Builder
	b.Grow(n + 4)
	for b.Len() < n/2 {
		b.WriteString("ascii text, ")
	}
	for _, r := range []rune("é€😀") {
		for i := 0; b.Len() < n && i < 1000; i++ {
			b.WriteRune(r)
		}
	}
	if n%2 == 1 && b.Len() < n {
		// Go does not check a long string's UTF-8: Python replaces each bad byte with U+FFFD.
		b.WriteString("\xff\xe2\x82 \xed\xa0\x80\xc0\xaf")
	}
	for b.Len() < n {
		b.WriteString("ü")
	}
	s := b.String()
	return s, string([]rune(s))
}

// valueGen makes a Go value from fuzz bytes, and the value it should come back as.
type valueGen struct {
	data []byte
}

func (g *valueGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *valueGen) bytes(n int) []byte {
	n = min(n, len(g.data))
	b := append([]byte{}, g.data[:n]...)
	g.data = g.data[n:]
	return b
}

func (g *valueGen) u64() uint64 {
	var b [8]byte
	copy(b[:], g.bytes(8))
	return binary.LittleEndian.Uint64(b[:])
}

const maxDepth = 5

func (g *valueGen) value(depth int) (in, want any) {
	kind := g.byte() % 13
	if depth >= maxDepth && kind >= 9 {
		kind %= 9
	}
	switch kind {
	case 0:
		return nil, nil
	case 1:
		b := g.byte()&1 == 1
		return b, b
	case 2:
		i := int64(g.u64())
		return i, i
	case 3:
		i := int(int8(g.byte()))
		return i, int64(i)
	case 4: // an integer of up to 40 bytes, any sign
		n := new(big.Int).SetBytes(g.bytes(int(g.byte() % 41)))
		if g.byte()&1 == 1 {
			n.Neg(n)
		}
		if n.IsInt64() {
			return n, n.Int64()
		}
		return n, n
	case 5:
		x := math.Float64frombits(g.u64())
		return x, x
	case 6: // any bytes as text: invalid UTF-8 travels as U+FFFD, byte by byte
		s := string(g.bytes(int(g.byte() % 64)))
		return s, string([]rune(s))
	case 7: // non-ASCII text: code points from pairs of bytes, beyond the BMP too
		var b strings.Builder
		for n := int(g.byte() % 16); n > 0; n-- {
			r := rune(g.byte())<<8 | rune(g.byte())
			if g.byte()&1 == 1 {
				r += 0x10000
			}
			b.WriteRune(r)
		}
		s := b.String()
		return s, s
	case 8:
		b := g.bytes(int(g.byte() % 64))
		return b, b
	case 9, 12: // a slice or an array: a tuple there, []any back
		n := int(g.byte() % 7)
		ins, wants := make([]any, n), make([]any, n)
		for i := range ins {
			ins[i], wants[i] = g.value(depth + 1)
		}
		if kind == 12 && n >= 2 {
			return [2]any{ins[0], ins[1]}, wants[:2]
		}
		return ins, wants
	case 10: // a dict with str keys
		n := int(g.byte() % 6)
		ins, wants := map[string]any{}, map[string]any{}
		for i := 0; i < n; i++ {
			key := string([]rune(string(g.bytes(int(g.byte() % 8)))))
			ins[key], wants[key] = g.value(depth + 1)
		}
		return ins, wants
	default: // 11: a []float64, a tuple of floats there
		n := int(g.byte() % 9)
		ins, wants := make([]float64, n), make([]any, n)
		for i := range ins {
			ins[i] = math.Float64frombits(g.u64())
			wants[i] = ins[i]
		}
		return ins, wants
	}
}

// mismatch says how got differs from want ("" if it does not): NaN equals NaN, big
// integers compare by value, and maps by their entries whatever their Go map type.
func mismatch(want, got any, path string) string {
	switch w := want.(type) {
	case nil:
		if got != nil {
			return fmt.Sprintf("%s: want nil, got %T %v", path, got, got)
		}
	case float64:
		g, ok := got.(float64)
		if !ok || !(g == w || math.IsNaN(g) && math.IsNaN(w)) || math.Signbit(g) != math.Signbit(w) && !math.IsNaN(w) {
			return fmt.Sprintf("%s: want float64 %v, got %T %v", path, w, got, got)
		}
	case *big.Int:
		g, ok := got.(*big.Int)
		if !ok || g.Cmp(w) != 0 {
			return fmt.Sprintf("%s: want big %v, got %T %v", path, w, got, got)
		}
	case []byte:
		g, ok := got.([]byte)
		if !ok || string(g) != string(w) {
			return fmt.Sprintf("%s: want bytes %q, got %T %v", path, w, got, got)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want %d items, got %T %v", path, len(w), got, describe(got))
		}
		for i := range w {
			if msg := mismatch(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); msg != "" {
				return msg
			}
		}
	case map[string]any:
		entries := map[string]any{}
		switch g := got.(type) {
		case map[string]any:
			entries = g
		case map[any]any: // keys that look like the wire form's tags come back this way
			for k, v := range g {
				s, ok := k.(string)
				if !ok {
					return fmt.Sprintf("%s: key %T %v", path, k, k)
				}
				entries[s] = v
			}
		default:
			return fmt.Sprintf("%s: want a map, got %T %v", path, got, describe(got))
		}
		if len(entries) != len(w) {
			return fmt.Sprintf("%s: want %d entries, got %d", path, len(w), len(entries))
		}
		for k, v := range w {
			g, ok := entries[k]
			if !ok {
				return fmt.Sprintf("%s: key %q missing", path, k)
			}
			if msg := mismatch(v, g, fmt.Sprintf("%s[%q]", path, k)); msg != "" {
				return msg
			}
		}
	default: // bool, int64, string
		if got != want {
			return fmt.Sprintf("%s: want %T %s, got %T %s", path, want, describe(want), got, describe(got))
		}
	}
	return ""
}

// describe is a value for a failure message, long strings cut short.
func describe(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		return fmt.Sprintf("%s... (%d bytes)", s[:300], len(s))
	}
	return s
}
