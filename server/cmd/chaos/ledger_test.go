package main

import (
	"errors"
	"testing"
)

// The checker must see each kind of failure, or a run that passes proves
// nothing.
func TestCheckerCountsFailures(t *testing.T) {
	const (
		m1 = "w00.0001 hello from the visitor"
		m2 = "w00.0002 hello from the visitor"
		r1 = "a0.0001 re w00.0001"
	)
	stored1 := stored{ticket: "t1", seq: 1}
	stored2 := stored{ticket: "t1", seq: 2}
	storedR := stored{ticket: "t1", seq: 3}
	// everywhere shows msg on the visitor's chat and the agent's stream.
	everywhere := func(l *ledger, body string, s stored, pos int64) {
		l.show("w00", sighting{body: body, ticket: s.ticket, seq: s.seq})
		l.position("a0", pos)
		l.show("a0", sighting{body: body, ticket: s.ticket, seq: s.seq, pos: pos})
	}
	tests := []struct {
		name string
		run  func(l *ledger) map[string][]stored
		want verdict
	}{
		{"all well", func(l *ledger) map[string][]stored {
			l.typed("w00", m1, 0)
			l.settle(m1, nil)
			everywhere(l, m1, stored1, 1)
			l.typed("a0", r1, 0)
			l.settle(r1, nil)
			everywhere(l, r1, storedR, 2)
			return map[string][]stored{m1: {stored1}, r1: {storedR}}
		}, verdict{typed: 1, typedAcked: 1, sent: 1, sentAcked: 1, storedN: 2, deliveries: 4, deliveriesWant: 4}},
		{"refused and not stored", func(l *ledger) map[string][]stored {
			l.typed("w00", m1, 0)
			l.settle(m1, errors.New("internal: Internal server error"))
			return nil
		}, verdict{typed: 1, typedRefused: 1, notStored: 1}},
		{"acked and not stored", func(l *ledger) map[string][]stored {
			l.typed("w00", m1, 0)
			l.settle(m1, nil)
			return nil
		}, verdict{typed: 1, typedAcked: 1, notStored: 1, ackedNotStored: 1}},
		{"stored, never shown to the agent", func(l *ledger) map[string][]stored {
			l.typed("w00", m1, 0)
			l.settle(m1, nil)
			l.show("w00", sighting{body: m1, ticket: "t1", seq: 1})
			return map[string][]stored{m1: {stored1}}
		}, verdict{typed: 1, typedAcked: 1, storedN: 1, deliveries: 1, deliveriesWant: 2, notShown: 1}},
		{"shown twice", func(l *ledger) map[string][]stored {
			l.typed("w00", m1, 0)
			l.settle(m1, nil)
			everywhere(l, m1, stored1, 1)
			l.show("w00", sighting{body: m1, ticket: "t1", seq: 1})
			return map[string][]stored{m1: {stored1}}
		}, verdict{typed: 1, typedAcked: 1, storedN: 1, deliveries: 2, deliveriesWant: 2, dupScreen: 1}},
		{"stored twice", func(l *ledger) map[string][]stored {
			l.typed("w00", m1, 0)
			l.settle(m1, nil)
			everywhere(l, m1, stored1, 1)
			return map[string][]stored{m1: {stored1, stored2}}
		}, verdict{typed: 1, typedAcked: 1, storedN: 1, storedTwice: 1, deliveries: 2, deliveriesWant: 2}},
		{"out of order on screen, and a position skipped", func(l *ledger) map[string][]stored {
			l.typed("w00", m1, 0)
			l.typed("w00", m2, 0)
			l.settle(m1, nil)
			l.settle(m2, nil)
			everywhere(l, m2, stored2, 2)
			everywhere(l, m1, stored1, 4)
			return map[string][]stored{m1: {stored1}, m2: {stored2}}
		}, verdict{typed: 2, typedAcked: 2, storedN: 2, deliveries: 4, deliveriesWant: 4, disorder: 2, gaps: 1 + 1}},
		{"stored against typing order", func(l *ledger) map[string][]stored {
			l.typed("w00", m1, 0)
			l.typed("w00", m2, 0)
			l.settle(m1, nil)
			l.settle(m2, nil)
			everywhere(l, m1, stored2, 1)
			everywhere(l, m2, stored1, 2)
			return map[string][]stored{m1: {stored2}, m2: {stored1}}
		}, verdict{typed: 2, typedAcked: 2, storedN: 2, deliveries: 4, deliveriesWant: 4, reordered: 1, disorder: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger(1, 1)
			got := l.check(tc.run(l))
			for _, f := range []struct {
				name      string
				got, want int
			}{
				{"typed", got.typed, tc.want.typed}, {"acked", got.typedAcked, tc.want.typedAcked},
				{"refused", got.typedRefused, tc.want.typedRefused}, {"sent", got.sent, tc.want.sent},
				{"stored", got.storedN, tc.want.storedN}, {"stored twice", got.storedTwice, tc.want.storedTwice},
				{"not stored", got.notStored, tc.want.notStored}, {"acked not stored", got.ackedNotStored, tc.want.ackedNotStored},
				{"delivered", got.deliveries, tc.want.deliveries}, {"deliveries wanted", got.deliveriesWant, tc.want.deliveriesWant},
				{"not shown", got.notShown, tc.want.notShown}, {"duplicated", got.dupScreen, tc.want.dupScreen},
				{"out of order", got.disorder, tc.want.disorder}, {"gaps", got.gaps, tc.want.gaps},
				{"reordered", got.reordered, tc.want.reordered},
			} {
				if f.got != f.want {
					t.Errorf("%s: got %d, want %d", f.name, f.got, f.want)
				}
			}
		})
	}
}
