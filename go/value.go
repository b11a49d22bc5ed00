package rpyc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// Value is a result: the JSON the server made of a Python value. Numbers keep Python's
// own text (String of a float result is Python's repr of it).
type Value struct {
	raw json.RawMessage
}

// JSON returns the raw JSON text.
func (v Value) JSON() json.RawMessage { return v.raw }

// String returns the JSON text.
func (v Value) String() string { return string(v.raw) }

// Decode stores the value in the Go value dst points to, as encoding/json does.
func (v Value) Decode(dst any) error {
	if err := json.Unmarshal(v.raw, dst); err != nil {
		return &Error{Code: CodeArgument, Op: "decode", Message: err.Error()}
	}
	return nil
}

// Interface returns the value as plain Go values: nil, bool, string, int64 (or *big.Int
// for larger integers), float64, []any and map[string]any.
func (v Value) Interface() (any, error) {
	dec := json.NewDecoder(bytes.NewReader(v.raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, &Error{Code: CodeArgument, Op: "decode", Message: err.Error()}
	}
	return plain(out), nil
}

// plain replaces json.Number with int64, *big.Int or float64, recursively.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := x.Int64(); err == nil {
				return i
			}
			if b, ok := new(big.Int).SetString(s, 10); ok {
				return b
			}
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = plain(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = plain(x[k])
		}
		return x
	}
	return v
}

// encodeArgs makes the JSON array of positional arguments.
func encodeArgs(args []any) (string, error) {
	if args == nil {
		args = []any{}
	}
	for i, a := range args {
		if _, ok := a.([]byte); ok {
			return "", &Error{Code: CodeArgument, Op: "encode", Message: fmt.Sprintf("argument %d: []byte has no JSON form; pass a string or a []int", i)}
		}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return "", &Error{Code: CodeArgument, Op: "encode", Message: err.Error()}
	}
	return string(b), nil
}

// encodeKwargs makes the JSON object of keyword arguments ("" for none).
func encodeKwargs(kwargs map[string]any) (string, error) {
	if len(kwargs) == 0 {
		return "", nil
	}
	b, err := json.Marshal(kwargs)
	if err != nil {
		return "", &Error{Code: CodeArgument, Op: "encode", Message: err.Error()}
	}
	return string(b), nil
}
