package socket

import (
	"encoding/json"
	"testing"

	"github.com/cstar-chat/cstar/server/internal/text"
	"github.com/cstar-chat/cstar/server/protocol"
)

// FuzzFrame: the widget's frame decoding never panics, and a frame that
// passes the text rule holds no control character in any field the server
// stores or shows.
func FuzzFrame(f *testing.F) {
	f.Add([]byte(`{"type":"send","client_id":"c1","body":"hi"}`))
	f.Add([]byte(`{"type":"send","client_id":"c\u0000","body":"a\u0000b"}`))
	f.Add([]byte(`{"type":"resume","session":"cs_x","tickets":{"t\u0007":3}}`))
	f.Add([]byte(`{"type":"read","ticket_id":"\u202e","seq":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr protocol.ClientFrame
		if json.Unmarshal(data, &fr) != nil || text.JSON(data) != nil {
			return
		}
		fields := []string{fr.Type, fr.Session, fr.ClientID, fr.Body, fr.TicketID}
		for k := range fr.Tickets {
			fields = append(fields, k)
		}
		for _, s := range fields {
			if text.Controls("x", s) != nil {
				t.Fatalf("frame %q passed with a control character in %q", data, s)
			}
		}
	})
}
