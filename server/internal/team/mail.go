package team

import (
	"context"
	"fmt"
	"maps"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// Pages are the site's pages of one mode that links in mail open; "" is
// unset.
type Pages struct {
	// PasswordResetURL is where a password-reset link opens, with the token
	// in its fragment (#cstar_reset=…): a page with the widget, which asks
	// for the new password.
	PasswordResetURL string
	// ChatURL is the site's page with the chat: verification links
	// (#cstar_verify=…) and offline replies lead there.
	ChatURL string
}

// MailStore keeps what mail needs of a team.
type MailStore interface {
	// SetPages writes the pages of one mode of a team.
	SetPages(ctx context.Context, sc scope.Scope, p Pages, at time.Time) error
	// SetMailFrom writes the team's sender address.
	SetMailFrom(ctx context.Context, id, from string, at time.Time) error
}

var errFromFromTest = errs.New(errs.Forbidden, "The sender address is the whole team's: change it with a live secret key")

// cleanPage checks a page's URL: http(s), no user info, no fragment (the
// fragment is where the token goes); "" unsets it.
func cleanPage(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	if err := text.Line(field, v); err != nil {
		return "", err
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" ||
		strings.Contains(v, "#") || len(v) > 2000 {
		return "", errs.Invalidf(field, "%s must be an http or https URL without a fragment, such as https://shop.example.com/account/reset", field)
	}
	return v, nil
}

// applyMail applies the mail settings of u to t (the mode's pages; the
// sender, from live only).
func (s *Service) applyMail(ctx context.Context, t *Team, sc scope.Scope, u Update, now time.Time) error {
	if u.PasswordResetURL != nil || u.ChatURL != nil {
		p := t.Settings[sc.Mode].Pages
		var err error
		if u.PasswordResetURL != nil {
			if p.PasswordResetURL, err = cleanPage("password_reset_url", *u.PasswordResetURL); err != nil {
				return err
			}
		}
		if u.ChatURL != nil {
			if p.ChatURL, err = cleanPage("chat_url", *u.ChatURL); err != nil {
				return err
			}
		}
		if err := s.store.SetPages(ctx, sc, p, now); err != nil {
			return fmt.Errorf("team: pages: %w", err)
		}
		settings := maps.Clone(t.Settings)
		set := settings[sc.Mode]
		set.Pages = p
		settings[sc.Mode] = set
		t.Settings, t.UpdatedAt = settings, now
	}
	if u.MailFrom != nil {
		if sc.Mode != scope.Live {
			return errFromFromTest
		}
		from := strings.ToLower(strings.TrimSpace(*u.MailFrom))
		if from != "" {
			a, err := netmail.ParseAddress(from)
			if err != nil || a.Name != "" || a.Address != from || len(from) > 254 {
				return errs.Invalidf("mail_from", "mail_from must be an email address such as support@shop.example.com")
			}
		}
		if err := s.store.SetMailFrom(ctx, t.ID, from, now); err != nil {
			return fmt.Errorf("team: sender: %w", err)
		}
		t.MailFrom, t.UpdatedAt = from, now
	}
	return nil
}
