package knowledge

import (
	"bytes"
	"html/template"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders CommonMark with GitHub's tables, strikethrough, task
// lists and autolinks. Raw HTML in the Markdown is dropped by goldmark
// (it is not built WithUnsafe) and whatever the rendering makes is
// sanitised again by policy.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// policy is bluemonday's policy for user-generated content: formatting,
// links (made nofollow) and images, no scripts, styles, frames or event
// handlers.
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
})

// Render turns an article's Markdown into HTML that is safe to put on a
// page: rendered without raw HTML, then sanitised. The body is bounded by
// MaxBody when it is written; Render reads at most MaxBody×4 bytes of
// whatever it is given.
func Render(body string) template.HTML {
	if len(body) > MaxBody*4 {
		body = body[:MaxBody*4]
	}
	var b bytes.Buffer
	if err := markdown.Convert([]byte(body), &b); err != nil {
		return template.HTML(template.HTMLEscapeString(body))
	}
	return template.HTML(policy().SanitizeBytes(b.Bytes())) //nolint:gosec // sanitised just now
}
