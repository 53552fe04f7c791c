package metrics

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"
)

// buckets are the latency histogram's upper bounds in seconds.
var buckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

type series struct {
	method, route string
	status        int
}

type histogram struct {
	counts []uint64
	sum    float64
	total  uint64
}

// Registry holds the request counters and latency histograms.
type Registry struct {
	mu       sync.Mutex
	requests map[series]uint64
	latency  map[string]*histogram // by route
	gauges   map[string]func() float64
	// funcs are counts that only grow, read at scrape time.
	funcs map[string]func() float64
	// counters are counters with one label, counted as things happen.
	counters map[string]*counterVec
	// unavailable counts 503 answers by cause (the database, sign-ins
	// waiting for a hash, other).
	unavailable map[string]uint64
}

// counterVec is a counter with one label.
type counterVec struct {
	help, label string
	values      map[string]uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{requests: map[series]uint64{}, latency: map[string]*histogram{}, gauges: map[string]func() float64{},
		funcs: map[string]func() float64{}, counters: map[string]*counterVec{}, unavailable: map[string]uint64{}}
}

// Unavailable counts one 503 answer given for cause, one of a small fixed
// set of words.
func (m *Registry) Unavailable(cause string) {
	m.mu.Lock()
	m.unavailable[cause]++
	m.mu.Unlock()
}

// Observe counts one request. route is the matched pattern, never the raw
// path, so the number of series stays bounded.
func (m *Registry) Observe(method, route string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[series{method, route, status}]++
	h := m.latency[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(buckets))}
		m.latency[route] = h
	}
	sec := d.Seconds()
	for i, b := range buckets {
		if sec <= b {
			h.counts[i]++
		}
	}
	h.sum += sec
	h.total++
}

// Gauge registers a value read at scrape time.
func (m *Registry) Gauge(name string, f func() float64) {
	m.mu.Lock()
	m.gauges[name] = f
	m.mu.Unlock()
}

// CounterFunc registers a count that only grows, read at scrape time.
func (m *Registry) CounterFunc(name string, f func() float64) {
	m.mu.Lock()
	m.funcs[name] = f
	m.mu.Unlock()
}

// Counter registers a counter with one label, its known values shown from
// zero, and returns the function that counts one of value. Values are the
// caller's fixed set, never client input.
func (m *Registry) Counter(name, help, label string, values ...string) func(value string) {
	m.mu.Lock()
	c := &counterVec{help: help, label: label, values: map[string]uint64{}}
	for _, v := range values {
		c.values[v] = 0
	}
	m.counters[name] = c
	m.mu.Unlock()
	return func(v string) {
		m.mu.Lock()
		c.values[v]++
		m.mu.Unlock()
	}
}

// WriteTo writes every series in the Prometheus text format.
func (m *Registry) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cw := &countWriter{w: w}
	fmt.Fprintln(cw, "# HELP cstar_http_requests_total HTTP requests by method, route and status.")
	fmt.Fprintln(cw, "# TYPE cstar_http_requests_total counter")
	keys := make([]series, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.route != b.route {
			return a.route < b.route
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.status < b.status
	})
	for _, k := range keys {
		fmt.Fprintf(cw, "cstar_http_requests_total{method=%q,route=%q,status=\"%d\"} %d\n", k.method, k.route, k.status, m.requests[k])
	}
	fmt.Fprintln(cw, "# HELP cstar_http_request_duration_seconds HTTP request latency by route.")
	fmt.Fprintln(cw, "# TYPE cstar_http_request_duration_seconds histogram")
	routes := make([]string, 0, len(m.latency))
	for r := range m.latency {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		h := m.latency[r]
		for i, b := range buckets {
			fmt.Fprintf(cw, "cstar_http_request_duration_seconds_bucket{route=%q,le=%q} %d\n", r, strconv.FormatFloat(b, 'g', -1, 64), h.counts[i])
		}
		fmt.Fprintf(cw, "cstar_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", r, h.total)
		fmt.Fprintf(cw, "cstar_http_request_duration_seconds_sum{route=%q} %g\n", r, h.sum)
		fmt.Fprintf(cw, "cstar_http_request_duration_seconds_count{route=%q} %d\n", r, h.total)
	}
	fmt.Fprintln(cw, "# HELP cstar_http_unavailable_total HTTP 503 answers by cause: database (unavailable), sign_in_busy (password hashes waiting), other.")
	fmt.Fprintln(cw, "# TYPE cstar_http_unavailable_total counter")
	causes := make([]string, 0, len(m.unavailable))
	for c := range m.unavailable {
		causes = append(causes, c)
	}
	sort.Strings(causes)
	for _, c := range causes {
		fmt.Fprintf(cw, "cstar_http_unavailable_total{cause=%q} %d\n", c, m.unavailable[c])
	}
	cnames := make([]string, 0, len(m.counters))
	for n := range m.counters {
		cnames = append(cnames, n)
	}
	sort.Strings(cnames)
	for _, n := range cnames {
		c := m.counters[n]
		fmt.Fprintf(cw, "# HELP %s %s\n# TYPE %s counter\n", n, c.help, n)
		vals := make([]string, 0, len(c.values))
		for v := range c.values {
			vals = append(vals, v)
		}
		sort.Strings(vals)
		for _, v := range vals {
			fmt.Fprintf(cw, "%s{%s=%q} %d\n", n, c.label, v, c.values[v])
		}
	}
	names := make([]string, 0, len(m.gauges))
	for n := range m.gauges {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(cw, "# TYPE %s gauge\n%s %g\n", n, n, m.gauges[n]())
	}
	names = names[:0]
	for n := range m.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(cw, "# TYPE %s counter\n%s %g\n", n, n, m.funcs[n]())
	}
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
