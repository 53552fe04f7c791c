package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/audit"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/password"
	"github.com/cstar-chat/cstar/server/internal/team"
)

const agentsCreateUsage = "cstar agents create --team SLUG --email E --name N --role owner|admin|agent --password-stdin [--db URL]"

// agentJSON is the output of "cstar agents create".
type agentJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

// agentsCreate adds an agent to a team from the command line: how a team's
// first owner is made (later ones are invited from the dashboard). The
// password comes from the first line of stdin, never from the command line,
// where other users of the machine could read it.
func agentsCreate(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("agents create", agentsCreateUsage, stdout, stderr)
	var teamRef, email, name, role string
	var pwStdin bool
	fs.StringVar(&teamRef, "team", "", "the team's slug or id (required)")
	fs.StringVar(&email, "email", "", "the agent's email, which signs in (required)")
	fs.StringVar(&name, "name", "", "the agent's name (required)")
	fs.StringVar(&role, "role", "", "owner, admin or agent (required)")
	fs.BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of stdin (required)")
	cfg, err := parse(fs, args, (*config.Config).RegisterDB)
	if err != nil {
		return err
	}
	if teamRef == "" || email == "" || name == "" || role == "" || !pwStdin {
		fs.Usage()
		return errors.New("--team, --email, --name, --role and --password-stdin are required")
	}
	pw, err := bufio.NewReader(io.LimitReader(stdin, password.MaxBytes+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the password: %w", err)
	}
	pw = strings.TrimRight(pw, "\r\n")
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
	a, err := createAgent(ctx, db, t, agent.NewAgent{Email: email, Name: name, Role: agent.Role(role), Password: pw})
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) && e.Code != errs.Internal {
			return errors.New(e.Message)
		}
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(agentJSON{ID: a.ID, Email: a.Email, Name: a.Name, Role: string(a.Role)})
}

// createAgent adds an agent to team t with the production password hashing,
// and writes it in the team's audit log.
func createAgent(ctx context.Context, db agentDB, t team.Team, in agent.NewAgent) (agent.Agent, error) {
	hasher, err := password.New(password.OWASP, runtime.NumCPU(), 5*time.Second)
	if err != nil {
		return agent.Agent{}, err
	}
	a, err := agent.NewService(db, hasher, time.Now).Create(ctx, t.ID, t.Name, in)
	if err != nil {
		return agent.Agent{}, err
	}
	err = audit.NewService(db, time.Now).Record(ctx, audit.Entry{TeamID: t.ID, ActorType: audit.ActorSystem,
		ActorName: "cstar agents create", Action: audit.AgentCreated, Target: a.Email, Detail: "role " + string(a.Role)})
	return a, err
}

// agentDB is what creating an agent needs of the store.
type agentDB interface {
	agent.Store
	audit.Store
}
