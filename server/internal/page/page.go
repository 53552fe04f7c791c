package page

import (
	"encoding/base64"
	"encoding/json"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
)

// Limits of a page size.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Params asks for one page of a list ordered newest first. After is the id
// of the last item of the previous page, decoded from the opaque cursor.
type Params struct {
	Limit int
	After string
}

// Page is one page of a list.
type Page[T any] struct {
	Items   []T
	HasMore bool
	// Next is the opaque cursor of the following page; empty when none.
	Next string
}

type cursor struct {
	After string `json:"a"`
}

// NewParams validates a limit (0 means the default) and decodes an opaque
// cursor (empty means the first page).
func NewParams(limit int, cur string) (Params, error) {
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 1 || limit > MaxLimit:
		return Params{}, errs.Invalidf("limit", "limit must be between 1 and %d", MaxLimit)
	}
	p := Params{Limit: limit}
	if cur == "" {
		return p, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cur)
	var c cursor
	if err != nil || json.Unmarshal(raw, &c) != nil || c.After == "" {
		return Params{}, errs.Invalidf("cursor", "cursor is not valid")
	}
	p.After = c.After
	return p, nil
}

// Normalize clamps the limit and checks that the cursor names a row id, for
// services called with Params that did not come through NewParams.
func Normalize(p Params) (Params, error) {
	switch {
	case p.Limit <= 0:
		p.Limit = DefaultLimit
	case p.Limit > MaxLimit:
		p.Limit = MaxLimit
	}
	if p.After != "" {
		id, ok := ids.Canonical(p.After)
		if !ok {
			return Params{}, errs.Invalidf("cursor", "cursor is not valid")
		}
		p.After = id
	}
	return p, nil
}

// Build cuts items, fetched with a limit of p.Limit+1, down to one page and
// computes the cursor of the next one from id.
func Build[T any](p Params, items []T, id func(T) string) Page[T] {
	out := Page[T]{Items: items}
	if len(items) > p.Limit {
		out.Items = items[:p.Limit]
		out.HasMore = true
		raw, _ := json.Marshal(cursor{After: id(out.Items[p.Limit-1])})
		out.Next = base64.RawURLEncoding.EncodeToString(raw)
	}
	if out.Items == nil {
		out.Items = []T{}
	}
	return out
}
