package identity

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/internal/scope"
)

// ThrottlePolicy says how failed sign-ins are slowed down: Free failures
// within Window cost nothing; each one after that blocks the key for Base,
// doubling per further failure, up to Max. A failure older than Window is
// forgotten, so that a key is free again at most Max after the last failure.
// A policy without Base only counts.
type ThrottlePolicy struct {
	Free   int
	Window time.Duration
	Base   time.Duration
	Max    time.Duration
}

// Wait is the block owed after the nth failure within the window.
func (p ThrottlePolicy) Wait(n int) time.Duration {
	if p.Base <= 0 || n < p.Free {
		return 0
	}
	d := p.Max
	if shift := n - p.Free; shift < 30 {
		if b := p.Base << shift; b < d {
			d = b
		}
	}
	return d
}

// The sign-in throttles (docs/security.md, "Sign-in throttling"). A block
// falls on the pair of an account and a client address, or on an address,
// never on an account as a whole: strangers failing to sign in as someone
// cannot keep them out.
var (
	// AccountSourcePolicy counts the failures on one account from one
	// client address.
	AccountSourcePolicy = ThrottlePolicy{Free: 5, Window: 15 * time.Minute, Base: 30 * time.Second, Max: 15 * time.Minute}
	// UnderAttackPolicy replaces AccountSourcePolicy while the account is
	// under attack: each address gets one free failure instead of five.
	UnderAttackPolicy = ThrottlePolicy{Free: 1, Window: 15 * time.Minute, Base: 30 * time.Second, Max: 15 * time.Minute}
	// AccountPolicy counts the failures on an account from every address; at
	// AccountPolicy.Free the account is under attack. It blocks nobody: an
	// address that has not failed on the account (its owner's, say) still
	// has its password checked.
	AccountPolicy = ThrottlePolicy{Free: 10, Window: 15 * time.Minute}
	// IPPolicy counts the failures from one client address on every
	// account (and failed identify calls); an address may be a NAT shared
	// by many people.
	IPPolicy = ThrottlePolicy{Free: 20, Window: 15 * time.Minute, Base: 30 * time.Second, Max: 15 * time.Minute}
)

// Counter keeps failed sign-in attempts per key: in memory for a single
// process (MemoryCounter), or in the store, shared by every process.
type Counter interface {
	// Blocked returns the longest wait that any of keys still owes at now.
	Blocked(ctx context.Context, now time.Time, keys ...string) (time.Duration, error)
	// Fail records a failure of key at now and returns the number of
	// failures of key within p.Window and the wait it now owes under p.
	Fail(ctx context.Context, key string, p ThrottlePolicy, now time.Time) (n int, wait time.Duration, err error)
	// Reset forgets key's failures.
	Reset(ctx context.Context, key string) error
	// Sweep drops what no longer matters at now.
	Sweep(ctx context.Context, now time.Time) error
}

// SignInThrottle applies the three sign-in throttles (the account with the
// client, the account, the client) to one kind of account: customers of a
// team and mode, or agents, whose counts never mix with the customers'.
// Accounts are named by the caller (an email, with whatever makes it unique
// for the kind); an IPv6 client counts by its /64, which one subscriber
// usually holds whole.
type SignInThrottle struct {
	c Counter
	// realm keeps the kinds apart; "" is the customers' (their keys are as
	// before agents existed, so that counts survive an upgrade).
	realm string
}

// NewSignInThrottle returns the throttles of the accounts of realm, counted
// in c.
func NewSignInThrottle(c Counter, realm string) SignInThrottle {
	return SignInThrottle{c: c, realm: realm}
}

func (t SignInThrottle) accountKey(account string) string { return "acct\x00" + t.realm + account }

func (t SignInThrottle) sourceKey(ip string) string { return "ip\x00" + t.realm + clientNet(ip) }

func (t SignInThrottle) pairKey(account, ip string) string {
	return "pair\x00" + t.realm + account + "\x00" + clientNet(ip)
}

// Blocked is how long a sign-in to account from ip must still wait (0: it
// may try now).
func (t SignInThrottle) Blocked(ctx context.Context, now time.Time, account, ip string) (time.Duration, error) {
	return t.c.Blocked(ctx, now, t.sourceKey(ip), t.pairKey(account, ip))
}

// Fail counts a failed sign-in to account from ip and returns the wait it
// now owes (0: none).
func (t SignInThrottle) Fail(ctx context.Context, now time.Time, account, ip string) (time.Duration, error) {
	n, _, err := t.c.Fail(ctx, t.accountKey(account), AccountPolicy, now)
	if err != nil {
		return 0, err
	}
	p := AccountSourcePolicy
	if n >= AccountPolicy.Free {
		p = UnderAttackPolicy
	}
	_, d1, err := t.c.Fail(ctx, t.pairKey(account, ip), p, now)
	if err != nil {
		return 0, err
	}
	_, d2, err := t.c.Fail(ctx, t.sourceKey(ip), IPPolicy, now)
	if err != nil {
		return 0, err
	}
	return max(d1, d2), nil
}

// Succeeded forgets the failures of account from ip. The account's own
// count stays: the owner signing in does not end an attack on the account.
func (t SignInThrottle) Succeeded(ctx context.Context, account, ip string) error {
	return t.c.Reset(ctx, t.pairKey(account, ip))
}

// customerAccount names a customer's password account for the throttles.
func customerAccount(sc scope.Scope, email string) string {
	return sc.TeamID + "/" + string(sc.Mode) + "/" + email
}

func clientNet(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
}

type failures struct {
	n       int
	last    time.Time
	until   time.Time
	expires time.Time
}

// MemoryCounter is a Counter in this process's memory, for a server that is
// the only process (SQLite). Several processes would each keep their own
// counts and multiply an attacker's budget.
type MemoryCounter struct {
	mu    sync.Mutex
	m     map[string]*failures
	calls int
}

// NewMemoryCounter returns an empty counter.
func NewMemoryCounter() *MemoryCounter { return &MemoryCounter{m: map[string]*failures{}} }

// Blocked implements Counter.
func (c *MemoryCounter) Blocked(_ context.Context, now time.Time, keys ...string) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d time.Duration
	for _, k := range keys {
		if f := c.m[k]; f != nil {
			d = max(d, f.until.Sub(now))
		}
	}
	return d, nil
}

// Fail implements Counter.
func (c *MemoryCounter) Fail(_ context.Context, key string, p ThrottlePolicy, now time.Time) (int, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.calls%1024 == 0 {
		c.sweepLocked(now)
	}
	f := c.m[key]
	if f == nil || now.Sub(f.last) > p.Window {
		f = &failures{}
		c.m[key] = f
	}
	f.n++
	f.last = now
	d := p.Wait(f.n)
	if u := now.Add(d); u.After(f.until) {
		f.until = u
	}
	if e := now.Add(max(p.Window, d)); e.After(f.expires) {
		f.expires = e
	}
	return f.n, d, nil
}

// Reset implements Counter.
func (c *MemoryCounter) Reset(_ context.Context, key string) error {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
	return nil
}

// Sweep implements Counter.
func (c *MemoryCounter) Sweep(_ context.Context, now time.Time) error {
	c.mu.Lock()
	c.sweepLocked(now)
	c.mu.Unlock()
	return nil
}

// Len is the number of keys held, for tests.
func (c *MemoryCounter) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func (c *MemoryCounter) sweepLocked(now time.Time) {
	for k, f := range c.m {
		if !now.Before(f.expires) {
			delete(c.m, k)
		}
	}
}
