package catalog

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/blueprint"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// blueprintRef is how a plan names the blueprint version that makes it.
var blueprintRef = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}@[1-9][0-9]{0,8}$`)

// planBlueprints resolves the blueprint version each plan names (by plan
// position; "" for none) and checks the offering's order form asks for
// every input the blueprint needs. Problems go to v.
func planBlueprints(ctx context.Context, q sqldb.Querier, v *errs.Validator, in OfferingInput) ([]string, error) {
	ids := make([]string, len(in.Plans))
	var fields []string
	if form, err := ParseForm(in.FormSchema); err == nil {
		for _, f := range form.Fields {
			fields = append(fields, f.Name)
		}
	}
	for i, pl := range in.Plans {
		if pl.Blueprint == "" {
			continue
		}
		code, ver, _ := strings.Cut(pl.Blueprint, "@")
		version, _ := strconv.Atoi(ver)
		var source string
		err := q.QueryRowContext(ctx, `SELECT id, source FROM blueprints WHERE code = $1 AND version = $2`, code, version).Scan(&ids[i], &source)
		if errors.Is(err, sql.ErrNoRows) {
			v.Add("plans.blueprint", "exists", "plan "+pl.Code+": blueprint "+pl.Blueprint+" has not been uploaded; upload it first or name a version that has")
			continue
		}
		if err != nil {
			return nil, sqldb.Err(err, "blueprint")
		}
		b, err := blueprint.Parse([]byte(source))
		if err != nil {
			return nil, errs.Internal(err, "blueprint %s no longer parses", pl.Blueprint)
		}
		for _, name := range b.Needed() {
			v.Check(slices.Contains(fields, name), "plans.blueprint", "inputs", "plan "+pl.Code+": blueprint "+pl.Blueprint+" needs the input "+name+
				", which the order form does not ask for; add "+name+" to the form (required) or give the input a default")
		}
	}
	return ids, nil
}
