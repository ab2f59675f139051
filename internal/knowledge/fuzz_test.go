package knowledge_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/steward-itaas/steward/internal/fuzztest"
	"github.com/steward-itaas/steward/internal/knowledge"
)

// unsafeIn returns what must never come out of Render, whatever the
// Markdown: script, style, frame, object and form elements, event
// handler attributes and script or data URLs in attributes ("" when
// there is none). It reads the HTML as a browser's tokenizer does.
func unsafeIn(out string) string {
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "style", "iframe", "frame", "object", "embed", "form", "svg", "math", "base", "meta", "link":
				return "<" + tok.Data + ">"
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(strings.Map(func(r rune) rune {
					if r <= ' ' {
						return -1
					}
					return r
				}, a.Val))
				if strings.HasPrefix(a.Key, "on") || a.Key == "style" ||
					((a.Key == "href" || a.Key == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "vbscript:") || strings.HasPrefix(v, "data:"))) {
					return a.Key + "=" + a.Val
				}
			}
		}
	}
}

// FuzzRender renders arbitrary Markdown (bounded at 8 KiB per input, so
// each run stays fast and small) and checks nothing unsafe comes out.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"# hi", "<script>alert(1)</script>", "[x](javascript:alert(1))", "<img src=x onerror=alert(1)>",
		"<a href=\"jav&#x09;ascript:alert(1)\">x</a>", "```html\n<script>\n```", "| a |\n|---|\n| <b onmouseover=x> |",
		"![x](data:text/html;base64,PHNjcmlwdD4=)", "<svg onload=alert(1)>", "***\n> > > quote\n1. one\n   - two",
		"[x](JaVaScRiPt:alert(1))", "<http://a.example/?q=<script>>", "<p style=\"color:red\">x</p>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		defer fuzztest.Bound(t)()
		if len(md) > 8<<10 {
			md = md[:8<<10]
		}
		out := string(knowledge.Render(md))
		if bad := unsafeIn(out); bad != "" {
			t.Fatalf("Render(%q) = %q: unsafe %s", md, out, bad)
		}
	})
}

func TestUnsafeInFindsWhatItShould(t *testing.T) {
	for in, want := range map[string]bool{
		`<p>0 onA=</p>`:                        false,
		`<p onclick="x">a</p>`:                 true,
		`<a href=" JavaScript:alert(1)">x</a>`: true,
		`<script>x</script>`:                   true,
		`<a href="https://example.com">x</a>`:  false,
	} {
		if got := unsafeIn(in) != ""; got != want {
			t.Errorf("unsafeIn(%q) = %v, want %v", in, got, want)
		}
	}
}
