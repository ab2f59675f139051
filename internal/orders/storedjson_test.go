package orders_test

import (
	"testing"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestStoredJSONThatDoesNotDecode checks that an order item whose stored
// parameters or add-ons do not decode is an internal error, not an item
// quietly without its parameters or add-ons; and an offering's add-ons
// likewise. Issue 17, item 20 (ignored json.Unmarshal errors, now
// sqldb.JSON columns).
func TestStoredJSONThatDoesNotDecode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	o, err := f.order(f.dana, "bronze", map[string]any{"hostname": "web-1"})
	must(t, err)
	exec := func(q string, args ...any) {
		t.Helper()
		must(t, f.db.Tx(f.ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(f.ctx, q, args...)
			return err
		}))
	}
	if _, err := f.ord.Order(f.ctx, f.dana, o.ID); err != nil {
		t.Fatalf("the order before its item is damaged: %v", err)
	}

	exec(`UPDATE order_items SET parameters = '{"hostname":' WHERE order_id = $1`, o.ID)
	_, err = f.ord.Order(f.ctx, f.dana, o.ID)
	wantCode(t, err, errs.CodeInternal, "")
	exec(`UPDATE order_items SET parameters = '{}' WHERE order_id = $1`, o.ID)

	exec(`UPDATE order_items SET addons = '"backup"' WHERE order_id = $1`, o.ID)
	_, err = f.ord.Order(f.ctx, f.dana, o.ID)
	wantCode(t, err, errs.CodeInternal, "")
	exec(`UPDATE order_items SET addons = '[]' WHERE order_id = $1`, o.ID)
	if _, err := f.ord.Order(f.ctx, f.dana, o.ID); err != nil {
		t.Fatalf("the order once mended: %v", err)
	}

	exec(`UPDATE offerings SET addons = '{"code":"backup"}' WHERE id = $1`, f.vm.ID)
	_, err = f.cat.Offering(f.ctx, f.pm, f.vm.ID)
	wantCode(t, err, errs.CodeInternal, "")
}
