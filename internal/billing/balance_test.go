package billing_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/billing"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/rating"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestAccountBalance: issue 16, billing 1: "an invoice of 298.32 with
// 200.00 paid and 99.33 credited ends paid with balance −1.01 and no
// refund or carry-forward. Overpayment and credit beyond the invoice
// become an account credit balance applied to the next invoice (or a
// recorded refund), never a negative balance on a paid document"
// (docs/billing.md, "The account's balance").
func TestAccountBalance(t *testing.T) {
	f := newFixture(t) // today is 5 Dec 2026
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.plan("desk", "EUR", []rating.Component{{Code: "base", Name: "Monthly fee", Kind: rating.Flat, Price: "298.32"}})
	f.instance("a", "corp", [4]string{"desk", "1", "2026-11-01T00:00:00Z", ""})
	f.run("2026-11")
	nov := invoice(f, "2026-11-01T00:00:00Z")
	// A draft shows what will be due (issue 16, billing 2): the whole 298.32.
	if nov.State != billing.Draft || nov.Total != "298.32" || nov.Balance != "298.32" {
		t.Fatalf("November's draft: %s total %s due %s", nov.State, nov.Total, nov.Balance)
	}
	if _, err := f.bill.Finalise(f.ctx, sys, nov.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.bill.RecordPayment(f.ctx, sys, nov.ID, billing.PaymentInput{Amount: "200.00", Reference: "BANK-1"}); err != nil {
		t.Fatal(err)
	}
	// 298.32 − 200.00 = 98.32 due; a credit note of 99.33 settles it and
	// 99.33 − 98.32 = 1.01 goes to the account's credit balance.
	if _, err := f.bill.IssueCreditNote(f.ctx, sys, nov.ID, billing.CreditNoteInput{Reason: "Outage", Amount: "99.33"}); err != nil {
		t.Fatal(err)
	}
	nov = invoice(f, "2026-11-01T00:00:00Z")
	got := []string{string(nov.State), nov.Paid, nov.Credited, nov.Carried, nov.Balance}
	if diff := cmp.Diff([]string{"paid", "200.00", "99.33", "1.01", "0.00"}, got); diff != "" {
		t.Fatalf("November (state, paid, credited, carried, balance) (-want +got):\n%s", diff)
	}
	bal, err := f.bill.Balance(f.ctx, sys, "corp")
	if err != nil || bal.Credit != "1.01" || bal.Owed != "0.00" {
		t.Fatalf("balance %+v, %v", bal, err)
	}
	// A credit note is final: voiding it would leave the invoice "paid"
	// with 99.33 unpaid and the 1.01 it gave the account refundable. It is
	// refused, and nothing changes (docs/billing.md, "Credit notes").
	notesPage, err := f.bill.Documents(f.ctx, sys, billing.DocumentFilter{AccountID: nov.AccountID})
	notes := notesPage.Items
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range notes {
		if d.Kind != billing.CreditNote {
			continue
		}
		if _, err := f.bill.Void(f.ctx, sys, d.ID, "issued by mistake"); errs.As(err) == nil || errs.As(err).Code != errs.CodeConflict {
			t.Fatalf("voiding credit note %s: %v", d.Label(), err)
		}
	}
	if again := invoice(f, "2026-11-01T00:00:00Z"); again.State != billing.Paid || again.Balance != "0.00" {
		t.Fatalf("after refusing to void the credit note: %s due %s", again.State, again.Balance)
	}
	if bal, err := f.bill.Balance(f.ctx, sys, "corp"); err != nil || bal.Credit != "1.01" {
		t.Fatalf("balance %+v, %v", bal, err)
	}

	// December's draft (the month in progress): 298.32 less the 1.01 of
	// account credit = 297.31 due; the total (the costs) stays 298.32.
	f.run("2026-12")
	dec := f.doc("corp", "2026-12-01T00:00:00Z")
	if dec.Total != "298.32" || dec.Applied != "1.01" || dec.Balance != "297.31" {
		t.Fatalf("December's draft: total %s applied %s due %s", dec.Total, dec.Applied, dec.Balance)
	}
	f.now = at("2027-01-03T09:00:00Z")
	f.run("2026-12")
	dec, err = f.bill.Finalise(f.ctx, sys, dec.ID)
	if err != nil || dec.State != billing.Finalised || dec.Applied != "1.01" || dec.Balance != "297.31" {
		t.Fatalf("December finalised: %+v, %v", dec, err)
	}
	// Paying 300.00 of 297.31 due overpays by 2.69: the account's credit.
	dec, err = f.bill.RecordPayment(f.ctx, sys, dec.ID, billing.PaymentInput{Amount: "300.00", Reference: "BANK-2"})
	if err != nil || dec.State != billing.Paid || dec.Balance != "0.00" || dec.Carried != "2.69" {
		t.Fatalf("overpaid December: %+v, %v", dec, err)
	}
	// A refund pays it back; more than the balance is refused.
	_, err = f.bill.Refund(f.ctx, sys, "corp", billing.RefundInput{Amount: "2.70", Reference: "REFUND-1"})
	if e := errs.As(err); e == nil || e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "amount" {
		t.Fatalf("refund beyond the balance: %v", err)
	}
	bal, err = f.bill.Refund(f.ctx, sys, "corp", billing.RefundInput{Amount: "2.69", Reference: "REFUND-1"})
	if err != nil {
		t.Fatal(err)
	}
	var ledger []string // newest first
	for _, e := range bal.Entries {
		ledger = append(ledger, string(e.Kind)+" "+e.Amount)
	}
	if diff := cmp.Diff([]string{"refund -2.69", "overpayment 2.69", "applied -1.01", "credit_note 1.01"}, ledger); diff != "" || bal.Credit != "0.00" {
		t.Errorf("ledger (-want +got):\n%s credit %s", diff, bal.Credit)
	}
	// No document anywhere owes less than nothing.
	var negative int
	f.db.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM billing_account_entries e GROUP BY e.account_id HAVING SUM(e.amount_minor) < 0`).Scan(&negative)
	if negative != 0 {
		t.Error("an account's credit balance is negative")
	}
}

// TestCreditCarriedForward: issue 16, billing 2: "a rebate larger than the
// month's charges makes a negative invoice. Show the amount due on
// drafts; carry excess credit forward" (docs/billing.md, "Credits beyond
// the charges").
func TestCreditCarriedForward(t *testing.T) {
	f := newFixture(t) // today is 5 Dec 2026
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.instance("b", "corp", [4]string{"large", "1", "2026-12-01T00:00:00Z", ""}) // 90.00 a month
	// An SLA rebate of 150.00 earned on 3 December.
	if err := f.db.Tx(f.ctx, func(tx *sqldb.Tx) error {
		return billing.SetCredit(f.ctx, tx, at("2026-12-03T08:00:00Z"), billing.CreditInput{OrgUnitID: f.units["corp"], Currency: "EUR", TotalMinor: 15000,
			Description: "SLA rebate", Source: "test", SourceID: "breach-1"})
	}); err != nil {
		t.Fatal(err)
	}
	f.run("2026-12")
	dec := f.doc("corp", "2026-12-01T00:00:00Z")
	// 90.00 − 150.00 = −60.00: 60.00 carried forward, the invoice is 0.00.
	if diff := cmp.Diff("recurring base 90.00\ncredit  -150.00\nadjustment  60.00", lines(dec)); diff != "" || dec.Total != "0.00" || dec.Balance != "0.00" {
		t.Fatalf("December (-want +got):\n%s\ntotal %s due %s", diff, dec.Total, dec.Balance)
	}
	bal, _ := f.bill.Balance(f.ctx, sys, "corp")
	if bal.CreditsWaiting != "150.00" { // on December's draft, not yet invoiced
		t.Errorf("credits waiting before finalising: %s", bal.CreditsWaiting)
	}
	f.now = at("2027-01-03T09:00:00Z")
	f.run("2026-12")
	dec, err := f.bill.Finalise(f.ctx, sys, dec.ID)
	if err != nil || dec.State != billing.Paid || dec.Total != "0.00" {
		t.Fatalf("December finalised: %+v, %v", dec, err)
	}
	if bal, _ = f.bill.Balance(f.ctx, sys, "corp"); bal.CreditsWaiting != "60.00" {
		t.Errorf("credits waiting after finalising: %s", bal.CreditsWaiting)
	}
	// January: 90.00 − 60.00 = 30.00 due; the whole rebate (150.00) is billed once.
	f.now = at("2027-02-02T09:00:00Z")
	f.run("2027-01")
	jan := f.doc("corp", "2027-01-01T00:00:00Z")
	if diff := cmp.Diff("recurring base 90.00\ncredit  -60.00", lines(jan)); diff != "" || jan.Total != "30.00" || jan.Balance != "30.00" {
		t.Fatalf("January (-want +got):\n%s\ntotal %s due %s", diff, jan.Total, jan.Balance)
	}
	var credits int64
	f.db.Read().QueryRowContext(f.ctx, `SELECT SUM(amount_minor) FROM billing_lines WHERE kind IN ('credit', 'adjustment')`).Scan(&credits)
	if credits != -15000 {
		t.Errorf("credit and carry lines sum to %d, want −150.00 in all", credits)
	}
	// A credit line added by hand beyond the charges is carried forward at
	// once, and taking it off again lowers the carry: 30.00 − 50.00 = −20.00
	// carried; then a 5.00 adjustment leaves 15.00 to carry.
	jan, err = f.bill.AddLine(f.ctx, sys, jan.ID, billing.LineInput{Kind: billing.LineCredit, Description: "Goodwill", Amount: "50.00"})
	if err != nil || jan.Total != "0.00" || jan.Balance != "0.00" || carriedLine(jan) != "20.00" {
		t.Fatalf("January with goodwill: %+v, %v", jan, err)
	}
	jan, err = f.bill.AddLine(f.ctx, sys, jan.ID, billing.LineInput{Kind: billing.LineAdjustment, Description: "Extra", Amount: "5.00"})
	if err != nil || jan.Total != "0.00" || carriedLine(jan) != "15.00" {
		t.Fatalf("January with an adjustment: %+v, %v", jan, err)
	}
	f.run("2027-01") // the re-run keeps the hand-made lines and the same carry
	if jan = invoice(f, "2027-01-01T00:00:00Z"); jan.Total != "0.00" || carriedLine(jan) != "15.00" {
		t.Fatalf("January re-run: total %s, carried %s\n%s", jan.Total, carriedLine(jan), lines(jan))
	}
}

// carriedLine is the amount of a document's carried-forward line, or "".
func carriedLine(d *billing.Document) string {
	for _, l := range d.Lines {
		if l.Kind == billing.LineAdjustment && strings.HasPrefix(l.Description, "Credit carried forward") {
			return l.Amount
		}
	}
	return ""
}

// invoice is corp's invoice of the period starting at from.
func invoice(f *fixture, from string) *billing.Document {
	f.t.Helper()
	dsPage, err := f.bill.Documents(f.ctx, access.System(), billing.DocumentFilter{AccountID: "corp", Kind: billing.Invoice, From: at(from), To: at(from).Add(time.Hour)})
	ds := dsPage.Items
	if err != nil || len(ds) != 1 {
		f.t.Fatalf("invoices from %s: %d, %v", from, len(ds), err)
	}
	d, err := f.bill.Document(f.ctx, access.System(), ds[0].ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// TestCreditAppliedOldestDraftFirst: the account's credit settles invoices
// in the order they are finalised, so two open drafts share it oldest
// first instead of each showing all of it (docs/billing.md, "The
// account's balance": a draft shows "what will be due when finalised").
func TestCreditAppliedOldestDraftFirst(t *testing.T) {
	f := newFixture(t) // today is 5 Dec 2026
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.plan("desk", "EUR", []rating.Component{{Code: "base", Name: "Monthly fee", Kind: rating.Flat, Price: "50.00"}})
	f.instance("a", "corp", [4]string{"desk", "1", "2026-10-01T00:00:00Z", ""})
	f.run("2026-10")
	oct, err := f.bill.Finalise(f.ctx, sys, invoice(f, "2026-10-01T00:00:00Z").ID)
	if err != nil {
		t.Fatal(err)
	}
	// 130.00 paid of 50.00 due: 80.00 to the account's credit.
	if _, err := f.bill.RecordPayment(f.ctx, sys, oct.ID, billing.PaymentInput{Amount: "130.00", Reference: "BANK-1"}); err != nil {
		t.Fatal(err)
	}
	f.run("2026-11")
	f.run("2026-12")
	// November takes 50.00 of the 80.00 and owes nothing; December (in
	// progress, 50.00 projected) gets the 30.00 left: 20.00 due.
	nov, dec := invoice(f, "2026-11-01T00:00:00Z"), f.doc("corp", "2026-12-01T00:00:00Z")
	got := []string{nov.Applied, nov.Balance, dec.Applied, dec.Balance}
	if diff := cmp.Diff([]string{"50.00", "0.00", "30.00", "20.00"}, got); diff != "" {
		t.Errorf("drafts (November applied, due; December applied, due) (-want +got):\n%s", diff)
	}
}

// TestBalanceEntriesPage: issue 18, "every list pages": the balance shows
// the account's 20 newest entries and says more follow; Entries pages
// through all of them, newest first, the same rows as one page of all.
func TestBalanceEntriesPage(t *testing.T) {
	f := newFixture(t)
	sys := access.System()
	if _, err := f.bill.SaveAccount(f.ctx, sys, billing.AccountInput{OrgUnit: "corp", Mode: billing.Chargeback, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	f.plan("desk", "EUR", []rating.Component{{Code: "base", Name: "Monthly fee", Kind: rating.Flat, Price: "298.32"}})
	f.instance("a", "corp", [4]string{"desk", "1", "2026-11-01T00:00:00Z", ""})
	f.run("2026-11")
	nov := invoice(f, "2026-11-01T00:00:00Z")
	if _, err := f.bill.Finalise(f.ctx, sys, nov.ID); err != nil {
		t.Fatal(err)
	}
	// 300.00 paid on 298.32: 1.68 of credit, then 44 refunds of 0.01 (all
	// at the fixture's one instant, so the ID orders them).
	if _, err := f.bill.RecordPayment(f.ctx, sys, nov.ID, billing.PaymentInput{Amount: "300.00", Reference: "BANK-1"}); err != nil {
		t.Fatal(err)
	}
	for i := range 44 {
		if _, err := f.bill.Refund(f.ctx, sys, "corp", billing.RefundInput{Amount: "0.01", Reference: "R" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	bal, err := f.bill.Balance(f.ctx, sys, "corp")
	if err != nil || bal.Credit != "1.24" || len(bal.Entries) != 20 || !bal.MoreEntries {
		t.Fatalf("balance: credit %s, %d entries, more %v, %v", bal.Credit, len(bal.Entries), bal.MoreEntries, err)
	}
	all, err := f.bill.Entries(f.ctx, sys, "corp", sqldb.Page{Limit: 500})
	if err != nil || len(all.Items) != 45 || all.Next != "" {
		t.Fatalf("all entries: %d, next %q, %v", len(all.Items), all.Next, err)
	}
	if diff := cmp.Diff(all.Items[:20], bal.Entries); diff != "" {
		t.Errorf("the balance's entries are not the newest 20 (-want +got):\n%s", diff)
	}
	if last := all.Items[44]; last.Kind != billing.EntryOverpayment || last.Amount != "1.68" {
		t.Errorf("the oldest entry: %+v", last)
	}
	var walked []billing.Entry
	page := sqldb.Page{Limit: 7}
	for {
		p, err := f.bill.Entries(f.ctx, sys, "corp", page)
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, p.Items...)
		if p.Next == "" {
			break
		}
		page.Cursor = p.Next
	}
	if diff := cmp.Diff(all.Items, walked); diff != "" {
		t.Errorf("pages of 7 (-all +walked):\n%s", diff)
	}
	if _, err := f.bill.Entries(f.ctx, &access.Principal{UserID: "nobody"}, "corp", sqldb.Page{}); errs.As(err) == nil {
		t.Error("entries read without billing.read")
	}
}
