package web

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/middleware"
)

// exportFOCUS downloads billing lines as FOCUS 1.2 or plain CSV from the
// portal, with the reader's own rights (issue 17, item 8: the portal links
// to its own pages and downloads, never into the API).
// ?format=focus|csv&from=2026-11&to=2026-12 (months, the end excluded).
func (p *Portal) exportFOCUS(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var v errs.Validator
	month := func(name string) time.Time {
		t, err := time.Parse("2006-01", q.Get(name))
		v.Check(err == nil, name, "format", name+" is a month such as 2026-11")
		return t
	}
	from, to := month("from"), month("to")
	format := billing.Format(q.Get("format"))
	if format == "" {
		format = billing.FOCUS
	}
	v.Check(format == billing.FOCUS || format == billing.CSV, "format", "enum", "format is focus or csv")
	if err := v.Err("the export is not valid"); err != nil {
		// A download has no form to show the fields on: the error page
		// says them.
		return withFieldMessages(err)
	}

	f := billing.ExportFilter{From: from, To: to, IncludeDrafts: q.Get("include_drafts") != ""}
	var buf bytes.Buffer // a refused export shows an error page, not half a file
	if err := p.Billing.Export(r.Context(), middleware.Principal(r.Context()), f, format, &buf); err != nil {
		return withFieldMessages(err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="steward-`+string(format)+`-`+from.Format("2006-01")+`.csv"`)
	_, err := w.Write(buf.Bytes())
	return err
}

// withFieldMessages puts an invalid error's field messages into its
// message, for pages (downloads) that have no form to show them on.
func withFieldMessages(err error) error {
	e := errs.As(err)
	if e.Code != errs.CodeInvalid || len(e.Fields) == 0 {
		return err
	}
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Message
	}
	out := *e
	out.Message = e.Message + ": " + strings.Join(msgs, "; ")
	return &out
}
