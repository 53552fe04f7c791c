package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestChatMessagesPages: GET …/messages pages backwards from the newest
// with before_seq, forwards with after_seq, and says where to go on.
func TestChatMessagesPages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "1")
		for i := 2; i <= 7; i++ {
			s.post(t, s.SKLive, tid, fmt.Sprint(i))
		}
		base := s.Path("/tickets/" + tid + "/messages")
		cases := []struct {
			query string
			want  []int64
			next  any // next_cursor: a string or nil
		}{
			{"", span(1, 7), nil},
			{"?limit=3", []int64{5, 6, 7}, "5"},
			{"?limit=3&before_seq=5", []int64{2, 3, 4}, "2"},
			{"?limit=3&before_seq=2", []int64{1}, nil},
			{"?before_seq=1", []int64{}, nil},
			{"?after_seq=0&limit=3", []int64{1, 2, 3}, "3"},
			{"?after_seq=3&limit=3", []int64{4, 5, 6}, "6"},
			{"?after_seq=6&limit=3", []int64{7}, nil},
			{"?after_seq=7", []int64{}, nil},
			{"?limit=200", span(1, 7), nil},
		}
		for _, c := range cases {
			t.Run(c.query, func(t *testing.T) {
				r := s.Do(t, "GET", base+c.query, s.SKLive, nil).Want(t, 200)
				if got := seqs(r.Items(t)); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
					t.Errorf("seqs: got %v, want %v", got, c.want)
				}
				pg, _ := r.Body["pagination"].(map[string]any)
				if pg == nil || pg["next_cursor"] != c.next || pg["has_more"] != (c.next != nil) {
					t.Errorf("pagination: got %v, want next_cursor %v", pg, c.next)
				}
			})
		}
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "before_seq=-1", "before_seq=x", "after_seq=-2"} {
			field, _, _ := strings.Cut(q, "=")
			s.Do(t, "GET", base+"?"+q, s.SKLive, nil).WantError(t, 400, "").WantField(t, field)
		}
	})
}

// TestChatPostMessage: an agent's message is validated, stored with the
// next seq, honours Idempotency-Key and client_id, and reaches only
// tickets of the key's team and mode.
func TestChatPostMessage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		other := s.CreateTeam(t, "Other", apptest.UniqueSlug("other"))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello")
		path := s.Path("/tickets/" + tid + "/messages")

		r := s.Do(t, "POST", path, s.SKLive, map[string]any{"body": "  Hi Ann ", "author_name": " Bob "}).Want(t, 201)
		m := r.Data(t)
		author, _ := m["author"].(map[string]any)
		if m["body"] != "Hi Ann" || num(m["seq"]) != 2 || m["ticket_id"] != tid || author["type"] != "agent" ||
			author["name"] != "Bob" || author["id"] != nil || m["client_id"] != nil {
			t.Errorf("posted: got %v, want Bob's trimmed message at seq 2", m)
		}
		if f := w.WaitFor(protocol.FrameMessage); msg(f)["id"] != m["id"] {
			t.Errorf("widget: got %v, want the posted message", f)
		}
		bot := s.Do(t, "POST", path, s.SKLive, map[string]any{"body": "Beep", "author_name": "Helper", "author_type": "bot"}).Want(t, 201).Data(t)
		if a, _ := bot["author"].(map[string]any); a["type"] != "bot" {
			t.Errorf("bot: got author %v, want type bot", bot["author"])
		}

		refused := []struct {
			name  string
			body  any
			field string
		}{
			{"no author_name", map[string]any{"body": "Hi"}, "author_name"},
			{"blank author_name", map[string]any{"body": "Hi", "author_name": "  "}, "author_name"},
			{"author_name of 101", map[string]any{"body": "Hi", "author_name": strings.Repeat("n", 101)}, "author_name"},
			{"no body", map[string]any{"author_name": "Bob"}, "body"},
			{"blank body", map[string]any{"body": " \n ", "author_name": "Bob"}, "body"},
			{"body of 4001", map[string]any{"body": strings.Repeat("é", 4001), "author_name": "Bob"}, "body"},
			{"author_type customer", map[string]any{"body": "Hi", "author_name": "Bob", "author_type": "customer"}, "author_type"},
			{"client_id with a space", map[string]any{"body": "Hi", "author_name": "Bob", "client_id": "a b"}, "client_id"},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				s.Do(t, "POST", path, s.SKLive, c.body).WantError(t, 400, "").WantField(t, c.field)
			})
		}
		s.Do(t, "POST", path, s.SKLive, map[string]any{"body": strings.Repeat("é", 4000), "author_name": strings.Repeat("n", 100)}).Want(t, 201)

		// Idempotency-Key: the retry gets the first answer; one message.
		body := map[string]any{"body": "Only once", "author_name": "Bob"}
		first := s.Do(t, "POST", path, s.SKLive, body, "Idempotency-Key", "k-1").Want(t, 201).Data(t)
		again := s.Do(t, "POST", path, s.SKLive, body, "Idempotency-Key", "k-1").Want(t, 201)
		if again.Data(t)["id"] != first["id"] || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay: got %v (replayed %q), want %v", again.Data(t)["id"], again.Header.Get("Idempotent-Replayed"), first["id"])
		}
		s.Do(t, "POST", path, s.SKLive, map[string]any{"body": "Other", "author_name": "Bob"}, "Idempotency-Key", "k-1").WantError(t, 409, "")
		// client_id: the same message too.
		c1 := s.Do(t, "POST", path, s.SKLive, map[string]any{"body": "By id", "author_name": "Bob", "client_id": "x-1"}).Want(t, 201).Data(t)
		c2 := s.Do(t, "POST", path, s.SKLive, map[string]any{"body": "By id", "author_name": "Bob", "client_id": "x-1"}).Want(t, 201).Data(t)
		if c1["id"] != c2["id"] || c1["client_id"] != "x-1" {
			t.Errorf("client_id retry: got %v and %v, want one message with client_id x-1", c1, c2)
		}
		var bodies []string
		for _, m := range s.messages(t, s.SKLive, tid) {
			bodies = append(bodies, str(m["body"]))
		}
		if got := strings.Count(strings.Join(bodies, "|"), "Only once"); got != 1 {
			t.Errorf("stored %d copies of the idempotent post, want 1", got)
		}
		if got := strings.Count(strings.Join(bodies, "|"), "By id"); got != 1 {
			t.Errorf("stored %d copies of the client_id post, want 1", got)
		}
		if got := seqs(s.messages(t, s.SKLive, tid)); !slices.Equal(got, span(1, int64(len(got)))) {
			t.Errorf("seqs: got %v, want 1..N: refused posts must not use a seq", got)
		}

		// Tickets of another mode or team are not there.
		s.Do(t, "POST", s.Path("/tickets/"+tid+"/messages"), s.SKTest, body).WantError(t, 404, "")
		s.Do(t, "GET", s.Path("/tickets/"+tid+"/messages"), s.SKTest, nil).WantError(t, 404, "")
		s.Do(t, "POST", "/api/v1/teams/"+other.ID+"/tickets/"+tid+"/messages", other.Keys["sk_live"].Secret, body).WantError(t, 404, "")
		s.Do(t, "GET", "/api/v1/teams/"+other.ID+"/tickets/"+tid+"/messages", other.Keys["sk_live"].Secret, nil).WantError(t, 404, "")
		s.Do(t, "POST", s.Path("/tickets/not-an-id/messages"), s.SKLive, body).WantError(t, 404, "")
		// Publishable keys cannot post, type or read as an agent.
		for _, p := range []string{"/messages", "/typing", "/read"} {
			s.Do(t, "POST", s.Path("/tickets/"+tid+p), s.PKLive, body).WantError(t, 403, "")
		}
		s.Do(t, "GET", s.Path("/tickets/"+tid+"/messages"), s.PKLive, nil).WantError(t, 403, "")
		// Typing and reading someone else's ticket is a 404 too.
		s.Do(t, "POST", "/api/v1/teams/"+other.ID+"/tickets/"+tid+"/typing", other.Keys["sk_live"].Secret,
			map[string]any{"typing": true, "author_name": "Eve"}).WantError(t, 404, "")
		s.Do(t, "POST", "/api/v1/teams/"+other.ID+"/tickets/"+tid+"/read", other.Keys["sk_live"].Secret,
			map[string]any{"seq": 1}).WantError(t, 404, "")
	})
}

// TestChatWidgetHistory: the widget's history endpoint pages the signed-in
// customer's own tickets only.
func TestChatWidgetHistory(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		tokBob, _ := customer(t, s, s.PKLive, "Bob")
		const hist = "/api/widget/v1/messages"

		// No ticket yet: an empty page.
		if items := s.Do(t, "GET", hist, s.PKLive, nil, protocol.SessionHeader, tok).Want(t, 200).Items(t); len(items) != 0 {
			t.Fatalf("before any message: got %d, want 0", len(items))
		}
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "1")
		for i := 2; i <= 5; i++ {
			s.post(t, s.SKLive, tid, fmt.Sprint(i))
		}
		wb, _, _ := s.WidgetReady(t, s.PKLive, tokBob, nil)
		bobs := opened(t, wb, "Bob's")

		r := s.Do(t, "GET", hist+"?limit=2", s.PKLive, nil, protocol.SessionHeader, tok).Want(t, 200)
		if got := seqs(r.Items(t)); !slices.Equal(got, []int64{4, 5}) {
			t.Errorf("latest page: got %v, want [4 5]", got)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		r = s.Do(t, "GET", hist+"?limit=2&before_seq=4&ticket_id="+tid, s.PKLive, nil, protocol.SessionHeader, tok).Want(t, 200)
		if got := seqs(r.Items(t)); !slices.Equal(got, []int64{2, 3}) {
			t.Errorf("older page: got %v, want [2 3]", got)
		}
		// Bob's ticket is not Ann's, and sessions are needed.
		s.Do(t, "GET", hist+"?ticket_id="+bobs, s.PKLive, nil, protocol.SessionHeader, tok).WantError(t, 404, "")
		s.Do(t, "GET", hist+"?ticket_id="+tid, s.PKLive, nil, protocol.SessionHeader, tokBob).WantError(t, 404, "")
		s.Do(t, "GET", hist, s.PKLive, nil).WantError(t, 401, "")
		s.Do(t, "GET", hist, s.PKTest, nil, protocol.SessionHeader, tok).WantError(t, 401, "")
		s.Do(t, "GET", hist, s.SKLive, nil, protocol.SessionHeader, tok).WantError(t, 403, "")
	})
}
