package web_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestTemplatesKeepToTheCSP: the portal's Content-Security-Policy allows
// styles and scripts only from its own files, so an inline style or event
// handler attribute is silently ignored by the browser. None may be written.
func TestTemplatesKeepToTheCSP(t *testing.T) {
	inline := regexp.MustCompile(`\s(style|on[a-z]+)=`)
	files, _ := filepath.Glob("templates/*.html")
	if len(files) == 0 {
		t.Fatal("no templates found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := inline.Find(b); m != nil {
			t.Errorf("%s has an inline %q attribute, which the CSP blocks; use a class or an SVG attribute", f, m)
		}
	}
}
