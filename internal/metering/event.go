package metering

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/jsontext"
)

// Limits of what ingest accepts (docs/metering.md).
const (
	MaxEventBytes  = 64 << 10 // one event, as the CloudEvents spec asks intermediaries to accept
	MaxBatchBytes  = 8 << 20  // one request
	MaxBatchEvents = 10_000
	maxAttrLen     = 512
	// FutureSkew is how far in the future an event's time may be.
	FutureSkew = 5 * time.Minute
	// LateHorizon is how far in the past an event's time may be: late
	// usage is accepted (and billed as late usage on the next bill) for as
	// long as a replay is recognised, so an event can never be counted
	// twice, and no older, so usage cannot be back-dated into periods long
	// invoiced.
	LateHorizon = DedupWindow
	// MaxDimensionLen is the longest group-by value or unique-count value
	// an event may carry, in bytes: they are keys of the rollups.
	MaxDimensionLen = 256
)

// Content types of the CloudEvents HTTP binding.
const (
	ContentStructured = "application/cloudevents+json"
	ContentBatch      = "application/cloudevents-batch+json"
)

// Event is a usage event: a CloudEvent whose data is a JSON object.
type Event struct {
	ID      string          `json:"id"`
	Source  string          `json:"source"`
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// wire is an event as sent in the structured and batch modes. Attributes
// are pointers so that a missing one is told from an empty one.
type wire struct {
	SpecVersion     *string         `json:"specversion"`
	ID              *string         `json:"id"`
	Source          *string         `json:"source"`
	Type            *string         `json:"type"`
	Subject         *string         `json:"subject"`
	Time            *string         `json:"time"`
	DataContentType *string         `json:"datacontenttype"`
	DataSchema      *string         `json:"dataschema"`
	Data            json.RawMessage `json:"data"`
	DataBase64      *string         `json:"data_base64"`
}

// Problem is why one event was refused.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

type eventError []Problem

func (e *eventError) add(field, msg string) { *e = append(*e, Problem{field, msg}) }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// check validates the attributes of an event per the CloudEvents 1.0 spec
// and Steward's rules for usage, filling ev. received stands in for a
// missing time.
func (w *wire) check(ev *Event, received time.Time, clean bool) eventError {
	var e eventError
	if w.SpecVersion == nil {
		e.add("specversion", `specversion is required: send "1.0"`)
	} else if *w.SpecVersion != "1.0" {
		e.add("specversion", `specversion must be "1.0" (CloudEvents 1.0), not "`+*w.SpecVersion+`"`)
	}
	required := func(field string, p *string, hint string) string {
		switch {
		case p == nil || *p == "":
			e.add(field, field+" is required and must be a non-empty string: "+hint)
		case len(*p) > maxAttrLen:
			e.add(field, field+" must be at most "+strconv.Itoa(maxAttrLen)+" characters")
		case !utf8.ValidString(*p):
			e.add(field, field+" must be valid UTF-8")
		case strings.ContainsFunc(*p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
			e.add(field, field+" must not hold control characters")
		}
		return str(p)
	}
	ev.ID = required("id", w.ID, "unique per source, it is how a replay is recognised")
	ev.Source = required("source", w.Source, "a URI reference naming the sender, such as /agents/host-7")
	if ev.Source != "" {
		if _, err := url.Parse(ev.Source); err != nil {
			e.add("source", "source must be a URI reference, such as /agents/host-7 or urn:example:agent")
		}
	}
	ev.Type = required("type", w.Type, "the kind of usage, such as com.example.storage.used")
	ev.Subject = required("subject", w.Subject, "the service instance ID (or org unit code) the usage belongs to")
	ev.Time = received
	if w.Time != nil {
		t, err := time.Parse(time.RFC3339Nano, *w.Time)
		switch {
		case err != nil:
			e.add("time", "time must be an RFC 3339 timestamp such as 2026-11-22T10:00:00Z")
		case t.After(received.Add(FutureSkew)):
			e.add("time", "time is more than 5 minutes in the future: check the sender's clock")
		case t.Before(received.Add(-LateHorizon)):
			e.add("time", "time is more than "+strconv.Itoa(int(LateHorizon/(24*time.Hour)))+
				" days in the past, beyond the late-usage horizon: usage that old is no longer accepted")
		default:
			ev.Time = t.UTC()
		}
	}
	if w.DataContentType != nil {
		mt, _, err := mime.ParseMediaType(*w.DataContentType)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			e.add("datacontenttype", "usage data must be JSON: send datacontenttype application/json or leave it out")
		}
	}
	if w.DataSchema != nil {
		if u, err := url.Parse(*w.DataSchema); err != nil || !u.IsAbs() {
			e.add("dataschema", "dataschema must be an absolute URI")
		}
	}
	if w.DataBase64 != nil {
		e.add("data_base64", "usage data must be a JSON object in data, not base64")
	}
	if !clean && !utf8.Valid(w.Data) {
		e.add("data", "data must be valid UTF-8")
	} else if !clean && loneSurrogate(w.Data) {
		e.add("data", "data must be valid Unicode: "+surrogateMessage)
	} else if d := bytes.TrimSpace(w.Data); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		if d[0] != '{' {
			e.add("data", "data must be a JSON object, such as {\"gb\": 12.5}")
		} else {
			ev.Data = d
		}
	}
	return e
}

// Parsed is a request's events in order, each either valid or refused.
type Parsed struct {
	Events   []*Event
	Problems []eventError // per event; nil when valid
	Batch    bool
}

// ParseRequest reads the events of an ingest request, from its headers and
// body, in any of the three modes of the CloudEvents HTTP binding:
// structured, batch, or binary (the attributes in ce- headers and the data
// as the body). An error is for the
// request as a whole (not JSON, too big, unknown content type); problems of
// single events are in Parsed.
func ParseRequest(h http.Header, body []byte, received time.Time) (*Parsed, error) {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil && h.Get("Content-Type") != "" {
		return nil, errs.Invalid("the Content-Type header is not a media type")
	}
	switch {
	case mt == ContentBatch:
		if p := parseBatchFast(body, received); p != nil {
			return p, nil
		}
		return parseBatch(body, received)
	case mt == ContentStructured:
		ev, e := parseStructured(body, received, false)
		return &Parsed{Events: []*Event{ev}, Problems: []eventError{e}}, nil
	case h.Get("Ce-Specversion") != "":
		ev, e := parseBinary(h, body, received)
		return &Parsed{Events: []*Event{ev}, Problems: []eventError{e}}, nil
	default:
		return nil, errs.Invalid("send CloudEvents as %s (one event), %s (a JSON array), or in binary mode with ce-specversion, ce-id, ce-source, ce-type and ce-subject headers and a JSON body",
			ContentStructured, ContentBatch)
	}
}

// parseBatch reads a batch event by event: each event's problems are its own.
func parseBatch(body []byte, received time.Time) (*Parsed, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, errs.Invalid("a batch must be a JSON array of CloudEvents: %v", jsonMessage(err))
	}
	if len(raws) > MaxBatchEvents {
		return nil, errs.Invalid("a batch holds at most %d events; this one has %d: split it", MaxBatchEvents, len(raws))
	}
	p := &Parsed{Events: make([]*Event, len(raws)), Problems: make([]eventError, len(raws)), Batch: true}
	// A batch that is valid Unicode as a whole needs no check of each
	// event's bytes (nearly every batch; the others are checked event
	// by event, to name what is wrong).
	clean := utf8.Valid(body) && !loneSurrogate(body)
	for i, raw := range raws {
		p.Events[i], p.Problems[i] = parseStructured(raw, received, clean)
	}
	return p, nil
}

// parseBatchFast reads a batch whose events all decode (nearly every
// batch) with one decode of the whole body, instead of a decode of the
// array and then one of each event, which reads every byte twice more. It
// returns nil for any other batch, which is then read event by event to
// tell which event is wrong and why. The events' own bytes, for the size
// limit, are found by walking the decoded array again without decoding.
func parseBatchFast(body []byte, received time.Time) *Parsed {
	if !utf8.Valid(body) || loneSurrogate(body) {
		return nil
	}
	var ws []wire
	if json.Unmarshal(body, &ws) != nil || len(ws) > MaxBatchEvents {
		return nil
	}
	p := &Parsed{Events: make([]*Event, len(ws)), Problems: make([]eventError, len(ws)), Batch: true}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '[' {
		return nil
	}
	i = skipSpace(body, i+1)
	for n := range ws {
		end := skipValue(body, i)
		if end < 0 {
			return nil
		}
		ev := &Event{}
		if end-i > MaxEventBytes {
			p.Problems[n] = eventError{{"", "the event is larger than 64 KiB"}}
		} else {
			p.Problems[n] = ws[n].check(ev, received, true)
		}
		p.Events[n] = ev
		i = skipSpace(body, end)
		if i < len(body) && body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return p
}

// Parse reads an ingest request as ParseRequest does, received now by the
// service's clock.
func (s *Service) Parse(h http.Header, body []byte) (*Parsed, error) {
	return ParseRequest(h, body, s.now())
}

// parseStructured reads one structured event; clean says its bytes are
// known to be valid UTF-8 without a lone surrogate escape.
func parseStructured(raw []byte, received time.Time, clean bool) (*Event, eventError) {
	ev := &Event{}
	if len(raw) > MaxEventBytes {
		return ev, eventError{{"", "the event is larger than 64 KiB"}}
	}
	if !clean && !utf8.Valid(raw) {
		return ev, eventError{{invalidUTF8(raw), "the event must be valid UTF-8: invalid bytes are refused, not replaced"}}
	}
	if !clean && loneSurrogate(raw) {
		return ev, eventError{{badAttribute(raw, loneSurrogate), "the event must be valid Unicode: " + surrogateMessage}}
	}
	var w wire
	if err := json.Unmarshal(raw, &w); err != nil {
		return ev, eventError{{"", "the event is not a JSON object with string attributes: " + jsonMessage(err)}}
	}
	return ev, w.check(ev, received, clean)
}

// invalidUTF8 names the attribute of a structured event whose value is not
// valid UTF-8, or "" when it cannot tell.
func invalidUTF8(raw []byte) string {
	return badAttribute(raw, func(v []byte) bool { return !utf8.Valid(v) })
}

// badAttribute names the one attribute of a structured event whose raw value
// is bad, or "" when it cannot tell.
func badAttribute(raw []byte, bad func([]byte) bool) string {
	var attrs map[string]json.RawMessage
	if json.Unmarshal(raw, &attrs) != nil {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for name, v := range attrs {
		if bad(v) {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		return ""
	}
	return names[0]
}

const surrogateMessage = `a \uD800-\uDFFF escape must be half of a surrogate pair (a high one, \uD800-\uDBFF, then a low one, \uDC00-\uDFFF); ` +
	"an unpaired one is refused, not replaced by U+FFFD"

// loneSurrogate reports whether JSON text holds a \u escape of a UTF-16
// surrogate that is not half of a pair: encoding/json decodes each such
// escape to U+FFFD, which would make "x\ud800" and "x\udbff" one event ID
// (issue 15, finding 15).
func loneSurrogate(raw []byte) bool { return jsontext.LoneSurrogate(raw) >= 0 }

func parseBinary(h http.Header, body []byte, received time.Time) (*Event, eventError) {
	get := func(name string) *string {
		if vs, ok := h["Ce-"+name]; ok && len(vs) > 0 {
			v, err := url.PathUnescape(vs[0]) // header values are percent-encoded (binding §3.1.3.2)
			if err != nil {
				v = vs[0]
			}
			return &v
		}
		return nil
	}
	w := wire{SpecVersion: get("Specversion"), ID: get("Id"), Source: get("Source"), Type: get("Type"), Subject: get("Subject"),
		Time: get("Time"), DataSchema: get("Dataschema"), Data: body}
	if ct := h.Get("Content-Type"); ct != "" {
		w.DataContentType = &ct
	}
	ev := &Event{}
	if len(body) > MaxEventBytes {
		return ev, eventError{{"data", "the event is larger than 64 KiB"}}
	}
	if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		return ev, eventError{{"data", "the body must be the event's data as JSON"}}
	}
	return ev, w.check(ev, received, false)
}

func jsonMessage(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10) + ": " + se.Error()
	case errors.As(err, &te):
		if te.Field != "" {
			return te.Field + " must be a " + te.Type.String() + ", not a JSON " + te.Value
		}
		return "expected " + te.Type.String() + ", found a JSON " + te.Value
	}
	return err.Error()
}

// lookup finds the value at a dotted path in a JSON object, or nil.
func lookup(data map[string]json.RawMessage, path string) json.RawMessage {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := data[head]
	if !ok {
		return nil
	}
	if !nested {
		return v
	}
	var inner map[string]json.RawMessage
	if json.Unmarshal(v, &inner) != nil {
		return nil
	}
	return lookup(inner, rest)
}

// scalar is a JSON string, number or boolean as text; ok is false for
// objects, arrays and null.
func scalar(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] == '{' || v[0] == '[' || string(v) == "null" {
		return "", false
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	return string(v), true
}
