// Command cstar is the cStar server and its administration tool.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cstar-chat/cstar/server/app"
	"github.com/cstar-chat/cstar/server/config"
	"github.com/cstar-chat/cstar/server/internal/agent"
	"github.com/cstar-chat/cstar/server/internal/errs"
	"github.com/cstar-chat/cstar/server/internal/team"
)

const usage = `cstar — the cStar customer-chat server

Usage:
  cstar serve [--addr 127.0.0.1:8080] [--db URL] [flags]   run the server
  cstar migrate [--db URL]                                 apply database migrations
  cstar teams create --name NAME --slug SLUG [--db URL]    create a team and print its keys as JSON
  cstar keys create --team SLUG --type T --mode M [--db URL]  issue an API key (secret or publishable, live or test)
  cstar agents create --team SLUG --email E --name N --role R --password-stdin [--db URL]
                                                           add an agent (owner, admin or agent) to a team
  cstar identity sign --secret S --user-id U [flags]       print a signed identity token, for testing

The database URL is postgres://… or sqlite:<path> (default sqlite:./.cstar/cstar.db),
also read from CSTAR_DATABASE_URL. Run "cstar COMMAND --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "migrate":
		err = migrate(args[1:], stdout, stderr)
	case "teams":
		if len(args) < 2 || args[1] != "create" {
			if len(args) >= 2 && (args[1] == "-h" || args[1] == "--help") {
				fmt.Fprint(stdout, "Usage: cstar teams create --name NAME --slug SLUG [--db URL]\n")
				return 0
			}
			fmt.Fprint(stderr, "Usage: cstar teams create --name NAME --slug SLUG [--db URL]\n")
			return 2
		}
		err = teamsCreate(args[2:], stdout, stderr)
	case "keys":
		if len(args) < 2 || args[1] != "create" {
			w, code := stderr, 2
			if len(args) >= 2 && (args[1] == "-h" || args[1] == "--help") {
				w, code = stdout, 0
			}
			fmt.Fprintf(w, "Usage: %s\n", keysCreateUsage)
			return code
		}
		err = keysCreate(args[2:], stdout, stderr)
	case "agents":
		if len(args) < 2 || args[1] != "create" {
			w, code := stderr, 2
			if len(args) >= 2 && (args[1] == "-h" || args[1] == "--help") {
				w, code = stdout, 0
			}
			fmt.Fprintf(w, "Usage: %s\n", agentsCreateUsage)
			return code
		}
		err = agentsCreate(args[2:], os.Stdin, stdout, stderr)
	case "identity":
		err = identity(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "cstar: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "cstar:", err)
	return 1
}

var errUsage = errors.New("usage")

func newFlags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string, reg func(*config.Config, *flag.FlagSet)) (config.Config, error) {
	cfg, err := config.Load(fs, args, reg)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return cfg, flag.ErrHelp
	case errors.Is(err, config.ErrUsage):
		return cfg, errUsage
	}
	return cfg, err
}

func logger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "cstar serve [flags]", stdout, stderr)
	cfg, err := parse(fs, args, (*config.Config).Register)
	if err != nil {
		return err
	}
	log := logger(cfg.LogLevel, stderr)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	a, err := app.Open(ctx, cfg, app.Options{Log: log})
	if err != nil {
		return err
	}
	var site *demoSite
	if cfg.DemoTeam {
		team, err := demoTeam(ctx, a, cfg, stdout)
		if err == nil && team != nil && cfg.DemoAddr != "" {
			site, err = startDemo(cfg.DemoAddr, a.URL(), *team, log)
		}
		if err != nil {
			a.Close(context.Background())
			return err
		}
		if site != nil {
			defer site.close()
			demoPages(ctx, a, team.ID, site.url, log)
			fmt.Fprintf(stdout, "demo store (widget):           %s/\n", site.url)
			fmt.Fprintf(stdout, "demo bring-your-own-auth page: %s/account\n", site.url)
			fmt.Fprintf(stdout, "agents' dashboard (test mode): %s/app/test/inbox\n\n", a.URL())
		}
	}
	a.Start()
	log.Info("cstar listening", "url", a.URL(), "database", dialectOf(cfg.DatabaseURL))
	select {
	case <-ctx.Done():
	case err := <-waitErr(a):
		if err != nil {
			a.Close(context.Background())
			return err
		}
	}
	log.Info("shutting down: draining in-flight requests")
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	return a.Close(sctx)
}

func waitErr(a *app.App) <-chan error {
	c := make(chan error, 1)
	go func() { c <- a.Wait() }()
	return c
}

func dialectOf(url string) string {
	if strings.HasPrefix(url, "sqlite:") {
		return "sqlite"
	}
	return "postgres"
}

func migrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "cstar migrate [--db URL]", stdout, stderr)
	cfg, err := parse(fs, args, (*config.Config).RegisterDB)
	if err != nil {
		return err
	}
	db, err := app.OpenDB(context.Background(), cfg.DatabaseURL)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "cstar: migrations applied")
	return db.Close()
}

// teamJSON is the output of "cstar teams create".
type teamJSON struct {
	ID   string            `json:"id"`
	Slug string            `json:"slug"`
	Name string            `json:"name"`
	Keys map[string]string `json:"keys"`
	// IdentitySecrets are the identity-verification secrets ("live",
	// "test") that the team's backend signs identity tokens with.
	IdentitySecrets map[string]string `json:"identity_secrets,omitempty"`
	// Owner is the demo team's first owner, for the dashboard (make run
	// only; never printed by teams create).
	Owner *demoOwner `json:"owner,omitempty"`
}

// demoOwner is the demo team's owner and the password it was made with.
type demoOwner struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func createdJSON(c team.Created) teamJSON {
	out := teamJSON{ID: c.ID, Slug: c.Slug, Name: c.Name, Keys: map[string]string{}, IdentitySecrets: map[string]string{}}
	for k, v := range c.Keys {
		out.Keys[k] = v.Secret
	}
	for m, v := range c.IdentitySecrets {
		out.IdentitySecrets[string(m)] = v
	}
	return out
}

func teamsCreate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("teams create", "cstar teams create --name NAME --slug SLUG [--db URL]", stdout, stderr)
	var name, slug string
	fs.StringVar(&name, "name", "", "the team's display name (required)")
	fs.StringVar(&slug, "slug", "", "the team's URL name: lowercase letters, digits, dashes (required)")
	cfg, err := parse(fs, args, (*config.Config).RegisterDB)
	if err != nil {
		return err
	}
	if name == "" || slug == "" {
		fs.Usage()
		return errors.New("--name and --slug are required")
	}
	ctx := context.Background()
	db, err := app.OpenDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := team.NewService(db, time.Now).Create(ctx, name, slug)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) && e.Code != errs.Internal {
			return errors.New(e.Message)
		}
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(createdJSON(c))
}

// demoTeam creates the "demo" team on first start and prints its keys. The
// keys are kept in a file beside the SQLite database (mode 0600) because the
// server stores only their hashes; this is for local development only.
func demoTeam(ctx context.Context, a *app.App, cfg config.Config, stdout io.Writer) (*teamJSON, error) {
	file := filepath.Join(".cstar", "demo-keys.json")
	if strings.HasPrefix(cfg.DatabaseURL, "sqlite:") {
		file = filepath.Join(filepath.Dir(strings.TrimPrefix(cfg.DatabaseURL, "sqlite:")), "demo-keys.json")
	}
	var out teamJSON
	if _, err := a.Teams().Resolve(ctx, "demo"); err == nil {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stdout, "demo team exists; its keys were printed when it was created (%s is missing)\n", file)
			return nil, nil
		}
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
	} else {
		c, err := a.Teams().Create(ctx, "Demo Store", "demo")
		if err != nil {
			return nil, fmt.Errorf("create demo team: %w", err)
		}
		if err := demoContent(ctx, a, c.ID); err != nil {
			return nil, err
		}
		out = createdJSON(c)
		data, _ := json.MarshalIndent(out, "", "  ")
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, data, 0o600); err != nil {
			return nil, err
		}
	}
	if out.Owner == nil {
		// Teams made before the dashboard have no owner in the file yet.
		owner, err := demoOwnerFor(ctx, a, out)
		if err != nil {
			return nil, err
		}
		out.Owner = owner
		data, _ := json.MarshalIndent(out, "", "  ")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(stdout, "\ncStar demo team %q (%s)\n", out.Slug, out.ID)
	for _, k := range []string{"sk_live", "sk_test", "pk_live", "pk_test"} {
		fmt.Fprintf(stdout, "  %-8s %s\n", k, out.Keys[k])
	}
	for _, m := range []string{"live", "test"} {
		if sec := out.IdentitySecrets[m]; sec != "" {
			fmt.Fprintf(stdout, "  identity secret (%s) %s\n", m, sec)
		}
	}
	fmt.Fprintf(stdout, "\ndashboard: %s/app/  (owner %s, password %s; development only)\n", a.URL(), out.Owner.Email, out.Owner.Password)
	fmt.Fprintln(stdout)
	return &out, nil
}

// demoOwnerFor makes the demo team's owner with a random password (the
// password policy refuses anything guessable, and this one is printed).
func demoOwnerFor(ctx context.Context, a *app.App, tj teamJSON) (*demoOwner, error) {
	t, err := a.Teams().Resolve(ctx, tj.ID)
	if err != nil {
		return nil, err
	}
	o := &demoOwner{Email: "owner@demo.example", Password: rand.Text()}
	_, err = createAgent(ctx, a.DB(), t, agent.NewAgent{Email: o.Email, Name: "Demo Owner", Role: agent.Owner, Password: o.Password})
	if errs.Is(err, errs.Conflict) {
		return nil, fmt.Errorf("the demo owner %s exists but its password is not in the keys file: remove the database to start afresh", o.Email)
	}
	if err != nil {
		return nil, fmt.Errorf("create the demo owner: %w", err)
	}
	return o, nil
}
