package web

import (
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/billing"
)

// why is a billing line's "Why this number" in words (issue 17, item 8):
// the price version it comes from, the time held as days of the period,
// the tiers as a table, the usage as a link to the portal's usage page,
// and the rule that turned them into the amount. Nothing of it is an ID,
// a fraction of seconds or JSON.
type why struct {
	Facts []fact
	Tiers []whyTier
	Rule  string
	// Links lead to the documents, breaches and usage behind the line.
	Links []whyLink
}

type fact struct{ Label, Value string }

type whyTier struct{ Tier, Range, Quantity, UnitPrice, FlatPrice string }

type whyLink struct{ Text, Href, Class string }

// whyLabels are the words for the facts an explanation may hold, in the
// order they are shown. Keys not named here are shown by their own name,
// unless they are IDs (which mean nothing to a reader).
var whyLabels = []struct{ key, label string }{
	{"component", "Price component"},
	{"kind", "Charged as"},
	{"rate", "Rate"},
	{"units", "Units"},
	{"unit_price", "Unit price"},
	{"minimum", "Minimum charge"},
	{"usage_charged", "Usage charged"},
	{"packages", "Packages"},
	{"exact", "Exact amount before rounding"},
	{"billed_quantity", "Quantity billed before"},
	{"quantity_now", "Quantity now"},
	{"billed_amount", "Amount billed before"},
	{"rated_now", "Rated now"},
	{"events_now", "Usage events now"},
	{"agreement_name", "Agreement"},
	{"target", "Target"},
	{"measured", "Measured"},
	{"reckoning", "Reckoning"},
	{"charges_and_credits", "Charges and credits of the period"},
	{"carried_forward", "Carried forward"},
	{"carried_from", "Carried from"},
	{"credits", "Credits"},
	{"issued_by", "Issued by"},
	{"added_by", "Added by"},
	{"reference", "Reference"},
}

// whyHidden are keys shown another way (or not meant for readers).
var whyHidden = []string{"price", "proration", "usage", "tiers", "rule", "source", "agreement"}

func explainLine(l billing.Line) why {
	var w why
	e := l.Explain
	if p, ok := e["price"].(map[string]any); ok {
		w.Facts = append(w.Facts, fact{"Price", priceWords(p)})
	}
	if p, ok := e["proration"].(map[string]any); ok {
		w.Facts = append(w.Facts, fact{"Time held", prorationWords(p)})
		if t, ok := p["timing"].(string); ok {
			w.Facts = append(w.Facts, fact{"Billed", "in " + t})
		}
	}
	if u, ok := e["usage"].(map[string]any); ok {
		w.Facts = append(w.Facts, fact{"Usage", usageWords(u, l.Unit)})
		if href := usageHref(u); href != "" {
			w.Links = append(w.Links, whyLink{"The usage behind it, day by day", href, "usage-link"})
		}
	}
	for _, k := range whyLabels {
		if v, ok := e[k.key]; ok {
			w.Facts = append(w.Facts, fact{k.label, plainValue(v)})
		}
	}
	var rest []string
	for k := range e {
		if slices.Contains(whyHidden, k) || strings.HasSuffix(k, "_id") || slices.ContainsFunc(whyLabels, func(l struct{ key, label string }) bool { return l.key == k }) {
			continue
		}
		rest = append(rest, k)
	}
	slices.Sort(rest)
	for _, k := range rest {
		w.Facts = append(w.Facts, fact{capitalise(humanize(k)), plainValue(e[k])})
	}
	if ts, ok := e["tiers"].([]any); ok {
		for _, t := range ts {
			m, _ := t.(map[string]any)
			r := fmt.Sprint(m["from"]) + " and up"
			if to, ok := m["to"].(string); ok && to != "" {
				r = fmt.Sprint(m["from"]) + " to " + to
			}
			w.Tiers = append(w.Tiers, whyTier{Tier: plainValue(m["tier"]), Range: r, Quantity: plainValue(m["quantity"]),
				UnitPrice: plainValue(m["unit_price"]), FlatPrice: plainValue(m["flat_price"])})
		}
	}
	if r, ok := e["rule"].(string); ok && r != "" {
		w.Rule = capitalise(r) + "."
	}
	if id, ok := e["breach_id"].(string); ok {
		w.Links = append(w.Links, whyLink{"The breach behind it, and who else failed", "/sla/breaches/" + url.PathEscape(id), "breach-link"})
	}
	for _, k := range []string{"carried_from_id", "credits_id"} {
		if id, ok := e[k].(string); ok {
			w.Links = append(w.Links, whyLink{"The document it comes from", "/billing/documents/" + url.PathEscape(id), "doc-link"})
		}
	}
	return w
}

// priceWords: "version 2 of the Silver plan of Virtual machine".
func priceWords(p map[string]any) string {
	s := "version " + plainValue(p["price_version"])
	if plan, ok := p["plan"].(string); ok && plan != "" {
		s += " of the " + plan + " plan"
	}
	if o, ok := p["offering"].(string); ok && o != "" {
		s += " of " + o
	}
	return s
}

// prorationWords: "17 days of the 31 of the month (15 – 31 Dec 2026): 17/31".
func prorationWords(p map[string]any) string {
	held, okH := new(big.Rat).SetString(fmt.Sprint(p["held_seconds"]))
	length, okL := new(big.Rat).SetString(fmt.Sprint(p["period_seconds"]))
	interval, _ := p["interval"].(string)
	if interval == "" {
		interval = "month"
	}
	span := ""
	if from, to := parseTime(p["from"]), parseTime(p["to"]); !from.IsZero() && !to.IsZero() {
		span = " (" + dayRange(from, to) + ")"
	}
	if !okH || !okL || length.Sign() == 0 {
		return "the whole " + interval + span
	}
	if held.Cmp(length) == 0 {
		return "the whole " + interval + span
	}
	frac := new(big.Rat).Quo(held, length)
	return durationWords(held) + " of the " + durationWords(length) + " of the " + interval + span + ": " + frac.RatString() + " of the fee"
}

// durationWords writes seconds as days: whole days as such, less than a
// day in hours, else days to the hundredth (the exact fraction is shown
// beside it).
func durationWords(secs *big.Rat) string {
	d := new(big.Rat).Quo(secs, big.NewRat(86400, 1))
	if d.IsInt() {
		return plural(d.Num().String(), "day")
	}
	if d.Cmp(big.NewRat(1, 1)) < 0 {
		h := new(big.Rat).Quo(secs, big.NewRat(3600, 1))
		return plural(decimal(h), "hour")
	}
	return plural(decimal(d), "day")
}

// decimal writes r to the hundredth, without trailing zeros.
func decimal(r *big.Rat) string {
	return strings.TrimRight(strings.TrimRight(r.FloatString(2), "0"), ".")
}

func plural(n, unit string) string {
	if n == "1" {
		return "1 " + unit
	}
	return n + " " + unit + "s"
}

// dayRange writes [from, to) as the days it covers: "15 – 31 Dec 2026".
func dayRange(from, to time.Time) string {
	last := to.Add(-time.Nanosecond)
	if from.Year() == last.Year() && from.Month() == last.Month() {
		if from.Day() == last.Day() {
			return from.Format("2 Jan 2006")
		}
		return from.Format("2") + " – " + last.Format("2 Jan 2006")
	}
	return from.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
}

func parseTime(v any) time.Time {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// usageWords: "123.5 GB from 412 events of meter storage-gb, 1 – 31 Dec 2026".
func usageWords(u map[string]any, unit string) string {
	s := plainValue(u["quantity"])
	if unit != "" {
		s += " " + unit
	}
	if n := plainValue(u["events"]); n != "" {
		s += " from " + plural(n, "usage event")
	}
	if m, ok := u["meter"].(string); ok {
		s += " of meter " + m
	}
	if from, to := parseTime(u["from"]), parseTime(u["to"]); !from.IsZero() && !to.IsZero() {
		s += ", " + dayRange(from, to)
	}
	return s
}

// usageHref is the portal's usage page for what a line rated.
func usageHref(u map[string]any) string {
	meter, _ := u["meter"].(string)
	subject, _ := u["subject"].(string)
	from, to := parseTime(u["from"]), parseTime(u["to"])
	if meter == "" || from.IsZero() || to.IsZero() {
		return ""
	}
	q := url.Values{"meter": {meter}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	if subject != "" {
		q.Set("subject", subject)
	}
	return "/usage?" + q.Encode()
}

// plainValue writes a stored explanation's value for people: numbers
// without exponents, lists and objects as "a, b".
func plainValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = plainValue(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			if !strings.HasSuffix(k, "_id") && k != "id" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = humanize(k) + " " + plainValue(x[k])
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}
