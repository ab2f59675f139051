package web

import "testing"

// TestLabelFieldErrors: issue 17, item 11: a field error is listed under the
// label of the page's input for its path, found through <label for> or
// aria-label, indexes and plurals aside; a deep path never lands on an input
// named like its last part alone, and one with no input is said in words.
func TestLabelFieldErrors(t *testing.T) {
	form := `<label for="code">Code</label><input id="code" name="code">` +
		`<input name="plan.0.max_quantity" aria-label="Plan 1 max quantity">` +
		`<label for="holidays">Holidays <span class="small">(one a line)</span></label><textarea id="holidays" name="holidays"></textarea>` +
		`<label for="param.hostname">Host name <span aria-hidden="true">*</span><span class="sr-only">(required)</span></label><input id="param.hostname" name="param.hostname">`
	for _, tt := range []struct{ field, msg, want string }{
		{"calendar.holidays", "holiday 1: date must be YYYY-MM-DD", `<li><a href="#holidays">Holidays (one a line)</a>: holiday 1: date must be YYYY-MM-DD</li>`},
		{"plans[0].max_quantity", "max_quantity must be 0 or more", `<li>Plan 1 max quantity: plan 1 max quantity must be 0 or more</li>`},
		{"plans.prices.code", "every component needs a code", `<li>Plans › prices › code: every component needs a code</li>`},
		{"code", "code is required", `<li><a href="#code">Code</a>: code is required</li>`},
		// The required mark and its words for screen readers are not the label's name.
		{"param.hostname", "Host name is not valid", `<li><a href="#param.hostname">Host name</a>: Host name is not valid</li>`},
	} {
		page := form + `<ul><li data-field="` + tt.field + `">` + tt.msg + `</li></ul>`
		if got, want := labelFieldErrors(page), form+"<ul>"+tt.want+"</ul>"; got != want {
			t.Errorf("%s:\n got %s\nwant %s", tt.field, got, want)
		}
	}
}
