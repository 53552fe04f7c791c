package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// EventTypes are the events an endpoint may subscribe to, all durable
// events of the log. "*" subscribes to every one, including later ones.
var EventTypes = []string{chat.TicketCreated, chat.TicketUpdated, chat.MessageCreated,
	chat.CustomerCreated, chat.CustomerUpdated, chat.CustomerDeleted, chat.CustomerMerged}

// Ping is the type of the event POST …/webhooks/{id}/test sends.
const Ping = "ping"

// Limits.
const (
	MaxURL         = 2048
	MaxDescription = 500
	// MaxEndpoints bounds the endpoints of one team and mode, and with it
	// the deliveries one event makes.
	MaxEndpoints = 16
	// MaxRollGrace is the longest a rolled secret keeps signing.
	MaxRollGrace = 7 * 24 * time.Hour
	// DefaultRollGrace is the grace when a roll names none.
	DefaultRollGrace = 24 * time.Hour
)

// Delivery states.
const (
	Pending   = "pending"
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Endpoint is a URL of a site's backend that receives a team and mode's
// events.
type Endpoint struct {
	ID          string
	TeamID      string
	Mode        scope.Mode
	URL         string
	Description string
	// Events are the subscribed types, or ["*"].
	Events  []string
	Enabled bool
	// Secret signs every delivery; PreviousSecret also signs until
	// PreviousExpiresAt after a roll.
	Secret            string
	PreviousSecret    string
	PreviousExpiresAt *time.Time
	// FailingSince is the first failure since the last success.
	FailingSince *time.Time
	// DisabledAt and DisabledReason say why and when the dispatcher turned
	// the endpoint off (three days of failures); a PATCH with enabled clears
	// them.
	DisabledAt     *time.Time
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Scope is the team and mode of the endpoint.
func (e Endpoint) Scope() scope.Scope { return scope.Scope{TeamID: e.TeamID, Mode: e.Mode} }

// Secrets are the secrets that sign a delivery sent at now: the current one,
// and the previous one during its grace.
func (e Endpoint) Secrets(now time.Time) []string {
	if e.PreviousSecret != "" && e.PreviousExpiresAt != nil && now.Before(*e.PreviousExpiresAt) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// Wants reports whether the endpoint subscribes to events of type typ.
func (e Endpoint) Wants(typ string) bool {
	return slices.Contains(e.Events, "*") || slices.Contains(e.Events, typ)
}

// Delivery is one event on its way to one endpoint, with the outcome of its
// last attempt.
type Delivery struct {
	ID         string
	EndpointID string
	TeamID     string
	Mode       scope.Mode
	EventID    string
	EventType  string
	// Payload is the exact body sent.
	Payload       []byte
	State         string
	Attempts      int
	NextAttemptAt *time.Time
	LastAttemptAt *time.Time
	// LastStatus is the last response's status code (0 when there was none).
	LastStatus int
	// LastError says why the last attempt failed without a response.
	LastError string
	// LastResponse is the start of the last response's body (up to 1 KB).
	LastResponse   string
	LastDurationMs int
	CreatedAt      time.Time
	CompletedAt    *time.Time
}

// Claim marks deliveries as taken by one dispatcher until a time.
type Claim struct {
	Token string
	Until time.Time
}

// Attempt is the outcome of one delivery attempt, to be recorded only if
// the claim that sent it still holds.
type Attempt struct {
	DeliveryID string
	Token      string
	At         time.Time
	Status     int
	Error      string
	Response   string
	Duration   time.Duration
	// State is Succeeded, Failed (no more retries) or Pending, with the next
	// attempt at Next.
	State string
	Next  *time.Time
}

// Store is what webhooks need from the database. Every endpoint method acts
// inside one scope (a row of another team or mode is missing:
// errs.ErrNotFound); lists are newest first, after the id after.
type Store interface {
	// InsertEndpoint stores e and, when its scope has no cursor yet, starts
	// one at the events log's head, so that only later events are sent.
	InsertEndpoint(ctx context.Context, e Endpoint) error
	EndpointByID(ctx context.Context, sc scope.Scope, id string) (Endpoint, error)
	ListEndpoints(ctx context.Context, sc scope.Scope, after string, limit int) ([]Endpoint, error)
	CountEndpoints(ctx context.Context, sc scope.Scope) (int, error)
	// UpdateEndpoint writes url, description, events, enabled, the
	// disabling and updated_at.
	UpdateEndpoint(ctx context.Context, e Endpoint) error
	DeleteEndpoint(ctx context.Context, sc scope.Scope, id string) error
	// RollEndpointSecret makes next the secret; the current one signs too
	// until previousExpiresAt (nil: stops at once).
	RollEndpointSecret(ctx context.Context, sc scope.Scope, id, next string, previousExpiresAt *time.Time, now time.Time) error

	InsertDelivery(ctx context.Context, d Delivery) error
	DeliveryByID(ctx context.Context, sc scope.Scope, endpointID, id string) (Delivery, error)
	ListDeliveries(ctx context.Context, sc scope.Scope, endpointID, after string, limit int) ([]Delivery, error)

	// ScopesBehind lists the scopes whose events log has events past their
	// cursor.
	ScopesBehind(ctx context.Context) ([]scope.Scope, error)
	// FanOut takes sc's cursor (skipping it when another process holds it),
	// reads up to limit events after it with the scope's enabled endpoints,
	// stores the deliveries plan makes of them (those with a claim already
	// claimed), moves the cursor past the events read, and returns how many
	// events it read; all in one transaction.
	FanOut(ctx context.Context, sc scope.Scope, limit int, plan func(evs []chat.Event, eps []Endpoint) []Planned) (int, error)
	// DueEndpoints returns the enabled endpoints that have pending
	// deliveries due at now and not claimed.
	DueEndpoints(ctx context.Context, now time.Time) ([]Endpoint, error)
	// ClaimDue claims up to limit of an endpoint's due deliveries, oldest
	// due first, skipping those another process is claiming.
	ClaimDue(ctx context.Context, endpointID string, now time.Time, c Claim, limit int) ([]Delivery, error)
	// ExtendClaims moves the lease of the deliveries still under token and
	// returns the ids that are.
	ExtendClaims(ctx context.Context, token string, ids []string, until, now time.Time) ([]string, error)
	// ReleaseClaims gives back deliveries claimed under token unattempted.
	ReleaseClaims(ctx context.Context, token string, ids []string) error
	// RecordAttempts writes each attempt whose claim still holds, and
	// releases the claim.
	RecordAttempts(ctx context.Context, as []Attempt) error
	// EndpointSucceeded clears an endpoint's failing_since and, when it was
	// set, makes the endpoint's pending deliveries due at now (those held
	// back while it failed, and the retries); it says whether it was set.
	EndpointSucceeded(ctx context.Context, id string, now time.Time) (bool, error)
	// EndpointFailed sets failing_since to at unless it is set, and disables
	// the endpoint with reason when it has been failing since before
	// at-disableAfter; it says whether it did.
	EndpointFailed(ctx context.Context, id string, at time.Time, disableAfter time.Duration, reason string) (bool, error)
	// DeleteDeliveriesBefore removes finished deliveries completed before
	// before.
	DeleteDeliveriesBefore(ctx context.Context, before time.Time) (int64, error)
}

// Planned is a delivery that FanOut stores, claimed when Claim is set.
type Planned struct {
	Delivery
	Claim *Claim
}

// Policy is what the operator allows endpoints to be.
type Policy struct {
	// AllowInsecure admits http:// URLs (--webhooks-allow-insecure).
	AllowInsecure bool
	// AllowPrivate admits loopback, private, link-local, unique-local and
	// metadata addresses (--webhooks-allow-private).
	AllowPrivate bool
}

// Service manages a team's endpoints and their deliveries.
type Service struct {
	store  Store
	now    func() time.Time
	policy Policy
	wake   func()
}

// NewService returns a webhook service. wake, when not nil, tells the
// dispatcher that a delivery was queued.
func NewService(st Store, now func() time.Time, p Policy, wake func()) *Service {
	if wake == nil {
		wake = func() {}
	}
	return &Service{store: st, now: now, policy: p, wake: wake}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Input carries the fields of a create or update; nil fields are left as
// they are.
type Input struct {
	URL         *string
	Description *string
	Events      *[]string
	Enabled     *bool
}

var errNotFound = errs.NotFoundf("Webhook endpoint not found")

// NewSecret returns a new signing secret: "whsec_" and 32 random bytes in
// base64url.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("webhook: secret: %w", err)
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Create adds an endpoint to sc; the result holds its secret, which is shown
// this once.
func (s *Service) Create(ctx context.Context, sc scope.Scope, in Input) (Endpoint, error) {
	if in.URL == nil {
		return Endpoint{}, errs.Invalidf("url", "url is required")
	}
	if in.Events == nil {
		return Endpoint{}, errs.Invalidf("events", "events is required: a list of event types, or [\"*\"]")
	}
	n, err := s.store.CountEndpoints(ctx, sc)
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhook: count endpoints: %w", err)
	}
	if n >= MaxEndpoints {
		return Endpoint{}, errs.Invalidf("url", "a team has at most %d webhook endpoints per mode", MaxEndpoints)
	}
	id, err := ids.New()
	if err != nil {
		return Endpoint{}, err
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, err
	}
	now := s.clock()
	e := Endpoint{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Enabled: true, Secret: secret, CreatedAt: now, UpdatedAt: now}
	if err := s.apply(&e, in); err != nil {
		return Endpoint{}, err
	}
	if err := s.store.InsertEndpoint(ctx, e); err != nil {
		return Endpoint{}, fmt.Errorf("webhook: create endpoint: %w", err)
	}
	return e, nil
}

// Endpoint returns an endpoint of sc.
func (s *Service) Endpoint(ctx context.Context, sc scope.Scope, id string) (Endpoint, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return Endpoint{}, errNotFound
	}
	e, err := s.store.EndpointByID(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Endpoint{}, errNotFound
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhook: endpoint: %w", err)
	}
	return e, nil
}

// List returns a page of sc's endpoints, newest first.
func (s *Service) List(ctx context.Context, sc scope.Scope, p page.Params) (page.Page[Endpoint], error) {
	p, err := page.Normalize(p)
	if err != nil {
		return page.Page[Endpoint]{}, err
	}
	items, err := s.store.ListEndpoints(ctx, sc, p.After, p.Limit+1)
	if err != nil {
		return page.Page[Endpoint]{}, fmt.Errorf("webhook: list endpoints: %w", err)
	}
	return page.Build(p, items, func(e Endpoint) string { return e.ID }), nil
}

// Update changes the fields of in that are set. Enabling an endpoint clears
// the reason it was disabled for, and its failures.
func (s *Service) Update(ctx context.Context, sc scope.Scope, id string, in Input) (Endpoint, error) {
	e, err := s.Endpoint(ctx, sc, id)
	if err != nil {
		return Endpoint{}, err
	}
	wasEnabled := e.Enabled
	if err := s.apply(&e, in); err != nil {
		return Endpoint{}, err
	}
	resumed := e.Enabled && !wasEnabled
	if resumed {
		e.DisabledAt, e.DisabledReason = nil, ""
	}
	e.UpdatedAt = s.clock()
	err = s.store.UpdateEndpoint(ctx, e)
	if errors.Is(err, errs.ErrNotFound) {
		return Endpoint{}, errNotFound
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhook: update endpoint: %w", err)
	}
	if resumed {
		// Its failures are forgiven: what waited is due now.
		if _, err := s.store.EndpointSucceeded(ctx, e.ID, e.UpdatedAt); err != nil {
			return Endpoint{}, fmt.Errorf("webhook: resume endpoint: %w", err)
		}
		e.FailingSince = nil
		s.wake()
	}
	return e, nil
}

// Delete removes an endpoint and its deliveries.
func (s *Service) Delete(ctx context.Context, sc scope.Scope, id string) error {
	id, ok := ids.Canonical(id)
	if !ok {
		return errNotFound
	}
	err := s.store.DeleteEndpoint(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("webhook: delete endpoint: %w", err)
	}
	return nil
}

// RollSecret gives an endpoint a new secret; the current one keeps signing
// (as a second v1 signature) for grace, at most MaxRollGrace.
func (s *Service) RollSecret(ctx context.Context, sc scope.Scope, id string, grace time.Duration) (Endpoint, error) {
	if grace < 0 || grace > MaxRollGrace {
		return Endpoint{}, errs.Invalidf("expires_in", "expires_in must be between 0 and %d seconds", int(MaxRollGrace/time.Second))
	}
	e, err := s.Endpoint(ctx, sc, id)
	if err != nil {
		return Endpoint{}, err
	}
	next, err := NewSecret()
	if err != nil {
		return Endpoint{}, err
	}
	now := s.clock()
	var until *time.Time
	if grace > 0 {
		u := now.Add(grace)
		until = &u
	}
	err = s.store.RollEndpointSecret(ctx, sc, e.ID, next, until, now)
	if errors.Is(err, errs.ErrNotFound) {
		return Endpoint{}, errNotFound
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhook: roll secret: %w", err)
	}
	return s.Endpoint(ctx, sc, e.ID)
}

// Test queues a ping event for an endpoint, whatever its events.
func (s *Service) Test(ctx context.Context, sc scope.Scope, id string) (Delivery, error) {
	e, err := s.Endpoint(ctx, sc, id)
	if err != nil {
		return Delivery{}, err
	}
	now := s.clock()
	evID, err := ids.New()
	if err != nil {
		return Delivery{}, err
	}
	body, err := Payload(EventID(evID), Ping, now, sc.Mode, map[string]any{"webhook_id": e.ID})
	if err != nil {
		return Delivery{}, err
	}
	return s.queue(ctx, e, Delivery{EventID: EventID(evID), EventType: Ping, Payload: body})
}

// Redeliver queues an event again for its endpoint, as a new delivery with
// the same event id and body (and three days of retries of its own).
func (s *Service) Redeliver(ctx context.Context, sc scope.Scope, endpointID, deliveryID string) (Delivery, error) {
	e, err := s.Endpoint(ctx, sc, endpointID)
	if err != nil {
		return Delivery{}, err
	}
	d, err := s.Delivery(ctx, sc, e.ID, deliveryID)
	if err != nil {
		return Delivery{}, err
	}
	return s.queue(ctx, e, Delivery{EventID: d.EventID, EventType: d.EventType, Payload: d.Payload})
}

func (s *Service) queue(ctx context.Context, e Endpoint, d Delivery) (Delivery, error) {
	id, err := ids.New()
	if err != nil {
		return Delivery{}, err
	}
	now := s.clock()
	d.ID, d.EndpointID, d.TeamID, d.Mode, d.State, d.CreatedAt, d.NextAttemptAt = id, e.ID, e.TeamID, e.Mode, Pending, now, &now
	if err := s.store.InsertDelivery(ctx, d); err != nil {
		return Delivery{}, fmt.Errorf("webhook: queue delivery: %w", err)
	}
	s.wake()
	return d, nil
}

// Delivery returns a delivery of an endpoint of sc.
func (s *Service) Delivery(ctx context.Context, sc scope.Scope, endpointID, id string) (Delivery, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return Delivery{}, errs.NotFoundf("Delivery not found")
	}
	d, err := s.store.DeliveryByID(ctx, sc, endpointID, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Delivery{}, errs.NotFoundf("Delivery not found")
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("webhook: delivery: %w", err)
	}
	return d, nil
}

// Deliveries returns a page of an endpoint's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, sc scope.Scope, endpointID string, p page.Params) (page.Page[Delivery], error) {
	e, err := s.Endpoint(ctx, sc, endpointID)
	if err != nil {
		return page.Page[Delivery]{}, err
	}
	p, err = page.Normalize(p)
	if err != nil {
		return page.Page[Delivery]{}, err
	}
	items, err := s.store.ListDeliveries(ctx, sc, e.ID, p.After, p.Limit+1)
	if err != nil {
		return page.Page[Delivery]{}, fmt.Errorf("webhook: list deliveries: %w", err)
	}
	return page.Build(p, items, func(d Delivery) string { return d.ID }), nil
}

// apply validates the set fields of in and copies them onto e.
func (s *Service) apply(e *Endpoint, in Input) error {
	if in.URL != nil {
		u, err := s.policy.CheckURL(strings.TrimSpace(*in.URL))
		if err != nil {
			return err
		}
		e.URL = u
	}
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		if err := text.Line("description", d); err != nil {
			return err
		}
		if utf8.RuneCountInString(d) > MaxDescription {
			return errs.Invalidf("description", "description must be at most %d characters", MaxDescription)
		}
		e.Description = d
	}
	if in.Events != nil {
		evs, err := cleanEvents(*in.Events)
		if err != nil {
			return err
		}
		e.Events = evs
	}
	if in.Enabled != nil {
		e.Enabled = *in.Enabled
	}
	return nil
}

func cleanEvents(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, errs.Invalidf("events", "events must name at least one event type, or be [\"*\"]")
	}
	out := make([]string, 0, len(in))
	for _, t := range in {
		t = strings.TrimSpace(t)
		if t != "*" && !slices.Contains(EventTypes, t) {
			return nil, errs.Invalidf("events", "unknown event type %q: want one of %s, or *", t, strings.Join(EventTypes, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if slices.Contains(out, "*") {
		return []string{"*"}, nil
	}
	return out, nil
}
