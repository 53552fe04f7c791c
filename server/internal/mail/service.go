package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	netmail "net/mail"
	"net/url"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
)

// Sender delivers a message: through an SMTP relay (package smtprelay), or
// into the development mailbox. An error wrapping ErrPermanent will fail
// the same way again (a 5xx answer to the message or its recipient); any
// other is tried again later.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// ErrPermanent marks a refusal that retrying cannot change.
var ErrPermanent = errors.New("refused for good")

// Config is how mail is sent.
type Config struct {
	// PublicURL is the server's address as people reach it
	// (https://chat.example.com): the dashboard's links and the
	// unsubscribe link start with it.
	PublicURL string
	// From is the default sender address, and where bounces go.
	From string
	// OfflineDelay is how long an agent's message waits for its customer
	// to come back before it is emailed.
	OfflineDelay time.Duration
	// AgentDelay is how long a customer's reply waits for its assignee to
	// read it in the dashboard before it is emailed.
	AgentDelay time.Duration
	// Poll is how often the worker looks for due jobs and new events (it
	// also wakes when this process enqueues).
	Poll time.Duration
	// Lease is how long a claimed job is a worker's own; past it, another
	// process may take it (the first one is taken to have died).
	Lease time.Duration
	// MaxAge is how long a job is retried before it counts as failed.
	MaxAge time.Duration
	// Retention is how long sent and failed jobs and dev mail are kept.
	Retention time.Duration
}

// Defaults of Config.
const (
	DefaultOfflineDelay = 5 * time.Minute
	defaultAgentDelay   = time.Minute
	defaultPoll         = time.Second
	defaultLease        = 2 * time.Minute
	defaultMaxAge       = 48 * time.Hour
	defaultRetention    = 30 * 24 * time.Hour
	// sendTimeout bounds one delivery, well inside the lease.
	sendTimeout = time.Minute
	batch       = 10
)

// Service queues, composes and sends email.
type Service struct {
	store  Store
	sender Sender
	cfg    Config
	host   string
	now    func() time.Time
	log    *slog.Logger
	// claim names this process's claims.
	claim string
	wake  chan struct{}
	// dev says the sender is the development mailbox.
	dev bool
}

// NewService returns the mail service; dev says sender keeps mail instead of
// sending it (the dashboard then shows the mailbox).
func NewService(st Store, sender Sender, cfg Config, now func() time.Time, log *slog.Logger, dev bool) (*Service, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("mail: public URL %q is not an http(s) URL", cfg.PublicURL)
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: sender %q is not an email address", cfg.From)
	}
	if cfg.OfflineDelay <= 0 {
		cfg.OfflineDelay = DefaultOfflineDelay
	}
	if cfg.AgentDelay <= 0 {
		cfg.AgentDelay = defaultAgentDelay
	}
	if cfg.Poll <= 0 {
		cfg.Poll = defaultPoll
	}
	if cfg.Lease <= 0 {
		cfg.Lease = defaultLease
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = defaultMaxAge
	}
	if cfg.Retention <= 0 {
		cfg.Retention = defaultRetention
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	rand.Read(b[:])
	return &Service{store: st, sender: sender, cfg: cfg, host: u.Hostname(), now: now, log: log,
		claim: hex.EncodeToString(b[:]), wake: make(chan struct{}, 1), dev: dev}, nil
}

// Dev says mail goes to the development mailbox rather than a relay.
func (s *Service) Dev() bool { return s.dev }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Enqueue stores jobs in the outbox; the worker sends them.
func (s *Service) Enqueue(ctx context.Context, jobs ...Job) error {
	if err := s.store.EnqueueMail(ctx, jobs...); err != nil {
		return fmt.Errorf("mail: enqueue: %w", err)
	}
	s.Wake()
	return nil
}

// Wake makes the worker look for due jobs now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run reads new events and sends due mail until stop is closed; then it
// hands back what it still holds. Deliveries under way when stop closes
// finish first (a delivery cut short could reach the recipient and be sent
// again).
func (s *Service) Run(stop <-chan struct{}) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	sweep := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Lease/2)
		s.logErr("mail: read events", s.Scan(ctx))
		for {
			n, err := s.Tick(ctx, stop)
			s.logErr("mail: send", err)
			if n < batch || err != nil || stopped(stop) {
				break
			}
		}
		if time.Since(sweep) > time.Hour {
			sweep = time.Now()
			now := s.clock()
			s.logErr("mail: sweep", s.store.SweepMail(ctx, now.Add(-s.cfg.Retention), now))
		}
		cancel()
		select {
		case <-stop:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.logErr("mail: release", s.store.ReleaseMail(ctx, s.claim, s.clock()))
			cancel()
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// logErr logs err unless it is nil or the database being unavailable,
// which the store logs once per outage; the work is tried again anyway.
func (s *Service) logErr(msg string, err error) {
	if err != nil && !errs.Is(err, errs.Unavailable) {
		s.log.Error(msg, "err", err)
	}
}

// Scan turns the events written since the last scan into jobs.
func (s *Service) Scan(ctx context.Context) error {
	for {
		n, err := s.store.ScanMailEvents(ctx, 200, s.jobsFor)
		if err != nil {
			return fmt.Errorf("mail: scan events: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// Tick claims up to a batch of due jobs and sends them one by one; it
// returns how many it claimed. Jobs not started when stop closes are handed
// back.
func (s *Service) Tick(ctx context.Context, stop <-chan struct{}) (int, error) {
	now := s.clock()
	jobs, err := s.store.ClaimMail(ctx, now, now.Add(s.cfg.Lease), s.claim, batch)
	if err != nil {
		return 0, fmt.Errorf("mail: claim: %w", err)
	}
	for _, j := range jobs {
		if stopped(stop) {
			break
		}
		s.process(j)
	}
	return len(jobs), nil
}

// process composes and sends one claimed job and records how it ended.
func (s *Service) process(j Job) {
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	m, drop, err := s.compose(ctx, j)
	if err != nil {
		s.retry(j, err)
		return
	}
	if drop != "" {
		j.Status, j.LastError, j.To = Dropped, drop, ""
		s.finish(j)
		return
	}
	err = s.sender.Send(ctx, m)
	switch {
	case err == nil:
		j.Status, j.Recipient, j.MessageID, j.LastError = Sent, m.To, m.MessageID, ""
		s.log.Info("mail sent", "id", j.ID, "kind", string(j.Kind), "to", m.To, "attempt", j.Attempts)
		s.finish(j)
		s.afterSent(j, m)
	case errors.Is(err, ErrPermanent):
		j.Status, j.Recipient, j.LastError = Failed, m.To, m.Redact(err.Error())
		s.log.Warn("mail refused", "id", j.ID, "kind", string(j.Kind), "to", m.To, "err", j.LastError)
		s.finish(j)
	default:
		s.retry(j, errors.New(m.Redact(err.Error())))
	}
}

// finish records j's end. A delivery that happened must not be made again,
// so the record is retried (the database may be away for a moment) until
// the job's lease is nearly over.
func (s *Service) finish(j Job) {
	deadline := time.Now().Add(s.cfg.Lease * 3 / 4)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.store.FinishMail(ctx, j, s.claim, s.clock())
		cancel()
		if err == nil || errs.Is(err, errs.NotFound) || time.Now().Add(wait).After(deadline) {
			if err != nil {
				s.log.Error("mail: record the end of a job", "id", j.ID, "status", string(j.Status), "err", err)
			}
			return
		}
		time.Sleep(wait)
	}
}

// retry puts j back with exponential backoff and jitter (30 s, 1 min, 2 min
// … at most an hour apart), or fails it once it is older than MaxAge.
func (s *Service) retry(j Job, cause error) {
	now := s.clock()
	msg := cause.Error()
	if now.Sub(j.CreatedAt) > s.cfg.MaxAge {
		j.Status, j.LastError = Failed, "gave up: "+msg
		s.log.Warn("mail given up", "id", j.ID, "kind", string(j.Kind), "attempts", j.Attempts, "err", msg)
		s.finish(j)
		return
	}
	d := Backoff(j.Attempts)
	if !errs.Is(cause, errs.Unavailable) {
		s.log.Warn("mail will be retried", "id", j.ID, "kind", string(j.Kind), "attempt", j.Attempts, "in", d.String(), "err", msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.RetryMail(ctx, j.ID, s.claim, now.Add(d), msg); err != nil && !errs.Is(err, errs.NotFound) {
		// The lease runs out by itself and the job is taken again.
		s.logErr("mail: put back", err)
	}
}

// Backoff is the wait before attempt n+1: 30 s doubling to at most an hour,
// each with up to 20% jitter, so that many jobs failing together do not come
// back together.
func Backoff(n int) time.Duration {
	d := time.Hour
	if n >= 1 && n < 8 {
		d = min(time.Duration(30*math.Pow(2, float64(n-1)))*time.Second, time.Hour)
	}
	return d + time.Duration(mrand.Int64N(int64(d/5)+1))
}
