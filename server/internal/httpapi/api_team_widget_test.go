package httpapi_test

import (
	"context"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

// TestAPIWidgetPatchKeepsDashboardSettings: an integration's PATCH of the
// widget's availability keeps what the dashboard set (title, colour, …) and
// the fields it leaves out, and is in the audit log. Before, it replaced the
// mode's whole widget settings.
func TestAPIWidgetPatchKeepsDashboardSettings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		sc := scope.Scope{TeamID: s.Team.ID, Mode: scope.Live}
		if _, err := s.App.Teams().Apply(context.Background(), sc, team.Update{Widget: &team.Widget{
			Title: "Ask us", Color: "#123456", Position: "left", ReplyTime: "hours"}}); err != nil {
			t.Fatal(err)
		}
		s.Do(t, "PATCH", s.Path(""), s.SKLive, map[string]any{"widget": map[string]any{"availability": "away"}}).Want(t, 200)
		tm, err := s.App.Teams().Resolve(context.Background(), s.Team.ID)
		if err != nil {
			t.Fatal(err)
		}
		w := tm.Settings[scope.Live].Widget
		if w.Title != "Ask us" || w.Color != "#123456" || w.Position != "left" || w.ReplyTime != "hours" || w.Availability != "away" {
			t.Errorf("widget after the API's PATCH: got %+v, want the dashboard's settings kept and availability away", w)
		}
		found := false
		for _, e := range s.Do(t, "GET", s.Path("/audit-log"), s.SKLive, nil).Want(t, 200).Items(t) {
			found = found || e["action"] == "widget.changed"
		}
		if !found {
			t.Errorf("audit log: no widget.changed entry for the API's change")
		}
	})
}
