package e2e

import "testing"

// BenchmarkReadyTime reports the median time from navigation start to
// CStarChat.ready() resolving, on SQLite, with the module in the cache as a
// returning visitor has it (the first load is a warm-up).
func BenchmarkReadyTime(b *testing.B) {
	requireBrowser(b)
	e := newEnv(b, "sqlite")
	tb := newTab(b, nil)
	tb.open(b, e.page("test"))
	var ms []float64
	b.ResetTimer()
	for b.Loop() {
		ms = append(ms, tb.readyTimes(b, e.page("test"), 1)...)
	}
	b.ReportMetric(median(ms), "ms/ready")
}
