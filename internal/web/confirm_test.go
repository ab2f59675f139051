package web_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// Issue 17, item 11: every destructive form in the portal asks before it
// acts. A form is destructive when its action voids, deprovisions, revokes,
// deletes, cancels, withdraws or rejects, or when one of its buttons is
// styled "danger"; it is confirmed when the form carries data-confirm, or
// when each of its danger buttons does (a form whose other buttons are not
// destructive, as Approve beside Reject). static/confirm.js asks the
// question; without JavaScript the form still works.
func TestDestructiveFormsAskFirst(t *testing.T) {
	formRe := regexp.MustCompile(`(?s)<form\b([^>]*)>(.*?)</form>`)
	verbRe := regexp.MustCompile(`action="[^"]*/(void|deprovision|revoke|delete|cancel|withdraw|reject|remove)"`)
	dangerRe := regexp.MustCompile(`<button\b[^>]*class="[^"]*\bdanger\b[^"]*"[^>]*>`)
	files, _ := filepath.Glob("templates/*.html")
	if len(files) == 0 {
		t.Fatal("no templates found")
	}
	destructive := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range formRe.FindAllStringSubmatch(string(b), -1) {
			attrs, body := m[1], m[2]
			dangers := dangerRe.FindAllString(body, -1)
			if !verbRe.MatchString(attrs) && len(dangers) == 0 {
				continue
			}
			destructive++
			if regexp.MustCompile(`\bdata-confirm="[^"]+"`).MatchString(attrs) {
				continue
			}
			confirmed := len(dangers) > 0 && !verbRe.MatchString(attrs)
			for _, d := range dangers {
				if !regexp.MustCompile(`\bdata-confirm="[^"]+"`).MatchString(d) {
					confirmed = false
				}
			}
			if !confirmed {
				t.Errorf("%s: the destructive form <form%s> asks no confirmation: add data-confirm=\"…?\" to the form (or to its danger button)", f, attrs)
			}
		}
	}
	if destructive < 12 {
		t.Errorf("found %d destructive forms; the portal has at least 12 (void, deprovision, revoke, delete …): has the pattern stopped matching?", destructive)
	}
}
