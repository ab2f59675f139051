package app_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestNewWiresTheSeams checks that the composition root, not a domain
// constructor, connects orders to provisioning (issue 17, item 20).
func TestNewWiresTheSeams(t *testing.T) {
	t.Parallel()
	a, err := app.New(context.Background(), app.Config{Database: sqldbtest.Config(t)}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Orders.Provisioner != orders.Provisioner(a.Provision) {
		t.Errorf("orders' Provisioner is %v, want the app's provisioning service", a.Orders.Provisioner)
	}
}
