package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/ids"
	"github.com/cstar-chat/cstar/server/internal/text"
)

// SavedReply is a reply a team writes often, inserted into the composer in
// one step. Saved replies belong to the team (both modes: they are words,
// not test or live data).
type SavedReply struct {
	ID        string
	TeamID    string
	Title     string
	Body      string
	CreatedBy string
	CreatedAt time.Time
}

// ReplyStore keeps saved replies.
type ReplyStore interface {
	InsertSavedReply(ctx context.Context, r SavedReply) error
	// ListSavedReplies returns a team's saved replies by title.
	ListSavedReplies(ctx context.Context, teamID string) ([]SavedReply, error)
	DeleteSavedReply(ctx context.Context, teamID, id string) error
}

// Limits of a saved reply, in characters; the body is a message's.
const (
	maxReplyTitle = 100
	maxReplyBody  = 4000
	maxReplies    = 200
)

// SavedReplies lists the team's saved replies.
func (s *Service) SavedReplies(ctx context.Context, teamID string) ([]SavedReply, error) {
	out, err := s.store.ListSavedReplies(ctx, teamID)
	if err != nil {
		return nil, fmt.Errorf("agent: saved replies: %w", err)
	}
	return out, nil
}

// SaveReply adds a saved reply to a's team; any agent may.
func (s *Service) SaveReply(ctx context.Context, a Agent, title, body string) (SavedReply, error) {
	title, body = strings.TrimSpace(title), strings.TrimSpace(body)
	if err := text.Line("title", title); err != nil {
		return SavedReply{}, err
	}
	if title == "" || utf8.RuneCountInString(title) > maxReplyTitle {
		return SavedReply{}, errs.Invalidf("title", "title is required (at most %d characters)", maxReplyTitle)
	}
	if err := text.Controls("body", body); err != nil {
		return SavedReply{}, err
	}
	if body == "" || utf8.RuneCountInString(body) > maxReplyBody {
		return SavedReply{}, errs.Invalidf("body", "body is required (at most %d characters)", maxReplyBody)
	}
	list, err := s.SavedReplies(ctx, a.TeamID)
	if err != nil {
		return SavedReply{}, err
	}
	if len(list) >= maxReplies {
		return SavedReply{}, errs.Invalidf("title", "a team keeps at most %d saved replies: delete one first", maxReplies)
	}
	id, err := ids.New()
	if err != nil {
		return SavedReply{}, err
	}
	r := SavedReply{ID: id, TeamID: a.TeamID, Title: title, Body: body, CreatedBy: a.ID, CreatedAt: s.clock()}
	if err := s.store.InsertSavedReply(ctx, r); err != nil {
		return SavedReply{}, fmt.Errorf("agent: save reply: %w", err)
	}
	return r, nil
}

// DeleteReply deletes a saved reply of a's team; any agent may.
func (s *Service) DeleteReply(ctx context.Context, a Agent, id string) error {
	id, ok := ids.Canonical(id)
	if !ok {
		return errs.NotFoundf("Saved reply not found")
	}
	err := s.store.DeleteSavedReply(ctx, a.TeamID, id)
	if errors.Is(err, errs.ErrNotFound) {
		return errs.NotFoundf("Saved reply not found")
	}
	if err != nil {
		return fmt.Errorf("agent: delete saved reply: %w", err)
	}
	return nil
}
