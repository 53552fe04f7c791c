package errs

import (
	"errors"
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/protocol"
)

// Code is a stable, machine-readable error class; HTTPStatus maps it, in
// the one code→status table.
type Code string

// The codes, in the order of the house rules.
const (
	Invalid          Code = "invalid"
	Unauthorized     Code = "unauthorized"
	Forbidden        Code = "forbidden"
	NotFound         Code = "not_found"
	Conflict         Code = "conflict"
	RateLimited      Code = "rate_limited"
	Unavailable      Code = "unavailable"
	Internal         Code = "internal"
	TooLarge         Code = "too_large"
	UnsupportedMedia Code = "unsupported_media_type"
	MethodNotAllowed Code = "method_not_allowed"
)

// Error is a cStar error. Message is shown to the client verbatim unless the
// code is Internal, in which case the client sees a generic text and the
// wrapped Err is logged.
type Error struct {
	Code    Code
	Message string
	// Field names the request field that failed validation, if any.
	Field string
	// RetryAfter tells the client when to try again (rate_limited, unavailable).
	RetryAfter time.Duration
	// Reason is a stable code that says more than Code, where telling is
	// safe (an identity token refused in test mode: "token_expired").
	Reason string
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the given code and client-facing message.
func New(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Invalidf returns a validation error that names the offending field.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a not_found error.
func NotFoundf(format string, args ...any) *Error {
	return &Error{Code: NotFound, Message: fmt.Sprintf(format, args...)}
}

// Conflictf returns a conflict error.
func Conflictf(format string, args ...any) *Error {
	return &Error{Code: Conflict, Message: fmt.Sprintf(format, args...)}
}

// Internalf wraps an unexpected failure; its text never reaches a client.
func Internalf(err error, format string, args ...any) *Error {
	return &Error{Code: Internal, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrNotFound is the sentinel that the store wraps when a row does not exist,
// so features can tell "missing" from "broken" with errors.Is.
var ErrNotFound = errors.New("not found")

// ErrConflict is the sentinel that the store wraps when a unique constraint
// is violated.
var ErrConflict = errors.New("conflict")

// ErrUnavailable is the sentinel that the store wraps when the database
// failed for a reason that passes by itself (it is down, restarting,
// read-only or out of connections), so that the request may be retried as
// it is. It outranks every other code in a chain: an answer built on a
// database that did not answer is no answer.
var ErrUnavailable = errors.New("database unavailable")

// RetryDatabase is the Retry-After of a request refused because the
// database was unavailable: about as long as a restart or a failover takes
// to begin answering again.
const RetryDatabase = 2 * time.Second

// CodeOf returns the code of err: Unavailable when the store's
// ErrUnavailable is in its chain, else the code of the first *Error in it,
// NotFound or Conflict for the store's other sentinels, Internal otherwise.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrUnavailable):
		return Unavailable
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrNotFound):
		return NotFound
	case errors.Is(err, ErrConflict):
		return Conflict
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }

// Public is the *Error a client is answered with for err: "temporarily
// unavailable" with RetryDatabase when the store's ErrUnavailable is in its
// chain; else the first *Error in it; a plain "Not found" or "Conflict" for
// the store's other sentinels; else an Internal error wrapping err (whose
// text the client never sees). The HTTP API and the sockets both render
// errors through it.
func Public(err error) *Error {
	if errors.Is(err, ErrUnavailable) {
		return &Error{Code: Unavailable, Message: protocol.MsgUnavailable, RetryAfter: RetryDatabase, Err: err}
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch CodeOf(err) {
	case NotFound:
		return NotFoundf("Not found")
	case Conflict:
		return Conflictf("Conflict")
	}
	return Internalf(err, "unexpected error")
}

// statuses is the one code→HTTP status table, shared by every HTTP surface
// (the API, the widget API, the Library, the dashboard). The numbers are
// net/http's, written out so that this package imports nothing of it.
var statuses = map[Code]int{
	Invalid:          400,
	Unauthorized:     401,
	Forbidden:        403,
	NotFound:         404,
	MethodNotAllowed: 405,
	Conflict:         409,
	TooLarge:         413,
	UnsupportedMedia: 415,
	RateLimited:      429,
	Internal:         500,
	Unavailable:      503,
}

// HTTPStatus is the HTTP status an error of code c answers with (500 for
// a code the table lacks).
func (c Code) HTTPStatus() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return 500
}
