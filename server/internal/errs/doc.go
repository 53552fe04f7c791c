// Package errs holds cStar's single error type and its stable codes.
package errs
