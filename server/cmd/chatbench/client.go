package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type frame struct {
	Type     string `json:"type"`
	ClientID string `json:"client_id"`
	Message  struct {
		TicketID string `json:"ticket_id"`
		Body     string `json:"body"`
	} `json:"message"`
}

// client is the load generator: it opens the idle connections, then posts
// agent messages at the planned rate and times their arrival.
func client(stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 64<<20), 64<<20)
	if !in.Scan() {
		return fmt.Errorf("no plan on stdin")
	}
	var p plan
	if err := json.Unmarshal(in.Bytes(), &p); err != nil {
		return err
	}
	dur, err := time.ParseDuration(p.Duration)
	if err != nil {
		return err
	}
	total := int(float64(p.Rate) * dur.Seconds())
	sent := make([]atomic.Int64, total)
	lat := make([]atomic.Int64, total)
	acks := make([]chan string, p.Conversations)
	for i := range acks {
		acks[i] = make(chan string, 1)
	}

	dialer := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: 30 * time.Second}
	wsURL := "ws" + strings.TrimPrefix(p.URL, "http") + "/api/widget/v1/chat?v=1&key=" + p.PK
	conns := make([]*websocket.Conn, len(p.Sessions))
	start := time.Now()
	var next atomic.Int64
	var dialErr atomic.Value
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) || dialErr.Load() != nil {
					return
				}
				c, _, err := dialer.Dial(wsURL, nil)
				if err == nil {
					err = c.WriteJSON(map[string]any{"type": "resume", "session": p.Sessions[i]})
				}
				for err == nil {
					var f frame
					if err = c.ReadJSON(&f); err == nil && f.Type == "ready" {
						break
					}
				}
				if err != nil {
					dialErr.Store(fmt.Errorf("connection %d: %w", i, err))
					return
				}
				conns[i] = c
				go read(c, i, acks, sent, lat)
			}
		}()
	}
	wg.Wait()
	if err, _ := dialErr.Load().(error); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "connected %d widget sockets in %s\n", len(conns), time.Since(start).Round(time.Millisecond))
	if !in.Scan() {
		return fmt.Errorf("no go")
	}

	// Each conversation starts with a customer message, which opens a ticket.
	tickets := make([]string, p.Conversations)
	for i := range tickets {
		if err := conns[i].WriteJSON(map[string]any{"type": "send", "client_id": "open-" + strconv.Itoa(i), "body": "Hello"}); err != nil {
			return err
		}
	}
	for i := range tickets {
		select {
		case tickets[i] = <-acks[i]:
		case <-time.After(30 * time.Second):
			return fmt.Errorf("conversation %d: no ack", i)
		}
	}

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	post := make([]time.Duration, total)
	jobs := make(chan int, total)
	var pw sync.WaitGroup
	for range 64 {
		pw.Add(1)
		go func() {
			defer pw.Done()
			for i := range jobs {
				body, _ := json.Marshal(map[string]any{"body": "bench " + strconv.Itoa(i), "author_name": "Agent"})
				req, _ := http.NewRequest("POST", p.URL+"/api/v1/teams/"+p.TeamID+"/tickets/"+tickets[i%len(tickets)]+"/messages", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+p.SK)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				sent[i].Store(t0.UnixNano())
				res, err := hc.Do(req)
				if err != nil {
					fmt.Fprintln(stdout, "post failed:", err)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				post[i] = time.Since(t0)
				if res.StatusCode != 201 {
					fmt.Fprintln(stdout, "post status", res.StatusCode)
				}
			}
		}()
	}
	// An open-loop schedule: message i is due at i/rate, however the
	// server is doing.
	t0 := time.Now()
	interval := time.Second / time.Duration(p.Rate)
	for i := range total {
		if d := time.Until(t0.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	pw.Wait()
	elapsed := time.Since(t0)
	time.Sleep(2 * time.Second)

	var got []time.Duration
	for i := range lat {
		if v := lat[i].Load(); v > 0 {
			got = append(got, time.Duration(v))
		}
	}
	slices.Sort(got)
	slices.Sort(post)
	q := func(s []time.Duration, f float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		return s[min(len(s)-1, int(f*float64(len(s))))]
	}
	fmt.Fprintf(stdout, "posted %d agent messages in %s (%.0f/s); delivered %d, missing %d\n",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), len(got), total-len(got))
	fmt.Fprintf(stdout, "delivery latency (REST post → customer socket): p50 %s, p99 %s, max %s\n",
		q(got, .50).Round(10*time.Microsecond), q(got, .99).Round(10*time.Microsecond), q(got, 1).Round(10*time.Microsecond))
	fmt.Fprintf(stdout, "baseline, the REST post's own round trip: p50 %s, p99 %s → delivery p99 / post p99 = %.2f×\n",
		q(post, .50).Round(10*time.Microsecond), q(post, .99).Round(10*time.Microsecond),
		float64(q(got, .99))/float64(max(q(post, .99), 1)))
	fmt.Fprintf(stdout, "done: goals p99 ≤ 20ms at %d msg/s: %v\n", p.Rate, q(got, .99) <= 20*time.Millisecond && len(got) == total)
	for _, c := range conns {
		c.Close()
	}
	return nil
}

// read drains one socket, answering pings, recording when each bench
// message arrives and handing conversation acks over.
func read(c *websocket.Conn, i int, acks []chan string, sent, lat []atomic.Int64) {
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		var f frame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		switch f.Type {
		case "ack":
			if i < len(acks) {
				select {
				case acks[i] <- f.Message.TicketID:
				default:
				}
			}
		case "message":
			if n, ok := strings.CutPrefix(f.Message.Body, "bench "); ok {
				if k, err := strconv.Atoi(n); err == nil && k < len(lat) {
					if s := sent[k].Load(); s > 0 {
						lat[k].CompareAndSwap(0, now-s)
					}
				}
			}
		}
	}
}
