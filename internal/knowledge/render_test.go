package knowledge_test

import (
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/knowledge"
)

func TestRenderIsSafe(t *testing.T) {
	for _, c := range []struct {
		name, md      string
		want, notWant []string
	}{
		{"markdown", "# Title\n\nSome **bold** and a [link](https://example.com).\n\n- a\n- b", []string{"<h1", "<strong>bold</strong>", `href="https://example.com"`, `rel="nofollow`, "<li>a</li>"}, nil},
		{"script", "Hello <script>alert(1)</script> there", []string{"Hello"}, []string{"<script", "alert(1)</script>"}},
		{"html block", "<div onclick=\"x()\">hi</div>\n\n<iframe src=\"https://evil.example\"></iframe>", nil, []string{"onclick", "<iframe", "<div"}},
		{"javascript link", "[click](javascript:alert(1))", nil, []string{"javascript:"}},
		{"image onerror", "<img src=x onerror=alert(1)>", nil, []string{"onerror"}},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", []string{"<table>", "<td>1</td>"}, nil},
		{"code", "`<b>x</b>`", []string{"&lt;b&gt;"}, []string{"<b>x</b>"}},
	} {
		got := string(knowledge.Render(c.md))
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: %q has %q", c.name, got, w)
			}
		}
	}
}
