package store

import (
	"testing"
	"time"
)

// TestReconnectWait: the LISTEN retry waits double up to 5 s while attempts
// fail, and start again at 100 ms after a LISTEN that held, so that a second
// outage is not waited out with the first one's backoff.
func TestReconnectWait(t *testing.T) {
	var w reconnectWait
	var got []time.Duration
	for _, heard := range []bool{true, false, false, false, false, false, false, false, true, false} {
		got = append(got, w.next(heard))
	}
	ms := time.Millisecond
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms, 100 * ms, 200 * ms}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits: got %v, want %v", got, want)
		}
	}
}
