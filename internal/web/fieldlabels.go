package web

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field errors name fields by their path in the API (calendar.holidays,
// plans.prices.code); a person reading the form knows them by the form's
// labels. The layout lists each field error as <li data-field="path">, and
// labelFieldErrors rewrites those items to start with the label of the
// form's input for that path, linked to the input (issue 17, item 11). The
// labels come from the page itself, its <label for> or an input's
// aria-label, so no second list of names can drift from the form.

var (
	labelRe     = regexp.MustCompile(`(?s)<label\b[^>]*\sfor="([^"]+)"[^>]*>(.*?)</label>`)
	controlRe   = regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*>`)
	nameAttrRe  = regexp.MustCompile(`\sname="([^"]*)"`)
	idAttrRe    = regexp.MustCompile(`\sid="([^"]*)"`)
	ariaLabelRe = regexp.MustCompile(`\saria-label="([^"]*)"`)
	tagRe       = regexp.MustCompile(`<[^>]*>`)
	// markRe is what a label holds beside its words: the required mark
	// and its words for screen readers.
	markRe       = regexp.MustCompile(`(?s)<span (?:aria-hidden="true"|class="sr-only")>.*?</span>`)
	fieldItemRe  = regexp.MustCompile(`(?s)<li data-field="([^"]*)">(.*?)</li>`)
	indexRe      = regexp.MustCompile(`\[\d+\]`)
	snakeFieldRe = regexp.MustCompile(`^[a-z]+(?:_[a-z]+)+$`)
)

// formControl is an input of the page as an error may name it.
type formControl struct{ id, label string }

// labelFieldErrors rewrites the field-error items of a rendered page; see
// above. An item whose field has no input on the page gets the path in
// words ("Plans › prices › code").
func labelFieldErrors(page string) string {
	labels := map[string]string{} // by input id
	for _, m := range labelRe.FindAllStringSubmatch(page, -1) {
		labels[m[1]] = strings.Join(strings.Fields(tagRe.ReplaceAllString(markRe.ReplaceAllString(m[2], ""), " ")), " ")
	}
	controls := map[string]formControl{} // by canonical name, the first of each
	for _, tag := range controlRe.FindAllString(page, -1) {
		name := nameAttrRe.FindStringSubmatch(tag)
		if name == nil {
			continue
		}
		var c formControl
		if id := idAttrRe.FindStringSubmatch(tag); id != nil {
			c.id, c.label = id[1], labels[id[1]]
		}
		if a := ariaLabelRe.FindStringSubmatch(tag); a != nil && c.label == "" {
			c.label = a[1]
		}
		k := canonicalField(name[1])
		if _, seen := controls[k]; !seen && c.label != "" {
			controls[k] = c
		}
	}
	return fieldItemRe.ReplaceAllStringFunc(page, func(item string) string {
		m := fieldItemRe.FindStringSubmatch(item)
		path, msg := m[1], m[2]
		c, ok := controlFor(controls, path)
		if !ok {
			return "<li>" + capitalise(fieldWords(path)) + ": " + msg + "</li>"
		}
		// The message may name the field as the API does (time_zone …):
		// say it as the form does.
		parts := strings.Split(indexRe.ReplaceAllString(path, ""), ".")
		if last := parts[len(parts)-1]; snakeFieldRe.MatchString(last) {
			msg = strings.ReplaceAll(msg, last, strings.ToLower(c.label[:1])+c.label[1:])
		}
		label := c.label
		if c.id != "" {
			label = `<a href="#` + c.id + `">` + label + `</a>`
		}
		return "<li>" + label + ": " + msg + "</li>"
	})
}

// controlFor finds the input an error's field path names: the path itself,
// or the path without its leading parts (calendar.holidays is the input
// holidays), down to two parts for deeper paths, so that plans.prices.code
// never lands on the offering's own code.
func controlFor(controls map[string]formControl, path string) (formControl, bool) {
	parts := strings.Split(canonicalField(path), ".")
	least := 1
	if len(parts) > 2 {
		least = 2
	}
	for i := 0; len(parts)-i >= least; i++ {
		if c, ok := controls[strings.Join(parts[i:], ".")]; ok {
			return c, true
		}
	}
	return formControl{}, false
}

// canonicalField is a field path or input name without list indexes
// (plans[0].code, plan.0.code) and plural endings, so that the API's path
// and the form's name of one field compare equal.
func canonicalField(s string) string {
	var parts []string
	for _, p := range strings.Split(indexRe.ReplaceAllString(s, ""), ".") {
		if p == "" || strings.Trim(p, "0123456789") == "" {
			continue
		}
		parts = append(parts, strings.TrimSuffix(p, "s"))
	}
	return strings.Join(parts, ".")
}

// fieldWords says a field path in words: plans.prices[0].code is
// "plans › prices › code".
func fieldWords(path string) string {
	var parts []string
	for _, p := range strings.Split(indexRe.ReplaceAllString(path, ""), ".") {
		if p != "" {
			parts = append(parts, strings.ReplaceAll(p, "_", " "))
		}
	}
	return strings.Join(parts, " › ")
}

// capitalise writes s with a capital first letter ("" stays "").
func capitalise(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(c)) + s[n:]
}
