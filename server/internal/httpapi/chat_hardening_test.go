package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// TestChatKeyEndCloses: a socket opened with an API key closes (4501, a
// stop code) within a second of the key's revocation, and at the end of a
// roll's grace; the REST refusal stays. Before the fix the agents' stream
// kept receiving the team's events and the widget kept sending.
func TestChatKeyEndCloses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		second := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
		sk2, sk2ID := str(second["key"]), str(second["id"])
		pk2 := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "publishable"}).Want(t, 201).Data(t)
		tok, _ := customer(t, s, s.PKLive, "Ann")

		t.Run("revoked secret key closes its stream", func(t *testing.T) {
			st, _, _ := s.Stream(t, sk2, "")
			other, _, _ := s.Stream(t, s.SKLive, "")
			start := time.Now()
			s.Do(t, "DELETE", s.Path("/api-keys/"+sk2ID), s.SKLive, nil).Want(t, 200)
			st.WantClose(protocol.CloseInvalidKey)
			if d := time.Since(start); d > time.Second {
				t.Errorf("stream closed %v after the revocation, want within 1s", d)
			}
			s.Do(t, "GET", s.Path("/tickets"), sk2, nil).WantError(t, 401, protocol.MsgInvalidAPIKey)
			// The stream of another key goes on.
			w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
			w.SendMsg("c1", "still there?")
			if ev := other.WaitFor(protocol.EventMessageCreated); str(msg(ev)["body"]) != "still there?" {
				t.Fatalf("other stream: got %v", ev)
			}
		})

		t.Run("revoked publishable key closes its widget", func(t *testing.T) {
			w, _, _ := s.WidgetReady(t, str(pk2["key"]), tok, nil)
			kept, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
			start := time.Now()
			s.Do(t, "DELETE", s.Path("/api-keys/"+str(pk2["id"])), s.SKLive, nil).Want(t, 200)
			w.WantClose(protocol.CloseInvalidKey)
			if d := time.Since(start); d > time.Second {
				t.Errorf("widget closed %v after the revocation, want within 1s", d)
			}
			kept.SendMsg("c2", "other key")
			kept.WaitFor(protocol.FrameAck)
		})

		t.Run("rolled key closes at the end of its grace", func(t *testing.T) {
			third := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
			st, _, _ := s.Stream(t, str(third["key"]), "")
			s.Do(t, "POST", s.Path("/api-keys/"+str(third["id"])+"/roll"), s.SKLive, map[string]any{"expires_in": 3600}).Want(t, 201)
			// A socket opened during the grace is watched too.
			late, _, _ := s.Stream(t, str(third["key"]), "")
			select {
			case f, open := <-st.Frames():
				if !open {
					t.Fatalf("stream closed during the grace")
				}
				t.Logf("frame during the grace: %v", f)
			case <-time.After(300 * time.Millisecond):
			}
			s.Clock.Advance(time.Hour + time.Second)
			start := time.Now()
			st.WantClose(protocol.CloseInvalidKey)
			late.WantClose(protocol.CloseInvalidKey)
			if d := time.Since(start); d > time.Second {
				t.Errorf("streams closed %v after the grace ended, want within 1s", d)
			}
		})
	})
}

// TestChatSessionExpiryCloses: a widget socket closes (4502) when its
// session expires while it is open, not only on the next reconnect; a
// session that is still live when its first deadline comes keeps its socket.
func TestChatSessionExpiryCloses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		// Within the idle expiry, a REST call by another tab slides it; the
		// socket is still fine after the first expiry it knew of.
		s.Clock.Advance(29 * 24 * time.Hour)
		s.Do(t, "GET", "/api/widget/v1/me", s.PKLive, nil, protocol.SessionHeader, tok).Want(t, 200)
		s.Clock.Advance(2 * 24 * time.Hour)
		w.SendMsg("c1", "still here")
		w.WaitFor(protocol.FrameAck)
		// Past the absolute expiry the socket closes by itself.
		s.Clock.Advance(90 * 24 * time.Hour)
		w.WantClose(protocol.CloseSessionInvalid)
	})
}

// TestChatTypingFloodKeepsAgents: a customer sending 1,000 typing frames as
// fast as it can leaves the agents' stream open and receiving messages.
// Before the fix each frame fanned out to every stream and 32 queued ones
// closed it with 4001.
func TestChatTypingFloodKeepsAgents(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		// The default queue (32), not the tests' longer one.
		tm := chatTimings
		tm.QueueLen = 32
		s := newTestServer(t, dbURL, apptest.Timings(tm))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		st, _, _ := s.Stream(t, s.SKLive, "")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		opened(t, w, "hello")
		st.WaitFor(protocol.EventMessageCreated)
		for i := range 1000 {
			w.Send(map[string]any{"type": "typing", "typing": i%2 == 0})
		}
		w.SendMsg("after", "after the flood")
		ev := st.WaitUntil(protocol.EventMessageCreated, func(f map[string]any) bool { return str(msg(f)["body"]) == "after the flood" })
		if ev == nil {
			t.Fatal("no message after the flood")
		}
		typing := 0
		for {
			select {
			case f, open := <-st.Frames():
				if !open {
					t.Fatalf("the stream closed after the flood")
				}
				if f["type"] == protocol.EventTyping {
					typing++
				}
				continue
			case <-time.After(200 * time.Millisecond):
			}
			break
		}
		if typing > protocol.SignalBurst {
			t.Errorf("typing events on the stream after the message: got %d, want at most %d", typing, protocol.SignalBurst)
		}
	})
}

// TestUpperCaseIDsAreCanonical: ids are canonicalised once at the edge, so
// deleting a customer by the upper-case form of their id closes their
// sockets (4502) as the lower-case one does; before, the sockets stayed open
// and later frames failed with internal errors.
func TestUpperCaseIDsAreCanonical(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, id := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello")
		upper := strings.ToUpper(id)
		s.Do(t, "GET", s.Path("/customers/"+upper), s.SKLive, nil).Want(t, 200)
		s.Do(t, "GET", s.Path("/tickets?customer_id="+upper), s.SKLive, nil).Want(t, 200)
		if got := s.Do(t, "GET", s.Path("/tickets?customer_id="+upper), s.SKLive, nil).IDs(t); len(got) != 1 || got[0] != tid {
			t.Errorf("tickets of the upper-case customer id: got %v, want [%s]", got, tid)
		}
		s.Do(t, "GET", s.Path("/tickets/"+strings.ToUpper(tid)+"/messages"), s.SKLive, nil).Want(t, 200)
		s.Do(t, "DELETE", s.Path("/customers/"+upper), s.SKLive, nil).Want(t, 200)
		w.WantClose(protocol.CloseSessionInvalid)
	})
}

// TestChatErrorFrameMessages: a frame refused for a reason the client may
// know says that reason; "Internal server error" is only for internal
// failures. Before, a read frame naming no ticket answered not_found with
// the internal text.
func TestChatErrorFrameMessages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		for _, f := range []map[string]any{
			{"type": "read"},
			{"type": "read", "ticket_id": "00000000-0000-7000-8000-000000000000", "seq": 1},
			{"type": "read", "ticket_id": "not-an-id", "seq": 1},
		} {
			w.Send(f)
			e := w.WaitFor(protocol.FrameError)
			if e["code"] != "not_found" || str(e["error"]) == "" || str(e["error"]) == protocol.MsgInternal {
				t.Errorf("%v: got %v, want not_found with a message that says so", f, e)
			}
		}
	})
}

// TestChatStreamPastRetention: a stream resumed from a position whose
// events the retention sweep has removed is told so (a reset frame with the
// position to carry on from) instead of silently missing them; a resume
// within what is kept replays as before.
func TestChatStreamPastRetention(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL, apptest.Timings(chatTimings))
		tok, _ := customer(t, s, s.PKLive, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKLive, tok, nil)
		tid := opened(t, w, "hello")
		for i := range 3 {
			s.post(t, s.SKLive, tid, fmt.Sprint("reply ", i))
		}
		_, _, ready := s.Stream(t, s.SKLive, "")
		head := int64(num(ready["pos"]))
		if _, err := s.App.DB().DeleteEventsBefore(context.Background(), s.Clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		s.post(t, s.SKLive, tid, "after the sweep")

		st, replay, ready := s.Stream(t, s.SKLive, "?after=1")
		if len(replay) != 1 || replay[0]["type"] != protocol.EventReset || num(replay[0]["pos"]) != head+1 || num(ready["pos"]) != head+1 {
			t.Fatalf("resume from before the horizon: got %v then %v, want a reset to %d and ready at %d", replay, ready, head+1, head+1)
		}
		s.post(t, s.SKLive, tid, "live")
		if ev := st.WaitFor(protocol.EventMessageCreated); num(ev["pos"]) != head+2 {
			t.Errorf("after the reset: got %v, want the next live event at %d", ev, head+2)
		}
		// Within what is kept: no reset, the kept events replay.
		_, replay, _ = s.Stream(t, s.SKLive, fmt.Sprintf("?after=%d", head))
		if len(replay) != 2 || replay[0]["type"] != protocol.EventMessageCreated || num(replay[0]["pos"]) != head+1 {
			t.Errorf("resume within the log: got %v, want the two kept events from %d", replay, head+1)
		}
	})
}
