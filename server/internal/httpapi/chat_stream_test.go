package httpapi_test

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestChatStreamAuth: the agents' stream needs a secret key of the team in
// the Authorization header; refusals are envelopes before any upgrade.
func TestChatStreamAuth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		other := s.CreateTeam(t, "Other", apptest.UniqueSlug("other"))
		cases := []struct {
			name   string
			path   string
			hdr    []string
			status int
			msg    string
		}{
			{"no key", s.Path("/realtime"), nil, 401, ""},
			{"key in the query", s.Path("/realtime?key=" + s.SKLive), nil, 401, ""},
			{"publishable key", s.Path("/realtime"), []string{"Authorization", "Bearer " + s.PKLive}, 403, ""},
			{"another team's key", s.Path("/realtime"), []string{"Authorization", "Bearer " + other.Keys["sk_live"].Secret}, 403, protocol.MsgWrongTeam},
			{"bad after", s.Path("/realtime?after=-1"), []string{"Authorization", "Bearer " + s.SKLive}, 400, ""},
			{"after not a number", s.Path("/realtime?after=x"), []string{"Authorization", "Bearer " + s.SKLive}, 400, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, res, err := s.DialRaw(t, c.path, c.hdr...)
				if err == nil || res == nil {
					t.Fatalf("dial: got an upgrade (%v), want %d", err, c.status)
				}
				if res.StatusCode != c.status {
					t.Fatalf("status: got %d, want %d", res.StatusCode, c.status)
				}
				body, _ := io.ReadAll(res.Body)
				if !strings.Contains(string(body), `"success":false`) || !strings.Contains(string(body), c.msg) {
					t.Errorf("body: got %s, want an error envelope with %q", body, c.msg)
				}
			})
		}
		// The other team's key opens its own team's stream.
		_, res, err := s.DialRaw(t, "/api/v1/teams/"+other.ID+"/realtime", "Authorization", "Bearer "+other.Keys["sk_live"].Secret)
		if err != nil {
			t.Fatalf("own team's stream: %v (status %d)", err, code(res))
		}
	})
}

// TestChatStreamResume: positions run 1..N without gaps; ?after=pos
// replays exactly what followed pos, in order, then ready (at the head),
// then live events; resuming at the last position seen repeats nothing and
// misses nothing.
func TestChatStreamResume(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "one") // 1 ticket.created, 2 message.created
		w.SendMsg("c2", "two")     // 3
		w.WaitFor(protocol.FrameAck)
		s.post(t, s.SKLive, tid, "three")                                                                    // 4
		s.Do(t, "PATCH", s.Path("/tickets/"+tid), s.SKLive, map[string]any{"priority": "high"}).Want(t, 200) // 5
		apiTicket := s.create(t, s.SKLive, "/tickets", map[string]any{"subject": "By email"})                // 6

		type ev struct {
			pos int64
			typ string
		}
		all := []ev{{1, protocol.EventTicketCreated}, {2, protocol.EventMessageCreated}, {3, protocol.EventMessageCreated},
			{4, protocol.EventMessageCreated}, {5, protocol.EventTicketUpdated}, {6, protocol.EventTicketCreated}}
		evs := func(frames []map[string]any) []ev {
			out := []ev{}
			for _, f := range frames {
				out = append(out, ev{num(f["pos"]), str(f["type"])})
			}
			return out
		}
		for _, after := range []int64{0, 3, 6, 99} {
			t.Run(fmt.Sprint("after ", after), func(t *testing.T) {
				st, replay, ready := s.Stream(t, s.SKLive, fmt.Sprint("?after=", after))
				want := all[min(after, 6):]
				if got := evs(replay); !slices.Equal(got, want) {
					t.Fatalf("replay: got %v, want %v", got, want)
				}
				if num(ready["pos"]) != 6 {
					t.Errorf("ready: got %v, want pos 6", ready)
				}
				st.Conn.Close()
			})
		}
		// The replayed events are complete: a message event carries the
		// message, a ticket event the ticket (the REST rendering).
		_, replay, _ := s.Stream(t, s.SKLive, "?after=1")
		if m := msg(replay[0]); replay[0]["ticket_id"] != tid || m["body"] != "one" || num(m["seq"]) != 1 {
			t.Errorf("message event: got %v, want message one of %s", replay[0], tid)
		}
		if tk, _ := replay[3]["ticket"].(map[string]any); tk["id"] != tid || tk["priority"] != "high" || tk["channel"] != "chat" {
			t.Errorf("ticket event: got %v, want the ticket as REST renders it", replay[3])
		}
		if replay[4]["ticket_id"] != apiTicket {
			t.Errorf("event 6: got %v, want the ticket created through the API", replay[4])
		}

		// Without after: no replay, ready at the head, then live.
		st, replay, ready := s.Stream(t, s.SKLive, "")
		if len(replay) != 0 || num(ready["pos"]) != 6 {
			t.Fatalf("fresh stream: got %d events and %v, want none and ready at 6", len(replay), ready)
		}
		s.post(t, s.SKLive, tid, "four") // 7
		if f := st.Next(wait); f["type"] != protocol.EventMessageCreated || num(f["pos"]) != 7 || msg(f)["body"] != "four" {
			t.Fatalf("live: got %v, want message four at 7", f)
		}
		st.Conn.Close()

		// Missed while away: exactly 8..9 on reconnecting after 7.
		s.post(t, s.SKLive, tid, "five") // 8
		w.SendMsg("c6", "six")           // 9
		w.WaitFor(protocol.FrameAck)
		st, replay, _ = s.Stream(t, s.SKLive, "?after=7")
		if got := evs(replay); !slices.Equal(got, []ev{{8, protocol.EventMessageCreated}, {9, protocol.EventMessageCreated}}) {
			t.Fatalf("after 7: got %v, want 8 and 9", got)
		}
		s.post(t, s.SKLive, tid, "seven") // 10
		if f := st.Next(wait); num(f["pos"]) != 10 {
			t.Fatalf("live after the replay: got %v, want pos 10", f)
		}
		// The test mode has a log of its own.
		_, replay, ready = s.Stream(t, s.SKTest, "?after=0")
		if len(replay) != 0 || num(ready["pos"]) != 0 {
			t.Fatalf("test stream: got %d events and %v, want none and ready at 0", len(replay), ready)
		}
	})
}

// TestChatStreamGapFree: with agents and a customer writing at once, a
// live stream sees positions 1..N once each and in order, and one that
// reconnects midway with its last position sees the rest exactly.
func TestChatStreamGapFree(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello") // positions 1, 2
		live, _, _ := s.Stream(t, s.SKLive, "?after=0")
		half, _, _ := s.Stream(t, s.SKLive, "?after=0")

		const agents, each = 3, 10
		var wg sync.WaitGroup
		for a := range agents {
			wg.Go(func() {
				for i := range each {
					s.post(t, s.SKLive, tid, fmt.Sprintf("a%d-%d", a, i))
				}
			})
		}
		for i := range each {
			w.SendMsg(fmt.Sprint("c", i), fmt.Sprint("ann ", i))
		}
		// Read half of the events on one stream, then drop it.
		var halfPos []int64
		for range 10 {
			halfPos = append(halfPos, num(half.WaitFor(protocol.EventMessageCreated)["pos"]))
		}
		half.Conn.Close()
		wg.Wait()
		const n = 2 + agents*each + each
		var got []int64
		for len(got) < n-2 {
			got = append(got, num(live.WaitFor(protocol.EventMessageCreated)["pos"]))
		}
		if !slices.Equal(got, span(3, n)) {
			t.Fatalf("live stream positions: got %v, want 3..%d", got, n)
		}
		last := halfPos[len(halfPos)-1]
		_, replay, _ := s.Stream(t, s.SKLive, fmt.Sprint("?after=", last))
		var rest []int64
		for _, f := range replay {
			rest = append(rest, num(f["pos"]))
		}
		if all := append(slices.Clone(halfPos), rest...); !slices.Equal(all, span(3, n)) {
			t.Fatalf("before and after the reconnect: got %v, want 3..%d", all, n)
		}
	})
}
