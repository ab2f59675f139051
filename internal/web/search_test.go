package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/orders"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// TestSearchBox: issue 17, item 5: the header's search finds services,
// offerings, orders by number and instances by name, each only for those
// who may read it, and refuses an overlong search naming the limit.
func TestSearchBox(t *testing.T) {
	p := newDemoPortal(t)
	all, err := p.app.Orders.Orders(context.Background(), access.System(), orders.OrderFilter{Page: sqldb.Page{Limit: 1}})
	if err != nil || len(all.Items) == 0 {
		t.Fatal(all, err)
	}
	ref := all.Items[0].Reference()
	search := func(who, q string) (int, string) {
		t.Helper()
		status, _, body := p.as(who).do("GET", "/search?q="+url.QueryEscape(q), nil)
		return status, body
	}
	tests := []struct {
		who, q    string
		want, not []string
	}{
		// Dana, a consumer in Retail: offerings and Retail's own orders and
		// instances; the portfolio is not hers to read.
		{"dana@contoso.example", "virtual", []string{`href="/catalog/vm"`}, []string{`href="/portfolio/`}},
		{"dana@contoso.example", "shop", []string{">shop-test</a>", ">shop-images</a>"}, nil},
		{"dana@contoso.example", ref, []string{">" + ref + "</a>"}, nil},
		{"dana@contoso.example", strings.TrimLeft(strings.TrimPrefix(ref, "ORD-"), "0"), []string{">" + ref + "</a>"}, nil},
		{"dana@contoso.example", "nothing-like-this", []string{"Nothing found"}, nil},
		// Sam manages services for Manufacturing: Retail's instances and
		// orders are not found, the portfolio is.
		{"sam@it.contoso.example", "shop", nil, []string{"shop-test", "shop-images"}},
		{"sam@it.contoso.example", ref, nil, []string{">" + ref + "</a>"}},
		{"petra@it.contoso.example", "cloud", []string{`href="/portfolio/private-cloud"`}, nil},
		// A search for a LIKE pattern's own characters matches them, not everything.
		{"dana@contoso.example", "%", []string{"Nothing found"}, []string{"shop-test"}},
	}
	for _, tt := range tests {
		status, body := search(tt.who, tt.q)
		if status != 200 {
			t.Errorf("%s searching %q: %d", tt.who, tt.q, status)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s searching %q: no %s", tt.who, tt.q, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(body, n) {
				t.Errorf("%s searching %q: found %s", tt.who, tt.q, n)
			}
		}
	}
	for q, want := range map[string]string{strings.Repeat("a", 201): "at most 200 characters", "a\x00b": "must be text", "\xff\xfe": "must be text"} {
		status, body := search("dana@contoso.example", q)
		if status != 400 || !strings.Contains(body, want) || strings.Contains(body, "Nothing found") {
			t.Errorf("searching %q: %d, want 400 naming %q\n%s", q, status, want, body)
		}
	}
}
