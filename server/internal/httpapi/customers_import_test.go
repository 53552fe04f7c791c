package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cstar-chat/cstar/server/internal/chat"
	"github.com/cstar-chat/cstar/server/internal/scope"
	"github.com/cstar-chat/cstar/server/internal/testdb"
)

type importedHash struct{ scheme, password, hash string }

// importedHashes reads testdata/imported_hashes.txt: hashes made by other
// implementations (the argon2 command-line tool, PHP, Go's bcrypt).
func importedHashes(t *testing.T) []importedHash {
	t.Helper()
	f, err := os.Open("testdata/imported_hashes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []importedHash
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.Split(line, "\t")
		if len(p) != 3 {
			t.Fatalf("bad fixture line %q", line)
		}
		out = append(out, importedHash{p[0], p[1], p[2]})
	}
	return out
}

// storedHash reads a customer's password hash from the database.
func (s *testServer) storedHash(t *testing.T, id string) string {
	t.Helper()
	var h string
	if err := s.App.DB().Bun().NewRaw("SELECT password_hash FROM customers WHERE id = ?", id).Scan(context.Background(), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestImportedPasswords: customers created or imported with the hash of
// their old password (argon2id by the argon2 CLI at other parameters,
// bcrypt by PHP and Go) sign in to the widget with that password; the first
// sign-in replaces the hash with cStar's argon2id, and the next one works
// with the new hash.
func TestImportedPasswords(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		for i, h := range importedHashes(t) {
			t.Run(fmt.Sprintf("%d %s", i, h.scheme), func(t *testing.T) {
				email := fmt.Sprintf("old-%d@example.com", i)
				var id string
				if i%2 == 0 {
					id = s.create(t, s.SKTest, "/customers", map[string]any{"email": email, "name": "Old", "password_hash": h.hash})
				} else {
					r := s.Do(t, "POST", s.Path("/customers/import"), s.SKTest, map[string]any{"customers": []any{
						map[string]any{"email": email, "external_id": fmt.Sprint("u-", i), "password_hash": h.hash}}}).Want(t, 200).Data(t)
					id = str(r["customers"].([]any)[0].(map[string]any)["customer"].(map[string]any)["id"])
				}
				ex := s.Do(t, "GET", s.Path("/customers/"+id+"/export"), s.SKTest, nil).Want(t, 200).Data(t)
				if pw := ex["password"].(map[string]any); pw["set"] != true || pw["scheme"] != h.scheme {
					t.Errorf("export before sign-in: password %v, want set with %s", pw, h.scheme)
				}
				login := func(pw string) *resp {
					return s.Do(t, "POST", "/api/widget/v1/login", s.PKTest, map[string]any{"email": email, "password": pw})
				}
				login(h.password+"x").WantError(t, 401, "Invalid email or password")
				if s.storedHash(t, id) != h.hash {
					t.Fatal("a wrong password changed the hash")
				}
				d := login(h.password).Want(t, 200).Data(t)
				if c := d["customer"].(map[string]any); c["id"] != id {
					t.Errorf("signed in as %v, want %s", c["id"], id)
				}
				after := s.storedHash(t, id)
				if !strings.HasPrefix(after, "$argon2id$v=19$m=1024,t=1,p=1$") {
					t.Errorf("hash after the first sign-in: got %q, want cStar's argon2id parameters", after)
				}
				login(h.password).Want(t, 200)
				if again := s.storedHash(t, id); again != after {
					t.Errorf("the second sign-in rehashed again: %q → %q", after, again)
				}
			})
		}
	})
}

// TestCustomerPasswordHashRules: plain passwords are refused; a hash must
// be argon2id (PHC) or bcrypt within cost bounds, with an email to sign in
// by; only create and import set it.
func TestCustomerPasswordHashRules(t *testing.T) {
	s := newTestServer(t, testdb.URL(t, "sqlite"))
	big, _ := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	costly := "$2a$15" + string(big)[6:]
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"plain password", map[string]any{"email": "a@example.com", "password": "hunter22 hunter22"}, "password"},
		{"md5", map[string]any{"email": "a@example.com", "password_hash": "5f4dcc3b5aa765d61d8327deb882cf99"}, "password_hash"},
		{"argon2i", map[string]any{"email": "a@example.com", "password_hash": "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}, "password_hash"},
		{"argon2id v16", map[string]any{"email": "a@example.com", "password_hash": "$argon2id$v=16$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}, "password_hash"},
		{"argon2id 1 GiB", map[string]any{"email": "a@example.com", "password_hash": "$argon2id$v=19$m=1048576,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}, "password_hash"},
		{"argon2id padded salt", map[string]any{"email": "a@example.com", "password_hash": "$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA"}, "password_hash"},
		{"bcrypt cost 15", map[string]any{"email": "a@example.com", "password_hash": costly}, "password_hash"},
		{"bcrypt truncated", map[string]any{"email": "a@example.com", "password_hash": string(big)[:40]}, "password_hash"},
		{"no email", map[string]any{"external_id": "u1", "password_hash": string(big)}, "email"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.Do(t, "POST", s.Path("/customers"), s.SKTest, c.body).WantError(t, 400, "").WantField(t, c.field)
		})
	}
	id := s.create(t, s.SKTest, "/customers", map[string]any{"email": "a@example.com", "password_hash": string(big)})
	s.Do(t, "PATCH", s.Path("/customers/"+id), s.SKTest, map[string]any{"password_hash": string(big)}).
		WantError(t, 400, "").WantField(t, "password_hash")
	s.Do(t, "PATCH", s.Path("/customers/"+id), s.SKTest, map[string]any{"password": "x"}).WantError(t, 400, "").WantField(t, "password")
	// A widget sign-up holds the email as its sign-in name: no second
	// password account with it.
	signup(t, s, s.PKTest, "ann@example.com", "Ann", "correct horse battery")
	s.Do(t, "POST", s.Path("/customers"), s.SKTest, map[string]any{"email": "ann@example.com", "password_hash": string(big)}).
		WantError(t, 409, "A customer with this email already exists")
}

// TestCustomerImport: an import creates or updates up to 1,000 customers,
// matched by external id, else email; running it again changes nothing; a
// bad row fails the whole batch with an error that names it.
func TestCustomerImport(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		hash, _ := bcrypt.GenerateFromPassword([]byte("old password"), 4)
		imp := func(rows ...map[string]any) *resp {
			list := make([]any, len(rows))
			for i, r := range rows {
				list[i] = r
			}
			return s.Do(t, "POST", s.Path("/customers/import"), s.SKTest, map[string]any{"customers": list})
		}
		statuses := func(r *resp) string {
			var out []string
			for _, c := range r.Data(t)["customers"].([]any) {
				out = append(out, str(c.(map[string]any)["status"]))
			}
			return strings.Join(out, " ")
		}
		existing := s.create(t, s.SKTest, "/customers", map[string]any{"email": "bo@example.com", "name": "Bo"})
		batch := []map[string]any{
			{"email": "ann@example.com", "name": "Ann", "external_id": "u1", "password_hash": string(hash), "metadata": map[string]any{"plan": "pro"}},
			{"external_id": "u2", "name": "No email"},
			{"email": "BO@example.com", "external_id": "u3"},
		}
		r := imp(batch...).Want(t, 200)
		if got := statuses(r); got != "created created updated" {
			t.Errorf("first import: got %s", got)
		}
		if d := r.Data(t); num(d["created"]) != 2 || num(d["updated"]) != 1 || num(d["unchanged"]) != 0 {
			t.Errorf("counts: got %v", d)
		}
		bo := r.Data(t)["customers"].([]any)[2].(map[string]any)["customer"].(map[string]any)
		if bo["id"] != existing || bo["external_id"] != "u3" || bo["name"] != "Bo" {
			t.Errorf("Bo matched by email: got %v, want %s with u3 and his name kept", bo, existing)
		}
		if got := statuses(imp(batch...).Want(t, 200)); got != "unchanged unchanged unchanged" {
			t.Errorf("same import again: got %s", got)
		}
		batch[1]["name"] = "Still no email"
		if got := statuses(imp(batch...).Want(t, 200)); got != "unchanged updated unchanged" {
			t.Errorf("one name changed: got %s", got)
		}
		if n := s.count(t, s.Path("/customers"), s.SKTest); n != 3 {
			t.Errorf("customers: got %d, want 3", n)
		}
		// Cy signs up in the widget: her email is a sign-in name nobody
		// proved, which no import takes over.
		signup(t, s, s.PKTest, "cy@example.com", "Cy", "correct horse battery")

		// All or nothing: a bad row names itself and nothing is stored.
		for _, c := range []struct {
			name   string
			rows   []map[string]any
			status int
			field  string
		}{
			{"bad hash", []map[string]any{{"email": "x1@example.com"}, {"email": "x2@example.com", "password_hash": "$2a$nope"}}, 400, "customers[1].password_hash"},
			{"plain password", []map[string]any{{"email": "x1@example.com"}, {"email": "x2@example.com", "password": "hunter2"}}, 400, "customers[1].password"},
			{"bad email", []map[string]any{{"email": "x1@example.com"}, {"email": "x2@example.com"}, {"email": "nope"}}, 400, "customers[2].email"},
			{"unknown field", []map[string]any{{"email": "x1@example.com", "plan": "pro"}}, 400, "customers[0].plan"},
			{"neither email nor external id", []map[string]any{{"email": "x1@example.com"}, {"name": "x"}}, 400, "customers[1].email"},
			{"email twice", []map[string]any{{"email": "x1@example.com"}, {"email": "X1@example.com"}}, 400, "customers[1].email"},
			{"external id twice", []map[string]any{{"external_id": "e1"}, {"external_id": "e1"}}, 400, "customers[1].external_id"},
			{"two customers", []map[string]any{{"email": "x1@example.com"}, {"email": "ann@example.com", "external_id": "u2"}}, 409, "customers[1]"},
			{"a widget sign-up's email", []map[string]any{{"email": "x1@example.com"}, {"email": "cy@example.com", "password_hash": string(hash)}}, 409, "customers[1]"},
		} {
			t.Run(c.name, func(t *testing.T) {
				imp(c.rows...).WantError(t, c.status, "").WantField(t, c.field)
				if n := s.count(t, s.Path("/customers"), s.SKTest); n != 4 {
					t.Errorf("customers after a failed import: got %d, want 4", n)
				}
			})
		}
		s.Do(t, "POST", s.Path("/customers/import"), s.SKTest, map[string]any{"customers": []any{}}).WantError(t, 400, "").WantField(t, "customers")
		many := make([]map[string]any, 1001)
		for i := range many {
			many[i] = map[string]any{"external_id": fmt.Sprint("bulk-", i)}
		}
		imp(many...).WantError(t, 400, "").WantField(t, "customers")
		r = imp(many[:1000]...).Want(t, 200)
		if d := r.Data(t); num(d["created"]) != 1000 {
			t.Errorf("1,000 rows: got %v created", d["created"])
		}
		// The imported password signs in.
		s.Do(t, "POST", "/api/widget/v1/login", s.PKTest, map[string]any{"email": "ann@example.com", "password": "old password"}).Want(t, 200)
	})
}

// TestCustomerExport: a customer's export holds their profile, whether a
// password is set, their sessions without tokens, and their tickets with
// every message and note (marked internal); nothing of anyone else.
func TestCustomerExport(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dbURL string) {
		parallel(t)
		s := newTestServer(t, dbURL)
		tok, id := customer(t, s, s.PKTest, "Ann")
		w, _, _ := s.WidgetReady(t, s.PKTest, tok, nil)
		tid := opened(t, w, "Hello")
		s.post(t, s.SKTest, tid, "On its way")
		// An agent's internal note about the customer is data cStar holds
		// about them: it is in the export, marked internal.
		if _, err := s.App.Chat().Post(context.Background(), scope.Scope{TeamID: s.Team.ID, Mode: scope.Test}, tid,
			chat.Author{Name: "Olive"}, "n1", "Internal: she asked twice", true); err != nil {
			t.Fatal(err)
		}
		other := s.create(t, s.SKTest, "/tickets", map[string]any{"subject": "By email", "customer_id": id})
		_, bo := customer(t, s, s.PKTest, "Bo")
		s.create(t, s.SKTest, "/tickets", map[string]any{"subject": "Bo's", "customer_id": bo})

		r := s.Do(t, "GET", s.Path("/customers/"+id+"/export"), s.SKTest, nil).Want(t, 200)
		d := r.Data(t)
		if c := d["customer"].(map[string]any); c["id"] != id || c["email"] != "ann@example.com" || c["email_verified"] != false {
			t.Errorf("customer: got %v", c)
		}
		if pw := d["password"].(map[string]any); pw["set"] != true || pw["scheme"] != "argon2id" {
			t.Errorf("password: got %v", pw)
		}
		if ses := d["sessions"].([]any); len(ses) != 1 || ses[0].(map[string]any)["id"] == nil {
			t.Errorf("sessions: got %v, want the one session", ses)
		}
		raw := string(r.Raw)
		for _, secret := range []string{tok, "token", "password_hash", "$argon2id"} {
			if strings.Contains(raw, secret) {
				t.Errorf("the export holds %q", secret)
			}
		}
		tickets := d["tickets"].([]any)
		if len(tickets) != 2 {
			t.Fatalf("tickets: got %d, want Ann's 2", len(tickets))
		}
		byID := map[string]map[string]any{}
		for _, x := range tickets {
			byID[str(x.(map[string]any)["id"])] = x.(map[string]any)
		}
		ms := byID[tid]["messages"].([]any)
		if len(ms) != 3 || ms[0].(map[string]any)["body"] != "Hello" || ms[1].(map[string]any)["body"] != "On its way" ||
			ms[2].(map[string]any)["body"] != "Internal: she asked twice" || ms[2].(map[string]any)["internal"] != true {
			t.Errorf("chat messages: got %v, want the two messages and the note marked internal", ms)
		}
		if ms := byID[other]["messages"].([]any); len(ms) != 0 {
			t.Errorf("email ticket: got %d messages, want 0", len(ms))
		}
		if strings.Contains(raw, "Bo's") {
			t.Error("the export holds another customer's ticket")
		}
		s.Do(t, "GET", s.Path("/customers/"+id+"/export"), s.SKLive, nil).WantError(t, 404, "Customer not found")
		s.Do(t, "GET", s.Path("/customers/"+id+"/export"), s.PKTest, nil).WantError(t, 403, "")
	})
}
