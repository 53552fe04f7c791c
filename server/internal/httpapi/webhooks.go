package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/webhook"
	"github.com/cstar-chat/cstar/server/internal/wire"
)

type webhookIn struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	Events      *[]string `json:"events"`
	Enabled     *bool     `json:"enabled"`
}

func (in webhookIn) input() webhook.Input {
	return webhook.Input{URL: in.URL, Description: in.Description, Events: in.Events, Enabled: in.Enabled}
}

// withSecret is an endpoint with the secret that signs for it, shown only
// when created or rolled (these answers are never kept for Idempotency-Key
// replays).
func withSecret(e webhook.Endpoint) WebhookEndpoint {
	out := WebhookEndpointOf(e)
	out.Secret = e.Secret
	return out
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	res, err := s.Webhooks.List(r.Context(), principalOf(r.Context()).scope(), p)
	if err != nil {
		return err
	}
	return list(w, res, WebhookEndpointOf)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhookIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	e, err := s.Webhooks.Create(r.Context(), principalOf(r.Context()).scope(), in.input())
	if err != nil {
		return err
	}
	s.audit(r, e.Mode, audit.WebhookCreated, webhook.AuditTarget(e.URL), "events="+strings.Join(e.Events, " "))
	return ok(w, http.StatusCreated, withSecret(e))
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Webhooks.Endpoint(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, WebhookEndpointOf(e))
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	var in webhookIn
	if err := decode(r, &in, false); err != nil {
		return err
	}
	e, err := s.Webhooks.Update(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), in.input())
	if err != nil {
		return err
	}
	s.audit(r, e.Mode, audit.WebhookUpdated, webhook.AuditTarget(e.URL), webhook.AuditDetail(e))
	return ok(w, http.StatusOK, WebhookEndpointOf(e))
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sc := principalOf(r.Context()).scope()
	e, err := s.Webhooks.Endpoint(r.Context(), sc, id)
	if err != nil {
		return err
	}
	if err := s.Webhooks.Delete(r.Context(), sc, id); err != nil {
		return err
	}
	s.audit(r, sc.Mode, audit.WebhookDeleted, webhook.AuditTarget(e.URL), "")
	return ok(w, http.StatusOK, wire.Deleted{ID: id, Deleted: true})
}

func (s *Server) rollWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	in := struct {
		ExpiresIn *int64 `json:"expires_in"`
	}{}
	if err := decode(r, &in, true); err != nil {
		return err
	}
	grace := webhook.DefaultRollGrace
	if in.ExpiresIn != nil {
		grace = time.Duration(*in.ExpiresIn) * time.Second
		if *in.ExpiresIn < 0 || *in.ExpiresIn > int64(webhook.MaxRollGrace/time.Second) {
			grace = -1 // let the service name the rule
		}
	}
	e, err := s.Webhooks.RollSecret(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), grace)
	if err != nil {
		return err
	}
	s.audit(r, e.Mode, audit.WebhookSecretRolled, webhook.AuditTarget(e.URL), "previous secret signs for "+grace.String())
	return ok(w, http.StatusOK, withSecret(e))
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Webhooks.Test(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusAccepted, WebhookDeliveryOf(d))
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	res, err := s.Webhooks.Deliveries(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return list(w, res, WebhookDeliveryOf)
}

func (s *Server) redeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Webhooks.Redeliver(r.Context(), principalOf(r.Context()).scope(), r.PathValue("id"), r.PathValue("deliveryId"))
	if err != nil {
		return err
	}
	return ok(w, http.StatusAccepted, WebhookDeliveryOf(d))
}

// WebhookEndpoint is a webhook endpoint as the API renders it; Secret is
// set only in the answers that create it or roll it.
type WebhookEndpoint struct {
	ID                      string     `json:"id"`
	URL                     string     `json:"url"`
	Description             string     `json:"description"`
	Events                  []string   `json:"events"`
	Enabled                 bool       `json:"enabled"`
	Mode                    string     `json:"mode"`
	Secret                  string     `json:"secret,omitempty"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	FailingSince            *time.Time `json:"failing_since"`
	DisabledAt              *time.Time `json:"disabled_at"`
	DisabledReason          *string    `json:"disabled_reason"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

// WebhookEndpointOf renders e without its secret.
func WebhookEndpointOf(e webhook.Endpoint) WebhookEndpoint {
	out := WebhookEndpoint{ID: e.ID, URL: e.URL, Description: e.Description, Events: e.Events, Enabled: e.Enabled,
		Mode: string(e.Mode), FailingSince: e.FailingSince, DisabledAt: e.DisabledAt,
		DisabledReason: wire.NilIfEmpty(e.DisabledReason), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.PreviousSecret != "" {
		out.PreviousSecretExpiresAt = e.PreviousExpiresAt
	}
	return out
}

// WebhookDelivery is a delivery as the API renders it: the event, the state
// and the last attempt.
type WebhookDelivery struct {
	ID            string     `json:"id"`
	EndpointID    string     `json:"endpoint_id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	StatusCode    *int       `json:"status_code"`
	DurationMs    *int       `json:"duration_ms"`
	Error         *string    `json:"error"`
	Response      *string    `json:"response"`
	NextRetryAt   *time.Time `json:"next_retry_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	CompletedAt   *time.Time `json:"completed_at"`
}

// WebhookDeliveryOf renders d.
func WebhookDeliveryOf(d webhook.Delivery) WebhookDelivery {
	out := WebhookDelivery{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType,
		State: d.State, Attempts: d.Attempts, Error: wire.NilIfEmpty(d.LastError), LastAttemptAt: d.LastAttemptAt,
		CreatedAt: d.CreatedAt, CompletedAt: d.CompletedAt}
	if d.LastStatus != 0 {
		st := d.LastStatus
		out.StatusCode = &st
	}
	if d.LastAttemptAt != nil {
		ms := d.LastDurationMs
		out.DurationMs = &ms
		out.Response = &d.LastResponse
	}
	if d.State == webhook.Pending && d.Attempts > 0 {
		out.NextRetryAt = d.NextAttemptAt
	}
	return out
}
