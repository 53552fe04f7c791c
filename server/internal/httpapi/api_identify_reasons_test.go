package httpapi_test

import (
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestWidgetIdentifyReasons: in test mode a refused token or hash says why
// with a stable reason code, so that a developer wiring identification up
// sees it; live mode keeps the one message, which tells an attacker
// nothing.
func TestWidgetIdentifyReasons(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		test, live := s.Team.IdentitySecrets[scope.Test], s.Team.IdentitySecrets[scope.Live]
		now := s.Clock.Now()
		used := sign(t, test, identitytoken.Claims{Subject: "u1", ID: "once"}, now)
		identify(s, t, s.PKTest, protocol.IdentifyRequest{Token: used}).Want(t, 200)
		for _, c := range []struct {
			name string
			in   protocol.IdentifyRequest
			want string
		}{
			{"expired", protocol.IdentifyRequest{Token: sign(t, test, identitytoken.Claims{Subject: "u1"}, now.Add(-2*time.Hour))}, "token_expired"},
			{"wrong secret", protocol.IdentifyRequest{Token: sign(t, live, identitytoken.Claims{Subject: "u1"}, now)}, "bad_signature"},
			{"replayed", protocol.IdentifyRequest{Token: used}, "jti_reused"},
			{"garbage", protocol.IdentifyRequest{Token: "a.b.c"}, "malformed_token"},
			{"bad hash", protocol.IdentifyRequest{UserID: "u1", UserHash: "00"}, "bad_user_hash"},
			{"neither", protocol.IdentifyRequest{}, "token_or_user_id"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := identify(s, t, s.PKTest, c.in).WantError(t, 401, "Identity verification failed")
				if got := str(r.Body["reason"]); got != c.want {
					t.Errorf("test mode reason: got %q, want %q", got, c.want)
				}
				liveIn := c.in
				if liveIn.Token != "" && c.name == "wrong secret" {
					liveIn.Token = sign(t, test, identitytoken.Claims{Subject: "u1"}, now)
				}
				r = identify(s, t, s.PKLive, liveIn)
				wantIdentifyFailed(t, r)
				if _, ok := r.Body["reason"]; ok {
					t.Errorf("live mode: got reason %v, want none", r.Body["reason"])
				}
			})
		}
	})
}
