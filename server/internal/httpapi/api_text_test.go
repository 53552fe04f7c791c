package httpapi_test

import (
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestAPIControlCharacters: a NUL (or another control character) in any
// text a client sends is a 400 naming the field, on every route that takes
// text; before, PostgreSQL refused it and the client got a 500 and the log
// an ERROR line. Look-alike names and emails are refused the same way.
func TestAPIControlCharacters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, cid := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello")
		const nul = "a\u0000b"
		for _, c := range []struct {
			name, method, path, key string
			body                    any
			field                   string
			hdr                     []string
		}{
			{"widget login email", "POST", "/api/widget/v1/login", s.PKLive, map[string]any{"email": nul, "password": "x"}, "email", nil},
			{"widget signup name", "POST", "/api/widget/v1/signup", s.PKLive, map[string]any{"email": "n@example.com", "name": nul, "password": "correct horse battery"}, "name", nil},
			{"customer email", "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": nul}, "email", nil},
			{"customer name", "PATCH", s.Path("/customers/" + cid), s.SKLive, map[string]any{"name": nul}, "name", nil},
			{"customer metadata", "PATCH", s.Path("/customers/" + cid), s.SKLive, map[string]any{"metadata": map[string]any{"k": nul}}, "k", nil},
			{"ticket subject", "POST", s.Path("/tickets"), s.SKLive, map[string]any{"subject": nul}, "subject", nil},
			{"message body", "POST", s.Path("/tickets/" + tid + "/messages"), s.SKLive, map[string]any{"body": nul, "author_name": "Bob"}, "body", nil},
			{"author name", "POST", s.Path("/tickets/" + tid + "/messages"), s.SKLive, map[string]any{"body": "hi", "author_name": nul}, "author_name", nil},
			{"team name", "PATCH", s.Path(""), s.SKLive, map[string]any{"name": nul}, "name", nil},
			{"filter", "GET", s.Path("/customers?email=a%00b"), s.SKLive, nil, "email", nil},
			{"article slug", "GET", "/api/library/" + s.Team.Slug + "/articles/a%00b", "", nil, "slug", nil},
			{"escape in a name", "PATCH", s.Path("/customers/" + cid), s.SKLive, map[string]any{"name": "x\u001b[31m"}, "name", nil},
			{"bidi override in a name", "PATCH", s.Path("/customers/" + cid), s.SKLive, map[string]any{"name": "admin\u202Egnp.exe"}, "name", nil},
			{"newline in a name", "PATCH", s.Path("/customers/" + cid), s.SKLive, map[string]any{"name": "Ann\nSmith"}, "name", nil},
			{"zero-width email", "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": "ann\u200b@example.com"}, "email", nil},
			{"mixed-script email", "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": "pаypal@example.com"}, "email", nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				s.Do(t, c.method, c.path, c.key, c.body, c.hdr...).WantError(t, 400, "").WantField(t, c.field)
			})
		}
		// Message bodies keep their line breaks and tabs.
		s.Do(t, "POST", s.Path("/tickets/"+tid+"/messages"), s.SKLive, map[string]any{"body": "line\n\tindented", "author_name": "Bob"}).Want(t, 201)
		// A full-width email is the same address as its plain form.
		s.Do(t, "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": "ｚｏｅ@example.com"}).Want(t, 201)
		s.Do(t, "POST", s.Path("/customers"), s.SKLive, map[string]any{"email": "zoe@example.com"}).WantError(t, 409, "")
		// A frame with a NUL gets an error frame naming the field; the
		// connection stays.
		w.Send(map[string]any{"type": "send", "client_id": "c9", "body": nul})
		if e := w.WaitFor(protocol.FrameError); e["code"] != "invalid" || e["client_id"] != "c9" {
			t.Errorf("frame with a NUL: got %v, want an invalid error for c9", e)
		}
		w.SendMsg("c10", "still open")
		w.WaitFor(protocol.FrameAck)
	})
}
