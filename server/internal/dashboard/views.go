package dashboard

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
)

// layoutView is what every page's layout reads.
type layoutView struct {
	Title string
	// Page names the page; the script starts that page's behaviour.
	Page      string
	Base      string // /app or /app/test
	Mode      scope.Mode
	Test      bool
	SwitchURL string // the same page in the other mode
	CSRF      string
	Agent     agent.Agent
	Team      team.Team
	SignedIn  bool
	Manages   bool
	Flash     string
	Nav       string // the section the page belongs to
	Data      any
}

// view builds a page's layoutView.
func (h *Handler) view(r *req, name, title string, data any) layoutView {
	v := layoutView{Title: title, Page: name, Base: r.base(), Mode: r.Mode, Test: r.Mode == scope.Test,
		Agent: r.Agent, Team: r.Team, SignedIn: r.Agent.ID != "" && r.Session.Stage == agent.Full,
		Manages: r.Agent.Role.Manages(), Data: data}
	if r.Mode == scope.Test {
		v.SwitchURL = Prefix + strings.TrimPrefix(r.URL.Path, testPrefix)
	} else {
		v.SwitchURL = testPrefix + strings.TrimPrefix(r.URL.Path, Prefix)
	}
	if strings.Contains(r.URL.Path, "/conversations/") || strings.Contains(r.URL.Path, "/keys/") {
		// A conversation or a key of one mode does not exist in the other.
		v.SwitchURL = path.Dir(path.Dir(v.SwitchURL))
		if strings.HasSuffix(v.SwitchURL, "/conversations") {
			v.SwitchURL = path.Dir(v.SwitchURL) + "/inbox"
		}
	}
	switch {
	case strings.Contains(r.URL.Path, "/settings"):
		v.Nav = "settings"
	case strings.Contains(r.URL.Path, "/saved-replies"):
		v.Nav = "replies"
	case strings.Contains(r.URL.Path, "/account"):
		v.Nav = "account"
	default:
		v.Nav = "inbox"
	}
	return v
}

// rowView is one row of the inbox with the view's link prefix.
type rowView struct {
	Base string
	Row  row
}

var funcs = template.FuncMap{
	// when renders a time for people (in UTC: a script shows it in the
	// reader's own zone).
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006, 15:04 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format("2 Jan 2006, 15:04 UTC")
	},
	"initial": func(s string) string {
		for _, r := range s {
			return strings.ToUpper(string(r))
		}
		return "?"
	},
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"add":       func(a, b int) int { return a + b },
	"hasPrefix": strings.HasPrefix,
	// count shows an inbox count, which stops past chat.CountCap.
	"count": func(n int) string {
		if n > chat.CountCap {
			return fmt.Sprintf("%d+", chat.CountCap)
		}
		return fmt.Sprint(n)
	},
	"rowView": func(v layoutView, r row) rowView { return rowView{Base: v.Base, Row: r} },
	"str":     func(v any) string { return fmt.Sprint(v) },
}

// parsePages parses each page of templates/ together with the layout and the
// shared partials (files starting with "_").
func parsePages() (map[string]*template.Template, error) {
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	var shared []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "_") {
			shared = append(shared, "templates/"+e.Name())
		}
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "_") {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, append(shared, "templates/"+e.Name())...)
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}
