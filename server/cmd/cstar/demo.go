package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cstar-chat/cstar/demo"
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

func (d *demoSite) close() {
	d.site.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}
