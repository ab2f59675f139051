package desk

import (
	"mime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/fuzztest"
)

// FuzzCheckFile holds the filename sanitizer and the type check to their
// promises for any name and content: a name kept is valid UTF-8, at most
// MaxFilename bytes, one path element without controls, quotes or
// leading dots, and survives a Content-Disposition header; a file taken
// is served as an allowed type, never HTML or SVG.
func FuzzCheckFile(f *testing.F) {
	f.Add("report.pdf", []byte("%PDF-1.7\n"))
	f.Add("../../x.txt", []byte("hello"))
	f.Add("a.html.txt", []byte("<html><body>x"))
	f.Add("logo.svg", []byte("<svg/>"))
	f.Add("x\"\r\n.png", []byte("\x89PNG\r\n\x1a\n"))
	f.Add("\xff\xfe.csv", []byte("a,b\n1,2\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		defer fuzztest.Bound(t)()
		clean := SanitizeFilename(name)
		if !utf8.ValidString(clean) || len(clean) > MaxFilename {
			t.Fatalf("SanitizeFilename(%q) = %q: invalid UTF-8 or too long", name, clean)
		}
		if strings.ContainsAny(clean, "/\\\"\r\n\x00;") || strings.HasPrefix(clean, ".") || strings.Contains(clean, "..") {
			t.Fatalf("SanitizeFilename(%q) = %q: unsafe", name, clean)
		}
		for _, r := range clean {
			if r < ' ' || r == 0x7f {
				t.Fatalf("SanitizeFilename(%q) = %q: a control character", name, clean)
			}
		}
		if clean != "" {
			h := mime.FormatMediaType("attachment", map[string]string{"filename": clean})
			if _, params, err := mime.ParseMediaType(h); err != nil || params["filename"] != clean {
				t.Fatalf("Content-Disposition %q for %q does not read back: %v %q", h, clean, err, params["filename"])
			}
		}
		kept, ct, err := CheckFile(name, data)
		if err != nil {
			return
		}
		if kept != clean || SafeContentType(ct) != ct || strings.Contains(ct, "html") || strings.Contains(ct, "svg") || strings.Contains(ct, "xml") {
			t.Fatalf("CheckFile(%q) took %q as %q", name, kept, ct)
		}
		if len(data) == 0 || len(data) > MaxAttachmentBytes {
			t.Fatalf("CheckFile took %d bytes", len(data))
		}
	})
}
