package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// ingest takes usage events in any mode of the CloudEvents HTTP binding.
// Valid events are accepted even when others of the batch are refused; the
// answer lists the refused and the duplicate ones. A request none of whose
// events is valid is refused whole, with each event's problems.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, metering.MaxBatchBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errs.Invalid("the request is larger than %d bytes: send smaller batches", metering.MaxBatchBytes)
		}
		return errs.Invalid("the request body could not be read: %v", err)
	}
	parsed, err := s.Metering.Parse(r.Header, body)
	if err != nil {
		return err
	}
	res, err := s.Metering.Ingest(ctx(r), principal(r), parsed)
	if err != nil {
		return err
	}
	if res.Rejected > 0 && res.Accepted == 0 && res.Duplicates == 0 {
		e := errs.Invalid("no event was accepted: %d refused; fix them and send them again", res.Rejected)
		for _, ev := range res.Events {
			for _, p := range ev.Problems {
				field := p.Field
				if parsed.Batch {
					field = "[" + strconv.Itoa(ev.Index) + "]" + strings.TrimSuffix("."+p.Field, ".")
				}
				e.Fields = append(e.Fields, errs.FieldError{Field: field, Rule: "cloudevents", Message: p.Message})
			}
		}
		return e
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) listMeters(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	out, err := s.Metering.ListMeters(ctx(r), principal(r), metering.MeterFilter{EventType: q.Get("event_type"),
		Aggregation: metering.Aggregation(q.Get("aggregation")), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) getMeter(w http.ResponseWriter, r *http.Request) error {
	out, err := s.Metering.Meter(ctx(r), principal(r), r.PathValue("code"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) saveMeter(w http.ResponseWriter, r *http.Request) error {
	var in metering.MeterInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Code == "" {
		in.Code = r.PathValue("code")
	}
	if in.Code != r.PathValue("code") {
		return errs.Invalid("the body's code %q differs from the path's %q", in.Code, r.PathValue("code"))
	}
	out, err := s.Metering.SaveMeter(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	uq := metering.UsageQuery{Meter: q.Get("meter"), Subject: q.Get("subject"), OrgUnitID: q.Get("org_unit"),
		Granularity: metering.Granularity(q.Get("granularity")), ByDimension: q.Get("by_dimension") == "true"}
	var v errs.Validator
	for name, t := range map[string]*time.Time{"from": &uq.From, "to": &uq.To} {
		var err error
		*t, err = time.Parse(time.RFC3339, q.Get(name))
		v.Check(err == nil, name, "format", name+" must be an RFC 3339 time on the hour, such as 2026-11-01T00:00:00Z")
		*t = t.UTC()
	}
	page, err := pageParams(r)
	if err != nil {
		return err
	}
	if err := v.Err("the usage query is not valid"); err != nil {
		return err
	}
	out, err := s.Metering.UsagePage(ctx(r), principal(r), uq, page)
	if err != nil {
		return err
	}
	writeList(discard{w.Header()}, r, sqldb.Paged[metering.UsageRow]{Next: out.Next}) // the Link header alone
	return writeJSON(w, http.StatusOK, out)
}
