package sla

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
)

// FuzzAgreementInput: the fuzzing defence for agreement JSON (the API's
// body; the CLI's YAML is fuzzed in cmd/steward). Decoding as the API
// does and validating any input ends in a checked agreement or an invalid
// error with fields, in bounded time (maintenance rules are expanded for
// a year when checked, within their limits).
func FuzzAgreementInput(f *testing.F) {
	good := `{"code":"desktop-sla","name":"Desktop","kind":"sla","state":"active","provider":"IT","customer":"Retail","currency":"EUR",
		"effective_from":"2026-01-01","effective_to":"2027-01-01","review_on":"2026-06-01","services":["desktop"],"org_units":["RETAIL"],
		"calendar":{"time_zone":"America/Los_Angeles","weekly":[{"day":"monday","start":"08:00","end":"17:00"}],
			"holidays":[{"date":"2026-01-01","name":"New Year"}],"seasons":[{"name":"Tax","from":"04-07","to":"04-21","weekly":[{"day":"saturday","start":"09:00","end":"14:00"}]}],
			"maintenance":[{"name":"Patch","rule":"FREQ=MONTHLY;BYDAY=1SU","start":"16:00","end":"18:00","notice_days":7}]},
		"targets":[{"code":"availability","kind":"availability","objective":"99.5","window":{"kind":"rolling_months","n":6}},
			{"code":"res","kind":"resolution","objective":"95","priority":3,"within_minutes":120,"window":{"kind":"month"}},
			{"code":"m","kind":"meter","meter":"cpu","limit":"1e9999999","window":{"kind":"year"}}],
		"rebates":[{"target":"availability","kind":"per_hour","amount":"50.00","cap":"1000"},{"target":"res","kind":"percent_of_charge","percent":"5"}]}`
	for _, s := range []string{good, `{}`, `null`, `[]`, `{"calendar":{"maintenance":[{"rule":"FREQ=SECONDLY"}]}}`,
		`{"targets":[{"objective":"1e999999999"}],"rebates":[{"amount":"1/0","percent":"NaN"}]}`,
		`{"calendar":{"time_zone":"../../../../etc/passwd"}}`, `{"effective_from":"99999-01-01"}`,
		`{"targets":[{"kind":"availability","window":{"kind":"rolling_days","n":-1}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		defer fuzztest.Bound(t)()
		var in AgreementInput
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if dec.Decode(&in) != nil {
			return
		}
		_, _, err := in.validate()
		if err == nil {
			if len(in.Targets) > MaxTargets || in.Calendar.CheckMaintenance() != nil {
				t.Fatalf("accepted beyond the limits: %d targets, calendar %v", len(in.Targets), in.Calendar.CheckMaintenance())
			}
			return
		}
		if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid || len(e.Fields) == 0 {
			t.Fatalf("%v is not an invalid error with fields", err)
		}
	})
}
