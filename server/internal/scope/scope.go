package scope

// Mode separates test data from live data. Every row carries one.
type Mode string

// The two modes.
const (
	Live Mode = "live"
	Test Mode = "test"
)

// Valid reports whether m is live or test.
func (m Mode) Valid() bool { return m == Live || m == Test }

// Scope is the team and mode a request acts in. A query never crosses it.
type Scope struct {
	TeamID string
	Mode   Mode
}
