package sdk

import (
	"sync"
)

// SessionVersion is the version of the persisted session format:
// {"v": 1, "token": "...", "expiresAt": "...", "customer": {...}}.
const SessionVersion = 1

// Config is how a page set the SDK up.
type Config struct {
	PublishableKey string
	APIBase        string
}

// Mode is "live" or "test", read off the publishable key.
func (c Config) Mode() string {
	if len(c.PublishableKey) >= 8 && c.PublishableKey[:8] == "pk_test_" {
		return "test"
	}
	return "live"
}

// StorageKey namespaces the persisted session by mode and by the key, so a
// test-mode session is never used in live mode and two sites on one origin
// do not share sessions. The loader derives it too, to read the session
// before the module runs; TestLoaderReadsTheModuleSession (wasm/jsbridge)
// proves that both agree.
func (c Config) StorageKey() string { return c.name("cstar.session.v1.") }

// VisitorKey is where an anonymous visitor's token is kept, beside the
// session and namespaced like it: {"v": 1, "token", "expiresAt", "visitor":
// {"id", …}}. The loader writes it (it creates the visitor at the first
// message) and reads it too, before the module runs.
func (c Config) VisitorKey() string { return c.name("cstar.visitor.v1.") }

// OutboxKey is where messages waiting for a connection are persisted, shared
// by the tabs of one site like the session.
func (c Config) OutboxKey() string { return c.name("cstar.outbox.v1.") }

// ChannelName names the Web Lock and the BroadcastChannel through which the
// tabs of one site share a single websocket.
func (c Config) ChannelName() string { return c.name("cstar.chat.v1.") }

// name is prefix, the mode and characters 8 to 20 of the key (the loader's
// key.slice(8, 20)).
//
//go:noinline
func (c Config) name(prefix string) string {
	k := c.PublishableKey
	return prefix + c.Mode() + "." + k[min(8, len(k)):min(20, len(k))]
}

// Client is the SDK core behind the CStarChat global.
type Client struct {
	cfg       Config
	transport Transport
	storage   Storage

	mu       sync.Mutex
	token    string
	customer *Customer
	// vtoken and visitor are an anonymous visitor's token and id, held
	// while no customer is signed in; merged is the visitor the last
	// sign-in replaced (its waiting messages become the customer's).
	vtoken, visitor, merged string
	handlers                map[string]map[int]func(any)
	nextID                  int
}

// New returns a client and restores a persisted session, if any.
func New(cfg Config, t Transport, s Storage) *Client {
	c := &Client{cfg: cfg, transport: t, storage: s, handlers: map[string]map[int]func(any){}}
	c.restore()
	return c
}

func (c *Client) restore() {
	if v, ok := c.storage.Load(c.cfg.VisitorKey()); ok && str(v, "token") != "" {
		c.mu.Lock()
		c.vtoken, c.visitor = str(v, "token"), str(obj(v, "visitor"), "id")
		c.mu.Unlock()
	}
	v, ok := c.storage.Load(c.cfg.StorageKey())
	if !ok {
		return
	}
	if n, _ := v["v"].(float64); int(n) != SessionVersion || str(v, "token") == "" {
		c.storage.Delete(c.cfg.StorageKey())
		return
	}
	cust := customerFrom(obj(v, "customer"))
	c.mu.Lock()
	c.token, c.customer = str(v, "token"), &cust
	c.mu.Unlock()
}

// Reload re-reads the persisted session and visitor (another tab, or the
// loader, changed them) and emits identified, logout or visitor when the
// state changed. A non-nil visitor is saved first: the loader hands over the
// visitor it created when storage is blocked.
func (c *Client) Reload(visitor map[string]any) {
	if visitor != nil {
		c.storage.Save(c.cfg.VisitorKey(), visitor)
	}
	before, vbefore := c.IsIdentified(), c.principal()
	c.mu.Lock()
	c.token, c.customer, c.vtoken, c.visitor = "", nil, "", ""
	c.mu.Unlock()
	c.restore()
	after := c.IsIdentified()
	switch {
	case after && !before:
		c.emit("identified", c.GetCustomer().Map())
	case !after && before:
		c.emit("logout", nil)
	case c.principal() != vbefore:
		c.emit("visitor", nil)
	}
}

// mergedFrom is the visitor the last sign-in replaced.
func (c *Client) mergedFrom() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.merged
}

// principal is the id of whom the chat speaks for: the signed-in customer,
// else the anonymous visitor, else "".
func (c *Client) principal() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.customer != nil {
		return c.customer.ID
	}
	return c.visitor
}

func customerFrom(m map[string]any) Customer {
	ext := str(m, "externalId")
	if ext == "" {
		ext = str(m, "external_id")
	}
	created := str(m, "createdAt")
	if created == "" {
		created = str(m, "created_at")
	}
	// The server's email_verified, or the stored customer's emailVerified.
	server, _ := m["email_verified"].(bool)
	stored, _ := m["emailVerified"].(bool)
	return Customer{ID: str(m, "id"), Email: str(m, "email"), Name: str(m, "name"), ExternalID: ext, CreatedAt: created,
		EmailVerified: server || stored}
}

// IsIdentified reports whether a customer session is held.
func (c *Client) IsIdentified() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token != ""
}

// GetCustomer returns the signed-in customer, or nil.
func (c *Client) GetCustomer() *Customer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.customer == nil {
		return nil
	}
	cp := *c.customer
	return &cp
}

// On subscribes handler to event and returns the unsubscribe function.
func (c *Client) On(event string, handler func(any)) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	id := c.nextID
	if c.handlers[event] == nil {
		c.handlers[event] = map[int]func(any){}
	}
	c.handlers[event][id] = handler
	return func() {
		c.mu.Lock()
		delete(c.handlers[event], id)
		c.mu.Unlock()
	}
}

func (c *Client) emit(event string, payload any) {
	c.mu.Lock()
	hs := make([]func(any), 0, len(c.handlers[event]))
	for _, h := range c.handlers[event] {
		hs = append(hs, h)
	}
	c.mu.Unlock()
	for _, h := range hs {
		h(payload)
	}
}

// session returns the session token, else the anonymous visitor's, or "".
func (c *Client) session() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" {
		return c.token
	}
	return c.vtoken
}

func (c *Client) call(method, path string, body map[string]any, withSession bool) (map[string]any, error) {
	res, err := c.callEnvelope(method, path, body, withSession)
	return obj(res, "data"), err
}

// callEnvelope returns the whole decoded envelope of a 2xx answer.
func (c *Client) callEnvelope(method, path string, body map[string]any, withSession bool) (map[string]any, error) {
	h := map[string]string{"Authorization": "Bearer " + c.cfg.PublishableKey}
	c.mu.Lock()
	switch {
	case withSession && c.token != "":
		h["X-CStar-Session"] = c.token
	case withSession && c.vtoken != "":
		h["X-CStar-Session"] = c.vtoken
	case c.vtoken != "":
		// A sign-in: the visitor's token in the same request moves its
		// conversations into the customer (nothing else does).
		h["X-CStar-Visitor"] = c.vtoken
	}
	c.mu.Unlock()
	res, err := c.transport.Do(Request{Method: method, Path: c.cfg.APIBase + "/api/widget/v1" + path, Headers: h, Body: body})
	if err != nil {
		e := &Error{Message: "Network error: " + err.Error(), Status: 0, Code: "network"}
		c.emit("error", e)
		return nil, e
	}
	if res.Status < 200 || res.Status > 299 {
		e := errorFrom(res)
		if withSession && res.Status == 401 {
			// The server no longer knows the session: expired or revoked.
			c.clear()
		}
		c.emit("error", e)
		return nil, e
	}
	return res.Body, nil
}

func (c *Client) adopt(data map[string]any) Customer {
	cust := customerFrom(obj(data, "customer"))
	sess := obj(data, "session")
	c.mu.Lock()
	c.token, c.customer = str(sess, "token"), &cust
	c.mu.Unlock()
	c.storage.Save(c.cfg.StorageKey(), kv("v", float64(SessionVersion), "token", str(sess, "token"),
		"expiresAt", str(sess, "expires_at"), "customer", cust.Map()))
	c.emit("identified", cust.Map())
	return cust
}

// clear forgets the session, or the visitor when none is signed in: the
// server no longer knows it.
func (c *Client) clear() {
	c.mu.Lock()
	had, visitor := c.token != "", c.token == "" && c.vtoken != ""
	c.token, c.customer = "", nil
	if visitor {
		c.vtoken, c.visitor = "", ""
	}
	c.mu.Unlock()
	c.storage.Delete(c.cfg.StorageKey())
	switch {
	case had:
		c.emit("logout", nil)
	case visitor:
		c.storage.Delete(c.cfg.VisitorKey())
		c.emit("visitor", nil)
	}
}

// Signup creates an account and signs it in.
func (c *Client) Signup(email, name, password string) (Customer, error) {
	return c.Auth("/signup", map[string]any{"email": email, "name": name, "password": password})
}

// Login signs an existing account in.
func (c *Client) Login(email, password string) (Customer, error) {
	return c.Auth("/login", map[string]any{"email": email, "password": password})
}

// Identify proves a site's own user with a signed token or a user hash.
func (c *Client) Identify(fields map[string]any) (Customer, error) {
	return c.Auth("/identify", fields)
}

// Auth posts body to an endpoint that signs a customer in (/signup, /login
// or /identify) and adopts the session it returns. A visitor's token goes
// along: the visitor is spent once a customer signs in, its conversations
// theirs (data.merged).
func (c *Client) Auth(path string, body map[string]any) (Customer, error) {
	data, err := c.call("POST", path, body, false)
	if err != nil {
		return Customer{}, err
	}
	c.mu.Lock()
	if c.vtoken != "" {
		// The visitor's waiting messages are the customer's, whether the
		// server merged its conversations now, will later (a failed merge
		// is retried) or could not (an expired token): this browser's
		// person typed them.
		c.merged = c.visitor
		c.vtoken, c.visitor = "", ""
		c.storage.Delete(c.cfg.VisitorKey())
	}
	c.mu.Unlock()
	return c.adopt(data), nil
}

// Logout revokes the session on the server, then forgets it locally. The
// local state is cleared even when the server cannot be reached.
func (c *Client) Logout() error {
	var err error
	if c.IsIdentified() {
		_, err = c.call("POST", "/logout", nil, true)
	}
	c.clear()
	if e, ok := err.(*Error); ok && e.Status == 401 {
		err = nil // already gone on the server
	}
	return err
}
