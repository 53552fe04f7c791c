package config

import (
	"errors"
	"flag"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/smtprelay"
)

// Config is every setting of a cStar server.
type Config struct {
	Addr         string
	DatabaseURL  string
	TLSCert      string
	TLSKey       string
	RequireHTTPS bool
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed.
	TrustedProxies []netip.Prefix
	// Requests per hour.
	SecretLimit      int
	PublishableLimit int
	LibraryLimit     int
	InvalidKeyLimit  int
	// The widget's own traffic: per session, and per publishable key and
	// client IP.
	WidgetSessionLimit int
	WidgetIPLimit      int
	// WidgetVisitorLimit is how many anonymous visitors one publishable key
	// and client IP may create per hour.
	WidgetVisitorLimit int
	LogLevel           string
	// EventRetention is how long the events log (what the agents' stream
	// replays) is kept.
	EventRetention time.Duration
	// WidgetDir holds the built widget files (make build writes bin/widget).
	WidgetDir string
	// DemoTeam creates a "demo" team on first start and prints its keys.
	DemoTeam bool
	// DemoAddr is where the demo store site listens (with DemoTeam): its own
	// origin, as a customer's site would be. Empty: no demo site.
	DemoAddr string
	// WebhooksAllowInsecure admits http:// webhook endpoints;
	// WebhooksAllowPrivate lets deliveries reach loopback, private,
	// link-local, unique-local and metadata addresses. Both are for local
	// development and tests.
	WebhooksAllowInsecure bool
	WebhooksAllowPrivate  bool
	// PublicURL is the server's address as people reach it; links in mail
	// start with it. Empty: the address the server listens on.
	PublicURL string
	// SMTPURL is the relay mail goes through (smtp://user:pass@host:587 or
	// smtps://…:465). Empty: mail is kept in the dashboard's dev mailbox.
	SMTPURL string
	// SMTPFrom is the default sender, and where bounces go.
	SMTPFrom string
	// OfflineEmailDelay is how long an agent's reply waits for its
	// customer to come back before it is emailed.
	OfflineEmailDelay time.Duration
}

// Default returns the built-in defaults (the product page's limits).
func Default() Config {
	return Config{
		Addr:             "127.0.0.1:8080",
		DatabaseURL:      "sqlite:./.cstar/cstar.db",
		SecretLimit:      1000,
		PublishableLimit: 100,
		LibraryLimit:     200,
		InvalidKeyLimit:  200,
		// A visitor browsing 300 pages an hour costs at most 300 widget
		// requests on the session's budget; an office of visitors shares
		// the address's.
		WidgetSessionLimit: 1000,
		WidgetIPLimit:      5000,
		// A visitor is created at a first message, once per browser; an
		// office behind one address rarely starts 100 chats an hour.
		WidgetVisitorLimit: 100,
		LogLevel:           "info",
		EventRetention:     30 * 24 * time.Hour,
		WidgetDir:          "bin/widget",
		DemoAddr:           "localhost:8081",
		SMTPFrom:           "cstar@localhost",
		OfflineEmailDelay:  5 * time.Minute,
	}
}

// RegisterDB defines the database flag only (for commands other than serve).
func (c *Config) RegisterDB(fs *flag.FlagSet) {
	fs.StringVar(&c.DatabaseURL, "db", c.DatabaseURL, "database URL: postgres://… or sqlite:<path> (env CSTAR_DATABASE_URL)")
}

// Register defines every serve flag on fs, with the current values as defaults.
func (c *Config) Register(fs *flag.FlagSet) {
	c.RegisterDB(fs)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (env CSTAR_ADDR)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "TLS certificate file; serves HTTPS with HSTS (env CSTAR_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "TLS private key file (env CSTAR_TLS_KEY)")
	fs.BoolVar(&c.RequireHTTPS, "require-https", c.RequireHTTPS, "reject plain-HTTP API requests except from loopback (env CSTAR_REQUIRE_HTTPS)")
	fs.Func("trusted-proxies", "comma-separated CIDRs whose X-Forwarded-For/-Proto are trusted (env CSTAR_TRUSTED_PROXIES)", func(s string) error {
		p, err := parsePrefixes(s)
		c.TrustedProxies = p
		return err
	})
	fs.IntVar(&c.SecretLimit, "rate-secret", c.SecretLimit, "requests per hour per secret key (env CSTAR_RATE_SECRET)")
	fs.IntVar(&c.PublishableLimit, "rate-publishable", c.PublishableLimit, "requests per hour per publishable key and client IP (env CSTAR_RATE_PUBLISHABLE)")
	fs.IntVar(&c.LibraryLimit, "rate-library", c.LibraryLimit, "Library API requests per hour per client IP (env CSTAR_RATE_LIBRARY)")
	fs.IntVar(&c.WidgetSessionLimit, "rate-widget-session", c.WidgetSessionLimit, "widget API requests per hour per visitor session (env CSTAR_RATE_WIDGET_SESSION)")
	fs.IntVar(&c.WidgetIPLimit, "rate-widget-ip", c.WidgetIPLimit, "widget API requests and socket connections per hour per publishable key and client IP (env CSTAR_RATE_WIDGET_IP)")
	fs.IntVar(&c.WidgetVisitorLimit, "rate-widget-visitor", c.WidgetVisitorLimit, "anonymous widget visitors created per hour per publishable key and client IP (env CSTAR_RATE_WIDGET_VISITOR)")
	fs.IntVar(&c.InvalidKeyLimit, "rate-invalid-key", c.InvalidKeyLimit, "requests with invalid keys per hour per client IP (env CSTAR_RATE_INVALID_KEY)")
	fs.DurationVar(&c.EventRetention, "event-retention", c.EventRetention, "how long the agents' stream can replay events, e.g. 720h (env CSTAR_EVENT_RETENTION)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (env CSTAR_LOG_LEVEL)")
	fs.StringVar(&c.WidgetDir, "widget-dir", c.WidgetDir, "directory of the built widget (cstar-chat.js, wasm_exec.js, cstar.wasm); served under /widget/ (env CSTAR_WIDGET_DIR)")
	fs.BoolVar(&c.DemoTeam, "demo", c.DemoTeam, `create a "demo" team on first start and print its keys (env CSTAR_DEMO)`)
	fs.BoolVar(&c.WebhooksAllowInsecure, "webhooks-allow-insecure", c.WebhooksAllowInsecure, "accept http:// webhook endpoints, not only https:// (env CSTAR_WEBHOOKS_ALLOW_INSECURE)")
	fs.BoolVar(&c.WebhooksAllowPrivate, "webhooks-allow-private", c.WebhooksAllowPrivate, "let webhook deliveries reach loopback, private, link-local and metadata addresses (env CSTAR_WEBHOOKS_ALLOW_PRIVATE)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "the server's address as people reach it, e.g. https://chat.example.com; links in mail start with it (env CSTAR_PUBLIC_URL)")
	fs.StringVar(&c.SMTPURL, "smtp-url", c.SMTPURL, "SMTP relay for mail: smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465; unset keeps mail in the dashboard's dev mailbox (env CSTAR_SMTP_URL)")
	fs.StringVar(&c.SMTPFrom, "smtp-from", c.SMTPFrom, "default sender of mail, and where bounces go (env CSTAR_SMTP_FROM)")
	fs.DurationVar(&c.OfflineEmailDelay, "offline-email-delay", c.OfflineEmailDelay, "how long an agent's reply waits for an offline customer before it is emailed (env CSTAR_OFFLINE_EMAIL_DELAY)")
	fs.StringVar(&c.DemoAddr, "demo-addr", c.DemoAddr, `with --demo, the address of the demo store and BYO-auth page; "" for none (env CSTAR_DEMO_ADDR)`)
}

// FromEnv overlays CSTAR_* environment variables on c.
func (c *Config) FromEnv(getenv func(string) string) error {
	var errs []error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	num := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a number", name, v))
			}
			*dst = n
		}
	}
	boolean := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not true or false", name, v))
			}
			*dst = b
		}
	}
	str("CSTAR_ADDR", &c.Addr)
	str("CSTAR_DATABASE_URL", &c.DatabaseURL)
	str("CSTAR_TLS_CERT", &c.TLSCert)
	str("CSTAR_TLS_KEY", &c.TLSKey)
	boolean("CSTAR_REQUIRE_HTTPS", &c.RequireHTTPS)
	if v := getenv("CSTAR_TRUSTED_PROXIES"); v != "" {
		p, err := parsePrefixes(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CSTAR_TRUSTED_PROXIES: %w", err))
		}
		c.TrustedProxies = p
	}
	num("CSTAR_RATE_SECRET", &c.SecretLimit)
	num("CSTAR_RATE_PUBLISHABLE", &c.PublishableLimit)
	num("CSTAR_RATE_LIBRARY", &c.LibraryLimit)
	num("CSTAR_RATE_WIDGET_SESSION", &c.WidgetSessionLimit)
	num("CSTAR_RATE_WIDGET_IP", &c.WidgetIPLimit)
	num("CSTAR_RATE_WIDGET_VISITOR", &c.WidgetVisitorLimit)
	if v := getenv("CSTAR_EVENT_RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CSTAR_EVENT_RETENTION: %q is not a duration such as 720h", v))
		}
		c.EventRetention = d
	}
	num("CSTAR_RATE_INVALID_KEY", &c.InvalidKeyLimit)
	str("CSTAR_PUBLIC_URL", &c.PublicURL)
	str("CSTAR_SMTP_URL", &c.SMTPURL)
	str("CSTAR_SMTP_FROM", &c.SMTPFrom)
	if v := getenv("CSTAR_OFFLINE_EMAIL_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CSTAR_OFFLINE_EMAIL_DELAY: %q is not a duration such as 5m", v))
		}
		c.OfflineEmailDelay = d
	}
	str("CSTAR_LOG_LEVEL", &c.LogLevel)
	boolean("CSTAR_DEMO", &c.DemoTeam)
	str("CSTAR_DEMO_ADDR", &c.DemoAddr)
	str("CSTAR_WIDGET_DIR", &c.WidgetDir)
	boolean("CSTAR_WEBHOOKS_ALLOW_INSECURE", &c.WebhooksAllowInsecure)
	boolean("CSTAR_WEBHOOKS_ALLOW_PRIVATE", &c.WebhooksAllowPrivate)
	return errors.Join(errs...)
}

// ErrUsage marks a command line that could not be parsed (the flag package
// has already printed why); flag.ErrHelp stays detectable inside it.
var ErrUsage = errors.New("config: bad command line")

// Load builds a Config from defaults, the environment and then args.
func Load(fs *flag.FlagSet, args []string, register func(*Config, *flag.FlagSet)) (Config, error) {
	c := Default()
	if err := c.FromEnv(os.Getenv); err != nil {
		return c, err
	}
	register(&c, fs)
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return c, c.Validate()
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP or CIDR", part)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("config: --addr must not be empty")
	case !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") &&
		!strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		return fmt.Errorf("config: --db must be postgres://… or sqlite:<path>")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("config: --tls-cert and --tls-key go together")
	case c.SecretLimit < 1:
		return errors.New("config: --rate-secret must be at least 1")
	case c.PublishableLimit < 1:
		return errors.New("config: --rate-publishable must be at least 1")
	case c.EventRetention < time.Hour:
		return errors.New("config: --event-retention must be at least 1h")
	case c.WidgetSessionLimit < 1:
		return errors.New("config: --rate-widget-session must be at least 1")
	case c.WidgetIPLimit < 1:
		return errors.New("config: --rate-widget-ip must be at least 1")
	case c.WidgetVisitorLimit < 1:
		return errors.New("config: --rate-widget-visitor must be at least 1")
	case c.LibraryLimit < 1:
		return errors.New("config: --rate-library must be at least 1")
	case c.InvalidKeyLimit < 1:
		return errors.New("config: --rate-invalid-key must be at least 1")
	case c.OfflineEmailDelay < time.Second:
		return errors.New("config: --offline-email-delay must be at least 1s")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("config: --public-url %q must be an origin such as https://chat.example.com", c.PublicURL)
		}
	}
	if a, err := mail.ParseAddress(c.SMTPFrom); err != nil || a.Name != "" {
		return fmt.Errorf("config: --smtp-from %q must be an email address such as support@example.com", c.SMTPFrom)
	}
	if c.SMTPURL != "" {
		if err := smtprelay.Check(c.SMTPURL); err != nil {
			return fmt.Errorf("config: --smtp-url: %w", err)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: --log-level %q must be debug, info, warn or error", c.LogLevel)
	}
	return nil
}
