package dashboard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/webhook"
)

// deliveriesShown is how many of an endpoint's latest deliveries its page
// lists (the API pages through all of them).
const deliveriesShown = 25

// webhooks lists the mode's endpoints, with the form that adds one.
func (h *Handler) webhooks(w http.ResponseWriter, r *req) error {
	return h.webhooksPage(w, r, http.StatusOK, nil)
}

// webhooksPage renders the list; created, when an endpoint was just made,
// is shown with its signing secret this once.
func (h *Handler) webhooksPage(w http.ResponseWriter, r *req, status int, created *webhook.Endpoint) error {
	list, err := h.Webhooks.List(r.Context(), r.scope(), page.Params{Limit: page.MaxLimit})
	if err != nil {
		return err
	}
	h.render(w, r, status, "webhooks", map[string]any{"Endpoints": list.Items, "Created": created,
		"EventTypes": webhook.EventTypes}, "Webhooks")
	return nil
}

// webhookInput reads the endpoint form: the URL, the description, the
// events ticked ("*" for every event, those added later included) and, on
// an edit, whether it is enabled.
func webhookInput(r *req, edit bool) webhook.Input {
	url, desc := strings.TrimSpace(r.PostFormValue("url")), r.PostFormValue("description")
	events := r.PostForm["events"]
	if slices.Contains(events, "*") {
		events = []string{"*"}
	}
	in := webhook.Input{URL: &url, Description: &desc, Events: &events}
	// Only a change of the box counts: a page opened before the delivery
	// disabled the endpoint must not enable it again by saving its
	// description.
	if on := r.PostFormValue("enabled") == "1"; edit && on != (r.PostFormValue("was_enabled") == "1") {
		in.Enabled = &on
	}
	return in
}

// createWebhook adds an endpoint and shows its signing secret once.
func (h *Handler) createWebhook(w http.ResponseWriter, r *req) error {
	e, err := h.Webhooks.Create(r.Context(), r.scope(), webhookInput(r, false))
	if err != nil {
		return h.refused(w, r, r.base()+"/settings/webhooks", err)
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.WebhookCreated, Target: webhook.AuditTarget(e.URL), Detail: "events=" + strings.Join(e.Events, " ")})
	return h.webhooksPage(w, r, http.StatusCreated, &e)
}

// webhookPage shows one endpoint: its settings, secret roll, a test ping
// and its latest deliveries.
func (h *Handler) webhookPage(w http.ResponseWriter, r *req) error {
	return h.webhookView(w, r, http.StatusOK, "")
}

// webhookView renders an endpoint's page; secret, after a roll, is the new
// signing secret, shown this once.
func (h *Handler) webhookView(w http.ResponseWriter, r *req, status int, secret string) error {
	e, err := h.Webhooks.Endpoint(r.Context(), r.scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	ds, err := h.Webhooks.Deliveries(r.Context(), r.scope(), e.ID, page.Params{Limit: deliveriesShown})
	if err != nil {
		return err
	}
	subscribed := map[string]bool{}
	for _, t := range e.Events {
		subscribed[t] = true
	}
	h.render(w, r, status, "webhook", map[string]any{"Endpoint": e, "Deliveries": ds.Items, "More": ds.HasMore,
		"EventTypes": webhook.EventTypes, "Subscribed": subscribed, "Secret": secret, "Graces": rollGraces}, "Webhook "+e.URL)
	return nil
}

func (h *Handler) webhookBase(r *req) string {
	return r.base() + "/settings/webhooks/" + r.PathValue("id")
}

// updateWebhook saves the endpoint's URL, description, events and whether
// it is enabled (enabling clears a disabling).
func (h *Handler) updateWebhook(w http.ResponseWriter, r *req) error {
	e, err := h.Webhooks.Update(r.Context(), r.scope(), r.PathValue("id"), webhookInput(r, true))
	if err != nil {
		return h.refused(w, r, h.webhookBase(r), err)
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.WebhookUpdated, Target: webhook.AuditTarget(e.URL), Detail: webhook.AuditDetail(e)})
	return h.back(w, r, h.webhookBase(r), "Saved the endpoint.")
}

// rollWebhook gives the endpoint a new signing secret, shown once; the old
// one also signs for the chosen grace.
func (h *Handler) rollWebhook(w http.ResponseWriter, r *req) error {
	secs, err := strconv.Atoi(r.PostFormValue("grace"))
	if err != nil || secs < 0 {
		secs = 0
	}
	grace := time.Duration(secs) * time.Second
	e, err := h.Webhooks.RollSecret(r.Context(), r.scope(), r.PathValue("id"), grace)
	if err != nil {
		return h.refused(w, r, h.webhookBase(r), err)
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.WebhookSecretRolled, Target: webhook.AuditTarget(e.URL),
		Detail: "previous secret signs for " + grace.String()})
	return h.webhookView(w, r, http.StatusCreated, e.Secret)
}

// testWebhook sends a ping event to the endpoint.
func (h *Handler) testWebhook(w http.ResponseWriter, r *req) error {
	if _, err := h.Webhooks.Test(r.Context(), r.scope(), r.PathValue("id")); err != nil {
		return h.refused(w, r, h.webhookBase(r), err)
	}
	return h.back(w, r, h.webhookBase(r), "A ping event is on its way: its delivery is listed below.")
}

// deleteWebhook removes the endpoint and its deliveries.
func (h *Handler) deleteWebhook(w http.ResponseWriter, r *req) error {
	to := r.base() + "/settings/webhooks"
	e, err := h.Webhooks.Endpoint(r.Context(), r.scope(), r.PathValue("id"))
	if err != nil {
		return h.refused(w, r, to, err)
	}
	if err := h.Webhooks.Delete(r.Context(), r.scope(), e.ID); err != nil {
		return h.refused(w, r, to, err)
	}
	h.record(r, audit.Entry{Mode: r.Mode, Action: audit.WebhookDeleted, Target: webhook.AuditTarget(e.URL)})
	return h.back(w, r, to, "Deleted the endpoint "+webhook.AuditTarget(e.URL)+".")
}

// redeliverWebhook sends a delivery's event again, as a new delivery.
func (h *Handler) redeliverWebhook(w http.ResponseWriter, r *req) error {
	if _, err := h.Webhooks.Redeliver(r.Context(), r.scope(), r.PathValue("id"), r.PathValue("delivery")); err != nil {
		return h.refused(w, r, h.webhookBase(r), err)
	}
	return h.back(w, r, h.webhookBase(r), "The event is on its way again, as a new delivery.")
}
