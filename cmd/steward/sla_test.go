package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/fuzztest"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sla"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
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
		defer fuzztest.Bound(t)()
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

// Issue 18: steward sla list reads the agreements a page at a time and
// prints them all; with --limit it prints one page and the cursor of the
// next, which --cursor follows; its filters narrow the list.
func TestSLAListPages(t *testing.T) {
	ctx := context.Background()
	cfg := sqldbtest.Config(t)
	a, err := app.New(ctx, app.Config{Database: cfg, Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing, SLA: a.SLA})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"STEWARD_DATA_DIR": cfg.DataDir, "STEWARD_DATABASE": cfg.URL}
	if cfg.URL != "" {
		vars["STEWARD_SECRET_KEY"] = testKey
	}
	getenv := func(k string) string { return vars[k] }
	codes := regexp.MustCompile(`(?m)^([a-z0-9-]+) +(SLA|OLA|UC) `)
	listed := func(out string) []string {
		var cs []string
		for _, m := range codes.FindAllStringSubmatch(out, -1) {
			cs = append(cs, m[1])
		}
		return cs
	}
	out, err := cli(t, getenv, "", "sla", "list")
	all := listed(out)
	if err != nil || len(all) < 2 {
		t.Fatalf("sla list: %v %s", err, out)
	}
	var walked []string
	next := []string{"sla", "list", "--limit", "1"}
	for pages := 0; pages <= len(all); pages++ {
		var stdout, stderr strings.Builder
		if err := run(ctx, next, getenv, strings.NewReader(""), &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v %s", next, err, stderr.String())
		}
		walked = append(walked, listed(stdout.String())...)
		m := regexp.MustCompile(`--cursor (\S+)`).FindStringSubmatch(stderr.String())
		if m == nil {
			break
		}
		next = []string{"sla", "list", "--limit", "1", "--cursor", m[1]}
	}
	if strings.Join(walked, " ") != strings.Join(all, " ") {
		t.Errorf("one a page: %v, want %v", walked, all)
	}
	if out, err := cli(t, getenv, "", "sla", "list", "--kind", "uc", "--state", "active"); err != nil || len(listed(out)) >= len(all) {
		t.Errorf("sla list --kind uc: %v %s", err, out)
	}
	if out, err := cli(t, getenv, "", "sla", "list", "--state", "signed"); err == nil || !strings.Contains(out, "state") {
		t.Errorf("sla list --state signed: %v %s", err, out)
	}
}
