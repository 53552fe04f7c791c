package ids

import (
	"fmt"

	"github.com/google/uuid"
)

// New returns a new UUIDv7. Version 7 ids sort by creation time, which is
// what cursor pagination (newest first, "id < cursor") relies on.
func New() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("ids: new: %w", err)
	}
	return id.String(), nil
}

// Canonical returns id in lowercase canonical form, or false when it is not
// a 36-character UUID. Ids are checked before they reach PostgreSQL, whose
// uuid columns would reject them with an error instead of finding nothing.
func Canonical(id string) (string, bool) {
	if len(id) != 36 {
		return "", false
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	return u.String(), true
}
