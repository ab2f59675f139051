package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/orders"
)

// TestRequestOrderedFromItsPage: Dana's service request turns out to be
// in the catalog; its page offers her the service's offerings to order
// (Alex, who works it but may not order for Retail, is not offered it).
// A bad order keeps what she typed; a good one is linked from the
// request's page, which offers no other while it is under way, and its
// completion resolves the request (issue 20).
func TestRequestOrderedFromItsPage(t *testing.T) {
	p := newDemoPortal(t)
	dana, alex := p.as("dana@contoso.example"), p.as("alex@it.contoso.example")
	tk, err := p.app.Desk.Raise(context.Background(), principal(t, p, "dana@contoso.example"), desk.RaiseInput{Kind: desk.Request, Service: "email", Summary: "A mailbox for our new starter"})
	if err != nil {
		t.Fatal(err)
	}
	page := "/tickets/" + tk.Reference
	if code, _, body := dana.do("GET", page, nil); code != 200 || !strings.Contains(body, "Order it from the catalog") || !strings.Contains(body, `value="mailbox/standard"`) {
		t.Fatalf("Dana's request page (%d) offers no order of a mailbox", code)
	}
	if _, _, body := alex.do("GET", page, nil); strings.Contains(body, "Order it from the catalog") {
		t.Error("Alex, who may not order for Retail, is offered the order")
	}
	long := strings.Repeat("n", desk.MaxOrderNote+1)
	code, _, body := dana.do("POST", page+"/order", url.Values{"choice": {"mailbox/standard"}, "order_note": {long}})
	if code != 422 || !strings.Contains(body, "note is at most") || !strings.Contains(body, long) {
		t.Errorf("a note too long answered %d (%s), or lost what she typed", code, errorText(body))
	}
	code, _, _ = dana.do("POST", page+"/order", url.Values{"choice": {"mailbox/standard"}, "order_note": {"For Jo"}})
	if code != 303 {
		t.Fatalf("the order answered %d, want a redirect to the request", code)
	}
	_, _, body = dana.do("GET", page, nil)
	ord := regexp.MustCompile(`<a href="/orders/([^"]+)">(ORD-\d+)</a>`).FindStringSubmatch(body)
	if ord == nil || strings.Contains(body, "Fulfilled through order") || strings.Contains(body, "Order it from the catalog") {
		t.Fatalf("the request's page after the order does not link it, or offers another while it is under way")
	}
	// Its task done, the order completes and the request is resolved
	// through it.
	ctx := context.Background()
	admin := principal(t, p, "admin@it.contoso.example")
	tasks, err := p.app.Orders.Tasks(ctx, admin, orders.TaskFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks.Items {
		if task.OrderID == ord[1] {
			if _, err := p.app.Orders.CompleteTask(ctx, admin, task.ID, orders.TaskResult{Done: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for {
		n, err := p.app.Outbox.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if _, _, body = dana.do("GET", page, nil); !strings.Contains(body, "Fulfilled through order "+ord[2]) {
		t.Errorf("the request's page after its order completed does not say it was fulfilled through %s", ord[2])
	}
}
