package webhooksig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The request headers of a webhook delivery.
const (
	// SignatureHeader is "t=<unix seconds>,v1=<hex HMAC-SHA256>", with one v1
	// per signing secret in use (two while a rolled secret's grace lasts).
	SignatureHeader = "Cstar-Signature"
	// EventIDHeader is the event's id ("evt_…"), the same on every retry and
	// redelivery: keep the ids handled to ignore repeats.
	EventIDHeader = "Cstar-Event-Id"
)

// DefaultTolerance is how far a signature's timestamp may be from now before
// Verify refuses it, which bounds the replay of a captured request.
const DefaultTolerance = 5 * time.Minute

// Verification errors.
var (
	ErrMalformed = errors.New("webhooksig: malformed Cstar-Signature header")
	ErrTimestamp = errors.New("webhooksig: timestamp outside the tolerance")
	ErrMismatch  = errors.New("webhooksig: no signature matches")
)

// Sign returns the hex HMAC-SHA256 of "<t>.<body>" under secret, the whole
// "whsec_…" string as shown when the endpoint was created.
func Sign(secret string, t int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(t, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Header returns the Cstar-Signature value for body sent at t, signed with
// each secret.
func Header(t time.Time, body []byte, secrets ...string) string {
	ts := t.Unix()
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(strconv.FormatInt(ts, 10))
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(Sign(s, ts, body))
	}
	return b.String()
}

// Verify checks header (the Cstar-Signature value) against the raw request
// body, exactly as received, before any JSON decoding: one v1 value must be
// the HMAC under secret, and the timestamp must be within tolerance of now
// (0 means DefaultTolerance).
func Verify(header string, body []byte, secret string, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts int64
	haveTS := false
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || haveTS {
				return ErrMalformed
			}
			ts, haveTS = n, true
		case "v1":
			sigs = append(sigs, v)
		}
		// Other schemes are ignored, so that a later one can be added.
	}
	if !haveTS || len(sigs) == 0 {
		return ErrMalformed
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := []byte(Sign(secret, ts, body))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return ErrMismatch
}
