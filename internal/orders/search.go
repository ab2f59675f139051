package orders

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// orderNumber reads what people type for an order: "ORD-000042", "ord 42",
// "#42" or "42".
var orderNumber = regexp.MustCompile(`(?i)^\s*(?:ord[-\s]?|#)?0*([0-9]{1,12})\s*$`)

// MaxSearch is the longest search, in characters.
const MaxSearch = 200

// Found is what a search of orders and instances finds.
type Found struct {
	Orders    []*Order
	Instances []*Instance
}

// Search finds, among what the caller may read, the order a number names
// and the instances whose names contain the text (at most limit of each,
// newest first). It backs the portal's search box (issue 17, item 5).
func (s *Service) Search(ctx context.Context, p *access.Principal, text string, limit int) (*Found, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to search")
	}
	text = strings.TrimSpace(text)
	var v errs.Validator
	v.Text(text, "query")
	v.Check(utf8.RuneCountInString(text) <= MaxSearch, "query", "max_length", fmt.Sprintf("search for at most %d characters", MaxSearch))
	if err := v.Err("the search is not valid"); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 50 {
		limit = 10
	}
	out := &Found{Orders: []*Order{}, Instances: []*Instance{}}
	if text == "" {
		return out, nil
	}
	if m := orderNumber.FindStringSubmatch(text); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		where, scope := ownScope(p, access.OrderRead, false, "o.requester_id")
		args := sqldb.Args(scope)
		found, err := sqldb.QueryAll(ctx, s.db.Read(), "orders", scanOrder,
			`SELECT `+orderColumns+orderFrom+` WHERE `+where+` AND o.number = `+args.Add(n), args...)
		if err != nil {
			return nil, err
		}
		if err := loadItems(ctx, s.db.Read(), found); err != nil {
			return nil, err
		}
		out.Orders = found
	}
	where, scope := ownScope(p, access.InstanceRead, false, "n.owner_id")
	args := sqldb.Args(scope)
	found, err := sqldb.QueryAll(ctx, s.db.Read(), "instances", scanInstance,
		`SELECT `+instanceColumns+instanceFrom+` WHERE `+where+` AND LOWER(n.name) LIKE `+args.Add("%"+likeEscape(strings.ToLower(text))+"%")+` ESCAPE '\'
		ORDER BY n.id DESC LIMIT `+args.Add(limit), args...)
	if err != nil {
		return nil, err
	}
	out.Instances = found
	return out, nil
}

// likeEscape makes text match itself in a LIKE pattern.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
