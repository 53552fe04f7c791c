package main

import (
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/internal/byoauth"
)

func TestIdentitySign(t *testing.T) {
	secret := "idsec_test_0123456789"
	secrets := func(string) ([][]byte, error) { return [][]byte{[]byte(secret)}, nil }
	tests := []struct {
		name string
		args []string
		want byoauth.Claims
		ttl  time.Duration
	}{
		{"minimal", []string{"--secret", secret, "--user-id", "user-42"},
			byoauth.Claims{Subject: "user-42"}, time.Hour},
		{"all flags", []string{"--secret", secret, "--user-id", "user-42", "--email", "ada@example.com", "--name", "Ada Lovelace",
			"--ttl", "10m", "--kid", "v2", "--jti", "once-1"},
			byoauth.Claims{Subject: "user-42", Email: "ada@example.com", Name: "Ada Lovelace", KeyID: "v2", ID: "once-1"}, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := cstar(t, append([]string{"identity", "sign"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("got exit %d (%s), want 0", code, errOut)
			}
			if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
				t.Errorf("got stdout %q, want one line", out)
			}
			got, err := byoauth.Verify(strings.TrimSpace(out), secrets, time.Now(), byoauth.Options{})
			if err != nil {
				t.Fatalf("printed token does not verify: %v", err)
			}
			if got.Subject != tt.want.Subject || got.Email != tt.want.Email || got.Name != tt.want.Name ||
				got.KeyID != tt.want.KeyID || got.ID != tt.want.ID {
				t.Errorf("got claims %+v, want %+v", got, tt.want)
			}
			if life := got.ExpiresAt.Sub(got.IssuedAt); life != tt.ttl {
				t.Errorf("got lifetime %s, want %s", life, tt.ttl)
			}
		})
	}
}

func TestIdentitySignSecretFromEnvironment(t *testing.T) {
	t.Setenv("CSTAR_IDENTITY_SECRET", "from-env")
	out, errOut, code := cstar(t, "identity", "sign", "--user-id", "u1")
	if code != 0 {
		t.Fatalf("got exit %d (%s), want 0", code, errOut)
	}
	secrets := func(string) ([][]byte, error) { return [][]byte{[]byte("from-env")}, nil }
	if _, err := byoauth.Verify(strings.TrimSpace(out), secrets, time.Now(), byoauth.Options{}); err != nil {
		t.Errorf("got %v, want a token signed with the environment's secret", err)
	}
}

func TestIdentitySignUsage(t *testing.T) {
	t.Setenv("CSTAR_IDENTITY_SECRET", "")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
	}{
		{"help", []string{"identity", "sign", "--help"}, 0, "Usage: cstar identity sign"},
		{"identity help", []string{"identity", "--help"}, 0, "Usage: cstar identity sign"},
		{"top-level usage lists it", []string{"--help"}, 0, "cstar identity sign"},
		{"no subcommand", []string{"identity"}, 2, ""},
		{"unknown subcommand", []string{"identity", "verify"}, 2, ""},
		{"unknown flag", []string{"identity", "sign", "--bogus"}, 2, ""},
		{"stray argument", []string{"identity", "sign", "--secret", "s", "--user-id", "u", "extra"}, 2, ""},
		{"missing secret", []string{"identity", "sign", "--user-id", "u"}, 1, "Usage:"},
		{"missing user id", []string{"identity", "sign", "--secret", "s"}, 1, "Usage:"},
		{"ttl over 24h", []string{"identity", "sign", "--secret", "s", "--user-id", "u", "--ttl", "25h"}, 1, ""},
		{"negative ttl", []string{"identity", "sign", "--secret", "s", "--user-id", "u", "--ttl", "-1m"}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := cstar(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("got exit %d (stderr %q), want %d", code, errOut, tt.wantCode)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("got stdout %q, want it to contain %q", out, tt.wantOut)
			}
			if tt.wantCode != 0 && strings.Count(out, ".") == 2 && !strings.Contains(out, " ") {
				t.Errorf("got a token %q on failure, want none", out)
			}
		})
	}
}
