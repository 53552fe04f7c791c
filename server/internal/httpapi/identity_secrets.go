package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/identity"
)

type identitySecretJSON struct {
	Secret            string     `json:"secret"`
	Mode              string     `json:"mode"`
	PreviousExpiresAt *time.Time `json:"previous_expires_at"`
}

// rollIdentitySecret replaces the identity secret of the calling key's mode;
// {"expires_in": seconds} keeps the old one valid that long (at most 7 days),
// otherwise it stops verifying at once.
func (s *Server) rollIdentitySecret(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ExpiresIn int64 `json:"expires_in"`
	}
	if err := decode(r, &in, true); err != nil {
		return err
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > int64(identity.MaxSecretGrace/time.Second) {
		in.ExpiresIn = -1 // let the service name the rule
	}
	sec, err := s.Identity.RollSecret(r.Context(), principalOf(r.Context()).scope(), time.Duration(in.ExpiresIn)*time.Second)
	if err != nil {
		return err
	}
	s.audit(r, sec.Mode, audit.IdentitySecretRolled, "", fmt.Sprintf("the old secret works %d s more", in.ExpiresIn))
	return ok(w, http.StatusOK, identitySecretJSON{Secret: sec.Current, Mode: string(sec.Mode), PreviousExpiresAt: sec.PreviousExpiresAt})
}

// identitySettings changes the identity-verification settings of the key's
// mode.
func (s *Server) identitySettings(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UserHashEnabled *bool `json:"user_hash_enabled"`
	}
	if err := decode(r, &in, false); err != nil {
		return err
	}
	sc := principalOf(r.Context()).scope()
	if in.UserHashEnabled != nil {
		if err := s.Identity.SetUserHashEnabled(r.Context(), sc, *in.UserHashEnabled); err != nil {
			return err
		}
		s.audit(r, sc.Mode, audit.UserHashChanged, "", fmt.Sprintf("user hash enabled: %v", *in.UserHashEnabled))
	}
	on, err := s.Identity.UserHashEnabled(r.Context(), sc)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"user_hash_enabled": on})
}
