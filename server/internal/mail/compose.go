package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
)

// Why a job was dropped: nothing is sent, and the job says why.
const (
	dropNoAccount     = "no account with this address"
	dropNoPage        = "the team has no password_reset_url for this mode"
	dropNoChatPage    = "the team has no chat_url or password_reset_url for this mode"
	dropGone          = "it is gone"
	dropVerified      = "the email is already verified"
	dropNotVerified   = "the customer has no verified email"
	dropUnsubscribed  = "the customer unsubscribed"
	dropSeen          = "nothing unseen: the customer came back"
	dropRead          = "nothing unread"
	dropNotWanted     = "the agent does not want this mail"
	dropNotAssigned   = "no longer assigned to the agent"
	dropInvitationOff = "the invitation was accepted, withdrawn or has expired"
)

// maxQuoted bounds the messages one email quotes.
const maxQuoted = 20

// compose makes the message of job j, minting the tokens its links carry,
// or says why nothing is to be sent.
func (s *Service) compose(ctx context.Context, j Job) (*Message, string, error) {
	switch j.Kind {
	case CustomerReset:
		return s.customerReset(ctx, j)
	case VerifyEmail:
		return s.verifyEmail(ctx, j)
	case OfflineReply:
		return s.offlineReply(ctx, j)
	case AgentReset:
		return s.agentReset(ctx, j)
	case AgentInvitation:
		return s.agentInvitation(ctx, j)
	case NewConversation, AssignedReply:
		return s.agentNotice(ctx, j)
	}
	return nil, "unknown kind " + string(j.Kind), nil
}

// gone reports whether err says the row is missing.
func gone(err error) bool { return errors.Is(err, errs.ErrNotFound) }

func (s *Service) team(ctx context.Context, id string) (Team, error) {
	t, err := s.store.MailTeam(ctx, id)
	if err != nil {
		return Team{}, fmt.Errorf("mail: team: %w", err)
	}
	return t, nil
}

// message starts a message of j from team t to to.
func (s *Service) message(j Job, t Team, to string, c content) (*Message, error) {
	text, html, err := render(c)
	if err != nil {
		return nil, fmt.Errorf("mail: render %s: %w", j.Kind, err)
	}
	from := s.cfg.From
	if t.From != "" {
		from = t.From
	}
	addr, _ := netmail.ParseAddress(from)
	name := t.Name
	if name == "" {
		name = "cStar"
	}
	return &Message{JobID: j.ID, Kind: j.Kind, TeamID: t.ID, From: netmail.Address{Name: name, Address: addr.Address},
		EnvelopeFrom: envelope(s.cfg.From), To: to, Subject: c.Subject, Text: text, HTML: html, Date: s.clock(),
		MessageID: messageID(j.ID, s.host), Headers: map[string]string{"Auto-Submitted": "auto-generated"}}, nil
}

func envelope(from string) string {
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return from
	}
	return a.Address
}

// mint stores a new token of purpose p for subject and returns it.
func (s *Service) mint(ctx context.Context, j Job, p Purpose, sc scope.Scope, subject, email string, ttl time.Duration, until time.Time) (string, error) {
	tok, err := newToken(p)
	if err != nil {
		return "", err
	}
	now := s.clock()
	exp := now.Add(ttl)
	if !until.IsZero() {
		exp = until
	}
	t := Token{Purpose: p, TeamID: sc.TeamID, Mode: sc.Mode, SubjectID: subject, Email: email, OutboxID: j.ID,
		CreatedAt: now, ExpiresAt: exp}
	if err := s.store.InsertMailToken(ctx, t, HashToken(tok)); err != nil {
		return "", fmt.Errorf("mail: store token: %w", err)
	}
	return tok, nil
}

// withFragment puts key=token in the fragment of page: a fragment never
// leaves the browser, so the token reaches no server's access log (nor a
// Referer).
func withFragment(page, key, token string) string {
	page, _, _ = strings.Cut(page, "#")
	return page + "#" + key + "=" + token
}

func greeting(locale, name string) string {
	if name == "" {
		return t(locale, "hello_anon")
	}
	return t(locale, "hello", "name", name)
}

func testMark(sc scope.Scope, subject string) string {
	if sc.Mode == scope.Test {
		return "[TEST] " + subject
	}
	return subject
}

// localeOf is the language of mail to c: theirs, else the team's widget's,
// else the one of the job.
func localeOf(j Job, c Customer, p Pages) string {
	for _, l := range []string{j.Locale, c.Locale, p.Locale} {
		if l != "" {
			return pick(l)
		}
	}
	return "en"
}

func (s *Service) customerReset(ctx context.Context, j Job) (*Message, string, error) {
	sc := j.Scope()
	c, err := s.store.MailAccountByEmail(ctx, sc, j.To)
	if gone(err) {
		return nil, dropNoAccount, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("mail: account: %w", err)
	}
	tm, err := s.team(ctx, sc.TeamID)
	if err != nil {
		return nil, "", err
	}
	page := tm.Pages[sc.Mode].PasswordResetURL
	if page == "" {
		s.log.Warn("password reset not mailed: the team has no password_reset_url", "team", tm.ID, "mode", string(sc.Mode))
		return nil, dropNoPage, nil
	}
	tok, err := s.mint(ctx, j, PurposeCustomerReset, sc, c.ID, c.Email, ResetTTL, time.Time{})
	if err != nil {
		return nil, "", err
	}
	l := localeOf(j, c, tm.Pages[sc.Mode])
	cont := content{Lang: l, Subject: testMark(sc, t(l, "reset.subject", "team", tm.Name)), Greeting: greeting(l, c.Name),
		Paras:  []string{t(l, "reset.body", "team", tm.Name, "email", c.Email)},
		Button: &link{Label: t(l, "reset.button"), URL: withFragment(page, "cstar_reset", tok)},
		After:  []string{t(l, "reset.after")}, Footer: []string{t(l, "footer", "team", tm.Name)}}
	m, err := s.message(j, tm, c.Email, cont)
	if err != nil {
		return nil, "", err
	}
	m.Secret = []string{tok}
	return m, "", nil
}

// chatPage is where a customer's mail leads back to: the site's chat page,
// else its password-reset page.
func chatPage(p Pages) string {
	if p.ChatURL != "" {
		return p.ChatURL
	}
	return p.PasswordResetURL
}

func (s *Service) verifyEmail(ctx context.Context, j Job) (*Message, string, error) {
	sc := j.Scope()
	c, err := s.store.MailCustomer(ctx, sc, j.SubjectID)
	if gone(err) {
		return nil, dropGone, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("mail: customer: %w", err)
	}
	if c.EmailVerified || c.Email == "" {
		return nil, dropVerified, nil
	}
	tm, err := s.team(ctx, sc.TeamID)
	if err != nil {
		return nil, "", err
	}
	page := chatPage(tm.Pages[sc.Mode])
	if page == "" {
		s.log.Warn("verification not mailed: the team has no chat_url", "team", tm.ID, "mode", string(sc.Mode))
		return nil, dropNoChatPage, nil
	}
	tok, err := s.mint(ctx, j, PurposeVerifyEmail, sc, c.ID, c.Email, VerifyTTL, time.Time{})
	if err != nil {
		return nil, "", err
	}
	l := localeOf(j, c, tm.Pages[sc.Mode])
	cont := content{Lang: l, Subject: testMark(sc, t(l, "verify.subject", "team", tm.Name)), Greeting: greeting(l, c.Name),
		Paras:  []string{t(l, "verify.body", "team", tm.Name, "email", c.Email)},
		Button: &link{Label: t(l, "verify.button"), URL: withFragment(page, "cstar_verify", tok)},
		After:  []string{t(l, "verify.after")}, Footer: []string{t(l, "footer", "team", tm.Name)}}
	m, err := s.message(j, tm, c.Email, cont)
	if err != nil {
		return nil, "", err
	}
	m.Secret = []string{tok}
	return m, "", nil
}

// unseen returns the messages of conversation cv after seq from authors
// other than the customer (or, for the agents, from the customer), at most
// maxQuoted, the newest kept.
func (s *Service) unseen(ctx context.Context, cv Conversation, after int64, fromCustomer bool) ([]chat.Message, error) {
	var out []chat.Message
	for after < cv.LastSeq {
		page, err := s.store.Messages(ctx, cv.Scope, cv.ID, after, 0, 100, false)
		if err != nil {
			return nil, fmt.Errorf("mail: messages: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			if (m.Author.Type == chat.AuthorCustomer) == fromCustomer {
				out = append(out, m)
			}
			after = m.Seq
		}
	}
	if len(out) > maxQuoted {
		out = out[len(out)-maxQuoted:]
	}
	return out, nil
}

func quotes(ms []chat.Message, anon string) []quote {
	out := make([]quote, len(ms))
	for i, m := range ms {
		who := m.Author.Name
		if who == "" {
			who = anon
		}
		out[i] = quote{Who: who, When: quoteTime(m.CreatedAt), Body: m.Body}
	}
	return out
}

func (s *Service) offlineReply(ctx context.Context, j Job) (*Message, string, error) {
	sc := j.Scope()
	cv, err := s.store.MailConversation(ctx, sc, j.SubjectID)
	if gone(err) {
		return nil, dropGone, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("mail: conversation: %w", err)
	}
	c := cv.Customer
	switch {
	case c == nil:
		return nil, dropGone, nil
	case !c.EmailVerified || c.Email == "":
		return nil, dropNotVerified, nil
	case c.Unsubscribed:
		return nil, dropUnsubscribed, nil
	}
	msgs, err := s.unseen(ctx, cv, cv.CustomerHas(), false)
	if err != nil {
		return nil, "", err
	}
	if len(msgs) == 0 {
		return nil, dropSeen, nil
	}
	tm, err := s.team(ctx, sc.TeamID)
	if err != nil {
		return nil, "", err
	}
	tok, err := s.mint(ctx, j, PurposeUnsubscribe, sc, c.ID, c.Email, UnsubscribeTTL, time.Time{})
	if err != nil {
		return nil, "", err
	}
	l := localeOf(j, *c, tm.Pages[sc.Mode])
	unsub := strings.TrimSuffix(s.cfg.PublicURL, "/") + "/mail/unsubscribe/" + tok
	cont := content{Lang: l, Subject: testMark(sc, t(l, "offline.subject", "team", tm.Name)), Greeting: greeting(l, c.Name),
		Paras: []string{t(l, "offline.body", "team", tm.Name)}, Quotes: quotes(msgs, tm.Name),
		After:       []string{t(l, "offline.after")},
		Footer:      []string{t(l, "offline.why", "team", tm.Name)},
		Unsubscribe: &link{Label: t(l, "unsubscribe"), URL: unsub}}
	if page := chatPage(tm.Pages[sc.Mode]); page != "" {
		cont.Button = &link{Label: t(l, "offline.button"), URL: page}
	} else {
		cont.Paras = append(cont.Paras, t(l, "offline.nolink", "team", tm.Name))
	}
	m, err := s.message(j, tm, c.Email, cont)
	if err != nil {
		return nil, "", err
	}
	// RFC 8058: one click (a POST the mail client makes) unsubscribes.
	m.Headers["List-Unsubscribe"] = "<" + unsub + ">"
	m.Headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
	m.Secret = []string{tok}
	m.seq = msgs[len(msgs)-1].Seq
	return m, "", nil
}

// afterSent records what a sent job covered, so that the next one does not
// carry it again.
func (s *Service) afterSent(j Job, m *Message) {
	if m.seq == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.logErr("mail: record what was mailed", s.store.SetMailedSeq(ctx, j.Scope(), j.SubjectID, j.Kind == OfflineReply, m.seq))
}

func (s *Service) dashboardURL(sc scope.Scope, path string) string {
	base := strings.TrimSuffix(s.cfg.PublicURL, "/") + "/app"
	if sc.Mode == scope.Test {
		base += "/test"
	}
	return base + path
}

func (s *Service) agentReset(ctx context.Context, j Job) (*Message, string, error) {
	a, err := s.store.MailAgentByEmail(ctx, j.To)
	if gone(err) {
		return nil, dropNoAccount, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("mail: agent: %w", err)
	}
	tm, err := s.team(ctx, a.TeamID)
	if err != nil {
		return nil, "", err
	}
	tok, err := s.mint(ctx, j, PurposeAgentReset, scope.Scope{TeamID: a.TeamID}, a.ID, a.Email, ResetTTL, time.Time{})
	if err != nil {
		return nil, "", err
	}
	cont := content{Lang: "en", Subject: "Reset your password for " + tm.Name + "'s cStar dashboard",
		Greeting: greeting("en", a.Name),
		Paras:    []string{"Someone, hopefully you, asked to reset the password you sign in to " + tm.Name + "'s dashboard with (" + a.Email + ")."},
		Button:   &link{Label: "Choose a new password", URL: strings.TrimSuffix(s.cfg.PublicURL, "/") + "/app/reset#token=" + tok},
		After: []string{"The link works once, for 30 minutes, and signs you out everywhere else. " +
			"If you did not ask for it, ignore this email: your password stays as it is."},
		Footer: []string{"cStar, for " + tm.Name}}
	m, err := s.message(j, tm, a.Email, cont)
	if err != nil {
		return nil, "", err
	}
	m.Secret = []string{tok}
	return m, "", nil
}

func (s *Service) agentInvitation(ctx context.Context, j Job) (*Message, string, error) {
	inv, err := s.store.MailInvitation(ctx, j.SubjectID)
	if gone(err) {
		return nil, dropInvitationOff, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("mail: invitation: %w", err)
	}
	if !inv.Open || !s.clock().Before(inv.ExpiresAt) {
		return nil, dropInvitationOff, nil
	}
	tm, err := s.team(ctx, inv.TeamID)
	if err != nil {
		return nil, "", err
	}
	tok, err := s.mint(ctx, j, PurposeInvitation, scope.Scope{TeamID: inv.TeamID}, inv.ID, inv.Email, 0, inv.ExpiresAt)
	if err != nil {
		return nil, "", err
	}
	who, subject := "You are invited", "You are invited to "+tm.Name+" on cStar"
	if inv.InvitedBy != "" {
		who, subject = inv.InvitedBy+" invites you", inv.InvitedBy+" invited you to "+tm.Name+" on cStar"
	}
	cont := content{Lang: "en", Subject: subject, Greeting: "Hello,",
		Paras:  []string{who + " to join " + tm.Name + "'s support team on cStar as " + roleName(inv.Role) + ". You will choose your name and a password."},
		Button: &link{Label: "Accept the invitation", URL: strings.TrimSuffix(s.cfg.PublicURL, "/") + "/app/invite#token=" + tok},
		After:  []string{"The invitation works once, until " + quoteTime(inv.ExpiresAt) + ". If you do not know " + tm.Name + ", ignore this email."},
		Footer: []string{"cStar, for " + tm.Name}}
	m, err := s.message(j, tm, inv.Email, cont)
	if err != nil {
		return nil, "", err
	}
	m.Secret = []string{tok}
	return m, "", nil
}

// roleName is the role with its article.
func roleName(role string) string {
	switch role {
	case "owner", "admin", "agent":
		return "an " + role
	}
	return role
}

// agentNotice tells an agent of a new conversation, or of the customer's
// unread replies in one assigned to them.
func (s *Service) agentNotice(ctx context.Context, j Job) (*Message, string, error) {
	sc := j.Scope()
	a, err := s.store.MailAgent(ctx, j.AgentID)
	if gone(err) {
		return nil, dropGone, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("mail: agent: %w", err)
	}
	if a.TeamID != sc.TeamID {
		return nil, dropGone, nil
	}
	cv, err := s.store.MailConversation(ctx, sc, j.SubjectID)
	if gone(err) {
		return nil, dropGone, nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("mail: conversation: %w", err)
	}
	tm, err := s.team(ctx, sc.TeamID)
	if err != nil {
		return nil, "", err
	}
	who := "A visitor"
	if c := cv.Customer; c != nil {
		switch {
		case c.Name != "":
			who = c.Name
		case c.Email != "":
			who = c.Email
		}
	}
	var cont content
	var covered int64
	if j.Kind == NewConversation {
		if !a.NotifyNew {
			return nil, dropNotWanted, nil
		}
		msgs, err := s.unseen(ctx, cv, 0, true)
		if err != nil {
			return nil, "", err
		}
		cont = content{Lang: "en", Subject: testMark(sc, "["+tm.Name+"] New conversation from "+who+": "+cv.Subject),
			Greeting: greeting("en", a.Name),
			Paras:    []string{who + " started a conversation with " + tm.Name + ":"}, Quotes: quotes(msgs, who)}
	} else {
		switch {
		case !a.NotifyAssigned:
			return nil, dropNotWanted, nil
		case cv.AssigneeID != a.ID:
			return nil, dropNotAssigned, nil
		}
		msgs, err := s.unseen(ctx, cv, max(cv.AgentReadSeq, cv.AssigneeMailedSeq), true)
		if err != nil {
			return nil, "", err
		}
		if len(msgs) == 0 {
			return nil, dropRead, nil
		}
		covered = msgs[len(msgs)-1].Seq
		cont = content{Lang: "en", Subject: testMark(sc, "["+tm.Name+"] "+who+" replied: "+cv.Subject),
			Greeting: greeting("en", a.Name),
			Paras:    []string{who + " replied in a conversation assigned to you:"}, Quotes: quotes(msgs, who)}
	}
	cont.Button = &link{Label: "Open the conversation", URL: s.dashboardURL(sc, "/conversations/"+cv.ID)}
	cont.After = []string{"Answer in the dashboard: replies to this email are not read."}
	cont.Footer = []string{"You get this email because you chose it in the dashboard (Your account → Email notifications)."}
	m, err := s.message(j, tm, a.Email, cont)
	if err != nil {
		return nil, "", err
	}
	m.seq = covered
	return m, "", nil
}
