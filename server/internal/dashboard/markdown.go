package dashboard

import (
	"html"
	"html/template"
	"regexp"
	"strings"
)

// renderMarkdown renders the common part of Markdown that help articles use
// (headings, paragraphs, lists, block quotes, code blocks, **bold**,
// *italic*, `code` and [links](https://…)) as HTML for the editor's
// preview. Everything is escaped first and only these constructs become
// tags, so no markup in an article runs or shows; links are http(s) or
// mailto only. It is a preview: a site renders its articles with its own
// Markdown renderer.
func renderMarkdown(src string) template.HTML {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var b strings.Builder
	var para []string
	list := ""
	flushPara := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
	}
	closeList := func() {
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flushPara()
			closeList()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case trim == "":
			flushPara()
			closeList()
		case heading.MatchString(trim):
			flushPara()
			closeList()
			m := heading.FindStringSubmatch(trim)
			n := string(rune('0' + len(m[1])))
			b.WriteString("<h" + n + ">" + inline(m[2]) + "</h" + n + ">\n")
		case bullet.MatchString(line) || ordered.MatchString(line):
			flushPara()
			kind, item := "ul", ""
			if m := bullet.FindStringSubmatch(line); m != nil {
				item = m[1]
			} else {
				kind, item = "ol", ordered.FindStringSubmatch(line)[1]
			}
			if list != kind {
				closeList()
				b.WriteString("<" + kind + ">\n")
				list = kind
			}
			b.WriteString("<li>" + inline(item) + "</li>\n")
		case strings.HasPrefix(trim, ">"):
			flushPara()
			closeList()
			b.WriteString("<blockquote><p>" + inline(strings.TrimSpace(strings.TrimPrefix(trim, ">"))) + "</p></blockquote>\n")
		default:
			closeList()
			para = append(para, trim)
		}
	}
	flushPara()
	closeList()
	return template.HTML(b.String()) // every piece of the source was escaped
}

var (
	heading = regexp.MustCompile(`^(#{1,6})\s+(.*)$`)
	bullet  = regexp.MustCompile(`^\s*[-*+]\s+(.*)$`)
	ordered = regexp.MustCompile(`^\s*\d+[.)]\s+(.*)$`)
	codeRE  = regexp.MustCompile("`([^`]+)`")
	boldRE  = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	emRE    = regexp.MustCompile(`\*([^*]+)\*`)
	linkRE  = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
)

// inline renders a line's emphasis, code and links. The text is escaped
// first; a link's address must be http(s) or mailto, or it stays text.
func inline(s string) string {
	s = html.EscapeString(s)
	var codes []string
	s = codeRE.ReplaceAllStringFunc(s, func(m string) string {
		codes = append(codes, "<code>"+codeRE.FindStringSubmatch(m)[1]+"</code>")
		return "\x00" + string(rune('A'+len(codes)-1)) + "\x00"
	})
	s = linkRE.ReplaceAllStringFunc(s, func(m string) string {
		p := linkRE.FindStringSubmatch(m)
		href := html.UnescapeString(p[2])
		if !(strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "mailto:")) {
			return m
		}
		return `<a href="` + html.EscapeString(href) + `" rel="noopener noreferrer">` + p[1] + `</a>`
	})
	s = boldRE.ReplaceAllString(s, "<strong>$1</strong>")
	s = emRE.ReplaceAllString(s, "<em>$1</em>")
	for i, c := range codes {
		s = strings.Replace(s, "\x00"+string(rune('A'+i))+"\x00", c, 1)
	}
	return s
}
