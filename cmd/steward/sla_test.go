package main

import (
	"os"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sla"
)

// aliasBomb is a billion laughs in YAML: a few hundred bytes whose
// aliases, expanded, are 9^9 strings.
const aliasBomb = `code: bomb
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
services: [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// Issue 15, defences (the alias bomb of finding 12, in steward sla
// apply): an agreement file with anchors or aliases, nested too deep or
// too large is refused before anything expands; the sample decodes.
func TestDecodeAgreementRefusesAliases(t *testing.T) {
	for name, src := range map[string]string{
		"alias bomb": aliasBomb,
		"one alias":  "code: a\nname: &n Desktop\ncustomer: *n\n",
		"deep":       "code: a\ndescription: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
		"too large":  "code: a\ndescription: " + strings.Repeat("x", MaxAgreementFileBytes) + "\n",
	} {
		var in sla.AgreementInput
		err := decodeAgreement([]byte(src), &in)
		if e := errs.As(err); err == nil || e.Code != errs.CodeInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
		if len(in.Services) > 0 {
			t.Errorf("%s: decoded %d services", name, len(in.Services))
		}
	}
	src, err := os.ReadFile("../../docs/examples/woodgrove-desktop-sla.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var in sla.AgreementInput
	if err := decodeAgreement(src, &in); err != nil || in.Code != "woodgrove-desktop" || len(in.Targets) != 5 {
		t.Errorf("the sample: %v %+v", err, in)
	}
}

// FuzzDecodeAgreement: any file is decoded or refused with an invalid
// error, and nothing decoded holds more values than the file has bytes
// (no alias expansion).
func FuzzDecodeAgreement(f *testing.F) {
	sample, _ := os.ReadFile("../../docs/examples/woodgrove-desktop-sla.yaml")
	for _, s := range []string{string(sample), aliasBomb, "code: a\nname: &n Desktop\ncustomer: *n\n", "", "---\n---\n", "[[[[[[]]]]]]", "{a: !!binary aGVsbG8=}",
		"services: !!set {a, b}", "code: <<\n", "<<: {code: x}\n", "targets: [{code: a, window: {kind: month}}]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var in sla.AgreementInput
		err := decodeAgreement(src, &in)
		if err != nil {
			if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid {
				t.Fatalf("%v is not an invalid error", err)
			}
			return
		}
		n := len(in.Services) + len(in.Offerings) + len(in.Plans) + len(in.OrgUnits) + len(in.Targets) + len(in.Rebates) + len(in.UnderpinnedBy) +
			len(in.Calendar.Weekly) + len(in.Calendar.Holidays) + len(in.Calendar.Seasons) + len(in.Calendar.Maintenance)
		if n > len(src) {
			t.Fatalf("%d values from %d bytes", n, len(src))
		}
	})
}
