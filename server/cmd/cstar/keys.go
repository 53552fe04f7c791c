package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/team"
)

const keysCreateUsage = "cstar keys create --team SLUG --type secret|publishable --mode live|test [--name N] [--db URL]"

// keysCreate issues a key for a team from the command line: how an operator
// gives a team that lost its keys a way back in.
func keysCreate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys create", keysCreateUsage, stdout, stderr)
	var teamRef, typ, mode string
	fs.StringVar(&teamRef, "team", "", "the team's slug or id (required)")
	fs.StringVar(&typ, "type", "", "secret or publishable (required)")
	fs.StringVar(&mode, "mode", "", "live or test (required)")
	var name string
	fs.StringVar(&name, "name", "", "what the key is for (optional)")
	cfg, err := parse(fs, args, (*config.Config).RegisterDB)
	if err != nil {
		return err
	}
	if teamRef == "" || typ == "" || mode == "" {
		fs.Usage()
		return errors.New("--team, --type and --mode are required")
	}
	m := scope.Mode(mode)
	if !m.Valid() {
		return fmt.Errorf(`--mode must be "live" or "test", not %q`, mode)
	}
	ctx := context.Background()
	db, err := app.OpenDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := team.NewService(db, time.Now).Resolve(ctx, teamRef)
	if errs.Is(err, errs.NotFound) {
		return fmt.Errorf("no team %q", teamRef)
	}
	if err != nil {
		return err
	}
	k, err := apikey.NewService(db, time.Now).CreateNamed(ctx, scope.Scope{TeamID: t.ID, Mode: m}, apikey.Type(typ), name)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) && e.Code != errs.Internal {
			return errors.New(e.Message)
		}
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"id": k.ID, "team": t.Slug, "type": k.Type, "mode": k.Mode, "name": k.Name, "key": k.Secret})
}
