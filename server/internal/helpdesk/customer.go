package helpdesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/page"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// Limits of a customer's fields, in characters (metadata in bytes of JSON).
const (
	maxEmail         = 254
	maxName          = 200
	maxExternalID    = 255
	maxMetadataKeys  = 50
	maxMetadataBytes = 16 << 10
)

// Customer is a person who talks to a team's support, known by an email
// address, by the id the team's own system gives them, or both.
type Customer struct {
	ID     string
	TeamID string
	Mode   scope.Mode
	// Email is lowercased; "" when none.
	Email string
	Name  string
	// ExternalID is the team's own id for the customer; "" when none.
	ExternalID string
	// Metadata is free-form JSON; never nil.
	Metadata  map[string]any
	CreatedAt time.Time
	UpdatedAt time.Time

	// What was proven, as read (only the identity paths and the database's
	// defaults set them): EmailVerified is false when Email is a password
	// account's sign-in name nobody proved; NameVerified is false for a
	// name claimed without proof; UnverifiedEmail is an email claimed with
	// a user hash, kept apart and never looked up.
	EmailVerified   bool
	NameVerified    bool
	UnverifiedEmail string

	// Kind says how the customer came to be (KindContact for the API's);
	// the store sets it when the row is made and never changes it.
	Kind string
	// MergedInto is, for a visitor whose conversations moved into a
	// customer at sign-in, that customer's id; "" otherwise.
	MergedInto string
}

// Kinds of customer.
const (
	// KindAccount signed up in the widget with an email and a password.
	KindAccount = "account"
	// KindIdentified is a site's own user, proven by identify.
	KindIdentified = "identified"
	// KindVisitor is an anonymous widget visitor, known by a token only.
	KindVisitor = "visitor"
	// KindContact was made through the secret-key API.
	KindContact = "contact"
)

// DisplayName is the name a customer's messages carry: the name, else the
// email, else "Visitor" for an anonymous visitor who gave neither (an email
// a visitor only typed is a claim, never shown as who wrote).
func (c Customer) DisplayName() string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Email != "":
		return c.Email
	case c.Kind == KindVisitor:
		return "Visitor"
	}
	return ""
}

// CustomerInput carries the fields to set on create or update; nil fields
// are left as they are (or empty on create). An empty Email or ExternalID
// clears it.
type CustomerInput struct {
	Email      *string
	Name       *string
	ExternalID *string
	// Metadata replaces the whole map; nil leaves it unchanged.
	Metadata map[string]any
}

// CustomerFilter narrows a customer list; empty fields match everything.
type CustomerFilter struct {
	// Email finds only a verified email (a password account's sign-in name
	// counts once the customer confirmed it by mail)...
	Email      string
	ExternalID string
	// ...unless AnyEmail: only to tell which unique index a write hit,
	// never to find a customer for anyone.
	AnyEmail bool
}

// CreateCustomer adds a customer to sc. It needs an email, an external id or
// both; each is unique within the scope.
func (s *Service) CreateCustomer(ctx context.Context, sc scope.Scope, in CustomerInput) (Customer, error) {
	id, err := ids.New()
	if err != nil {
		return Customer{}, err
	}
	now := s.clock()
	c := Customer{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now,
		Kind: KindContact}
	if err := applyCustomer(&c, in); err != nil {
		return Customer{}, err
	}
	// The site's backend vouches for what it sets (the database's default).
	c.EmailVerified, c.NameVerified = true, true
	if err := s.store.InsertCustomer(ctx, c); err != nil {
		return Customer{}, s.customerWriteErr(ctx, sc, c, "create customer", err)
	}
	return c, nil
}

// CreateCustomerWithPassword is CreateCustomer for a customer who brings
// the hash of the password they had on the team's own system (see
// password.CheckImported): they sign in to the widget with their email and
// that password, and the first sign-in replaces the hash with cStar's.
func (s *Service) CreateCustomerWithPassword(ctx context.Context, sc scope.Scope, in CustomerInput, passwordHash string) (Customer, error) {
	if err := password.CheckImported("password_hash", passwordHash); err != nil {
		return Customer{}, err
	}
	st := s.store
	id, err := ids.New()
	if err != nil {
		return Customer{}, err
	}
	now := s.clock()
	c := Customer{ID: id, TeamID: sc.TeamID, Mode: sc.Mode, Metadata: map[string]any{}, CreatedAt: now, UpdatedAt: now,
		EmailVerified: true, NameVerified: true}
	if err := applyCustomer(&c, in); err != nil {
		return Customer{}, err
	}
	if c.Email == "" {
		return Customer{}, errs.Invalidf("email", "email is required with a password_hash: it is the sign-in name")
	}
	if err := st.InsertCustomerWithPassword(ctx, c, passwordHash); err != nil {
		return Customer{}, s.customerWriteErr(ctx, sc, c, "create customer", err)
	}
	return c, nil
}

// Customer returns the customer of sc with the given id.
func (s *Service) Customer(ctx context.Context, sc scope.Scope, id string) (Customer, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return Customer{}, errs.NotFoundf("Customer not found")
	}
	c, err := s.store.CustomerByID(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Customer{}, errs.NotFoundf("Customer not found")
	}
	if err != nil {
		return Customer{}, fmt.Errorf("helpdesk: customer: %w", err)
	}
	return c, nil
}

// UpdateCustomer changes the fields of in that are set. The customer must
// keep an email or an external id.
func (s *Service) UpdateCustomer(ctx context.Context, sc scope.Scope, id string, in CustomerInput) (Customer, error) {
	c, err := s.Customer(ctx, sc, id)
	if err != nil {
		return Customer{}, err
	}
	if err := applyCustomer(&c, in); err != nil {
		return Customer{}, err
	}
	c.UpdatedAt = s.clock()
	err = s.store.UpdateCustomer(ctx, c)
	if errors.Is(err, errs.ErrNotFound) {
		return Customer{}, errs.NotFoundf("Customer not found")
	}
	if err != nil {
		return Customer{}, s.customerWriteErr(ctx, sc, c, "update customer", err)
	}
	return c, nil
}

// DeleteCustomer removes a customer; their tickets stay, without a customer.
func (s *Service) DeleteCustomer(ctx context.Context, sc scope.Scope, id string) error {
	id, ok := ids.Canonical(id)
	if !ok {
		return errs.NotFoundf("Customer not found")
	}
	err := s.store.DeleteCustomer(ctx, sc, id, s.clock())
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFoundf("Customer not found")
	}
	if err != nil {
		return fmt.Errorf("helpdesk: delete customer: %w", err)
	}
	return nil
}

// ListCustomers returns one page of the customers of sc, newest first.
func (s *Service) ListCustomers(ctx context.Context, sc scope.Scope, f CustomerFilter, p page.Params) (page.Page[Customer], error) {
	p, err := page.Normalize(p)
	if err != nil {
		return page.Page[Customer]{}, err
	}
	f.Email = NormalizeEmail(f.Email)
	f.ExternalID = strings.TrimSpace(f.ExternalID)
	items, err := s.store.ListCustomers(ctx, sc, f, p.After, p.Limit+1)
	if err != nil {
		return page.Page[Customer]{}, fmt.Errorf("helpdesk: list customers: %w", err)
	}
	return page.Build(p, items, func(c Customer) string { return c.ID }), nil
}

// customerWriteErr turns a failed write into an error for the client. The
// store says only that some unique index was hit; which one is found by
// looking the email up, rather than by reading driver messages.
func (s *Service) customerWriteErr(ctx context.Context, sc scope.Scope, c Customer, op string, err error) error {
	if !errors.Is(err, errs.ErrConflict) {
		return fmt.Errorf("helpdesk: %s: %w", op, err)
	}
	if c.Email != "" {
		same, lerr := s.store.ListCustomers(ctx, sc, CustomerFilter{Email: c.Email, AnyEmail: true}, "", 2)
		same = slices.DeleteFunc(same, func(o Customer) bool { return o.ID == c.ID })
		if lerr == nil && len(same) > 0 {
			return errs.Conflictf("A customer with this email already exists")
		}
	}
	return errs.Conflictf("A customer with this external id already exists")
}

// applyCustomer validates the set fields of in and copies them onto c.
func applyCustomer(c *Customer, in CustomerInput) error {
	if in.Email != nil {
		email, err := text.Email("email", *in.Email)
		if err != nil {
			return err
		}
		if email != "" && !ValidEmail(email) {
			return errs.Invalidf("email", "email must be a valid email address of at most %d characters", maxEmail)
		}
		c.Email = email
	}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if err := text.Line("name", name); err != nil {
			return err
		}
		if utf8.RuneCountInString(name) > maxName {
			return errs.Invalidf("name", "name must be at most %d characters", maxName)
		}
		c.Name = name
	}
	if in.ExternalID != nil {
		ext := strings.TrimSpace(*in.ExternalID)
		if err := text.Line("external_id", ext); err != nil {
			return err
		}
		if utf8.RuneCountInString(ext) > maxExternalID {
			return errs.Invalidf("external_id", "external_id must be at most %d characters", maxExternalID)
		}
		c.ExternalID = ext
	}
	if in.Metadata != nil {
		if len(in.Metadata) > maxMetadataKeys {
			return errs.Invalidf("metadata", "metadata must have at most %d keys", maxMetadataKeys)
		}
		raw, err := json.Marshal(in.Metadata)
		if err != nil {
			return errs.Invalidf("metadata", "metadata must be a JSON object")
		}
		if len(raw) > maxMetadataBytes {
			return errs.Invalidf("metadata", "metadata must be at most %d bytes of JSON", maxMetadataBytes)
		}
		c.Metadata = in.Metadata
	}
	// An anonymous visitor is known by its token alone.
	if c.Email == "" && c.ExternalID == "" && c.Kind != KindVisitor {
		return errs.Invalidf("email", "email or external_id is required")
	}
	return nil
}

// NormalizeEmail is the form emails are stored and compared in.
func NormalizeEmail(s string) string { return text.NormalizeEmail(s) }

// ValidEmail is a sanity check, not RFC 5322: one @, a local part, and a
// domain of dot-separated labels. Delivery is the real test.
func ValidEmail(s string) bool {
	if utf8.RuneCountInString(s) > maxEmail || strings.Count(s, "@") != 1 {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"(),:;<>[\]`, r) {
			return false
		}
	}
	local, domain, _ := strings.Cut(s, "@")
	if local == "" || len(local) > 64 || !strings.Contains(domain, ".") {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
	}
	return true
}
