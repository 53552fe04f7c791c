package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// AuditLog reads a team's audit log (audit.Service).
type AuditLog interface {
	List(ctx context.Context, sc scope.Scope, p page.Params) (page.Page[audit.Entry], error)
}

type auditJSON struct {
	ID     string  `json:"id"`
	Mode   *string `json:"mode"`
	Action string  `json:"action"`
	Actor  struct {
		Type string  `json:"type"`
		ID   *string `json:"id"`
		Name string  `json:"name"`
	} `json:"actor"`
	Target    string    `json:"target"`
	Detail    string    `json:"detail"`
	IP        string    `json:"ip"`
	CreatedAt time.Time `json:"created_at"`
}

func auditOut(e audit.Entry) auditJSON {
	j := auditJSON{ID: e.ID, Action: e.Action, Target: e.Target, Detail: e.Detail, IP: e.IP, CreatedAt: e.CreatedAt}
	if e.Mode != "" {
		m := string(e.Mode)
		j.Mode = &m
	}
	j.Actor.Type, j.Actor.Name = e.ActorType, e.ActorName
	if e.ActorID != "" {
		j.Actor.ID = &e.ActorID
	}
	return j
}

// auditLog pages the audit log of the key's mode and of the team as a
// whole, newest first.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	res, err := s.Audit.List(r.Context(), principalOf(r.Context()).scope(), p)
	if err != nil {
		return err
	}
	return list(w, res, auditOut)
}
