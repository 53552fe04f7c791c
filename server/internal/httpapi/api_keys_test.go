package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cstar-chat/cstar/server/apptest"
	"github.com/cstar-chat/cstar/server/internal/apikey"
	"github.com/cstar-chat/cstar/server/internal/testdb"
	"github.com/cstar-chat/cstar/server/protocol"
)

// redacted is the display form the product promises: "sk_test_Ab12…wxyz".
func redacted(key string) string { return key[:len("sk_test_")+4] + "…" + key[len(key)-4:] }

func parseTime(t testing.TB, v any) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, str(v))
	if err != nil {
		t.Fatalf("time %v: %v", v, err)
	}
	return ts
}

// keyList maps id → listed key.
func (s *testServer) keyList(t testing.TB, key string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, k := range s.Do(t, "GET", s.Path("/api-keys"), key, nil).Want(t, 200).Items(t) {
		if _, ok := k["key"]; ok {
			t.Errorf("list shows the full key: %v", k)
		}
		out[str(k["id"])] = k
	}
	return out
}

// TestAPIKeysCreateAndList: creating keys, their prefixes, and what a list
// shows.
func TestAPIKeysCreateAndList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)

		for _, mode := range []string{"live", "test"} {
			sk := s.Team.Keys["sk_"+mode].Secret
			t.Run("initial "+mode, func(t *testing.T) {
				list := s.keyList(t, sk)
				if len(list) != 2 {
					t.Fatalf("keys: got %d, want 2", len(list))
				}
				for _, kind := range []string{"sk_", "pk_"} {
					k := s.Team.Keys[kind+mode]
					got, ok := list[k.ID]
					if !ok {
						t.Fatalf("%s%s key %s is not listed", kind, mode, k.ID)
					}
					if r := str(got["redacted"]); r != redacted(k.Secret) {
						t.Errorf("redacted: got %q, want %q", r, redacted(k.Secret))
					}
					wantType := map[string]string{"sk_": "secret", "pk_": "publishable"}[kind]
					if str(got["type"]) != wantType || str(got["mode"]) != mode {
						t.Errorf("type/mode: got %v/%v, want %s/%s", got["type"], got["mode"], wantType, mode)
					}
					if got["expires_at"] != nil {
						t.Errorf("expires_at: got %v, want null", got["expires_at"])
					}
				}
			})

			for _, typ := range []string{"secret", "publishable"} {
				t.Run("create "+typ+" "+mode, func(t *testing.T) {
					r := s.Do(t, "POST", s.Path("/api-keys"), sk, map[string]any{"type": typ}).Want(t, 201)
					d := r.Data(t)
					key := str(d["key"])
					prefix := map[string]string{"secret": "sk_", "publishable": "pk_"}[typ] + mode + "_"
					if !strings.HasPrefix(key, prefix) || len(key) != 44 {
						t.Fatalf("key: got %q, want %s followed by 36 characters", key, prefix)
					}
					if str(d["type"]) != typ || str(d["mode"]) != mode {
						t.Errorf("type/mode: got %v/%v, want %s/%s", d["type"], d["mode"], typ, mode)
					}
					if got := str(d["redacted"]); got != redacted(key) {
						t.Errorf("redacted: got %q, want %q", got, redacted(key))
					}
					if strings.Contains(str(d["redacted"]), key[12:len(key)-4]) {
						t.Errorf("redacted form %q shows the middle of the key", d["redacted"])
					}
					if d["last_used_at"] != nil || d["expires_at"] != nil {
						t.Errorf("new key: last_used_at %v, expires_at %v, want null and null", d["last_used_at"], d["expires_at"])
					}
					// The new key works, and is listed without its secret.
					s.Do(t, "GET", s.Path("/articles"), key, nil).Want(t, 200)
					listed, ok := s.keyList(t, sk)[str(d["id"])]
					if !ok {
						t.Fatalf("new key %v is not listed", d["id"])
					}
					if str(listed["redacted"]) != redacted(key) {
						t.Errorf("listed redacted: got %v, want %q", listed["redacted"], redacted(key))
					}
					if strings.Contains(string(s.Do(t, "GET", s.Path("/api-keys"), sk, nil).Raw), key) {
						t.Errorf("the list response contains the full key")
					}
				})
			}
		}

		t.Run("invalid type", func(t *testing.T) {
			before := len(s.keyList(t, s.SKLive))
			for _, body := range []string{`{"type":"admin"}`, `{"type":""}`, `{}`, `{"type":5}`, `{"type":"Secret"}`} {
				s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, body).WantError(t, 400, "").WantField(t, "type")
			}
			if after := len(s.keyList(t, s.SKLive)); after != before {
				t.Errorf("keys after invalid creates: got %d, want %d", after, before)
			}
		})
	})
}

// TestAPIKeysRoll: rolling replaces a key, at once or after a grace period.
func TestAPIKeysRoll(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		newKey := func(t *testing.T, typ string) (id, key string) {
			d := s.Do(t, "POST", s.Path("/api-keys"), s.SKTest, map[string]any{"type": typ}).Want(t, 201).Data(t)
			key = str(d["key"])
			s.Do(t, "GET", s.Path("/articles"), key, nil).Want(t, 200) // now cached
			return str(d["id"]), key
		}

		t.Run("no body: old key stops at once", func(t *testing.T) {
			for _, typ := range []string{"secret", "publishable"} {
				id, old := newKey(t, typ)
				r := s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, nil, "Content-Type", "").Want(t, 201)
				d := r.Data(t)
				nk := str(d["key"])
				if !strings.HasPrefix(nk, old[:8]) || nk == old {
					t.Fatalf("rolled key: got %q, want a new key with prefix %s", nk, old[:8])
				}
				if str(d["id"]) == id {
					t.Errorf("rolled key has the old id %s", id)
				}
				if str(d["redacted"]) != redacted(nk) {
					t.Errorf("redacted: got %v, want %q", d["redacted"], redacted(nk))
				}
				s.Do(t, "GET", s.Path("/articles"), nk, nil).Want(t, 200)
				s.Clock.Advance(apikey.CacheTTL)
				s.Do(t, "GET", s.Path("/articles"), old, nil).WantError(t, 401, protocol.MsgInvalidAPIKey)
				s.Do(t, "GET", s.Path("/articles"), nk, nil).Want(t, 200)
				list := s.keyList(t, s.SKTest)
				if _, ok := list[id]; ok {
					t.Errorf("the rolled-away key %s is still listed", id)
				}
				if _, ok := list[str(d["id"])]; !ok {
					t.Errorf("the new key %v is not listed", d["id"])
				}
				// It cannot be rolled twice.
				s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, nil).WantError(t, 404, "")
			}
		})

		t.Run("empty JSON body", func(t *testing.T) {
			id, old := newKey(t, "secret")
			s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, `{}`).Want(t, 201)
			s.Clock.Advance(apikey.CacheTTL)
			s.Do(t, "GET", s.Path("/articles"), old, nil).WantError(t, 401, protocol.MsgInvalidAPIKey)
		})

		t.Run("grace period", func(t *testing.T) {
			id, old := newKey(t, "secret")
			start := s.Clock.Now()
			d := s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, map[string]any{"expires_in": 60}).Want(t, 201).Data(t)
			nk := str(d["key"])
			listed, ok := s.keyList(t, s.SKTest)[id]
			if !ok {
				t.Fatalf("the old key is not listed during its grace period")
			}
			exp := parseTime(t, listed["expires_at"])
			if want := start.Add(60 * time.Second); exp.Before(want.Add(-2*time.Second)) || exp.After(want.Add(2*time.Second)) {
				t.Errorf("expires_at: got %v, want about %v", exp, want)
			}
			s.Do(t, "GET", s.Path("/articles"), old, nil).Want(t, 200)
			s.Do(t, "GET", s.Path("/articles"), nk, nil).Want(t, 200)
			s.Clock.Advance(55 * time.Second)
			s.Do(t, "GET", s.Path("/articles"), old, nil).Want(t, 200)
			s.Clock.Advance(6 * time.Second)
			s.Do(t, "GET", s.Path("/articles"), old, nil).WantError(t, 401, protocol.MsgInvalidAPIKey)
			s.Do(t, "GET", s.Path("/articles"), nk, nil).Want(t, 200)
			if _, ok := s.keyList(t, s.SKTest)[id]; ok {
				t.Errorf("the expired key is still listed")
			}
		})

		t.Run("expires_in bounds", func(t *testing.T) {
			id, old := newKey(t, "secret")
			before := len(s.keyList(t, s.SKTest))
			for _, body := range []string{`{"expires_in":604801}`, `{"expires_in":-1}`, `{"expires_in":99999999999}`} {
				s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, body).WantError(t, 400, "").WantField(t, "expires_in")
			}
			s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, `{"expires_in":"60"}`).WantError(t, 400, "").WantField(t, "expires_in")
			s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, `{"expires":60}`).WantError(t, 400, "")
			if after := len(s.keyList(t, s.SKTest)); after != before {
				t.Errorf("keys after refused rolls: got %d, want %d", after, before)
			}
			s.Clock.Advance(apikey.CacheTTL)
			s.Do(t, "GET", s.Path("/articles"), old, nil).Want(t, 200)
			// The maximum is allowed.
			s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, `{"expires_in":604800}`).Want(t, 201)
			s.Do(t, "GET", s.Path("/articles"), old, nil).Want(t, 200)
		})

		t.Run("unknown id", func(t *testing.T) {
			for _, id := range []string{"00000000-0000-7000-8000-000000000000", "not-a-uuid"} {
				t.Run(id+" roll", func(t *testing.T) {
					s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKTest, nil).WantError(t, 404, "")
				})
				t.Run(id+" revoke", func(t *testing.T) {
					s.Do(t, "DELETE", s.Path("/api-keys/"+id), s.SKTest, nil).WantError(t, 404, "")
				})
				t.Run(id+" usage", func(t *testing.T) {
					s.Do(t, "GET", s.Path("/api-keys/"+id+"/usage"), s.SKTest, nil).WantError(t, 404, "")
				})
			}
		})
	})
}

// TestAPIKeysRevoke: a revoked key stops working within a second.
func TestAPIKeysRevoke(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		for _, typ := range []string{"secret", "publishable"} {
			t.Run(typ, func(t *testing.T) {
				d := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": typ}).Want(t, 201).Data(t)
				id, key := str(d["id"]), str(d["key"])
				s.Do(t, "GET", s.Path("/articles"), key, nil).Want(t, 200)
				r := s.Do(t, "DELETE", s.Path("/api-keys/"+id), s.SKLive, nil).Want(t, 200)
				rd := r.Data(t)
				if str(rd["id"]) != id || rd["revoked"] != true {
					t.Errorf("revoke: got %v, want id %s and revoked true", rd, id)
				}
				if _, ok := rd["key"]; ok {
					t.Errorf("revoke response shows the full key")
				}
				s.Clock.Advance(time.Second)
				s.Do(t, "GET", s.Path("/articles"), key, nil).WantError(t, 401, protocol.MsgInvalidAPIKey)
				if _, ok := s.keyList(t, s.SKLive)[id]; ok {
					t.Errorf("revoked key %s is still listed", id)
				}
				s.Do(t, "DELETE", s.Path("/api-keys/"+id), s.SKLive, nil).WantError(t, 404, "")
				s.Do(t, "POST", s.Path("/api-keys/"+id+"/roll"), s.SKLive, nil).WantError(t, 404, "")
			})
		}
		t.Run("within one second of real time", func(t *testing.T) {
			d := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
			key := str(d["key"])
			s.Do(t, "GET", s.Path("/articles"), key, nil).Want(t, 200)
			s.Do(t, "DELETE", s.Path("/api-keys/"+str(d["id"])), s.SKLive, nil).Want(t, 200)
			time.Sleep(time.Second)
			s.Do(t, "GET", s.Path("/articles"), key, nil).WantError(t, 401, protocol.MsgInvalidAPIKey)
		})
		t.Run("a key can revoke itself", func(t *testing.T) {
			d := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
			key := str(d["key"])
			s.Do(t, "DELETE", s.Path("/api-keys/"+str(d["id"])), key, nil).Want(t, 200)
			s.Clock.Advance(time.Second)
			s.Do(t, "GET", s.Path("/articles"), key, nil).WantError(t, 401, protocol.MsgInvalidAPIKey)
		})
	})
}

// TestAPIKeyUsage: the usage endpoint counts requests, errors and 429s by
// hour over the last 24 hours.
func TestAPIKeyUsage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		const limit = 6
		s := newTestServer(t, dbURL, apptest.Limits(limit, 0, 0, 0))
		d := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
		id, key := str(d["id"]), str(d["key"])

		// Usage of a key that made no request.
		u := s.Do(t, "GET", s.Path("/api-keys/"+id+"/usage"), s.SKLive, nil).Want(t, 200).Data(t)
		if u["last_used_at"] != nil {
			t.Errorf("last_used_at before any request: got %v, want null", u["last_used_at"])
		}

		// 4 successes, 2 errors, then 3 requests over the limit.
		for range 4 {
			s.Do(t, "GET", s.Path("/tickets"), key, nil).Want(t, 200)
		}
		s.Do(t, "GET", s.Path("/tickets/00000000-0000-7000-8000-000000000000"), key, nil).WantError(t, 404, "")
		s.Do(t, "POST", s.Path("/tickets"), key, `{"subject":`).WantError(t, 400, "")
		for range 3 {
			s.Do(t, "GET", s.Path("/tickets"), key, nil).WantError(t, 429, protocol.MsgRateLimited)
		}
		sent := s.Clock.Now()

		r := s.Do(t, "GET", s.Path("/api-keys/"+id+"/usage"), s.SKLive, nil).Want(t, 200)
		u = r.Data(t)
		if str(u["key_id"]) != id {
			t.Errorf("key_id: got %v, want %s", u["key_id"], id)
		}
		hours, _ := u["hours"].([]any)
		if len(hours) != 24 {
			t.Fatalf("hours: got %d entries, want 24 (%s)", len(hours), r)
		}
		var sum [3]float64
		var prev time.Time
		for i, h := range hours {
			m := h.(map[string]any)
			at := parseTime(t, m["hour"])
			if at.Truncate(time.Hour) != at {
				t.Errorf("hours[%d].hour %v is not on the hour", i, at)
			}
			if i > 0 && at.Sub(prev) != time.Hour {
				t.Errorf("hours[%d].hour %v does not follow %v by one hour", i, at, prev)
			}
			prev = at
			for j, f := range []string{"requests", "errors", "rate_limited"} {
				v, ok := m[f].(float64)
				if !ok {
					t.Fatalf("hours[%d].%s: got %v, want a number", i, f, m[f])
				}
				sum[j] += v
			}
		}
		if want := sent.UTC().Truncate(time.Hour); !prev.Equal(want) {
			t.Errorf("last hour: got %v, want the current hour %v", prev, want)
		}
		if want := [3]float64{9, 5, 3}; sum != want {
			t.Errorf("requests/errors/rate_limited summed over hours: got %v, want %v", sum, want)
		}
		tot, _ := u["totals"].(map[string]any)
		if got := fmt.Sprint(tot["requests"], tot["errors"], tot["rate_limited"]); got != "9 5 3" {
			t.Errorf("totals: got %s, want 9 5 3", got)
		}
		last := parseTime(t, u["last_used_at"])
		if last.After(sent.Add(time.Second)) || last.Before(sent.Add(-30*time.Second)) {
			t.Errorf("last_used_at: got %v, want about %v", last, sent)
		}
		listed := s.keyList(t, s.SKLive)[id]
		if listed == nil || listed["last_used_at"] == nil {
			t.Errorf("listed key: last_used_at got %v, want set", listed)
		}

		// A day later the traffic has left the window.
		s.Clock.Advance(25 * time.Hour)
		u = s.Do(t, "GET", s.Path("/api-keys/"+id+"/usage"), s.SKLive, nil).Want(t, 200).Data(t)
		if hours, _ := u["hours"].([]any); len(hours) != 24 {
			t.Errorf("hours a day later: got %d entries, want 24", len(hours))
		}
		tot, _ = u["totals"].(map[string]any)
		if got := fmt.Sprint(tot["requests"], tot["errors"], tot["rate_limited"]); got != "0 0 0" {
			t.Errorf("totals a day later: got %s, want 0 0 0", got)
		}
	})
}

// TestAPIKeyTimestampsRoundTrip: a key's created_at in the create response
// is the one the list shows later.
func TestAPIKeyTimestampsRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		d := s.Do(t, "POST", s.Path("/api-keys"), s.SKLive, map[string]any{"type": "secret"}).Want(t, 201).Data(t)
		listed := s.keyList(t, s.SKLive)[str(d["id"])]
		if listed == nil {
			t.Fatalf("key not listed")
		}
		if got, want := str(listed["created_at"]), str(d["created_at"]); got != want {
			t.Errorf("created_at: list gives %s, create gave %s", got, want)
		}
	})
}
