package dashboard

import (
	"strings"
	"testing"
)

// TestRenderMarkdown: the preview's Markdown, and nothing from the source
// that could run or show as markup.
func TestRenderMarkdown(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"# Title", "<h1>Title</h1>"},
		{"Some **bold** and *em* and `x < y`", "<p>Some <strong>bold</strong> and <em>em</em> and <code>x &lt; y</code></p>"},
		{"- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"},
		{"1. first\n2. second", "<ol>\n<li>first</li>\n<li>second</li>\n</ol>"},
		{"[docs](https://example.com/a?b=1&c=2)", `<p><a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer">docs</a></p>`},
		{"[bad](javascript:alert(1))", "<p>[bad](javascript:alert(1))</p>"},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{`<img src=x onerror="alert(1)">`, "<p>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</p>"},
		{"```\n<b>code</b>\n```", "<pre><code>&lt;b&gt;code&lt;/b&gt;</code></pre>"},
		{"> quoted", "<blockquote><p>quoted</p></blockquote>"},
		{"[x](https://e.com/\"onmouseover=\"alert(1))", `<p><a href="https://e.com/&#34;onmouseover=&#34;alert(1" rel="noopener noreferrer">x</a>)</p>`},
	} {
		if got := strings.TrimSpace(string(renderMarkdown(c.in))); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}
