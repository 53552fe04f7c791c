package main

import (
	"io"
	"net"
	"sync"
)

// proxy is a TCP proxy in front of one server process. Clients connect
// through it, so the tool can drop every connection of that process at once
// (reset), as a failing load balancer or network would.
type proxy struct {
	ln      net.Listener
	backend string

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func startProxy(backend string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, backend: backend, conns: map[net.Conn]bool{}}
	go p.serve()
	return p, nil
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		reset(c)
		return
	}
	p.track(c, b)
	var once sync.Once
	done := func() {
		once.Do(func() {
			c.Close()
			b.Close()
			p.untrack(c, b)
		})
	}
	go func() { io.Copy(b, c); done() }()
	io.Copy(c, b)
	done()
}

func (p *proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	for _, c := range cs {
		p.conns[c] = true
	}
	p.mu.Unlock()
}

func (p *proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	for _, c := range cs {
		delete(p.conns, c)
	}
	p.mu.Unlock()
}

// reset drops every connection through the proxy with a TCP reset, and
// returns how many client connections there were.
func (p *proxy) reset() int {
	p.mu.Lock()
	all := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		all = append(all, c)
	}
	p.mu.Unlock()
	for _, c := range all {
		reset(c)
	}
	return len(all) / 2
}

func (p *proxy) close() {
	p.ln.Close()
	p.reset()
}

// reset closes c with RST instead of FIN: neither side gets a goodbye.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
