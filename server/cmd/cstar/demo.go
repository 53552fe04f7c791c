package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cstar-chat/cstar/demo"
	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
)

// demoSite is the demo store running beside the API, on its own origin.
type demoSite struct {
	url  string
	srv  *http.Server
	site *demo.Site
}

// startDemo serves the demo store for team on addr; apiURL is where
// browsers and the store's backend reach the API.
func startDemo(addr, apiURL string, team teamJSON, log *slog.Logger) (*demoSite, error) {
	site, err := demo.New(demo.Config{API: apiURL, Team: team.ID, TeamName: team.Name,
		PublishableKey: team.Keys["pk_test"], IdentitySecret: team.IdentitySecrets["test"], Log: log})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo site: %w", err)
	}
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &demoSite{url: "http://" + ln.Addr().String(), srv: srv, site: site}, nil
}

// demoPages makes the demo store the test mode's pages that links in mail
// open (password resets, confirmations, offline replies), unless the team
// has set its own: the dev mailbox's links then lead back to the store.
func demoPages(ctx context.Context, a *app.App, teamID, url string, log *slog.Logger) {
	sc := scope.Scope{TeamID: teamID, Mode: scope.Test}
	t, err := a.Teams().Resolve(ctx, teamID)
	if err != nil || t.Settings[scope.Test].Pages != (team.Pages{}) {
		return
	}
	page := url + "/"
	if _, err := a.Teams().Apply(ctx, sc, team.Update{PasswordResetURL: &page, ChatURL: &page}); err != nil {
		log.Warn("demo: set the test mode's pages", "err", err)
	}
}

func (d *demoSite) close() {
	d.site.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}
