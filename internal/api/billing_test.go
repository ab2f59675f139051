package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// billingScenario is issue 4's "done when" over real HTTP: a service owner
// prices a plan with a usage charge, a consumer is quoted it and orders
// it, an agent fulfils it, a reporter sends the instance's usage, a
// financial manager opens a billing account and runs the month as a job,
// and the consumer reads the draft invoice whose lines explain themselves;
// then the document actions and the exports.
func billingScenario(t *testing.T, e *env, retail string) {
	c := e.check
	global := map[string]any{"scope_kind": "global"}
	_, fm := e.user(t, "billing@example.com", retail, map[string]any{"role": "financial_manager", "scope_kind": "global"})
	_, pm := e.user(t, "pm2@example.com", retail, map[string]any{"role": "portfolio_manager", "scope_kind": "global"})
	_, buyer := e.user(t, "retail-buyer@example.com", retail, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail})
	agentID, agent := e.user(t, "billing-agent@example.com", retail)
	_, reporter := e.user(t, "meter-agent@example.com", retail, map[string]any{"role": "usage_reporter", "scope_kind": "global"})
	var plant idOnly
	c.do("POST", "/api/v1/org-units", e.admin, map[string]any{"kind": "business_unit", "code": "LAB", "name": "Lab"}, 201).decode(t, &plant)
	_, outsider := e.user(t, "lab-buyer@example.com", plant.ID, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": plant.ID})
	_ = global

	c.do("PUT", "/api/v1/meters/egress-gb", fm, map[string]any{"name": "Egress", "event_type": "com.example.egress", "aggregation": "sum", "value_path": "gb", "unit": "GB"}, 200)
	var grp idOnly
	c.do("POST", "/api/v1/groups", e.admin, map[string]any{"name": "Storage team"}, 201).decode(t, &grp)
	c.do("PUT", "/api/v1/groups/"+grp.ID+"/members/"+agentID, e.admin, nil, 200)
	var svc idOnly
	c.do("POST", "/api/v1/services", pm, map[string]any{"code": "object-storage", "name": "Object storage", "kind": "business", "assignment_group_id": grp.ID}, 201).decode(t, &svc)
	for _, to := range []string{"approved", "in_design", "live"} {
		c.do("POST", "/api/v1/services/"+svc.ID+"/transitions", pm, map[string]any{"to": to, "reason": "ready"}, 200)
	}
	bucket := map[string]any{"code": "bucket", "service_id": svc.ID, "name": "Bucket", "summary": "S3 bucket",
		"plans": []map[string]any{{"code": "standard", "name": "Standard", "currency": "EUR", "recurring": "10.00",
			"prices": []map[string]any{{"code": "egress", "name": "Egress", "kind": "graduated", "meter": "egress-gb",
				"tiers": []map[string]any{{"up_to": "100", "unit_price": "0"}, {"unit_price": "0.05"}}}}}}}
	c.do("POST", "/api/v1/catalog/offerings", pm, bucket, 201)
	// A usage charge on a meter that does not exist is refused by name.
	bad := map[string]any{"components": []map[string]any{{"code": "x", "kind": "per_unit", "meter": "nope", "price": "1"}}}
	if f := c.bad("POST", "/api/v1/offerings/bucket/plans/standard/prices", fm, bad, 422).problemFields(); len(f) != 1 || f[0] != "components[0].meter" {
		t.Errorf("a price on an unknown meter: %v", f)
	}
	c.do("POST", "/api/v1/offerings/bucket/plans/standard/prices", buyer, map[string]any{"components": []any{}}, 403)
	// A price for next year leaves today's quote alone.
	next := time.Now().UTC().AddDate(1, 0, 0).Format(time.RFC3339)
	c.do("POST", "/api/v1/offerings/bucket/plans/standard/prices", fm, map[string]any{"effective_from": next, "note": "2027 list",
		"components": []map[string]any{{"code": "base", "name": "Monthly fee", "kind": "flat", "price": "12.00"},
			{"code": "support", "name": "Support", "kind": "flat", "price": "700.00", "interval": "year", "timing": "advance"}}}, 201)
	// Issue 16, billing 3: intervals are month, quarter or year (docs/billing.md, "Billing intervals").
	weekly := map[string]any{"effective_from": next, "components": []map[string]any{{"code": "base", "kind": "flat", "price": "1.00", "interval": "week"}}}
	if f := c.bad("POST", "/api/v1/offerings/bucket/plans/standard/prices", fm, weekly, 422).problemFields(); len(f) != 1 || f[0] != "components[0].interval" {
		t.Errorf("a weekly fee: %v", f)
	}
	var versions struct {
		Items []struct {
			ID      string
			Version int
		}
	}
	c.do("GET", "/api/v1/offerings/bucket/plans/standard/prices", buyer, nil, 200).decode(t, &versions)
	if len(versions.Items) != 2 || versions.Items[0].Version != 2 {
		t.Fatalf("versions = %+v", versions.Items)
	}

	var quote struct {
		Lines []struct {
			PriceVersionID string `json:"price_version_id"`
			Usage          []struct{ Rate string }
			Quote          struct{ Monthly string }
		}
	}
	c.do("POST", "/api/v1/quotes", buyer, map[string]any{"items": []map[string]any{{"offering": "bucket", "plan": "standard"}}}, 200).decode(t, &quote)
	if q := quote.Lines[0]; q.PriceVersionID != versions.Items[1].ID || q.Quote.Monthly != "10.00" || len(q.Usage) != 1 {
		t.Fatalf("quote = %+v", quote)
	}
	var order idOnly
	c.do("POST", "/api/v1/orders", buyer, map[string]any{"items": []map[string]any{{"offering": "bucket", "plan": "standard"}}}, 201).decode(t, &order)
	c.do("POST", "/api/v1/orders/"+order.ID+"/submit", buyer, nil, 200)
	var tasks struct{ Items []idOnly }
	c.do("GET", "/api/v1/tasks", agent, nil, 200).decode(t, &tasks)
	c.do("POST", "/api/v1/tasks/"+tasks.Items[0].ID+"/complete", agent, map[string]any{"done": true, "instance_name": "media-bucket"}, 200)
	var inst struct{ Items []struct{ ID, Name string } }
	c.do("GET", "/api/v1/instances?mine=true", buyer, nil, 200).decode(t, &inst)
	var instanceID string
	for _, i := range inst.Items {
		if i.Name == "media-bucket" {
			instanceID = i.ID
		}
	}
	if instanceID == "" {
		t.Fatalf("no instance: %+v", inst.Items)
	}

	// Usage arrives over HTTP: 130 GB, the first 100 free.
	now := time.Now().UTC()
	var events []map[string]any
	for i, gb := range []int{100, 30} {
		events = append(events, map[string]any{"specversion": "1.0", "id": fmt.Sprintf("egress-%d", i), "source": "/s3", "type": "com.example.egress",
			"subject": instanceID, "time": now.Format(time.RFC3339), "data": map[string]any{"gb": gb}})
	}
	raw, _ := json.Marshal(events)
	req, _ := http.NewRequest("POST", c.base+"/api/v1/events", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	req.Header.Set("Authorization", "Bearer "+reporter)
	c.exchange(req, raw, 200, true)

	// Billing account and the run of this month, as a job.
	c.do("PUT", "/api/v1/billing/accounts/RETAIL", buyer, map[string]any{"mode": "chargeback", "currency": "EUR"}, 403)
	if f := c.bad("PUT", "/api/v1/billing/accounts/RETAIL", fm, map[string]any{"mode": "invoice", "currency": "EUR", "anchor_day": 30}, 422).problemFields(); len(f) != 2 {
		t.Errorf("bad account fields = %v", f)
	}
	c.do("PUT", "/api/v1/billing/accounts/RETAIL", fm, map[string]any{"mode": "chargeback", "currency": "EUR", "terms_days": 14}, 200)
	c.do("GET", "/api/v1/billing/accounts", buyer, nil, 200)
	c.do("GET", "/api/v1/billing/accounts/RETAIL", buyer, nil, 200)
	c.do("GET", "/api/v1/billing/accounts/RETAIL", outsider, nil, 403)
	month := now.Format("2006-01")
	c.do("POST", "/api/v1/billing/runs", fm, map[string]any{"month": "2026-13"}, 422)
	// Issue 15, finding 14: a run for 1900-01 was accepted (and took a
	// credit of another month). Months before the first billing account or
	// instance, and after the month in progress, are refused by name.
	for _, m := range []string{"1900-01", now.AddDate(0, -2, 0).Format("2006-01"), now.AddDate(0, 1, 0).Format("2006-01")} {
		var p struct {
			Errors []struct{ Field, Rule, Message string }
		}
		c.do("POST", "/api/v1/billing/runs", fm, map[string]any{"month": m}, 422).decode(t, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "month" || p.Errors[0].Rule != "range" || !strings.Contains(p.Errors[0].Message, "to "+month) {
			t.Errorf("a run of %s: %+v", m, p)
		}
		c.do("GET", "/api/v1/billing/runs/"+m, fm, nil, 404)
	}
	c.do("POST", "/api/v1/billing/runs", buyer, map[string]any{"month": month}, 403)
	var run struct {
		ID, State    string
		AccountsDone int `json:"accounts_done"`
	}
	c.do("POST", "/api/v1/billing/runs", fm, map[string]any{"month": month}, 202).decode(t, &run)
	for {
		ran, err := e.app.Jobs.RunOne(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			break
		}
	}
	c.do("GET", "/api/v1/billing/runs/"+run.ID, fm, nil, 200).decode(t, &run)
	if run.State != "completed" || run.AccountsDone != 1 {
		t.Fatalf("run = %+v", run)
	}
	c.do("GET", "/api/v1/billing/runs", fm, nil, 200)

	// The consumer sees the invoice; lines explain themselves.
	var docs struct {
		Items []struct{ ID, Kind, State string }
	}
	c.do("GET", "/api/v1/billing/documents?account=RETAIL&from="+month, buyer, nil, 200).decode(t, &docs)
	if len(docs.Items) != 1 || docs.Items[0].Kind != "invoice" || docs.Items[0].State != "draft" {
		t.Fatalf("documents = %+v", docs.Items)
	}
	c.do("GET", "/api/v1/billing/documents", outsider, nil, 200).decode(t, &docs)
	if len(docs.Items) != 0 {
		t.Errorf("Plant sees Retail's invoices: %+v", docs.Items)
	}
	c.do("GET", "/api/v1/billing/documents?account=RETAIL", buyer, nil, 200).decode(t, &docs)
	id := docs.Items[0].ID
	c.do("GET", "/api/v1/billing/documents/"+id, outsider, nil, 403)
	var doc struct {
		Total string
		Lines []struct {
			Kind, Component, Quantity, Amount string
			PriceVersionID                    string `json:"price_version_id"`
			Explain                           map[string]any
		}
	}
	c.do("GET", "/api/v1/billing/documents/"+id, buyer, nil, 200).decode(t, &doc)
	var usage, fee bool
	for _, l := range doc.Lines {
		switch l.Kind {
		case "usage":
			usage = l.Component == "egress" && l.Quantity == "130" && l.Amount == "1.50" && l.Explain["tiers"] != nil && l.Explain["usage"] != nil
		case "recurring":
			fee = l.Component == "base" && l.Explain["proration"] != nil
		}
	}
	if !usage || !fee || doc.Lines[0].PriceVersionID == "" {
		t.Errorf("invoice lines = %+v", doc.Lines)
	}
	// The lines page by position, as the document embeds them.
	var lines struct {
		Items []struct{ Position int }
	}
	c.do("GET", "/api/v1/billing/documents/"+id+"/lines", buyer, nil, 200).decode(t, &lines)
	if len(lines.Items) != len(doc.Lines) || lines.Items[0].Position != 1 {
		t.Errorf("lines = %+v, the document embeds %d", lines.Items, len(doc.Lines))
	}
	c.do("GET", "/api/v1/billing/documents/"+id+"/lines", outsider, nil, 403)

	// Document actions: a draft cannot be finalised before its period ends,
	// nor paid or credited; it takes a credit line.
	c.do("POST", "/api/v1/billing/documents/"+id+"/finalise", fm, nil, 409)
	c.do("POST", "/api/v1/billing/documents/"+id+"/payments", fm, map[string]any{"amount": "1.00"}, 409)
	c.do("POST", "/api/v1/billing/documents/"+id+"/credit-notes", fm, map[string]any{"reason": "x"}, 409)
	c.do("POST", "/api/v1/billing/documents/"+id+"/lines", buyer, map[string]any{"kind": "credit", "description": "x", "amount": "1"}, 403)
	c.do("POST", "/api/v1/billing/documents/"+id+"/lines", fm, map[string]any{"kind": "credit", "description": "Welcome credit", "amount": "0.50"}, 200)

	// Issue 16, billing 1 and 2: a draft shows its amount due; the
	// account's balance (docs/billing.md, "The account's balance") is read
	// in scope, and a refund is at most the credit balance (here 0.00).
	var due struct{ Total, Balance, Applied string }
	c.do("GET", "/api/v1/billing/documents/"+id, buyer, nil, 200).decode(t, &due)
	if due.Balance != due.Total || due.Applied != "0.00" || due.Total == "0.00" {
		t.Errorf("the draft's amount due: %+v", due)
	}
	var bal struct{ Credit, Owed string }
	c.do("GET", "/api/v1/billing/accounts/RETAIL/balance", buyer, nil, 200).decode(t, &bal)
	if bal.Credit != "0.00" || bal.Owed != "0.00" {
		t.Errorf("balance = %+v", bal)
	}
	c.do("GET", "/api/v1/billing/accounts/RETAIL/balance", outsider, nil, 403)
	c.do("GET", "/api/v1/billing/accounts/RETAIL/entries", buyer, nil, 200)
	c.do("GET", "/api/v1/billing/accounts/RETAIL/entries", outsider, nil, 403)
	c.do("POST", "/api/v1/billing/accounts/RETAIL/refunds", buyer, map[string]any{"amount": "1.00"}, 403)
	if f := c.bad("POST", "/api/v1/billing/accounts/RETAIL/refunds", fm, map[string]any{"amount": "1.00", "reference": "x"}, 422).problemFields(); len(f) != 1 || f[0] != "amount" {
		t.Errorf("a refund beyond the balance: %v", f)
	}

	// Exports: the lines in CSV and in FOCUS add up to the document.
	get := func(format string) [][]string {
		req, _ := http.NewRequest("GET", c.base+"/api/v1/billing/export?format="+format+"&include_drafts=true&from="+month+"&to="+now.AddDate(0, 1, 0).Format("2006-01"), nil)
		req.Header.Set("Authorization", "Bearer "+buyer)
		body := c.exchange(req, nil, 200, true).body
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	c.do("GET", "/api/v1/billing/documents/"+id, buyer, nil, 200).decode(t, &doc)
	for _, format := range []string{"csv", "focus"} {
		rows := get(format)
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		amount := col["amount"]
		if format == "focus" {
			amount = col["BilledCost"]
		}
		var cents int64
		for _, r := range rows[1:] {
			var units, frac int64
			fmt.Sscanf(strings.Replace(r[amount], ".", " ", 1), "%d %d", &units, &frac)
			if strings.HasPrefix(r[amount], "-") {
				frac = -frac
			}
			cents += units*100 + frac
		}
		var want, wfrac int64
		fmt.Sscanf(strings.Replace(doc.Total, ".", " ", 1), "%d %d", &want, &wfrac)
		// FOCUS splits a line priced in tiers into a row per tier.
		if (format == "csv" && len(rows) != len(doc.Lines)+1) || len(rows) < len(doc.Lines)+1 || cents != want*100+wfrac {
			t.Errorf("%s export: %d rows, %d cents; the invoice has %d lines, %s", format, len(rows)-1, cents, len(doc.Lines), doc.Total)
		}
	}
	c.do("GET", "/api/v1/billing/export?format=focus&from="+month+"&to="+month, buyer, nil, 422)
	c.do("POST", "/api/v1/billing/documents/"+id+"/void", fm, map[string]any{"reason": "test"}, 200)
}
