package team

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// Team is a tenant: a company using cStar. Its name is shared by both
// modes; its settings are per mode, since test and live are completely
// separate.
type Team struct {
	ID       string
	Slug     string
	Name     string
	Settings map[scope.Mode]Settings // one entry per mode
	// RequireTOTP makes every agent of the team sign in with a second
	// factor (agents without one set it up at their next sign-in).
	RequireTOTP bool
	// MailFrom is the sender address of the team's mail ("" for the
	// server's --smtp-from).
	MailFrom  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Settings are a team's settings in one mode.
type Settings struct {
	// AllowedOrigins restricts where the mode's publishable keys may be used
	// from; empty means any origin.
	AllowedOrigins []string
	// Widget is how the widget looks and what its header says of the team,
	// as the dashboard's embed snippet and settings write it.
	Widget Widget
	// Pages are the site's pages that links in mail open.
	Pages Pages
}

// Widget is the look of a team's widget in one mode; "" fields leave the
// widget's default (its own title and greeting in the visitor's language,
// blue, on the right) or say nothing (availability, reply time, avatars).
type Widget struct {
	Title    string
	Greeting string
	Color    string // #rrggbb
	Position string // "right" or "left"
	Locale   string // a language the widget speaks, or "" for the visitor's
	// Availability is "online" or "away": whether the team answers now or
	// later; the widget's header shows it.
	Availability string
	// ReplyTime is how soon the team usually replies: "minutes", "hours"
	// or "day".
	ReplyTime string
	// AvatarURL is an https URL with {name} in it, replaced by an agent's
	// name (lowercased, URL-encoded) to show their picture; without it the
	// widget shows initials.
	AvatarURL string
}

// Widget choices.
var (
	WidgetPositions    = []string{"right", "left"}
	WidgetLocales      = []string{"en", "de", "es"}
	WidgetAvailability = []string{"online", "away"}
	WidgetReplyTimes   = []string{"minutes", "hours", "day"}
	widgetColor        = regexp.MustCompile(`^#[0-9a-f]{6}$`)
	maxWidgetTitle     = 60
	maxWidgetGreeting  = 200
	errWidgetColor     = errs.Invalidf("color", "color must be a colour such as #1f5fd6")
	errWidgetPosition  = errs.Invalidf("position", "position must be right or left")
	errWidgetLocale    = errs.Invalidf("locale", "locale must be one of en, de, es, or empty for the visitor's language")
	errWidgetAvailable = errs.Invalidf("availability", "availability must be online or away")
	errWidgetTitleLen  = errs.Invalidf("title", "title must be at most 60 characters")
	errWidgetGreetLen  = errs.Invalidf("greeting", "greeting must be at most 200 characters")
	errWidgetReplyTime = errs.Invalidf("reply_time", "reply_time must be minutes, hours or day, or empty")
	errWidgetAvatar    = errs.Invalidf("avatar_url", "avatar_url must be an https URL with {name} in it, at most %d characters", maxAvatarURL)
)

const maxAvatarURL = 500

// clean trims and checks w.
func (w Widget) clean() (Widget, error) {
	w.Title, w.Greeting = strings.TrimSpace(w.Title), strings.TrimSpace(w.Greeting)
	w.Color = strings.ToLower(strings.TrimSpace(w.Color))
	w.ReplyTime, w.AvatarURL = strings.TrimSpace(w.ReplyTime), strings.TrimSpace(w.AvatarURL)
	if err := text.Line("title", w.Title); err != nil {
		return Widget{}, err
	}
	if err := text.Line("greeting", w.Greeting); err != nil {
		return Widget{}, err
	}
	switch {
	case utf8.RuneCountInString(w.Title) > maxWidgetTitle:
		return Widget{}, errWidgetTitleLen
	case utf8.RuneCountInString(w.Greeting) > maxWidgetGreeting:
		return Widget{}, errWidgetGreetLen
	case w.Color != "" && !widgetColor.MatchString(w.Color):
		return Widget{}, errWidgetColor
	case w.Position != "" && !slices.Contains(WidgetPositions, w.Position):
		return Widget{}, errWidgetPosition
	case w.Locale != "" && !slices.Contains(WidgetLocales, w.Locale):
		return Widget{}, errWidgetLocale
	case w.Availability != "" && !slices.Contains(WidgetAvailability, w.Availability):
		return Widget{}, errWidgetAvailable
	case w.ReplyTime != "" && !slices.Contains(WidgetReplyTimes, w.ReplyTime):
		return Widget{}, errWidgetReplyTime
	case w.AvatarURL != "" && !avatarURL(w.AvatarURL):
		return Widget{}, errWidgetAvatar
	}
	return w, nil
}

func avatarURL(s string) bool {
	if len(s) > maxAvatarURL || !strings.Contains(s, "{name}") || text.Controls("avatar_url", s) != nil {
		return false
	}
	u, err := url.Parse(strings.ReplaceAll(s, "{name}", "x"))
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
}

// AllowsOrigin reports whether a browser page on origin may use the team's
// publishable keys of mode m.
func (t Team) AllowsOrigin(m scope.Mode, origin string) bool {
	allowed := t.Settings[m].AllowedOrigins
	if len(allowed) == 0 {
		return true
	}
	for _, o := range allowed {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// Created is a new team with the secrets of its first keys, shown once, and
// its identity-verification secrets.
type Created struct {
	Team
	Keys map[string]apikey.Issued // "sk_live", "sk_test", "pk_live", "pk_test"
	// IdentitySecrets holds the identity-verification secret of each mode.
	IdentitySecrets map[scope.Mode]string
}

// Store is what the team service needs from persistence.
type Store interface {
	// CreateTeam stores a team, its first keys and its identity secrets in
	// one transaction.
	CreateTeam(ctx context.Context, t Team, keys []apikey.Key, secrets []identity.Secret) error
	TeamByID(ctx context.Context, id string) (Team, error)
	TeamBySlug(ctx context.Context, slug string) (Team, error)
	RenameTeam(ctx context.Context, id, name string, at time.Time) error
	// SetAllowedOrigins writes the allowed origins of one mode of a team.
	SetAllowedOrigins(ctx context.Context, sc scope.Scope, origins []string, at time.Time) error
	// SetWidget writes the widget settings of one mode of a team.
	SetWidget(ctx context.Context, sc scope.Scope, w Widget, at time.Time) error
	SetRequireTOTP(ctx context.Context, id string, on bool, at time.Time) error
	MailStore
}

// Service manages teams.
type Service struct {
	store Store
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]cachedTeam
}

type cachedTeam struct {
	team    Team
	fetched time.Time
}

// cacheTTL bounds how stale a resolved team (and its settings) may be.
const cacheTTL = time.Second

// NewService returns a team service.
func NewService(store Store, now func() time.Time) *Service {
	return &Service{store: store, now: now, cache: map[string]cachedTeam{}}
}

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidSlug reports whether s can name a team in URLs. A slug never looks
// like a UUID, so that {teamId} is never ambiguous.
func ValidSlug(s string) bool {
	if !slugRE.MatchString(s) {
		return false
	}
	_, isID := ids.Canonical(s)
	return !isID
}

// Create makes a team with one key of each kind and an identity-verification
// secret per mode.
func (s *Service) Create(ctx context.Context, name, slug string) (Created, error) {
	name = strings.TrimSpace(name)
	if err := text.Line("name", name); err != nil {
		return Created{}, err
	}
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return Created{}, errs.Invalidf("name", "name is required (at most 200 characters)")
	}
	if !ValidSlug(slug) {
		return Created{}, errs.Invalidf("slug", "slug must be 1-63 lowercase letters, digits or dashes, not starting or ending with a dash")
	}
	id, err := ids.New()
	if err != nil {
		return Created{}, fmt.Errorf("team: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	c := Created{Team: Team{ID: id, Slug: slug, Name: name, CreatedAt: now, UpdatedAt: now,
		Settings: map[scope.Mode]Settings{scope.Live: {}, scope.Test: {}}}, Keys: map[string]apikey.Issued{},
		IdentitySecrets: map[scope.Mode]string{}}
	var keys []apikey.Key
	for _, t := range []apikey.Type{apikey.Secret, apikey.Publishable} {
		for _, m := range []scope.Mode{scope.Live, scope.Test} {
			k, err := apikey.New(c.ID, t, m, now)
			if err != nil {
				return Created{}, err
			}
			c.Keys[strings.TrimSuffix(apikey.Prefix(t, m), "_")] = k
			keys = append(keys, k.Key)
		}
	}
	var secrets []identity.Secret
	for _, m := range []scope.Mode{scope.Live, scope.Test} {
		sec, err := identity.NewSecret(scope.Scope{TeamID: c.ID, Mode: m}, now)
		if err != nil {
			return Created{}, err
		}
		c.IdentitySecrets[m] = sec.Current
		secrets = append(secrets, sec)
	}
	if err := s.store.CreateTeam(ctx, c.Team, keys, secrets); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			return Created{}, errs.Conflictf("a team with slug %q already exists", slug)
		}
		return Created{}, fmt.Errorf("team: create: %w", err)
	}
	return c, nil
}

// Resolve finds a team by UUID or slug. Results are cached for a second.
func (s *Service) Resolve(ctx context.Context, idOrSlug string) (Team, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[idOrSlug]
	s.mu.Unlock()
	if ok && now.Sub(c.fetched) < cacheTTL && !now.Before(c.fetched) {
		return c.team, nil
	}
	var t Team
	var err error
	if id, ok := ids.Canonical(idOrSlug); ok {
		t, err = s.store.TeamByID(ctx, id)
	} else if ValidSlug(idOrSlug) {
		t, err = s.store.TeamBySlug(ctx, idOrSlug)
	} else {
		err = errs.ErrNotFound
	}
	if errors.Is(err, errs.ErrNotFound) {
		return Team{}, errs.NotFoundf("Team not found")
	}
	if err != nil {
		return Team{}, fmt.Errorf("team: resolve: %w", err)
	}
	s.mu.Lock()
	if len(s.cache) > 10_000 {
		clear(s.cache)
	}
	s.cache[idOrSlug] = cachedTeam{team: t, fetched: now}
	s.mu.Unlock()
	return t, nil
}

// Update is a change to a team; nil fields stay as they are. Name is the
// team's, shared by both modes; AllowedOrigins is the mode's own.
type Update struct {
	Name           *string
	AllowedOrigins *[]string
	// Widget replaces the mode's widget settings.
	Widget *Widget
	// EditWidget changes the mode's widget settings as they are in the
	// store (the fields a caller does not set stay): the API's partial
	// update, which must not wipe what the dashboard set.
	EditWidget func(w *Widget)
	// RequireTOTP is the team's (from live only, as the name).
	RequireTOTP *bool
	// The mode's pages that mail links open, and the team's sender (from
	// live only, as the name).
	PasswordResetURL, ChatURL *string
	MailFrom                  *string
}

// errNameFromTest refuses a test key's change of the shared name: a test key
// never changes what live shows.
var errNameFromTest = errs.New(errs.Forbidden, "The team's name is shared by both modes: change it with a live secret key")

// Apply changes team sc.TeamID: its name (from live only) and the settings
// of mode sc.Mode, never the other mode's.
func (s *Service) Apply(ctx context.Context, sc scope.Scope, u Update) (Team, error) {
	t, err := s.store.TeamByID(ctx, sc.TeamID)
	if err != nil {
		return Team{}, fmt.Errorf("team: update: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	if u.Name != nil {
		if sc.Mode != scope.Live {
			return Team{}, errNameFromTest
		}
		n := strings.TrimSpace(*u.Name)
		if err := text.Line("name", n); err != nil {
			return Team{}, err
		}
		if n == "" || utf8.RuneCountInString(n) > 200 {
			return Team{}, errs.Invalidf("name", "name is required (at most 200 characters)")
		}
		t.Name, t.UpdatedAt = n, now
		if err := s.store.RenameTeam(ctx, t.ID, n, now); err != nil {
			return Team{}, fmt.Errorf("team: rename: %w", err)
		}
	}
	if u.RequireTOTP != nil {
		if sc.Mode != scope.Live {
			return Team{}, errs.New(errs.Forbidden, "Two-factor sign-in is a rule of the whole team: change it in live mode")
		}
		if err := s.store.SetRequireTOTP(ctx, t.ID, *u.RequireTOTP, now); err != nil {
			return Team{}, fmt.Errorf("team: require totp: %w", err)
		}
		t.RequireTOTP, t.UpdatedAt = *u.RequireTOTP, now
	}
	if u.EditWidget != nil {
		w := t.Settings[sc.Mode].Widget
		u.EditWidget(&w)
		u.Widget = &w
	}
	if err := s.applyMail(ctx, &t, sc, u, now); err != nil {
		return Team{}, err
	}
	if u.Widget != nil {
		w, err := u.Widget.clean()
		if err != nil {
			return Team{}, err
		}
		if err := s.store.SetWidget(ctx, sc, w, now); err != nil {
			return Team{}, fmt.Errorf("team: widget: %w", err)
		}
		settings := maps.Clone(t.Settings)
		set := settings[sc.Mode]
		set.Widget = w
		settings[sc.Mode] = set
		t.Settings, t.UpdatedAt = settings, now
	}
	if u.AllowedOrigins != nil {
		origins := make([]string, 0, len(*u.AllowedOrigins))
		for i, o := range *u.AllowedOrigins {
			norm, ok := normalizeOrigin(o)
			if !ok {
				return Team{}, errs.Invalidf("allowed_origins", "allowed_origins[%d] must be an origin such as https://shop.example.com", i)
			}
			origins = append(origins, norm)
		}
		set := t.Settings[sc.Mode]
		set.AllowedOrigins = origins
		if err := s.store.SetAllowedOrigins(ctx, sc, origins, now); err != nil {
			return Team{}, fmt.Errorf("team: update settings: %w", err)
		}
		settings := make(map[scope.Mode]Settings, len(t.Settings))
		for m, v := range t.Settings {
			settings[m] = v
		}
		settings[sc.Mode] = set
		t.Settings, t.UpdatedAt = settings, now
	}
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
	return t, nil
}

func normalizeOrigin(o string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}
