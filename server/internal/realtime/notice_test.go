package realtime_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/realtime"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// TestNoticeRoundTrip: what Format writes, ParseNotice reads back whole, and
// a durable notice is the prefix plus the position.
func TestNoticeRoundTrip(t *testing.T) {
	sc := scope.Scope{TeamID: teamA, Mode: scope.Test}
	d := realtime.Notice{Scope: sc, Pos: 42}
	if got, want := d.Format(), realtime.DurablePrefix(sc)+"42"; got != want {
		t.Errorf("durable notice: got %q, want %q", got, want)
	}
	typing := &chat.Event{Type: chat.Typing, TeamID: teamA, Mode: scope.Test, TicketID: "t1", CustomerID: ann,
		Author: chat.Author{Type: chat.AuthorCustomer, ID: ann, Name: "Ann"}, Typing: true,
		CreatedAt: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	read := &chat.Event{Type: chat.Read, TeamID: teamA, Mode: scope.Live, TicketID: "t1", CustomerID: ann,
		Reader: chat.ReaderAgent, Seq: 9, CreatedAt: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	revoked := &chat.Event{Type: chat.SessionRevoked, TeamID: teamA, Mode: scope.Live, CustomerID: ann, SessionID: "s1",
		CreatedAt: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	for _, n := range []realtime.Notice{d, {Scope: typing.Scope(), Event: typing}, {Scope: read.Scope(), Event: read},
		{Scope: revoked.Scope(), Event: revoked}} {
		p := n.Format()
		if len(p) > 8000 {
			t.Errorf("notice of %d bytes: over PostgreSQL's 8,000", len(p))
		}
		got, err := realtime.ParseNotice(p)
		if err != nil {
			t.Fatalf("parse %q: %v", p, err)
		}
		if !reflect.DeepEqual(got, n) {
			t.Errorf("parse %q: got %+v, want %+v", p, got, n)
		}
	}
	for _, bad := range []string{"", "x|y", "d|" + teamA + "|live", "d|" + teamA + "|prod|3", "d||live|3",
		"d|" + teamA + "|live|0", "d|" + teamA + "|live|-1", "e|{", strings.Repeat("d|", 3)} {
		if n, err := realtime.ParseNotice(bad); err == nil {
			t.Errorf("parse %q: got %+v, want an error", bad, n)
		}
	}
}
