package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cstar-chat/cstar/server/identitytoken"
)

const identitySignSynopsis = "cstar identity sign --secret S --user-id U [--email E --name N] [--ttl 1h] [--kid K] [--jti J]"

// identity runs "cstar identity SUBCOMMAND"; sign is the only one so far.
func identity(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "sign" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintf(stdout, "Usage: %s\n", identitySignSynopsis)
			return flag.ErrHelp
		}
		fmt.Fprintf(stderr, "Usage: %s\n", identitySignSynopsis)
		return errUsage
	}
	return identitySign(args[1:], stdout, stderr, time.Now())
}

// identitySign prints an identity token, as a site's backend would make one,
// so that bring-your-own-auth can be tried by hand and from scripts.
func identitySign(args []string, stdout, stderr io.Writer, now time.Time) error {
	fs := newFlags("identity sign", identitySignSynopsis, stdout, stderr)
	var c identitytoken.Claims
	var secret string
	var ttl time.Duration
	fs.StringVar(&secret, "secret", os.Getenv("CSTAR_IDENTITY_SECRET"), "the team's identity-verification secret for the mode (or CSTAR_IDENTITY_SECRET, which keeps it out of ps)")
	fs.StringVar(&c.Subject, "user-id", "", "the site's user id, the token's sub (required)")
	fs.StringVar(&c.Email, "email", "", "the user's email")
	fs.StringVar(&c.Name, "name", "", "the user's display name")
	fs.DurationVar(&ttl, "ttl", identitytoken.DefaultTTL, "how long the token is valid, at most 24h")
	fs.StringVar(&c.KeyID, "kid", "", "the key id to put in the header, for rotated secrets")
	fs.StringVar(&c.ID, "jti", "", "a token id; cStar then accepts the token once only")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cstar identity sign: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if secret == "" || c.Subject == "" {
		fs.Usage()
		return errors.New("--secret (or CSTAR_IDENTITY_SECRET) and --user-id are required")
	}
	if ttl <= 0 || ttl > identitytoken.MaxLifetime {
		return fmt.Errorf("--ttl %s: want more than 0 and at most %s", ttl, identitytoken.MaxLifetime)
	}
	c.IssuedAt = now
	c.ExpiresAt = now.Add(ttl)
	token, err := identitytoken.Sign([]byte(secret), c, now)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}
