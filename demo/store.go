package demo

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
)

// storeUser is an account of the store's own login, not of cStar.
type storeUser struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	password [32]byte
}

// DemoUsers are the store's accounts, shown on its login page.
var DemoUsers = []struct{ ID, Email, Name, Password string }{
	{"store-user-1", "alex@store.example", "Alex Rivera", "alex-store-pass"},
	{"store-user-2", "sam@store.example", "Sam Lee", "sam-store-pass"},
}

const sessionCookie = "demo_store_session"

// maxSessions bounds the store's in-memory sessions.
const maxSessions = 10000

type users struct {
	now      func() time.Time
	byEmail  map[string]*storeUser
	mu       sync.Mutex
	sessions map[string]*storeUser // by SHA-256 of the cookie
}

func newUsers(now func() time.Time) *users {
	u := &users{now: now, byEmail: map[string]*storeUser{}, sessions: map[string]*storeUser{}}
	for _, d := range DemoUsers {
		u.byEmail[d.Email] = &storeUser{ID: d.ID, Email: d.Email, Name: d.Name, password: sha256.Sum256([]byte(d.Password))}
	}
	return u
}

func sessionKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// current is the store user of the request's session cookie.
func (u *users) current(r *http.Request) *storeUser {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.sessions[sessionKey(c.Value)]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// login checks the store's own password and sets its session cookie.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Email, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Send JSON with email and password")
		return
	}
	usr := s.users.byEmail[strings.ToLower(strings.TrimSpace(in.Email))]
	given := sha256.Sum256([]byte(in.Password))
	if usr == nil || subtle.ConstantTimeCompare(given[:], usr.password[:]) != 1 {
		writeError(w, http.StatusUnauthorized, "Wrong email or password")
		return
	}
	var b [32]byte
	rand.Read(b[:])
	cookie := hex.EncodeToString(b[:])
	s.users.mu.Lock()
	if len(s.users.sessions) >= maxSessions {
		clear(s.users.sessions)
	}
	s.users.sessions[sessionKey(cookie)] = usr
	s.users.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: cookie, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: 7 * 24 * 3600})
	writeJSON(w, http.StatusOK, usr)
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.users.mu.Lock()
		delete(s.users.sessions, sessionKey(c.Value))
		s.users.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Site) me(w http.ResponseWriter, r *http.Request) {
	usr := s.users.current(r)
	if usr == nil {
		writeError(w, http.StatusUnauthorized, "Not signed in to the store")
		return
	}
	writeJSON(w, http.StatusOK, usr)
}

// identityToken vouches for the signed-in store user to cStar: a short-lived
// HS256 token signed with the team's identity secret, which never leaves
// this process. The widget passes it to CStarChat.identify({token}).
func (s *Site) identityToken(w http.ResponseWriter, r *http.Request) {
	usr := s.users.current(r)
	if usr == nil {
		writeError(w, http.StatusUnauthorized, "Not signed in to the store")
		return
	}
	var jti [16]byte
	rand.Read(jti[:])
	now := s.cfg.Now()
	tok, err := identitytoken.Sign([]byte(s.cfg.IdentitySecret), identitytoken.Claims{Subject: usr.ID, Email: usr.Email,
		Name: usr.Name, ExpiresAt: now.Add(5 * time.Minute), ID: hex.EncodeToString(jti[:])}, now)
	if err != nil {
		s.cfg.Log.Error("demo: sign identity token", "err", err)
		writeError(w, http.StatusInternalServerError, "Could not sign the identity token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}
