package demo

import (
	"context"
	"fmt"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// seedOrders places Dana's orders so the demo shows one in each state:
// a cart (draft), awaiting approval (sponsor, then finance), fulfilling
// (a task in Platform Engineering's queue), completed (with an instance),
// rejected, cancelled and failed. It does nothing when orders exist.
func seedOrders(ctx context.Context, s Services) error {
	sys := access.System()
	if existing, err := s.Orders.Orders(ctx, sys, orders.OrderFilter{Page: sqldb.Page{Limit: 1}}); err != nil || len(existing.Items) > 0 {
		return err
	}
	as := func(email string) (*access.Principal, error) { return principal(ctx, s, email) }
	dana, err := as("dana@contoso.example")
	if err != nil {
		return err
	}
	arun, err := as("arun@contoso.example")
	if err != nil {
		return err
	}
	felix, err := as("felix@it.contoso.example")
	if err != nil {
		return err
	}
	alex, err := as("alex@it.contoso.example")
	if err != nil {
		return err
	}
	place := func(note string, items ...orders.ItemInput) (*orders.Order, error) {
		o, err := s.Orders.CreateOrder(ctx, dana, orders.OrderInput{Note: note, Items: items})
		if err != nil {
			return nil, err
		}
		return s.Orders.Submit(ctx, dana, o.ID)
	}
	vm := func(host, plan string, qty int) orders.ItemInput {
		return orders.ItemInput{Offering: "vm", Plan: plan, Quantity: qty, Parameters: map[string]any{"hostname": host}}
	}
	// Completed: a mailbox, fulfilled by the Service Desk.
	done, err := place("Mailbox for the new store manager", orders.ItemInput{Offering: "mailbox", Plan: "standard"})
	if err != nil {
		return err
	}
	if err := completeTasks(ctx, s, alex, done.ID, true, "Mailbox created"); err != nil {
		return err
	}
	// Completed: a bronze VM, now one of Retail's services.
	web, err := place("Test server for the shop", vm("shop-test", "bronze", 1))
	if err != nil {
		return err
	}
	if err := completeTasks(ctx, s, alex, web.ID, true, "Built from the ubuntu template"); err != nil {
		return err
	}
	// Completed: a metered bucket (its usage arrives in seedBilling).
	bucket, err := place("Bucket for the shop's product images", orders.ItemInput{Offering: "bucket", Plan: "standard", Parameters: map[string]any{"bucket_name": "shop-images"}})
	if err != nil {
		return err
	}
	if err := completeTasks(ctx, s, alex, bucket.ID, true, "Created in the Paris region"); err != nil {
		return err
	}
	// Fulfilling: approved by nobody (no policy applies), waiting in the queue.
	if _, err := place("Staging server", vm("shop-staging", "bronze", 1)); err != nil {
		return err
	}
	// Awaiting approval: over 500 a month goes to the sponsor, then gold to finance.
	if _, err := place("Production database servers for the online shop", vm("shop-db", "gold", 2)); err != nil {
		return err
	}
	// Rejected by finance after the sponsor said yes.
	rej, err := place("Analytics cluster", vm("analytics", "gold", 3))
	if err != nil {
		return err
	}
	if err := decideAll(ctx, s, rej.ID, arun, true, "Fine by the business"); err != nil {
		return err
	}
	if err := decideAll(ctx, s, rej.ID, felix, false, "Gold is not needed for analytics; order silver instead"); err != nil {
		return err
	}
	// Failed: the bucket name was taken.
	failed, err := place("Bucket for store photos", orders.ItemInput{Offering: "bucket", Plan: "standard", Quantity: 5, Parameters: map[string]any{"bucket_name": "store-photos"}})
	if err != nil {
		return err
	}
	if err := completeTasks(ctx, s, alex, failed.ID, false, "The bucket name store-photos is taken; order again with another name"); err != nil {
		return err
	}
	// Cancelled by Dana before anyone acted.
	c, err := s.Orders.CreateOrder(ctx, dana, orders.OrderInput{Note: "Database for the loyalty app",
		Items: []orders.ItemInput{{Offering: "postgres", Plan: "small", Parameters: map[string]any{"database_name": "loyalty"}}}})
	if err != nil {
		return err
	}
	if _, err := s.Orders.Cancel(ctx, dana, c.ID, "The project was postponed"); err != nil {
		return err
	}
	// A cart: a laptop not yet submitted.
	_, err = s.Orders.CreateOrder(ctx, dana, orders.OrderInput{Note: "Laptop for the new hire",
		Items: []orders.ItemInput{{Offering: "laptop", Plan: "standard", Parameters: map[string]any{"delivery_site": "Store 12, Leeds"}, Addons: []string{"bitlocker"}}}})
	return err
}

func completeTasks(ctx context.Context, s Services, agent *access.Principal, orderID string, ok bool, note string) error {
	tasks, err := s.Orders.OrderTasks(ctx, access.System(), orderID)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if _, err := s.Orders.CompleteTask(ctx, agent, t.ID, orders.TaskResult{Done: ok, Note: note}); err != nil {
			return err
		}
	}
	return nil
}

func decideAll(ctx context.Context, s Services, orderID string, p *access.Principal, approve bool, comment string) error {
	inbox, err := s.Orders.Inbox(ctx, p, sqldb.Page{Limit: sqldb.MaxLimit})
	if err != nil {
		return err
	}
	n := 0
	for _, it := range inbox.Items {
		if it.Order.ID == orderID {
			if _, err := s.Orders.Decide(ctx, p, it.Approval.ID, orders.Decision{Approve: approve, Comment: comment}); err != nil {
				return err
			}
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("no approval of order %s waits for %s", orderID, p.Email)
	}
	return nil
}
