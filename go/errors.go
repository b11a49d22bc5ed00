package rpyc

import (
	"context"
	"errors"
	"fmt"
)

// Sentinels for errors.Is: an *Error matches the sentinel of its Code.
var (
	ErrArgument = errors.New("rpyc: bad argument")
	ErrInit     = errors.New("rpyc: embedded Python did not start")
	ErrConnect  = errors.New("rpyc: cannot connect")
	ErrHandle   = errors.New("rpyc: unknown connection")
	ErrTimeout  = errors.New("rpyc: timed out")
	ErrClosed   = errors.New("rpyc: connection closed")
	ErrInternal = errors.New("rpyc: internal error")
)

// Error is a failure of the bridge itself: a bad argument, a failed connection, a timeout.
type Error struct {
	Code    Code
	Op      string // what was being done: "dial", "call math.sqrt", ...
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("rpyc: %s: %s", e.Op, e.Message) }

// Is matches the sentinel of e.Code, and context.DeadlineExceeded for timeouts.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrArgument:
		return e.Code == CodeArgument
	case ErrInit:
		return e.Code == CodeInit
	case ErrConnect:
		return e.Code == CodeConnect
	case ErrHandle:
		return e.Code == CodeHandle
	case ErrTimeout, context.DeadlineExceeded:
		return e.Code == CodeTimeout
	case ErrClosed:
		return e.Code == CodeClosed || e.Code == CodeHandle
	case ErrInternal:
		return e.Code == CodeInternal
	}
	return false
}

// PythonError is an exception raised by the remote Python code.
type PythonError struct {
	Op        string
	Type      string // the exception class name, e.g. "ModuleNotFoundError"
	Message   string // str() of the exception, without the traceback
	Traceback string // the remote traceback, as Python printed it
}

func (e *PythonError) Error() string {
	return fmt.Sprintf("rpyc: %s: %s: %s", e.Op, e.Type, e.Message)
}
