package apikey

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// MaxRollGrace is the longest an old key may keep working after a roll.
const MaxRollGrace = 7 * 24 * time.Hour

// CacheTTL bounds how long a verified key is trusted without asking the
// database again. Revocation and expiry must reach every server process
// within one second, so it stays below that.
const CacheTTL = 900 * time.Millisecond

// Key is a stored API key. The secret itself is never kept, only its hash.
type Key struct {
	ID       string
	TeamID   string
	Type     Type
	Mode     scope.Mode
	Hash     []byte
	Redacted string
	// Name says what the key is for ("Shop widget"); "" when not given.
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// Scope is the team and mode the key acts in.
func (k Key) Scope() scope.Scope { return scope.Scope{TeamID: k.TeamID, Mode: k.Mode} }

// Active reports whether the key may authenticate at time now.
func (k Key) Active(now time.Time) bool {
	if k.RevokedAt != nil {
		return false
	}
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// Issued is a freshly created key together with its secret, which is shown
// to the caller exactly once.
type Issued struct {
	Key
	Secret string
}

// UsageHour is one hour of a key's traffic.
type UsageHour struct {
	Hour        time.Time
	Requests    int64
	Errors      int64
	RateLimited int64
}

// Usage is a key's traffic over the last hours, hour by hour.
type Usage struct {
	KeyID      string
	LastUsedAt *time.Time
	Hours      []UsageHour
}

// UsageDelta is traffic counted in memory and not yet written.
type UsageDelta struct {
	KeyID    string
	Hour     time.Time
	LastUsed time.Time
	UsageHour
}

// Store is what the key service needs from persistence.
type Store interface {
	InsertKeys(ctx context.Context, keys ...Key) error
	KeyByHash(ctx context.Context, hash []byte) (Key, error)
	KeyByID(ctx context.Context, s scope.Scope, id string) (Key, error)
	ListKeys(ctx context.Context, s scope.Scope, now time.Time) ([]Key, error)
	// RollKey inserts next and sets old's expiry to oldExpiresAt, atomically.
	RollKey(ctx context.Context, old Key, oldExpiresAt time.Time, next Key) error
	RevokeKey(ctx context.Context, s scope.Scope, id string, at time.Time) error
	AddUsage(ctx context.Context, deltas []UsageDelta) error
	KeyUsage(ctx context.Context, keyID string, since time.Time) ([]UsageHour, error)
}

// Service manages API keys.
type Service struct {
	store Store
	now   func() time.Time
	ends  EndListener

	mu    sync.Mutex
	cache map[[32]byte]cached
	usage map[usageKey]*UsageDelta
}

type cached struct {
	key     Key
	fetched time.Time
}

type usageKey struct {
	keyID string
	hour  int64
}

// EndListener is told when a key stops working: at once when it is revoked,
// at the end of the grace when it is rolled. Connections opened with the key
// close then, on every process.
type EndListener interface {
	KeyEnded(ctx context.Context, sc scope.Scope, keyID string, at time.Time)
}

// OnEnd sets the listener told of keys that stop working; app sets it once,
// before serving.
func (s *Service) OnEnd(l EndListener) { s.ends = l }

func (s *Service) ended(ctx context.Context, k Key, at time.Time) {
	if s.ends != nil {
		s.ends.KeyEnded(ctx, k.Scope(), k.ID, at)
	}
}

// NewService returns a key service on store, reading time from now.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now, cache: map[[32]byte]cached{}, usage: map[usageKey]*UsageDelta{}}
}

// New builds (but does not store) a key of the given kind for a team.
func New(teamID string, t Type, m scope.Mode, now time.Time) (Issued, error) {
	secret, err := Generate(t, m)
	if err != nil {
		return Issued{}, fmt.Errorf("apikey: generate: %w", err)
	}
	id, err := ids.New()
	if err != nil {
		return Issued{}, fmt.Errorf("apikey: %w", err)
	}
	return Issued{Secret: secret, Key: Key{
		ID: id, TeamID: teamID, Type: t, Mode: m,
		Hash: Hash(secret), Redacted: Redact(secret), CreatedAt: now.UTC().Truncate(time.Microsecond),
	}}, nil
}

// MaxName is the longest key name, in characters.
const MaxName = 100

// Create issues a new key of type t in scope s.
func (s *Service) Create(ctx context.Context, sc scope.Scope, t Type) (Issued, error) {
	return s.CreateNamed(ctx, sc, t, "")
}

// CreateNamed issues a new key of type t in scope s with a name that says
// what it is for.
func (s *Service) CreateNamed(ctx context.Context, sc scope.Scope, t Type, name string) (Issued, error) {
	if !t.Valid() {
		return Issued{}, errs.Invalidf("type", `type must be "secret" or "publishable"`)
	}
	name = strings.TrimSpace(name)
	if err := text.Line("name", name); err != nil {
		return Issued{}, err
	}
	if utf8.RuneCountInString(name) > MaxName {
		return Issued{}, errs.Invalidf("name", "name must be at most %d characters", MaxName)
	}
	k, err := New(sc.TeamID, t, sc.Mode, s.now())
	if err != nil {
		return Issued{}, err
	}
	k.Name = name
	if err := s.store.InsertKeys(ctx, k.Key); err != nil {
		return Issued{}, fmt.Errorf("apikey: create: %w", err)
	}
	return k, nil
}

// List returns the keys of scope s that can still authenticate.
func (s *Service) List(ctx context.Context, sc scope.Scope) ([]Key, error) {
	return s.store.ListKeys(ctx, sc, s.now())
}

// Get returns one key of scope s.
func (s *Service) Get(ctx context.Context, sc scope.Scope, id string) (Key, error) {
	id, ok := ids.Canonical(id)
	if !ok {
		return Key{}, errs.NotFoundf("API key not found")
	}
	k, err := s.store.KeyByID(ctx, sc, id)
	if errors.Is(err, errs.ErrNotFound) {
		return Key{}, errs.NotFoundf("API key not found")
	}
	return k, err
}

// Roll replaces key id with a new key of the same type and mode. The old key
// stops working after grace (at once when grace is zero).
func (s *Service) Roll(ctx context.Context, sc scope.Scope, id string, grace time.Duration) (Issued, error) {
	if grace < 0 || grace > MaxRollGrace {
		return Issued{}, errs.Invalidf("expires_in", "expires_in must be between 0 and %d seconds", int(MaxRollGrace/time.Second))
	}
	old, err := s.Get(ctx, sc, id)
	if err != nil {
		return Issued{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if !old.Active(now) {
		return Issued{}, errs.NotFoundf("API key not found")
	}
	next, err := New(sc.TeamID, old.Type, old.Mode, now)
	if err != nil {
		return Issued{}, err
	}
	next.Name = old.Name // the new key does the old one's job
	until := now.Add(grace)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(until) {
		until = *old.ExpiresAt
	}
	if err := s.store.RollKey(ctx, old, until, next.Key); err != nil {
		return Issued{}, fmt.Errorf("apikey: roll: %w", err)
	}
	s.forget(old.Hash)
	s.ended(ctx, old, until)
	return next, nil
}

// Revoke makes key id stop working at once.
func (s *Service) Revoke(ctx context.Context, sc scope.Scope, id string) error {
	k, err := s.Get(ctx, sc, id)
	if err != nil {
		return err
	}
	if err := s.store.RevokeKey(ctx, sc, id, s.now()); err != nil {
		if errors.Is(err, ErrLastSecretKey) {
			return err
		}
		if errors.Is(err, errs.ErrNotFound) {
			return errs.NotFoundf("API key not found")
		}
		return fmt.Errorf("apikey: revoke: %w", err)
	}
	s.forget(k.Hash)
	s.ended(ctx, k, s.now())
	return nil
}

// ErrLastSecretKey refuses to revoke the last secret key of a mode that is
// not already ending: without one, the team could never use the API of that
// mode again (create another first; an operator can with cstar keys create).
var ErrLastSecretKey = errs.Conflictf("This is the last active secret key of this mode: create another secret key before revoking it")

// ErrInvalid is returned by Authenticate for every kind of bad key, so that
// callers cannot leak which check failed.
var ErrInvalid = errors.New("apikey: invalid key")

// Authenticate returns the active key that raw is the secret of. Malformed
// keys are rejected without touching the database; verified keys are cached
// for at most CacheTTL.
func (s *Service) Authenticate(ctx context.Context, raw string) (Key, error) {
	if _, err := Parse(raw); err != nil {
		return Key{}, ErrInvalid
	}
	var h [32]byte
	copy(h[:], Hash(raw))
	now := s.now()

	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if !ok || now.Sub(c.fetched) >= CacheTTL || now.Before(c.fetched) {
		k, err := s.store.KeyByHash(ctx, h[:])
		switch {
		case errors.Is(err, errs.ErrNotFound):
			return Key{}, ErrInvalid
		case err != nil:
			return Key{}, fmt.Errorf("apikey: authenticate: %w", err)
		}
		c = cached{key: k, fetched: now}
		s.mu.Lock()
		if len(s.cache) > 100_000 {
			clear(s.cache) // bounded memory under a flood of distinct valid keys
		}
		s.cache[h] = c
		s.mu.Unlock()
	}
	// The lookup was by hash; compare in constant time anyway so that no
	// code path depends on a variable-time comparison of secret material.
	if subtle.ConstantTimeCompare(c.key.Hash, h[:]) != 1 || !c.key.Active(now) {
		return Key{}, ErrInvalid
	}
	return c.key, nil
}

func (s *Service) forget(hash []byte) {
	var h [32]byte
	copy(h[:], hash)
	s.mu.Lock()
	delete(s.cache, h)
	s.mu.Unlock()
}

// Record counts one request made with key id. It only touches memory;
// Flush writes the counts.
func (s *Service) Record(keyID string, isError, rateLimited bool) {
	now := s.now().UTC()
	hour := now.Truncate(time.Hour)
	k := usageKey{keyID, hour.Unix()}
	s.mu.Lock()
	d := s.usage[k]
	if d == nil {
		d = &UsageDelta{KeyID: keyID, Hour: hour}
		s.usage[k] = d
	}
	d.Requests++
	if isError {
		d.Errors++
	}
	if rateLimited {
		d.RateLimited++
	}
	d.LastUsed = now
	s.mu.Unlock()
}

// Flush writes the usage counted since the last flush. On failure the counts
// are put back so that nothing is lost.
func (s *Service) Flush(ctx context.Context) error {
	s.mu.Lock()
	pending := s.usage
	s.usage = map[usageKey]*UsageDelta{}
	s.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	deltas := make([]UsageDelta, 0, len(pending))
	for _, d := range pending {
		deltas = append(deltas, *d)
	}
	if err := s.store.AddUsage(ctx, deltas); err != nil {
		s.mu.Lock()
		for k, d := range pending {
			if cur := s.usage[k]; cur != nil {
				cur.Requests += d.Requests
				cur.Errors += d.Errors
				cur.RateLimited += d.RateLimited
				if d.LastUsed.After(cur.LastUsed) {
					cur.LastUsed = d.LastUsed
				}
			} else {
				s.usage[k] = d
			}
		}
		s.mu.Unlock()
		return fmt.Errorf("apikey: flush usage: %w", err)
	}
	return nil
}

// Usage returns the last 24 hours of traffic of key id, hour by hour, oldest
// first, with hours without traffic included as zeros.
func (s *Service) Usage(ctx context.Context, sc scope.Scope, id string) (Usage, error) {
	return s.UsageHours(ctx, sc, id, 24)
}

// MaxUsageHours is the longest stretch of usage that UsageHours returns:
// the dashboard's charts show 7 days.
const MaxUsageHours = 7 * 24

// UsageHours returns the last hours hours of traffic of key id (the current
// hour included), as Usage does.
func (s *Service) UsageHours(ctx context.Context, sc scope.Scope, id string, hours int) (Usage, error) {
	if hours < 1 || hours > MaxUsageHours {
		return Usage{}, errs.Invalidf("hours", "hours must be between 1 and %d", MaxUsageHours)
	}
	if err := s.Flush(ctx); err != nil {
		return Usage{}, err
	}
	k, err := s.Get(ctx, sc, id)
	if err != nil {
		return Usage{}, err
	}
	end := s.now().UTC().Truncate(time.Hour)
	start := end.Add(-time.Duration(hours-1) * time.Hour)
	rows, err := s.store.KeyUsage(ctx, k.ID, start)
	if err != nil {
		return Usage{}, fmt.Errorf("apikey: usage: %w", err)
	}
	byHour := make(map[int64]UsageHour, len(rows))
	for _, r := range rows {
		byHour[r.Hour.Unix()] = r
	}
	u := Usage{KeyID: k.ID, LastUsedAt: k.LastUsedAt, Hours: make([]UsageHour, 0, hours)}
	for h := start; !h.After(end); h = h.Add(time.Hour) {
		r := byHour[h.Unix()]
		r.Hour = h
		u.Hours = append(u.Hours, r)
	}
	return u, nil
}
