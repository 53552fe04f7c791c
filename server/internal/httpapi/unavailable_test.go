package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/metrics"
	"github.com/cstar-chat/cstar/server/internal/password"
)

// TestUnavailableCauses: each 503 is counted in /metrics under its cause,
// and carries Retry-After.
func TestUnavailableCauses(t *testing.T) {
	reg := metrics.NewRegistry()
	discard := slog.New(slog.DiscardHandler)
	s := &Server{Deps: Deps{Metrics: reg, Log: discard}}
	for _, c := range []struct {
		err   error
		cause string
	}{
		{fmt.Errorf("store: x: %w", errs.ErrUnavailable), causeDatabase},
		{fmt.Errorf("identity: login: %w", password.ErrBusy), causeSignInBusy},
		{&errs.Error{Code: errs.Unavailable, Message: "x", RetryAfter: 1}, causeOther},
		{errors.New("boom"), ""}, // a 500: not counted
	} {
		h := s.withRequestID(s.withLog(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			renderError(w, r, discard, c.err)
		})))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
		if c.cause != "" && (rec.Code != 503 || rec.Header().Get("Retry-After") == "") {
			t.Errorf("%v: got %d with Retry-After %q, want 503 with one", c.err, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	var out strings.Builder
	reg.WriteTo(&out)
	for _, want := range []string{
		`cstar_http_unavailable_total{cause="database"} 1`,
		`cstar_http_unavailable_total{cause="other"} 1`,
		`cstar_http_unavailable_total{cause="sign_in_busy"} 1`,
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("metrics: no line %q in\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "cstar_http_unavailable_total{"); n != 3 {
		t.Errorf("unavailable series: got %d, want 3 (the 500 is not one)", n)
	}
}
