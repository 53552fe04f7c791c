package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/assets"
	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/dashboard"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/helpdesk"
	"github.com/cstar-chat/cstar/server/internal/hookclient"
	"github.com/cstar-chat/cstar/server/internal/httpapi"
	"github.com/cstar-chat/cstar/server/internal/idempotency"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/library"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/internal/metrics"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/ratelimit"
	"github.com/cstar-chat/cstar/server/internal/realtime"
	"github.com/cstar-chat/cstar/server/internal/smtprelay"
	"github.com/cstar-chat/cstar/server/internal/socket"
	"github.com/cstar-chat/cstar/server/internal/store"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/webhook"
	"github.com/cstar-chat/cstar/server/protocol"
)

// App is a running cStar server.
type App struct {
	cfg   config.Config
	log   *slog.Logger
	db    *store.DB
	keys  *apikey.Service
	teams *team.Service
	hub   *realtime.Hub
	// agents is the agents' service, for start-up tasks and tests.
	agents  *agent.Service
	chat    *chat.Service
	mail    *mail.Service
	library *library.Service
	http    *http.Server
	ln      net.Listener

	stop      chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
	served    chan error
}

// Options are the parts of an App that tests replace.
type Options struct {
	Log *slog.Logger
	Now func() time.Time
	// PasswordParams replaces the argon2id parameters (password.OWASP) so
	// that tests can hash cheaply; production never sets it.
	PasswordParams *argon2id.Params
	// ChatTimings replaces the websocket heartbeat and deadlines.
	ChatTimings socket.Timings
	// WebhookTimings replaces the webhook dispatcher's intervals and bounds
	// (zero fields keep webhook.DefaultTimings).
	WebhookTimings webhook.Timings
	// SMTPRootCAs verifies the relay's certificate (a test relay's own);
	// nil uses the system's.
	SMTPRootCAs *x509.CertPool
	// MailPoll replaces how often the mail worker looks for due mail and
	// new events (a second).
	MailPoll time.Duration
}

// Open connects to the database, migrates it, builds the services and binds
// the listener (so that an address of :0 works and URL is known at once).
// Serve starts answering.
func Open(ctx context.Context, cfg config.Config, opt Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	db, err := OpenDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	// The store logs an outage of the database once, with its length; the
	// work that fails meanwhile stays quiet about it (a.logErr).
	db.SetLogger(opt.Log)
	a := &App{cfg: cfg, log: opt.Log, db: db, stop: make(chan struct{}), served: make(chan error, 1)}
	// The listener is bound first: links in mail start with its address
	// unless --public-url says otherwise.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("app: listen on %s: %w", cfg.Addr, err)
	}
	a.ln = ln
	fail := func(err error) (*App, error) {
		ln.Close()
		db.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	mailSvc, err := a.newMail(opt)
	if err != nil {
		return fail(err)
	}
	a.mail = mailSvc
	a.keys = apikey.NewService(db, opt.Now)
	a.teams = team.NewService(db, opt.Now)

	var limiter ratelimit.Limiter
	mem := ratelimit.NewMemory(opt.Now)
	limiter = mem
	if db.Dialect() == store.Postgres {
		// Several processes share PostgreSQL, so the limits live there; a
		// busy key used by one process is decided in it while it holds the
		// bucket, and busy keys far from a limit of 1,600 or more lease
		// requests in batches.
		limiter = ratelimit.NewLeasing(ratelimit.NewHolding(db.RateLimiter(), opt.Log), opt.Now)
	}
	reg := metrics.NewRegistry()
	pwParams := password.OWASP
	if opt.PasswordParams != nil {
		pwParams = *opt.PasswordParams
	}
	hasher, err := password.New(pwParams, runtime.NumCPU(), 2*time.Second)
	if err != nil {
		return fail(err)
	}
	identOpts := []identity.Option{identity.WithLogger(opt.Log), identity.WithMailer(mailSvc)}
	if db.Dialect() == store.Postgres {
		// Several processes share PostgreSQL: the sign-in throttles count
		// there, or each process would grant its own budget.
		identOpts = append(identOpts, identity.WithCounter(db.ThrottleCounter()))
	}
	ident := identity.NewService(db, hasher, opt.Now, identOpts...)
	hour := time.Hour
	a.hub = realtime.NewHub()
	var bus *realtime.Bus
	if db.Dialect() == store.Postgres {
		bus = realtime.NewSharedBus(a.hub, db, db, opt.Log)
	} else {
		bus = realtime.NewLocalBus(a.hub)
	}
	deliveries := reg.Counter("cstar_webhook_deliveries_total", "Webhook delivery attempts by outcome.", "outcome",
		webhook.Outcomes...)
	dispatcher := webhook.NewDispatcher(db, hookclient.New(cfg.WebhooksAllowPrivate), opt.Now, opt.WebhookTimings,
		opt.Log, deliveries)
	db.OnEvents(func(evs []chat.Event) {
		bus.Committed(evs)
		dispatcher.Wake()
	})
	hooks := webhook.NewService(db, opt.Now, webhook.Policy{AllowInsecure: cfg.WebhooksAllowInsecure,
		AllowPrivate: cfg.WebhooksAllowPrivate}, dispatcher.Wake)
	chatSvc := chat.NewService(db, bus, opt.Now)
	a.chat = chatSvc
	// A revoked or rolled key closes the sockets opened with it, on every
	// process.
	a.keys.OnEnd(chatSvc)
	sockets := socket.New(chatSvc, ident, a.hub, opt.ChatTimings, opt.Log, opt.Now)
	// Agents sign in with the customers' hasher (one bound on the memory of
	// every hash) and throttles; their ended sessions close their
	// dashboards on every process.
	agentOpts := []agent.Option{agent.WithLogger(opt.Log), agent.WithEnder(chatSvc), agent.WithMailer(mailSvc)}
	if db.Dialect() == store.Postgres {
		agentOpts = append(agentOpts, agent.WithCounter(db.ThrottleCounter()))
	}
	agents := agent.NewService(db, hasher, opt.Now, agentOpts...)
	a.agents = agents
	auditLog := audit.NewService(db, opt.Now)
	helpdeskSvc := helpdesk.NewService(chat.LogTicketChanges(db, db), opt.Now)
	librarySvc := library.NewService(db, opt.Now)
	a.library = librarySvc
	dash, err := dashboard.New(dashboard.Deps{Agents: agents, Keys: a.keys, Teams: a.teams, Identity: ident,
		Helpdesk: helpdeskSvc, Chat: chatSvc, Library: librarySvc, Audit: auditLog, Sockets: sockets, Log: opt.Log,
		Mail: mailSvc, Webhooks: hooks, Now: opt.Now, TrustedProxies: cfg.TrustedProxies, TLS: cfg.TLSCert != ""})
	if err != nil {
		return fail(err)
	}
	reg.Gauge("cstar_chat_widget_connections", func() float64 { w, _ := a.hub.Counts(); return float64(w) })
	reg.Gauge("cstar_chat_stream_connections", func() float64 { _, st := a.hub.Counts(); return float64(st) })
	reg.Gauge("cstar_database_up", func() float64 {
		if db.Health().Up {
			return 1
		}
		return 0
	})
	reg.CounterFunc("cstar_database_outages_total", func() float64 { return float64(db.Health().Outages) })
	var widget http.Handler
	if set, err := assets.Load(os.DirFS(cfg.WidgetDir)); err == nil {
		widget = set
		raw, br := set.Size(set.Module)
		opt.Log.Info("widget loaded", "dir", cfg.WidgetDir, "module", set.Module, "bytes", raw, "brotli_bytes", br)
	} else {
		opt.Log.Warn("widget not served: build it with make build", "dir", cfg.WidgetDir, "err", err)
	}
	// Idempotency records that an outage kept from being written are
	// written once the database is back (a.every below).
	idem := idempotency.NewRecords(db.Idempotency(), opt.Now)
	handler := httpapi.New(httpapi.Deps{
		Background: a.background,
		Agents:     agents,
		Widget:     widget,
		Auth:       a.keys,
		Keys:       a.keys,
		Teams:      a.teams,
		Helpdesk:   helpdeskSvc,
		Identity:   ident,
		Library:    librarySvc,
		Chat:       chatSvc,
		Webhooks:   hooks,
		Sockets:    sockets,
		Idem:       idem,
		Limiter:    limiter,
		Limits: httpapi.Limits{
			Secret:        ratelimit.Limit{Count: cfg.SecretLimit, Period: hour},
			Publishable:   ratelimit.Limit{Count: cfg.PublishableLimit, Period: hour},
			Library:       ratelimit.Limit{Count: cfg.LibraryLimit, Period: hour},
			InvalidKey:    ratelimit.Limit{Count: cfg.InvalidKeyLimit, Period: hour},
			WidgetSession: ratelimit.Limit{Count: cfg.WidgetSessionLimit, Period: hour},
			WidgetIP:      ratelimit.Limit{Count: cfg.WidgetIPLimit, Period: hour},
			WidgetVisitor: ratelimit.Limit{Count: cfg.WidgetVisitorLimit, Period: hour},
		},
		DB:             db,
		Metrics:        reg,
		Log:            opt.Log,
		Now:            opt.Now,
		TLS:            cfg.TLSCert != "",
		RequireHTTPS:   cfg.RequireHTTPS,
		TrustedProxies: cfg.TrustedProxies,
		Dashboard:      dash,
		Audit:          auditLog,
		Mail:           mailSvc,
	})

	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fail(fmt.Errorf("load TLS certificate: %w", err))
		}
		a.ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"h2", "http/1.1"}})
	}
	a.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(opt.Log.Handler(), slog.LevelWarn),
	}

	if db.Dialect() == store.Postgres {
		stopListening := bus.Listen(db, 5*time.Second)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			<-a.stop
			stopListening()
		}()
	}
	// Webhook deliveries run beside the requests, never on their path.
	dctx, stopDispatch := context.WithCancel(context.Background())
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		dispatcher.Run(dctx)
	}()
	go func() {
		defer a.wg.Done()
		<-a.stop
		stopDispatch()
	}()
	a.every(sockets.Timings().Sweep, sockets.Sweep)
	// Mail is composed and sent by its worker, never on a request's path.
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		mailSvc.Run(a.stop)
	}()
	a.every(time.Second, func(ctx context.Context) {
		a.logErr("flush key usage", a.keys.Flush(ctx))
		a.logErr("finish idempotency records", idem.Retry(ctx))
	})
	a.every(time.Hour, func(ctx context.Context) {
		if _, err := chatSvc.ExpireEvents(ctx, cfg.EventRetention); err != nil {
			a.log.Error("expire old events", "err", err)
		}
		if _, err := dispatcher.Sweep(ctx, cfg.EventRetention); err != nil {
			a.log.Error("expire old webhook deliveries", "err", err)
		}
	})
	a.every(time.Minute, func(ctx context.Context) {
		mem.Sweep()
		a.logErr("sweep sign-in throttles and token ids", ident.Sweep(ctx))
		a.logErr("sweep agents' throttles and sessions", agents.Sweep(ctx))
		if db.Dialect() == store.Postgres {
			a.logErr("sweep rate limits", db.RateLimiter().Sweep(ctx))
		}
	})
	return a, nil
}

// OpenDB opens and migrates the database at url.
func OpenDB(ctx context.Context, url string) (*store.DB, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// logErr logs err unless it is nil or the database being unavailable,
// which the store logs once per outage; the work is tried again anyway.
func (a *App) logErr(msg string, err error) {
	if err != nil && !errs.Is(err, errs.Unavailable) {
		a.log.Error(msg, "err", err)
	}
}

// newMail builds the mail service: through the --smtp-url relay, or into the
// dashboard's dev mailbox without one.
func (a *App) newMail(opt Options) (*mail.Service, error) {
	cfg := a.cfg
	public := cfg.PublicURL
	if public == "" {
		public = a.URL()
	}
	u, _ := url.Parse(public)
	var sender mail.Sender
	dev := cfg.SMTPURL == ""
	if dev {
		sender = mail.NewDevMailbox(a.db, opt.Log)
	} else {
		relay, err := smtprelay.Parse(cfg.SMTPURL, smtprelay.Options{RootCAs: opt.SMTPRootCAs, Helo: u.Hostname()})
		if err != nil {
			return nil, err
		}
		sender = relay
		opt.Log.Info("mail goes through the relay", "relay", relay.String(), "from", cfg.SMTPFrom)
	}
	return mail.NewService(a.db, sender, mail.Config{PublicURL: strings.TrimSuffix(public, "/"), From: cfg.SMTPFrom,
		OfflineDelay: cfg.OfflineEmailDelay, Poll: opt.MailPoll}, opt.Now, opt.Log, dev)
}

// Mail is the mail service, for tests.
func (a *App) Mail() *mail.Service { return a.mail }

// Hub is the registry of live connections.
func (a *App) Hub() *realtime.Hub { return a.hub }

// background runs f beside the requests until it returns; Close cancels
// its context and waits for it.
func (a *App) background(f func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel()
		go func() {
			select {
			case <-a.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		f(ctx)
	}()
}

// every runs f every d until Close.
func (a *App) every(d time.Duration, f func(context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-a.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				f(ctx)
				cancel()
			}
		}
	}()
}

// URL is the base URL the server answers on.
func (a *App) URL() string {
	scheme := "http"
	if a.cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + a.ln.Addr().String()
}

// Teams is the team service, for start-up tasks such as the demo team.
func (a *App) Teams() *team.Service { return a.teams }

// Agents is the agents' service, for start-up tasks such as the demo
// team's owner, and for tests.
func (a *App) Agents() *agent.Service { return a.agents }

// Chat is the chat service, for tests and benchmarks.
func (a *App) Chat() *chat.Service { return a.chat }

// Library is the help articles' service, for the demo's articles.
func (a *App) Library() *library.Service { return a.library }

// DB is the database handle.
func (a *App) DB() *store.DB { return a.db }

// Start serves in the background; Close stops it.
func (a *App) Start() {
	go func() {
		err := a.http.Serve(a.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		a.served <- err
	}()
}

// Wait blocks until the server stops by itself (an error) or is closed.
func (a *App) Wait() error { return <-a.served }

// Close drains in-flight requests (up to ctx's deadline), stops background
// work, writes pending usage and closes the database. Later calls return the
// first call's result.
func (a *App) Close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		// Hijacked websockets are not Shutdown's: tell them to reconnect
		// (to another process, or to this one once restarted).
		a.hub.CloseAll(protocol.CloseRestart, "server restarting")
		err := a.http.Shutdown(ctx)
		for w, st := a.hub.Counts(); w+st > 0 && ctx.Err() == nil; w, st = a.hub.Counts() {
			time.Sleep(10 * time.Millisecond)
		}
		// Shutdown closes only listeners that Serve is using; Start may
		// never have run.
		if cerr := a.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
			err = errors.Join(err, cerr)
		}
		close(a.stop)
		a.wg.Wait()
		if ferr := a.keys.Flush(context.WithoutCancel(ctx)); ferr != nil {
			a.log.Error("flush key usage", "err", ferr)
		}
		a.closeErr = errors.Join(err, a.db.Close())
	})
	return a.closeErr
}
