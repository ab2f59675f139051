// Package errs defines the one error type Steward's services return: a code
// that says what kind of failure it is, and a message safe to show a user that
// says what was wrong and what to do about it.
//
// Services return *Error values (built with Invalid, NotFound, Conflict, …);
// the transports (REST API, portal, OSB, CLI) map the code to a status with
// HTTPStatus and never show the wrapped cause, which may hold driver text.
package errs

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Code is the kind of an error.
type Code string

// The error codes. Each maps to one HTTP status in HTTPStatus.
const (
	CodeInvalid         Code = "invalid"
	CodeNotFound        Code = "not_found"
	CodeConflict        Code = "conflict"
	CodeUnauthenticated Code = "unauthenticated"
	CodeForbidden       Code = "forbidden"
	CodeTooMany         Code = "too_many_requests"
	CodeUnavailable     Code = "unavailable"
	CodeInternal        Code = "internal"
)

var statusByCode = map[Code]int{
	CodeInvalid:         http.StatusUnprocessableEntity,
	CodeNotFound:        http.StatusNotFound,
	CodeConflict:        http.StatusConflict,
	CodeUnauthenticated: http.StatusUnauthorized,
	CodeForbidden:       http.StatusForbidden,
	CodeTooMany:         http.StatusTooManyRequests,
	CodeUnavailable:     http.StatusServiceUnavailable,
	CodeInternal:        http.StatusInternalServerError,
}

// FieldError names one input field and the rule it broke.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
	// Line is the line of the file the field is on, for errors in uploaded files.
	Line int `json:"line,omitempty"`
}

// String is the error as one line: "line L: field: message", leaving out
// what is not known.
func (f FieldError) String() string {
	s := f.Message
	if f.Field != "" {
		s = f.Field + ": " + s
	}
	if f.Line > 0 {
		s = fmt.Sprintf("line %d: %s", f.Line, s)
	}
	return s
}

// Error is a failure with a code and a user-safe message. Err, when set, is
// the underlying cause: it is logged, never shown.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	Err     error
	// RetryAfter, on a too_many_requests error, is how long to wait before
	// trying again (the Retry-After header); zero means unknown.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	b.WriteString(": ")
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		b.WriteString("; ")
		b.WriteString(f.String())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input. Prefer a Validator when individual fields failed.
func Invalid(format string, args ...any) *Error { return newf(CodeInvalid, format, args...) }

// NotFound reports that the named object does not exist or is not visible to the caller.
func NotFound(format string, args ...any) *Error { return newf(CodeNotFound, format, args...) }

// Conflict reports that the request clashes with the current state (a duplicate, a stale write).
func Conflict(format string, args ...any) *Error { return newf(CodeConflict, format, args...) }

// Unauthenticated reports missing or bad credentials.
func Unauthenticated(format string, args ...any) *Error {
	return newf(CodeUnauthenticated, format, args...)
}

// Forbidden reports that the caller is known but lacks the role for the action.
func Forbidden(format string, args ...any) *Error { return newf(CodeForbidden, format, args...) }

// TooMany reports that the caller must slow down.
func TooMany(format string, args ...any) *Error { return newf(CodeTooMany, format, args...) }

// TooManyFor reports that the caller must wait d before trying again.
func TooManyFor(d time.Duration, format string, args ...any) *Error {
	e := newf(CodeTooMany, format, args...)
	e.RetryAfter = d
	return e
}

// RetryAfterSeconds is the Retry-After header's value for e: its wait in
// whole seconds, rounded up, or def when it has none.
func (e *Error) RetryAfterSeconds(def int) int {
	if e.RetryAfter <= 0 {
		return def
	}
	return int((e.RetryAfter + time.Second - 1) / time.Second)
}

// Unavailable reports a temporary failure worth retrying.
func Unavailable(format string, args ...any) *Error { return newf(CodeUnavailable, format, args...) }

// Internal wraps an unexpected failure; its cause is logged and not shown.
func Internal(err error, format string, args ...any) *Error {
	e := newf(CodeInternal, format, args...)
	e.Err = err
	return e
}

// CodeOf returns the code of the first *Error in err's chain, or CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// HTTPStatus returns the HTTP status for an error's code.
func HTTPStatus(err error) int { return statusByCode[CodeOf(err)] }

// As returns err's *Error, or an internal error wrapping err.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err, "an unexpected error occurred; it has been logged")
}

// Validator collects field errors for one input.
//
//	var v errs.Validator
//	v.Check(in.Name != "", "name", "required", "name is required")
//	return v.Err("the org unit is not valid")
type Validator struct {
	fields []FieldError
}

// Check records a field error when ok is false and reports ok.
func (v *Validator) Check(ok bool, field, rule, message string) bool {
	if !ok {
		v.fields = append(v.fields, FieldError{Field: field, Rule: rule, Message: message})
	}
	return ok
}

// Add records a field error.
func (v *Validator) Add(field, rule, message string) { v.Check(false, field, rule, message) }

// Text checks that s is text a database can store and compare: valid
// UTF-8 without NUL or other control characters but tab and newlines
// (PostgreSQL refuses NUL in text; SQLite would store it and compare it
// oddly). It reports whether s passed.
func (v *Validator) Text(s, field string) bool {
	ok := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' })
	return v.Check(ok, field, "text", field+" must be text: valid UTF-8 without control characters")
}

// Err returns nil when no check failed, else an invalid *Error with every field error.
func (v *Validator) Err(message string) error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: message, Fields: v.fields}
}
