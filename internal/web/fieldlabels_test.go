package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// errorList is the page's list of field errors, as a reader sees it.
func errorList(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<div class="error" role="alert">(.*?)</div>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no error on the page:\n%s", errorText(body))
	}
	return m[1]
}

// TestFieldErrorsUseTheFormsLabels: issue 17, item 11: the portal lists a
// form's field errors under the form's own labels, linked to the input,
// never under the API's field paths (calendar.time_zone, new_password).
func TestFieldErrorsUseTheFormsLabels(t *testing.T) {
	p := newDemoPortal(t)

	t.Run("account password", func(t *testing.T) {
		v := p.as("dana@contoso.example")
		_, _, body := v.do("POST", "/account", url.Values{"action": {"password"}, "current_password": {"wrong"}, "new_password": {"short"}, "confirm_password": {"short"}})
		got := errorList(t, body)
		for _, want := range []string{`<a href="#new_password">New password</a>: `} {
			if !strings.Contains(got, want) {
				t.Errorf("the errors do not say %q:\n%s", want, got)
			}
		}
		for _, not := range []string{"new_password", "data-field"} {
			if strings.Contains(regexp.MustCompile(`href="[^"]*"`).ReplaceAllString(got, ""), not) {
				t.Errorf("the errors say %q:\n%s", not, got)
			}
		}
	})

	t.Run("service calendar", func(t *testing.T) {
		v := p.as("petra@it.contoso.example")
		_, _, form := v.do("GET", "/portfolio/private-cloud/edit", nil)
		vals := formValuesOf(form)
		vals.Set("time_zone", "Mars/Olympus")
		vals.Set("holidays", "not a date")
		_, _, body := v.do("POST", "/portfolio/private-cloud/edit", vals)
		got := errorList(t, body)
		for _, want := range []string{`<a href="#time_zone">Time zone</a>: time zone must be an IANA time zone`, `<a href="#holidays">Holidays</a>: `} {
			if !strings.Contains(got, want) {
				t.Errorf("the errors do not say %q:\n%s", want, got)
			}
		}
		for _, not := range []string{"calendar.", "time_zone must", "data-field"} {
			if strings.Contains(regexp.MustCompile(`href="[^"]*"`).ReplaceAllString(got, ""), not) {
				t.Errorf("the errors say %q:\n%s", not, got)
			}
		}
	})
}

// formValuesOf is what a browser would send of the page's main form: each
// named input's value and each textarea's text (enough for the forms here).
func formValuesOf(page string) url.Values {
	vals := url.Values{}
	attr := func(tag, name string) (string, bool) {
		m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return "", false
		}
		return htmlUnescape(m[1]), true
	}
	for _, tag := range regexp.MustCompile(`<input\b[^>]*>`).FindAllString(page, -1) {
		n, ok := attr(tag, "name")
		if !ok || n == "csrf" {
			continue
		}
		typ, _ := attr(tag, "type")
		if (typ == "checkbox" || typ == "radio") && !strings.Contains(tag, " checked") {
			continue
		}
		val, _ := attr(tag, "value")
		vals.Add(n, val)
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea\b([^>]*)>(.*?)</textarea>`).FindAllStringSubmatch(page, -1) {
		if n, ok := attr(m[1], "name"); ok {
			vals.Add(n, htmlUnescape(m[2]))
		}
	}
	for _, m := range regexp.MustCompile(`(?s)<select\b([^>]*)>(.*?)</select>`).FindAllStringSubmatch(page, -1) {
		n, ok := attr(m[1], "name")
		if !ok {
			continue
		}
		for _, o := range regexp.MustCompile(`<option\b[^>]*\sselected[^>]*>`).FindAllString(m[2], -1) {
			val, _ := attr(o, "value")
			vals.Add(n, val)
		}
	}
	return vals
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
