package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// rest calls the team's REST API with its test secret key and returns the
// envelope's data; a status other than want fails tb.
func (e *env) rest(tb testing.TB, method, path string, body any, want int) any {
	tb.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, fmt.Sprintf("%s/api/v1/teams/%s%s", e.API, e.TeamID, path), rd)
	req.Header.Set("Authorization", "Bearer "+e.SKTest)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var env struct {
		Data  any    `json:"data"`
		Error string `json:"error"`
	}
	json.NewDecoder(res.Body).Decode(&env)
	if res.StatusCode != want {
		tb.Fatalf("%s %s: status %d (%s), want %d", method, path, res.StatusCode, env.Error, want)
	}
	return env.Data
}

// helpArticles are the test team's published Library articles.
var helpArticles = []struct{ Title, Body string }{
	{"Reset your password", "Open **Account → Security** and choose [Reset password](https://shop.example/reset).\n\nWe email you a link that works for one hour. No email? Check your spam folder, or ask us in the chat."},
	{"Shipping times", "Orders placed before 2 pm ship the same day.\n\nStandard delivery takes 2–4 working days; express arrives the next working day."},
	{"Returns and refunds", "You can return any item within 30 days.\n\nStart a return from Orders → Return an item; the refund reaches your card within 5 days of our receiving it."},
}

// seedHelp publishes helpArticles and sets the widget's header (the team is
// online and usually replies in minutes); it returns the articles' ids by
// title.
func (e *env) seedHelp(tb testing.TB) map[string]string {
	tb.Helper()
	ids := map[string]string{}
	for _, a := range helpArticles {
		d, _ := e.rest(tb, "POST", "/articles", map[string]any{"title": a.Title, "body": a.Body, "status": "published"}, 201).(map[string]any)
		ids[a.Title], _ = d["id"].(string)
	}
	e.rest(tb, "PATCH", "", map[string]any{"widget": map[string]any{"availability": "online", "reply_time": "minutes"}}, 200)
	return ids
}
