package sdk

import (
	"strconv"
	"sync"
)

// Customer is a signed-in customer, as CStarChat.getCustomer() returns it.
type Customer struct {
	ID         string
	Email      string
	Name       string
	ExternalID string
	CreatedAt  string
	// EmailVerified says the customer proved the email is theirs.
	EmailVerified bool
}

// Map is the JS-facing shape {id, email, name, externalId, createdAt,
// emailVerified}.
func (c Customer) Map() map[string]any {
	return kv("id", c.ID, "email", nullable(c.Email), "name", c.Name, "externalId", nullable(c.ExternalID),
		"createdAt", c.CreatedAt, "emailVerified", c.EmailVerified)
}

//go:noinline
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Error is every rejection of the SDK: the server's message, the HTTP status
// (0 for a network failure), the error code and the field it names, if any.
type Error struct {
	Message string
	Status  int
	Code    string
	Field   string
}

func (e *Error) Error() string { return e.Message }

// Request is one call to the widget API. Body is encoded as JSON by the
// transport.
type Request struct {
	Method  string
	Path    string
	Headers map[string]string
	Body    map[string]any
}

// Response is the decoded JSON envelope of an answer.
type Response struct {
	Status int
	Body   map[string]any
}

// Transport performs requests (fetch in the browser, a fake in tests). A
// network failure is returned as an error; any HTTP answer is a Response.
type Transport interface {
	Do(r Request) (Response, error)
}

// Storage persists small JSON-able objects (localStorage in the browser,
// memory when storage is blocked).
type Storage interface {
	Load(key string) (map[string]any, bool)
	Save(key string, v map[string]any)
	Delete(key string)
}

// MemoryStorage is a Storage that lives as long as the page.
type MemoryStorage struct {
	mu sync.Mutex
	m  map[string]map[string]any
}

// Load implements Storage.
func (s *MemoryStorage) Load(key string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok
}

// Save implements Storage.
func (s *MemoryStorage) Save(key string, v map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]map[string]any{}
	}
	s.m[key] = v
}

// Delete implements Storage.
func (s *MemoryStorage) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// errorFrom turns a non-2xx envelope into an *Error.
func errorFrom(r Response) *Error {
	msg := str(r.Body, "error")
	if msg == "" {
		msg = "Request failed with status " + strconv.Itoa(r.Status)
	}
	return &Error{Message: msg, Status: r.Status, Code: str(r.Body, "code"), Field: str(r.Body, "field")}
}
