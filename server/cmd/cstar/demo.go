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
	"github.com/cstar-chat/cstar/server/internal/library"
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

// demoArticles are the demo store's help articles, so that the widget's
// help comes first with something to read.
var demoArticles = []struct{ title, body string }{
	{"When will my order arrive?", "Orders placed before 2 pm ship the same working day.\n\n" +
		"- **Standard**: 2 to 4 working days\n- **Express**: the next working day\n\n" +
		"The shipping email has a tracking link; it works a few hours after the parcel leaves us."},
	{"How do I return an item?", "You have **30 days** from delivery to send an item back, unused and in its box.\n\n" +
		"1. Open *Your orders* and choose **Return**.\n2. Print the label and drop the parcel at any post office.\n\n" +
		"The refund reaches your card within 5 working days of our receiving it."},
	{"Which payment methods do you accept?", "We accept Visa, Mastercard, American Express, PayPal and bank transfer. " +
		"Your card is charged when the order ships, not when you place it."},
}

// demoContent gives a new demo team help articles and a widget that says
// the team is online and replies in minutes, in both modes.
func demoContent(ctx context.Context, a *app.App, teamID string) error {
	for _, m := range []scope.Mode{scope.Test, scope.Live} {
		sc := scope.Scope{TeamID: teamID, Mode: m}
		for _, d := range demoArticles {
			title, body, status := d.title, d.body, "published"
			if _, err := a.Library().CreateArticle(ctx, sc, library.ArticleInput{Title: &title, Body: &body, Status: &status}); err != nil {
				return fmt.Errorf("demo article: %w", err)
			}
		}
		online, minutes := "online", "minutes"
		edit := func(w *team.Widget) { w.Availability, w.ReplyTime = online, minutes }
		if _, err := a.Teams().Apply(ctx, sc, team.Update{EditWidget: edit}); err != nil {
			return fmt.Errorf("demo widget: %w", err)
		}
	}
	return nil
}

func (d *demoSite) close() {
	d.site.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d.srv.Shutdown(ctx)
}
