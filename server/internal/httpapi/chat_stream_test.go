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
		tok, _ := customer(t, s, s.PKLive, "Ann") // 1 customer.created
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "one") // 2 ticket.created, 3 message.created
		w.SendMsg("c2", "two")     // 4
		w.WaitFor(protocol.FrameAck)
		s.post(t, s.SKLive, tid, "three")                                                                    // 5
		s.Do(t, "PATCH", s.Path("/tickets/"+tid), s.SKLive, map[string]any{"priority": "high"}).Want(t, 200) // 6
		apiTicket := s.create(t, s.SKLive, "/tickets", map[string]any{"subject": "By email"})                // 7

		type ev struct {
			pos int64
			typ string
		}
		all := []ev{{1, protocol.EventCustomerCreated}, {2, protocol.EventTicketCreated}, {3, protocol.EventMessageCreated},
			{4, protocol.EventMessageCreated}, {5, protocol.EventMessageCreated}, {6, protocol.EventTicketUpdated},
			{7, protocol.EventTicketCreated}}
		evs := func(frames []map[string]any) []ev {
			out := []ev{}
			for _, f := range frames {
				out = append(out, ev{num(f["pos"]), str(f["type"])})
			}
			return out
		}
		for _, after := range []int64{0, 3, 7, 99} {
			t.Run(fmt.Sprint("after ", after), func(t *testing.T) {
				st, replay, ready := s.Stream(t, s.SKLive, fmt.Sprint("?after=", after))
				want := all[min(after, 7):]
				if got := evs(replay); !slices.Equal(got, want) {
					t.Fatalf("replay: got %v, want %v", got, want)
				}
				if num(ready["pos"]) != 7 {
					t.Errorf("ready: got %v, want pos 7", ready)
				}
				st.Conn.Close()
			})
		}
		// The replayed events are complete: a customer event carries the
		// customer, a message event the message, a ticket event the ticket
		// (the REST renderings).
		_, replay, _ := s.Stream(t, s.SKLive, "?after=0")
		if c, _ := replay[0]["customer"].(map[string]any); c["name"] != "Ann" || c["id"] == nil {
			t.Errorf("customer event: got %v, want Ann as REST renders her", replay[0])
		}
		replay = replay[2:]
		if m := msg(replay[0]); replay[0]["ticket_id"] != tid || m["body"] != "one" || num(m["seq"]) != 1 {
			t.Errorf("message event: got %v, want message one of %s", replay[0], tid)
		}
		if tk, _ := replay[3]["ticket"].(map[string]any); tk["id"] != tid || tk["priority"] != "high" || tk["channel"] != "chat" {
			t.Errorf("ticket event: got %v, want the ticket as REST renders it", replay[3])
		}
		if replay[4]["ticket_id"] != apiTicket {
			t.Errorf("event 7: got %v, want the ticket created through the API", replay[4])
		}

		// Without after: no replay, ready at the head, then live.
		st, replay, ready := s.Stream(t, s.SKLive, "")
		if len(replay) != 0 || num(ready["pos"]) != 7 {
			t.Fatalf("fresh stream: got %d events and %v, want none and ready at 7", len(replay), ready)
		}
		s.post(t, s.SKLive, tid, "four") // 8
		if f := st.Next(wait); f["type"] != protocol.EventMessageCreated || num(f["pos"]) != 8 || msg(f)["body"] != "four" {
			t.Fatalf("live: got %v, want message four at 8", f)
		}
		// A customer changed through the API is a live event too.
		cust := s.create(t, s.SKLive, "/customers", map[string]any{"email": "bo@example.com", "name": "Bo"}) // 9
		if f := st.Next(wait); f["type"] != protocol.EventCustomerCreated || num(f["pos"]) != 9 {
			t.Fatalf("live customer: got %v, want customer.created at 9", f)
		}
		s.Do(t, "DELETE", s.Path("/customers/"+cust), s.SKLive, nil).Want(t, 200) // 10
		if f := st.Next(wait); f["type"] != protocol.EventCustomerDeleted || num(f["pos"]) != 10 ||
			f["customer"].(map[string]any)["deleted"] != true {
			t.Fatalf("live customer deletion: got %v, want customer.deleted at 10", f)
		}
		st.Conn.Close()

		// Missed while away: exactly 11..12 on reconnecting after 10.
		s.post(t, s.SKLive, tid, "five") // 11
		w.SendMsg("c6", "six")           // 12
		w.WaitFor(protocol.FrameAck)
		st, replay, _ = s.Stream(t, s.SKLive, "?after=10")
		if got := evs(replay); !slices.Equal(got, []ev{{11, protocol.EventMessageCreated}, {12, protocol.EventMessageCreated}}) {
			t.Fatalf("after 10: got %v, want 11 and 12", got)
		}
		s.post(t, s.SKLive, tid, "seven") // 13
		if f := st.Next(wait); num(f["pos"]) != 13 {
			t.Fatalf("live after the replay: got %v, want pos 13", f)
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
		tok, _ := customer(t, s, s.PKLive, "Ann") // position 1
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello") // positions 2, 3
		live, _, _ := s.Stream(t, s.SKLive, "?after=1")
		half, _, _ := s.Stream(t, s.SKLive, "?after=1")

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
		const n = 3 + agents*each + each
		var got []int64
		for len(got) < n-3 {
			got = append(got, num(live.WaitFor(protocol.EventMessageCreated)["pos"]))
		}
		if !slices.Equal(got, span(4, n)) {
			t.Fatalf("live stream positions: got %v, want 4..%d", got, n)
		}
		last := halfPos[len(halfPos)-1]
		_, replay, _ := s.Stream(t, s.SKLive, fmt.Sprint("?after=", last))
		var rest []int64
		for _, f := range replay {
			rest = append(rest, num(f["pos"]))
		}
		if all := append(slices.Clone(halfPos), rest...); !slices.Equal(all, span(4, n)) {
			t.Fatalf("before and after the reconnect: got %v, want 4..%d", all, n)
		}
	})
}
