package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// seedConversations writes n conversations of the team's live mode straight
// into the database, each with a customer and one message, their activity a
// second apart; most open, some pending or closed, a quarter assigned, one
// in fifty unread.
func seedConversations(b *testing.B, s *apptest.Server, n int, assignee string) {
	b.Helper()
	ctx := context.Background()
	db := s.App.DB().Bun()
	base := time.Now().UTC().Add(-time.Duration(n) * time.Second).Truncate(time.Millisecond)
	const batch = 250
	for from := 0; from < n; from += batch {
		var cust, tick, msgs []string
		var ca, ta, ma []any
		for i := from; i < min(from+batch, n); i++ {
			cid, _ := ids.New()
			tid, _ := ids.New()
			mid, _ := ids.New()
			at := base.Add(time.Duration(i) * time.Second)
			status := "open"
			switch i % 10 {
			case 7, 8:
				status = "pending"
			case 9:
				status = "closed"
			}
			var as any
			if i%4 == 0 {
				as = assignee
			}
			read := 1 // the agents have read most conversations
			if i%50 == 0 {
				read = 0
			}
			cust = append(cust, "(?, ?, 'live', ?, ?, '{}', ?, ?)")
			ca = append(ca, cid, s.Team.ID, fmt.Sprintf("c%d@example.com", i), fmt.Sprintf("Customer %d", i), at, at)
			tick = append(tick, "(?, ?, 'live', ?, ?, 'normal', 'chat', ?, '[]', ?, ?, 1, ?, ?)")
			ta = append(ta, tid, s.Team.ID, fmt.Sprintf("Question %d", i), status, cid, at, at, read, as)
			msgs = append(msgs, "(?, ?, 'live', ?, 1, 'customer', ?, ?, ?, ?, 'message')")
			ma = append(ma, mid, s.Team.ID, tid, cid, fmt.Sprintf("Customer %d", i), fmt.Sprintf("Hello, this is message %d", i), at)
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"INSERT INTO customers (id, team_id, mode, email, name, metadata, created_at, updated_at) VALUES " + strings.Join(cust, ","), ca},
			{"INSERT INTO tickets (id, team_id, mode, subject, status, priority, channel, customer_id, tags, created_at, updated_at, last_seq, agent_read_seq, assignee_id) VALUES " + strings.Join(tick, ","), ta},
			{"INSERT INTO messages (id, team_id, mode, ticket_id, seq, author_type, author_id, author_name, body, created_at, kind) VALUES " + strings.Join(msgs, ","), ma},
		} {
			if _, err := db.NewRaw(q.sql, q.args...).Exec(ctx); err != nil {
				b.Fatalf("seed: %v", err)
			}
		}
	}
}

func percentiles(ds []time.Duration) (p50, p99 float64) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 {
		return float64(s[min(int(q*float64(len(s))), len(s)-1)]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.99)
}

// BenchmarkDashboard measures, on SQLite and PostgreSQL with 10,000
// conversations in the team: the inbox's first page (the whole request,
// on loopback, and the query alone); and a live message's delivery, from
// an agent's POST through the API to its arrival at an open dashboard and
// at the customer's widget, in the same run. It reports p50 and p99 in
// milliseconds.
func BenchmarkDashboard(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := apptest.Start(b, testdb.URL(b, dialect), apptest.Timings(apptest.ChatTimings))
			owner := s.CreateAgent(b, "olive@acme.example", "Olive", agent.Owner)
			seedConversations(b, s, 10_000, owner.ID)
			br := s.Browser(b)
			br.SignIn(b, "olive@acme.example")

			b.Run("inbox_first_page", func(b *testing.B) {
				var page, query []time.Duration
				sc := scope.Scope{TeamID: s.Team.ID, Mode: scope.Live}
				for b.Loop() {
					t0 := time.Now()
					r := br.Get(b, "/app/inbox?status=open&view=all")
					page = append(page, time.Since(t0))
					if r.Status != http.StatusOK || strings.Count(string(r.Raw), `<li class="conv`) != 25 {
						b.Fatalf("inbox: %d, %d rows", r.Status, strings.Count(string(r.Raw), `<li class="conv`))
					}
					t1 := time.Now()
					if _, err := s.App.Chat().Inbox(context.Background(), sc, chat.InboxFilter{Status: "open", Assignee: owner.ID}, "", 25); err != nil {
						b.Fatal(err)
					}
					query = append(query, time.Since(t1))
				}
				p50, p99 := percentiles(page)
				b.ReportMetric(p50, "page-p50-ms")
				b.ReportMetric(p99, "page-p99-ms")
				q50, q99 := percentiles(query)
				b.ReportMetric(q50, "mine-query-p50-ms")
				b.ReportMetric(q99, "mine-query-p99-ms")
			})

			b.Run("live_delivery", func(b *testing.B) {
				d := s.Do(b, "POST", "/api/widget/v1/signup", s.PKLive, map[string]any{"email": "grace@example.com",
					"name": "Grace", "password": "correct horse battery"}).Want(b, http.StatusCreated).Data(b)
				tok := apptest.Str(d["session"].(map[string]any)["token"])
				w, _, _ := s.WidgetReady(b, s.PKLive, tok, nil)
				w.SendMsg("c0", "hello")
				ticket := apptest.Str(w.WaitFor("ack")["message"].(map[string]any)["ticket_id"])
				live, _, _ := br.Live(b, "/app/live")
				var widget, dash []time.Duration
				i := 0
				for b.Loop() {
					i++
					body := fmt.Sprintf("reply %d", i)
					is := func(f map[string]any) bool { m, _ := f["message"].(map[string]any); return m["body"] == body }
					t0 := time.Now()
					s.Do(b, "POST", s.Path("/tickets/"+ticket+"/messages"), s.SKLive, map[string]any{"body": body, "author_name": "Olive"}).Want(b, 201)
					gotW, gotD := false, false
					for !gotW || !gotD {
						select {
						case f := <-w.Frames():
							if f["type"] == "message" && is(f) {
								widget, gotW = append(widget, time.Since(t0)), true
							}
						case f := <-live.Frames():
							if f["type"] == "message.created" && is(f) {
								dash, gotD = append(dash, time.Since(t0)), true
							}
						case <-time.After(apptest.Wait):
							b.Fatalf("message %d: widget %v, dashboard %v", i, gotW, gotD)
						}
					}
				}
				w50, w99 := percentiles(widget)
				d50, d99 := percentiles(dash)
				b.ReportMetric(w50, "widget-p50-ms")
				b.ReportMetric(w99, "widget-p99-ms")
				b.ReportMetric(d50, "dashboard-p50-ms")
				b.ReportMetric(d99, "dashboard-p99-ms")
			})
		})
	}
}
