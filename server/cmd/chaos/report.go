package main

import (
	"fmt"
	"strings"
	"time"
)

// report prints the figures and reports whether every must-be-0 figure is
// 0 and the servers answered /readyz honestly.
func report(o options, v verdict, faults []faultResult, agents []*agent, st *stats, exits []string,
	outboxLeft int, drained bool, drainTook time.Duration, rw *readyWatch) bool {
	var fails []string
	must := func(name string, n int) string {
		if n != 0 {
			fails = append(fails, fmt.Sprintf("%s %d", name, n))
			return fmt.Sprintf("%d   MUST BE 0", n)
		}
		return "0"
	}
	lost := v.notStored + v.notShown
	fmt.Println("messages")
	fmt.Printf("  typed by visitors      %d: acked %d, refused %d%s, unresolved at the end %d (left in outboxes: %d)\n",
		v.typed, v.typedAcked, v.typedRefused, reasons(v.refusals), v.typedPending, outboxLeft)
	fmt.Printf("  sent by agents         %d: acked %d, refused %d, unresolved at the end %d\n",
		v.sent, v.sentAcked, v.sentFailed, v.sentPending)
	fmt.Printf("  stored                 %d (stored twice: %d, typed by no one: %d)\n", v.storedN, v.storedTwice, v.strangers)
	fmt.Printf("  delivered              %d of %d (every stored message to each agent's stream and to its visitor's chat)\n",
		v.deliveries, v.deliveriesWant)
	fmt.Printf("  lost                   %s (typed or sent but not stored: %d, of them acked: %d; stored but never shown: %d)\n",
		must("lost", lost), v.notStored, v.ackedNotStored, v.notShown)
	fmt.Printf("  duplicated on screen   %s\n", must("duplicated on screen", v.dupScreen+v.storedTwice))
	fmt.Printf("  out of order           %s (stream position gaps: %d)\n", must("out of order", v.disorder+v.gaps), v.gaps)
	fmt.Printf("  refused but stored     %d (the sender was told it failed; it is in the database)\n", v.refusedOK)
	fmt.Printf("  stored against typing order %d (a visitor's message stored after one they typed later)\n", v.reordered)
	if len(v.examples) > 0 {
		fmt.Println("  examples:")
		for _, e := range v.examples {
			fmt.Println("    " + e)
		}
	}

	fmt.Println("faults (recovery: from the end of the fault until every message typed before it is acked and shown everywhere, every visitor connected, both /readyz 200)")
	dishonest := 0
	for _, r := range faults {
		fmt.Printf("  %s\n", r.line())
		if r.err != nil {
			fails = append(fails, "fault "+r.name+" could not be injected")
		}
		if r.d0.IsZero() {
			continue
		}
		during := rw.during(r.d0, r.d1)
		dishonest += during[200]
		back := rw.backAt(r.t1, 2)
		var parts []string
		for i, b := range back {
			name := string(rune('A' + i))
			if b < 0 {
				parts = append(parts, name+" never")
				fails = append(fails, "server "+name+" not ready again after "+r.name)
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %s", name, b.Round(10*time.Millisecond)))
		}
		fmt.Printf("             /readyz while the database was gone: %s; 200 again after %s; both LISTEN connections back after %s\n",
			statusCounts(during), strings.Join(parts, ", "), since(r.listenBack))
	}
	fmt.Printf("  /readyz 200 while the database was gone: %s\n", must("dishonest /readyz", dishonest))
	fmt.Printf("  servers that exited by themselves: %s\n", must("unplanned server exits", len(exits)))
	for _, e := range exits {
		fmt.Println("    " + e)
	}

	fmt.Println("what the clients saw")
	fmt.Printf("  visitors' sockets closed with: %s\n", counts(st.closes))
	fmt.Printf("  visitors' SDK error events (status code): %s\n", counts(st.errors))
	answers := map[string]int{}
	for _, a := range agents {
		a.mu.Lock()
		for k, n := range a.answers {
			answers[k] += n
		}
		a.mu.Unlock()
	}
	fmt.Printf("  agents' REST answers: %s\n", counts(answers))
	d := "everything settled"
	if !drained {
		d = fmt.Sprintf("gave up after -settle %s", o.settle)
	}
	fmt.Printf("  drain after typing stopped: %s (%s)\n", drainTook.Round(10*time.Millisecond), d)
	if len(fails) > 0 {
		fmt.Printf("result: FAIL (%s)\n", strings.Join(fails, "; "))
		return false
	}
	fmt.Println("result: PASS")
	return true
}

func since(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(10 * time.Millisecond).String()
}

func reasons(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	return " (" + counts(m) + ")"
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.ReplaceAll(topCounts(m, 8), `"`, "")
}
