package api

import (
	"bytes"
	"net/http"
	"time"

	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/rating"
)

func planRef(r *http.Request) string { return r.PathValue("offering") + "/" + r.PathValue("plan") }

func (s *Server) listPrices(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Rating.Versions(ctx(r), principal(r), planRef(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) addPrice(w http.ResponseWriter, r *http.Request) error {
	var in rating.VersionInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Rating.AddVersion(ctx(r), principal(r), planRef(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Billing.Accounts(ctx(r), principal(r), billing.AccountFilter{Mode: billing.Mode(r.URL.Query().Get("mode")), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Billing.Account(ctx(r), principal(r), r.PathValue("org_unit"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) saveAccount(w http.ResponseWriter, r *http.Request) error {
	var in billing.AccountInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	in.OrgUnit = r.PathValue("org_unit")
	out, err := s.Billing.SaveAccount(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Billing.Runs(ctx(r), principal(r), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Billing.Run(ctx(r), principal(r), r.PathValue("run"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) startRun(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Month string `json:"month"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Billing.StartRun(ctx(r), principal(r), in.Month)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, out)
}

// periodFilter reads from and to (RFC 3339 or a month, 2026-11).
func periodFilter(r *http.Request, required bool) (from, to time.Time, err error) {
	var v errs.Validator
	read := func(name string) time.Time {
		s := r.URL.Query().Get(name)
		if s == "" {
			v.Check(!required, name, "required", name+" is required")
			return time.Time{}
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UTC()
		}
		t, err := time.Parse("2006-01", s)
		v.Check(err == nil, name, "format", name+" is an RFC 3339 time or a month such as 2026-11")
		return t
	}
	from, to = read("from"), read("to")
	return from, to, v.Err("the period is not valid")
}

func (s *Server) listDocuments(w http.ResponseWriter, r *http.Request) error {
	from, to, err := periodFilter(r, false)
	if err != nil {
		return err
	}
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.Billing.Documents(ctx(r), principal(r), billing.DocumentFilter{AccountID: q.Get("account"), Kind: billing.DocKind(q.Get("kind")),
		State: billing.DocState(q.Get("state")), From: from, To: to, Sort: q.Get("sort"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) listDocumentLines(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Billing.DocumentLines(ctx(r), principal(r), r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) getDocument(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Billing.Document(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) finaliseDocument(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Billing.Finalise(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) voidDocument(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Billing.Void(ctx(r), principal(r), r.PathValue("id"), in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) recordPayment(w http.ResponseWriter, r *http.Request) error {
	var in billing.PaymentInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Billing.RecordPayment(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) addLine(w http.ResponseWriter, r *http.Request) error {
	var in billing.LineInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Billing.AddLine(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) creditNote(w http.ResponseWriter, r *http.Request) error {
	var in billing.CreditNoteInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Billing.IssueCreditNote(ctx(r), principal(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

// export streams lines as CSV or FOCUS CSV.
func (s *Server) export(w http.ResponseWriter, r *http.Request) error {
	from, to, err := periodFilter(r, true)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	format := billing.Format(q.Get("format"))
	if format == "" {
		format = billing.CSV
	}
	f := billing.ExportFilter{From: from, To: to, AccountID: q.Get("account"), IncludeDrafts: q.Get("include_drafts") == "true"}
	// Write to a buffer first: a refused export answers a problem, not half a file.
	var buf bytes.Buffer
	if err := s.Billing.Export(ctx(r), principal(r), f, format, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="steward-`+string(format)+`-`+from.Format("2006-01")+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}

func (s *Server) getBalance(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Billing.Balance(ctx(r), principal(r), r.PathValue("org_unit"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listEntries(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Billing.Entries(ctx(r), principal(r), r.PathValue("org_unit"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request) error {
	var in billing.RefundInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	out, err := s.Billing.Refund(ctx(r), principal(r), r.PathValue("org_unit"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}
