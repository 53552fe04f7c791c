package mail

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// content is one email's words, laid out by the one text and the one HTML
// template below: every kind of mail looks alike.
type content struct {
	Lang     string
	Subject  string
	Greeting string
	Paras    []string
	Quotes   []quote
	Button   *link
	After    []string
	Footer   []string
	// Unsubscribe is the one-click unsubscribe link, also in the headers.
	Unsubscribe *link
}

type quote struct {
	Who  string
	When string
	Body string
}

type link struct {
	Label string
	URL   string
}

func quoteTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

var textTmpl = texttemplate.Must(texttemplate.New("text").Funcs(texttemplate.FuncMap{
	"indent": func(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") },
}).Parse(`{{with .Greeting}}{{.}}

{{end}}{{range .Paras}}{{.}}

{{end}}{{range .Quotes}}{{.Who}}, {{.When}}:
{{indent .Body}}

{{end}}{{with .Button}}{{.Label}}:
{{.URL}}

{{end}}{{range .After}}{{.}}

{{end}}--
{{range .Footer}}{{.}}
{{end}}{{with .Unsubscribe}}{{.Label}}: {{.URL}}
{{end}}`))

// htmlTmpl is simple HTML with inline styles, as mail clients want it, and
// nothing that loads from elsewhere: no images, no fonts, no stylesheets.
var htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:0;background:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7;"><tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1d2430;">
<tr><td style="padding:28px 28px 8px 28px;">
{{with .Greeting}}<p style="margin:0 0 16px 0;">{{.}}</p>{{end}}
{{range .Paras}}<p style="margin:0 0 16px 0;">{{.}}</p>{{end}}
{{range .Quotes}}<div style="margin:0 0 16px 0;padding:12px 16px;border-left:4px solid #1f5fd6;background:#f1f5fd;">
<div style="font-size:13px;color:#4a5568;margin:0 0 4px 0;">{{.Who}}, {{.When}}</div>
<div style="white-space:pre-wrap;">{{.Body}}</div></div>{{end}}
{{with .Button}}<p style="margin:24px 0;"><a href="{{.URL}}" style="display:inline-block;padding:12px 20px;background:#1f5fd6;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">{{.Label}}</a></p>
<p style="margin:0 0 16px 0;font-size:13px;color:#4a5568;word-break:break-all;">{{.URL}}</p>{{end}}
{{range .After}}<p style="margin:0 0 16px 0;font-size:14px;color:#4a5568;">{{.}}</p>{{end}}
</td></tr>
<tr><td style="padding:8px 28px 28px 28px;border-top:1px solid #e2e6ee;font-size:13px;color:#4a5568;">
{{range .Footer}}<p style="margin:8px 0 0 0;">{{.}}</p>{{end}}
{{with .Unsubscribe}}<p style="margin:8px 0 0 0;"><a href="{{.URL}}" style="color:#4a5568;">{{.Label}}</a></p>{{end}}
</td></tr></table>
</td></tr></table>
</body>
</html>
`))

// render lays c out as text and HTML.
func render(c content) (text, html string, err error) {
	var tb, hb bytes.Buffer
	if err := textTmpl.Execute(&tb, c); err != nil {
		return "", "", err
	}
	if err := htmlTmpl.Execute(&hb, c); err != nil {
		return "", "", err
	}
	return tb.String(), hb.String(), nil
}
