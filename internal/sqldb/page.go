package sqldb

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/steward-itaas/steward/internal/errs"
)

// Paging (issue 18). Every list reads one page at a time by keyset: the
// rows come in a stable order whose last column is unique, and the next
// page starts after the last row's keys, so a deep page costs what the
// first does and nothing loads a whole table. The cursor the caller sees
// is opaque: base64url of the order's name and the last row's keys, and it
// is refused (invalid, field "cursor") if it was made for another order or
// does not decode. A cursor grants nothing: the query it seeds keeps every
// scope and filter of the request.

const (
	// DefaultLimit is the page size when none is asked for.
	DefaultLimit = 50
	// MaxLimit is the largest page size.
	MaxLimit = 500
)

// Page asks for one page of a list.
type Page struct {
	// Limit is the page size: 1 to MaxLimit, DefaultLimit when 0.
	Limit int
	// Cursor is the Next of the previous page, empty for the first page.
	Cursor string
}

// Size is the page size to read: Limit bounded to 1 … MaxLimit.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return p.Limit
}

// Paged is one page of a list: its items and the cursor of the next page,
// empty on the last. It is the body of every list in the API.
type Paged[T any] struct {
	Items []T `json:"items"`
	// Next is the cursor for the next page, empty on the last one.
	Next string `json:"next,omitempty"`
}

// Order is a stable order of a list for keyset paging: the columns
// (qualified as the query names them, the last one unique among the rows)
// and the direction of all of them.
type Order struct {
	// Name identifies the order in cursors ("created", "name" …), so a
	// cursor made for one order is refused by another.
	Name    string
	Columns []string
	Desc    bool
}

// By returns the ORDER BY clause (" ORDER BY a DESC, b DESC").
func (o Order) By() string {
	dir := ""
	if o.Desc {
		dir = " DESC"
	}
	var b strings.Builder
	b.WriteString(" ORDER BY ")
	for i, c := range o.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c + dir)
	}
	return b.String()
}

// Seek decodes p's cursor into keys (pointers, one per column, of the
// types the columns scan into) and returns the condition that starts the
// page after them ("(a, b) > ($3, $4)", "(a, b) < …" when descending),
// adding the keys to args. The first page's condition is "1 = 1". A cursor
// that does not decode, or was made for another order, is invalid.
func (o Order) Seek(args *Args, p Page, keys ...any) (string, error) {
	if p.Cursor == "" {
		return "1 = 1", nil
	}
	bad := &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
		Fields: []errs.FieldError{{Field: "cursor", Rule: "format", Message: "cursor must be the next of a previous page of this list, in the same order"}}}
	raw, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil || len(raw) > 4096 {
		return "", bad
	}
	var c struct {
		O string            `json:"o"`
		K []json.RawMessage `json:"k"`
	}
	if json.Unmarshal(raw, &c) != nil || c.O != o.Name || len(c.K) != len(o.Columns) || len(keys) != len(o.Columns) {
		return "", bad
	}
	for i, k := range c.K {
		if json.Unmarshal(k, keys[i]) != nil {
			return "", bad
		}
	}
	op := " > "
	if o.Desc {
		op = " < "
	}
	var ph []string
	for _, k := range keys {
		ph = append(ph, args.Add(deref(k)))
	}
	return "(" + strings.Join(o.Columns, ", ") + ")" + op + "(" + strings.Join(ph, ", ") + ")", nil
}

// Cursor encodes keys (the values of the order's columns in the last row
// of a page) as the cursor of the page after it.
func (o Order) Cursor(keys ...any) string {
	b, _ := json.Marshal(struct {
		O string `json:"o"`
		K []any  `json:"k"`
	}{o.Name, keys})
	return base64.RawURLEncoding.EncodeToString(b)
}

// SortBy picks a list's order by the value of its sort parameter, each
// order's Name: the first order when sort is empty, and invalid (field
// "sort", naming the values) for any other value. A cursor keeps the order
// it was made in: Seek refuses it under another.
func SortBy(sort string, orders ...Order) (Order, error) {
	if sort == "" {
		return orders[0], nil
	}
	var names []string
	for _, o := range orders {
		if o.Name == sort {
			return o, nil
		}
		names = append(names, o.Name)
	}
	return Order{}, &errs.Error{Code: errs.CodeInvalid, Message: "a query parameter is not valid",
		Fields: []errs.FieldError{{Field: "sort", Rule: "enum", Message: "sort must be one of " + strings.Join(names, ", ")}}}
}

// Reversed is the order the other way round, named name.
func (o Order) Reversed(name string) Order {
	return Order{Name: name, Columns: o.Columns, Desc: !o.Desc}
}

// Limit returns the LIMIT clause for p: one row more than the page, so
// PageOf can tell whether another page follows.
func (o Order) Limit(args *Args, p Page) string {
	return " LIMIT " + args.Add(p.Size()+1)
}

// PageOf makes the page from rows read with Limit: at most p.Size()
// items, and when a row was left over, the cursor after the last item,
// whose keys keys returns.
func PageOf[T any](rows []T, p Page, o Order, keys func(T) []any) Paged[T] {
	if rows == nil {
		rows = []T{}
	}
	if len(rows) <= p.Size() {
		return Paged[T]{Items: rows}
	}
	rows = rows[:p.Size()]
	return Paged[T]{Items: rows, Next: o.Cursor(keys(rows[len(rows)-1])...)}
}

// deref turns a pointer to a key into its value for binding.
func deref(k any) any {
	v := reflect.ValueOf(k)
	if v.Kind() == reflect.Pointer {
		return v.Elem().Interface()
	}
	return k
}

// offsetOrder pages a list held in memory by position.
var offsetOrder = Order{Name: "position", Columns: []string{"position"}}

// PageSlice pages a list already in memory, in its order: for the few
// lists bounded by what they belong to (the roles, an order's events, a
// target's burn points), read whole by their query. Its cursors are
// refused by keyset lists and the other way round.
func PageSlice[T any](items []T, p Page) (Paged[T], error) {
	var from int
	if _, err := offsetOrder.Seek(&Args{}, p, &from); err != nil {
		return Paged[T]{}, err
	}
	if from < 0 || from > len(items) {
		from = len(items)
	}
	rest := items[from:]
	if len(rest) <= p.Size() {
		return Paged[T]{Items: append([]T{}, rest...)}, nil
	}
	return Paged[T]{Items: rest[:p.Size()], Next: offsetOrder.Cursor(from + p.Size())}, nil
}
