package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/protocol"
)

// widgetChat opens the widget's websocket. The publishable key comes in the
// URL (it is not a secret) so that the origin can be checked against the
// team before the upgrade; the session comes in the first frame. A refusal
// the client should not retry is a close code after the upgrade, since a
// browser cannot read a refused handshake's status.
func (s *Server) widgetChat(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("key")
	k, err := s.Auth.Authenticate(r.Context(), raw)
	if err != nil && !errors.Is(err, apikey.ErrInvalid) {
		renderError(w, r, s.Log, err)
		return
	}
	refuse := func(code int, reason string) {
		if ws, err := s.upgrader.Upgrade(w, r, nil); err == nil {
			s.Sockets.Refuse(ws, code, reason)
		}
	}
	if err != nil || k.Type != apikey.Publishable {
		if err := s.limit(r.Context(), w, "invalid:"+s.clientKey(r), s.Limits.InvalidKey); err != nil {
			renderError(w, r, s.Log, err)
			return
		}
		if err == nil {
			s.Auth.Record(k.ID, true, false)
		}
		refuse(protocol.CloseInvalidKey, protocol.MsgInvalidAPIKey)
		return
	}
	herr := func() error {
		if err := s.limit(r.Context(), w, "wip:"+k.ID+":"+s.clientKey(r), s.Limits.WidgetIP); err != nil {
			return err
		}
		t, err := s.Teams.Resolve(r.Context(), k.TeamID)
		if err != nil {
			return err
		}
		if o := r.Header.Get("Origin"); o != "" && !t.AllowsOrigin(k.Mode, o) {
			return errOrigin
		}
		return nil
	}()
	s.Auth.Record(k.ID, herr != nil, errs.Is(herr, errs.RateLimited))
	if herr != nil {
		renderError(w, r, s.Log, herr)
		return
	}
	if v := r.URL.Query().Get("v"); v != "" && v != strconv.Itoa(protocol.ChatVersion) {
		refuse(protocol.CloseVersion, "unsupported protocol version")
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	s.Sockets.ServeWidget(context.WithoutCancel(r.Context()), ws, k)
}
