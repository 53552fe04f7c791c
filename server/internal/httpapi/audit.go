package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// AuditLog reads a team's audit log and records the API's own changes to
// keys and settings (audit.Service).
type AuditLog interface {
	Record(ctx context.Context, e audit.Entry) error
	List(ctx context.Context, sc scope.Scope, p page.Params) (page.Page[audit.Entry], error)
}

// audit records a change made with the request's secret key in its mode
// (mode "" for the whole team's): the dashboard records its own, so the log
// holds both. A failure is logged; the change is made.
func (s *Server) audit(r *http.Request, mode scope.Mode, action, target, detail string) {
	p := principalOf(r.Context())
	e := audit.Entry{TeamID: p.Key.TeamID, Mode: mode, ActorType: audit.ActorKey, ActorID: p.Key.ID, ActorName: p.Key.Redacted,
		Action: action, Target: target, Detail: detail, IP: s.clientIP(r).String()}
	if err := s.Audit.Record(context.WithoutCancel(r.Context()), e); err != nil {
		s.Log.ErrorContext(r.Context(), "audit", "request_id", requestID(r.Context()), "action", action, "err", err)
	}
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
