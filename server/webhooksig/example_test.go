package webhooksig_test

import (
	"fmt"
	"time"

	"github.com/cstar-chat/cstar/server/webhooksig"
)

// A site's webhook handler reads the raw body, verifies it, and only then
// decodes it:
//
//	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//	err := webhooksig.Verify(r.Header.Get(webhooksig.SignatureHeader), body, secret, 0, time.Now())
//	if err != nil {
//		http.Error(w, "bad signature", http.StatusBadRequest)
//		return
//	}
//	// json.Unmarshal(body, &event); skip event.id if it was handled before
func ExampleVerify() {
	secret := "whsec_Hk3f2pVJ0bP9h2m4XqRkYw8sT1cL6eZa" // shown once when the endpoint was created
	body := []byte(`{"id":"evt_0195f3c27a417c1e9c3a2b1d4e5f6a7f","type":"ping","created":1795840186,"livemode":false,"data":{}}`)
	header := "t=1795840186,v1=" + webhooksig.Sign(secret, 1795840186, body) // what cStar sent

	err := webhooksig.Verify(header, body, secret, 0, time.Unix(1795840200, 0))
	fmt.Println(err)
	// Output:
	// <nil>
}
