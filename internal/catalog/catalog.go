package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"regexp"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Catalog is the portfolio, service map and catalog domain.
type Catalog struct {
	db    *sqldb.DB
	now   func() time.Time
	vocab vocabCache // SQLite's search vocabulary by first letter (search.go)
}

// New returns the catalog service.
func New(db *sqldb.DB, now func() time.Time) *Catalog { return &Catalog{db: db, now: now} }

func (c *Catalog) audit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, e audit.Entry) error {
	return audit.Write(ctx, tx, p, c.now(), e)
}

// codePattern is the shape of every code (services, offerings, plans, CIs):
// lower-case words joined by hyphens, as used in URLs and YAML files.
var codePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func checkCode(v *errs.Validator, field, code string) {
	v.Check(codePattern.MatchString(code), field, "format",
		field+" must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit (such as \"virtual-machines\")")
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs of strings and numbers are marshalled
	}
	return string(b)
}

// exists reports whether a row with the id is in the table (a fixed name).
func exists(ctx context.Context, q sqldb.Querier, table, id string) bool {
	if id == "" || !sqldb.ValidID(id) {
		return false
	}
	var one int
	return q.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`, id).Scan(&one) == nil
}
