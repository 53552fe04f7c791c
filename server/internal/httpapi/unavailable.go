package httpapi

import (
	"context"
	"errors"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/password"
)

// The causes of 503 answers that /metrics counts apart
// (cstar_http_unavailable_total{cause}).
const (
	causeDatabase   = "database"     // the database was unavailable
	causeSignInBusy = "sign_in_busy" // too many password hashes waiting
	causeOther      = "other"
)

// noteCause records why the request is answered 503, for withLog's count.
func noteCause(ctx context.Context, err error) {
	ri, _ := ctx.Value(ctxRequestID).(*reqInfo)
	if ri == nil {
		return
	}
	switch {
	case errors.Is(err, errs.ErrUnavailable):
		ri.cause = causeDatabase
	case errors.Is(err, password.ErrBusy):
		ri.cause = causeSignInBusy
	default:
		ri.cause = causeOther
	}
}

// causeOf is the cause noted for a 503; a 503 that nothing noted (a
// handler that wrote it itself) counts as other.
func causeOf(ctx context.Context) string {
	if ri, _ := ctx.Value(ctxRequestID).(*reqInfo); ri != nil && ri.cause != "" {
		return ri.cause
	}
	return causeOther
}
