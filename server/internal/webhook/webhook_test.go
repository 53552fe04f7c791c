package webhook_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/webhook"
)

func TestBlocked(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true},
		{"10.0.0.1", true}, {"172.16.5.4", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"fe80::1", true}, {"fd00:ec2::254", true}, {"fc00::1", true},
		{"100.64.0.1", true}, {"100.100.100.200", true}, {"0.0.0.0", true}, {"::", true},
		{"224.0.0.1", true}, {"255.255.255.255", true}, {"240.0.0.1", true}, {"198.18.0.1", true},
		{"::ffff:127.0.0.1", true}, {"::ffff:10.0.0.1", true}, {"64:ff9b::a00:1", true}, {"2002:c0a8:101::1", true},
		{"93.184.216.34", false}, {"8.8.8.8", false}, {"2606:4700:4700::1111", false}, {"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false}, {"172.32.0.1", false}, {"100.128.0.1", false},
	} {
		if got := webhook.Blocked(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("Blocked(%s): got %v, want %v", c.addr, got, c.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	strict := webhook.Policy{}
	dev := webhook.Policy{AllowInsecure: true, AllowPrivate: true}
	for _, c := range []struct {
		url    string
		policy webhook.Policy
		ok     bool
	}{
		{"https://hooks.example.com/in?x=1", strict, true},
		{"HTTPS://Hooks.Example.com/in", strict, true},
		{"http://hooks.example.com/in", strict, false},
		{"http://hooks.example.com/in", dev, true},
		{"https://127.0.0.1:9000/", strict, false},
		{"http://127.0.0.1:9000/", dev, true},
		{"https://localhost/", strict, false},
		{"https://[::1]/", strict, false},
		{"javascript:alert(1)", dev, false},
		{"https:///nohost", strict, false},
		{"https://a@example.com/", strict, false},
		{"https://example.com/\n", strict, false},
	} {
		_, err := c.policy.CheckURL(c.url)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%q, %+v): got %v, want ok=%v", c.url, c.policy, err, c.ok)
		}
	}
}

// TestNextAttempt: the retry schedule doubles from FirstRetry up to MaxRetry
// with ±25 % jitter, and stops three days after the delivery was queued.
func TestNextAttempt(t *testing.T) {
	tm := webhook.DefaultTimings()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := created
	var total int
	for n := 1; ; n++ {
		next, final := webhook.NextAttempt(tm, n, created, now, 0.5) // no jitter at r=0.5
		if final {
			total = n
			break
		}
		want := tm.FirstRetry << (n - 1)
		if want > tm.MaxRetry || n > 30 {
			want = tm.MaxRetry
		}
		if d := next.Sub(now); d != want && !next.Equal(created.Add(tm.MaxAge)) {
			t.Fatalf("attempt %d: next after %v, want %v", n, d, want)
		}
		now = next
	}
	if !now.Equal(created.Add(72 * time.Hour)) {
		t.Errorf("last attempt at %v after queueing, want 72h", now.Sub(created))
	}
	if total < 18 || total > 24 {
		t.Errorf("attempts in three days: got %d, want about 21", total)
	}
	lo, _ := webhook.NextAttempt(tm, 1, created, created, 0)
	hi, _ := webhook.NextAttempt(tm, 1, created, created, 0.999)
	if lo.Sub(created) != 22500*time.Millisecond || hi.Sub(created) < 37*time.Second {
		t.Errorf("jitter of the first retry: %v to %v, want 22.5 s to 37.5 s", lo.Sub(created), hi.Sub(created))
	}
}
