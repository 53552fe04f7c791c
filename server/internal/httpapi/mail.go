package httpapi

import (
	"context"
	"html/template"
	"net/http"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/identity"
	"github.com/cstar-chat/cstar/server/internal/mail"
	"github.com/cstar-chat/cstar/server/protocol"
)

// Mail is what the HTTP edge needs of mail (mail.Service): the unsubscribe
// link's page.
type Mail interface {
	Unsubscribe(ctx context.Context, token string) error
}

// widgetPasswordReset queues a reset link. The answer is 202 and the same
// whether an account has the email or not; the account is looked up by the
// mail worker, off this path, so the time taken says nothing either.
func (s *Server) widgetPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var in protocol.PasswordResetRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	err := s.Identity.RequestPasswordReset(r.Context(), principalOf(r.Context()).scope(), in.Email, s.clientKey(r),
		mail.Locale(r.Header.Get("Accept-Language")))
	if err != nil {
		return err
	}
	return ok(w, http.StatusAccepted, protocol.PasswordResetRequested{Requested: true})
}

// widgetPasswordResetConfirm sets the new password, ends every session of
// the customer (their open sockets close, on every process) and signs this
// browser in.
func (s *Server) widgetPasswordResetConfirm(w http.ResponseWriter, r *http.Request) error {
	var in protocol.PasswordResetConfirm
	if err := decode(r, &in, false); err != nil {
		return err
	}
	p := principalOf(r.Context())
	sc := p.scope()
	res, err := s.Identity.ResetPassword(r.Context(), sc, identity.ResetInput{Token: in.Token, Password: in.Password,
		TeamName: p.Team.Name})
	if err != nil {
		return err
	}
	for _, id := range res.Ended {
		s.Chat.SessionEnded(r.Context(), sc, res.Customer.ID, id)
	}
	return s.signedIn(w, r, http.StatusOK, res.Customer, res.Issued)
}

// widgetVerifyEmail marks the email of a verification link's token
// verified.
func (s *Server) widgetVerifyEmail(w http.ResponseWriter, r *http.Request) error {
	var in protocol.VerifyEmailRequest
	if err := decode(r, &in, false); err != nil {
		return err
	}
	c, err := s.Identity.VerifyEmail(r.Context(), principalOf(r.Context()).scope(), in.Token)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, map[string]any{"customer": widgetCustomer(c)})
}

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1d2430">
<h1 style="font-size:1.4rem">{{.Title}}</h1><p>{{.Text}}</p>
{{if .Form}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit" style="font-size:1rem;padding:.6rem 1rem">Unsubscribe</button></form>{{end}}
</body></html>
`))

// unsubscribe is the one-click unsubscribe link of offline replies (RFC
// 8058): a GET shows a button (mail scanners follow links, so a GET changes
// nothing); a POST, which mail clients send with
// "List-Unsubscribe=One-Click", unsubscribes. The token is in the path,
// which the request log replaces with the route's pattern.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	page := struct {
		Title, Text string
		Form        bool
	}{"Stop emails about replies", "You will no longer get an email when the team answers you while you are away.", true}
	status := http.StatusOK
	if s.Mail == nil {
		status = http.StatusNotFound
		page.Title, page.Text, page.Form = "Link not valid", "This server sends no mail.", false
	} else if r.Method == http.MethodPost {
		err := s.Mail.Unsubscribe(r.Context(), r.PathValue("token"))
		switch {
		case err == nil:
			page.Title, page.Text, page.Form = "Unsubscribed", "You will no longer get emails about replies. You can still chat on the website.", false
		case errs.Is(err, errs.NotFound):
			status = http.StatusNotFound
			page.Title, page.Text, page.Form = "Link not valid", "This unsubscribe link is not valid or has expired.", false
		case errs.Is(err, errs.Unavailable):
			status = http.StatusServiceUnavailable
			h.Set("Retry-After", "2")
			page.Title, page.Text = "Please try again", "The service is busy for a moment. Please try again."
		default:
			s.Log.ErrorContext(r.Context(), "unsubscribe", "request_id", requestID(r.Context()), "err", err)
			status = http.StatusInternalServerError
			page.Title, page.Text = "Something went wrong", "Please try again later."
		}
	}
	w.WriteHeader(status)
	unsubscribePage.Execute(w, page)
}
