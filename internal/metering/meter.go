// Package metering turns usage events into metered quantities: CloudEvents
// 1.0 arrive over HTTP, are accepted once per (source, id, subject), made
// durable in group commits, and rolled up per meter, subject, group-by
// values and hour as they land. docs/metering.md has the rules.
package metering

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Aggregation is how a meter combines the values of its events.
type Aggregation string

// The aggregations.
const (
	Sum         Aggregation = "sum"          // add the values
	Count       Aggregation = "count"        // count the events
	Max         Aggregation = "max"          // the largest value
	UniqueCount Aggregation = "unique_count" // how many distinct values
	Latest      Aggregation = "latest"       // the value of the latest event
	// TimeWeighted is a gauge (GB stored): its value holds until the next
	// event, and a window's quantity is the time-weighted average.
	TimeWeighted Aggregation = "time_weighted_average"
	// Lifecycle is Steward's own instance-hours meter: hours each
	// instance existed times its quantity, from the instance lifecycle.
	// It takes no events and cannot be defined, only read.
	Lifecycle Aggregation = "lifecycle"
)

// InstanceHours is the code of the built-in lifecycle meter.
const InstanceHours = "instance-hours"

// Aggregations lists the ones a meter may be defined with.
var Aggregations = []Aggregation{Sum, Count, Max, UniqueCount, Latest, TimeWeighted}

// Meter aggregates the events of one type.
type Meter struct {
	ID          string      `json:"id"`
	Code        string      `json:"code"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	EventType   string      `json:"event_type"`
	Aggregation Aggregation `json:"aggregation"`
	// ValuePath is the dotted path of the value in the event's data
	// ("usage.gb"); empty for count.
	ValuePath string `json:"value_path"`
	// GroupBy are dotted paths into data whose values split the usage
	// (region, tier), kept as dimensions of every rollup.
	GroupBy   []string  `json:"group_by"`
	Unit      string    `json:"unit"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MeterInput creates or replaces a meter.
type MeterInput struct {
	Code        string      `json:"code"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	EventType   string      `json:"event_type"`
	Aggregation Aggregation `json:"aggregation"`
	ValuePath   string      `json:"value_path"`
	GroupBy     []string    `json:"group_by"`
	Unit        string      `json:"unit"`
}

var (
	codePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	pathPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

// Validate checks the input.
func (in *MeterInput) Validate() error {
	in.Code, in.Name, in.EventType, in.ValuePath, in.Unit = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name),
		strings.TrimSpace(in.EventType), strings.TrimSpace(in.ValuePath), strings.TrimSpace(in.Unit)
	var v errs.Validator
	v.Check(codePattern.MatchString(in.Code), "code", "format", "code must be 1 to 63 lower-case letters, digits and hyphens (such as \"storage-gb\")")
	v.Check(in.Name != "" && len(in.Name) <= 200, "name", "length", "name is required and must be at most 200 characters")
	v.Check(in.EventType != "" && len(in.EventType) <= 256, "event_type", "required", "event_type is the CloudEvents type the meter counts, such as com.example.storage.used")
	v.Check(slices.Contains(Aggregations, in.Aggregation), "aggregation", "enum",
		"aggregation must be sum, count, max, unique_count, latest or time_weighted_average")
	if in.Aggregation == Count {
		v.Check(in.ValuePath == "", "value_path", "count", "a count meter counts events: leave value_path empty")
	} else {
		v.Check(pathPattern.MatchString(in.ValuePath), "value_path", "format",
			"value_path is the dotted path of the value in the event's data, such as \"gb\" or \"usage.seconds\"")
	}
	seen := map[string]bool{}
	for _, g := range in.GroupBy {
		v.Check(pathPattern.MatchString(g) && !seen[g], "group_by", "format", "group_by holds distinct dotted paths into data, such as \"region\"; got "+g)
		seen[g] = true
	}
	v.Check(len(in.GroupBy) <= 5, "group_by", "length", "a meter groups by at most 5 dimensions")
	v.Check(in.Unit != "" && len(in.Unit) <= 40, "unit", "required", "unit names what is counted, such as GB, request or hour")
	if in.GroupBy == nil {
		in.GroupBy = []string{}
	}
	return v.Err("the meter is not valid")
}

const meterColumns = `id, code, name, description, event_type, aggregation, value_path, group_by, unit, created_at, updated_at`

func scanMeter(row sqldb.Scanner) (*Meter, error) {
	var m Meter
	var groups string
	if err := row.Scan(&m.ID, &m.Code, &m.Name, &m.Description, &m.EventType, &m.Aggregation, &m.ValuePath, &groups, &m.Unit,
		&m.CreatedAt, &m.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(groups), &m.GroupBy); err != nil {
		return nil, errs.Internal(err, "meter %s has a stored group_by that is not valid JSON", m.Code)
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return &m, nil
}

func loadMeters(ctx context.Context, q sqldb.Querier) ([]*Meter, error) {
	return sqldb.QueryAll(ctx, q, "meters", scanMeter, `SELECT `+meterColumns+` FROM meters ORDER BY code`)
}

// Meters lists every meter, for the few readers that need them all (a
// billing run, the portal's usage page): there are tens of them, not
// thousands. The API pages them (ListMeters). Anyone who may read usage
// may read meters.
// Returns internal if the database fails or a stored meter does not decode.
func (s *Service) Meters(ctx context.Context, p *access.Principal) ([]*Meter, error) {
	if err := p.RequireAnywhere(access.UsageRead); err != nil {
		return nil, err
	}
	return loadMeters(ctx, s.db.Read())
}

// MeterFilter selects a page of meters.
type MeterFilter struct {
	// EventType keeps the meters of one CloudEvents type.
	EventType string
	// Aggregation keeps the meters of one aggregation.
	Aggregation Aggregation
	Page        sqldb.Page
}

// meterOrder pages meters by code, which is unique.
var meterOrder = sqldb.Order{Name: "code", Columns: []string{"code"}}

// ListMeters returns a page of the meters, by code. Anyone who may read
// usage may read meters. Returns invalid for a cursor of another list, and
// internal if the database fails or a stored meter does not decode.
func (s *Service) ListMeters(ctx context.Context, p *access.Principal, f MeterFilter) (sqldb.Paged[*Meter], error) {
	if err := p.RequireAnywhere(access.UsageRead); err != nil {
		return sqldb.Paged[*Meter]{}, err
	}
	var args sqldb.Args
	var code string
	seek, err := meterOrder.Seek(&args, f.Page, &code)
	if err != nil {
		return sqldb.Paged[*Meter]{}, err
	}
	q := `SELECT ` + meterColumns + ` FROM meters WHERE ` + seek
	if f.EventType != "" {
		q += ` AND event_type = ` + args.Add(f.EventType)
	}
	if f.Aggregation != "" {
		q += ` AND aggregation = ` + args.Add(string(f.Aggregation))
	}
	q += meterOrder.By() + meterOrder.Limit(&args, f.Page)
	ms, err := sqldb.QueryAll(ctx, s.db.Read(), "meters", scanMeter, q, args...)
	if err != nil {
		return sqldb.Paged[*Meter]{}, err
	}
	return sqldb.PageOf(ms, f.Page, meterOrder, func(m *Meter) []any { return []any{m.Code} }), nil
}

// Meter returns one meter by ID or code. Callers need usage.read.
// Returns not_found if there is no such meter, and internal if the
// database fails or the stored meter does not decode.
func (s *Service) Meter(ctx context.Context, p *access.Principal, ref string) (*Meter, error) {
	if err := p.RequireAnywhere(access.UsageRead); err != nil {
		return nil, err
	}
	return meter(ctx, s.db.Read(), ref)
}

func meter(ctx context.Context, q sqldb.Querier, ref string) (*Meter, error) {
	return sqldb.QueryOne(ctx, q, fmt.Sprintf("meter %q", ref), scanMeter, `SELECT `+meterColumns+` FROM meters WHERE id = $1 OR code = $1`, ref)
}

// SaveMeter creates the meter of in.Code, or replaces it. Callers need
// meter.manage. A meter's aggregation and event type cannot change once it
// has usage: what was rolled up would no longer mean what it says; make a
// new meter instead.
func (s *Service) SaveMeter(ctx context.Context, p *access.Principal, in MeterInput) (*Meter, error) {
	if err := p.Require(access.MeterManage, access.Resource{}); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Meter
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Time(s.now())
		before, err := meter(ctx, tx, in.Code)
		if err != nil && !errs.Is(err, errs.CodeNotFound) {
			return err
		}
		if before != nil && before.Aggregation == Lifecycle {
			return errs.Conflict("meter %s is built in: Steward meters it from the instance lifecycle; choose another code", in.Code)
		}
		groups, _ := json.Marshal(in.GroupBy)
		if before == nil {
			out = &Meter{ID: sqldb.NewID(), CreatedAt: now}
			_, err = tx.ExecContext(ctx, `INSERT INTO meters (`+meterColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				out.ID, in.Code, in.Name, in.Description, in.EventType, in.Aggregation, in.ValuePath, string(groups), in.Unit, now, now)
		} else {
			out = &Meter{ID: before.ID, CreatedAt: before.CreatedAt}
			changed := before.Aggregation != in.Aggregation || before.EventType != in.EventType || before.ValuePath != in.ValuePath ||
				!slices.Equal(before.GroupBy, in.GroupBy)
			if changed {
				var used int
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_rollups WHERE meter_id = $1`, before.ID).Scan(&used); err != nil {
					return sqldb.Err(err, "meter")
				}
				if used > 0 {
					return errs.Conflict("meter %s already has usage: its event type, aggregation, value path and group-by cannot change; create a new meter", in.Code)
				}
			}
			_, err = tx.ExecContext(ctx, `UPDATE meters SET name = $1, description = $2, event_type = $3, aggregation = $4, value_path = $5,
				group_by = $6, unit = $7, updated_at = $8 WHERE id = $9`,
				in.Name, in.Description, in.EventType, in.Aggregation, in.ValuePath, string(groups), in.Unit, now, before.ID)
		}
		if err != nil {
			return sqldb.Err(err, "meter")
		}
		out.Code, out.Name, out.Description, out.EventType, out.Aggregation = in.Code, in.Name, in.Description, in.EventType, in.Aggregation
		out.ValuePath, out.GroupBy, out.Unit, out.UpdatedAt = in.ValuePath, in.GroupBy, in.Unit, now
		action := "meter.create"
		if before != nil {
			action = "meter.update"
		}
		return audit.Write(ctx, tx, p, s.now(), audit.Entry{Action: action, ObjectType: "meter", ObjectID: out.ID, Before: before, After: out})
	})
	if err == nil {
		s.meters.invalidate()
	}
	return out, err
}

// meterCache holds the meters by event type for ingest. It reloads after a
// local change at once, and every few seconds for changes made by other
// replicas.
type meterCache struct {
	db  *sqldb.DB
	ttl time.Duration

	mu     sync.Mutex
	byType map[string][]*Meter
	loaded time.Time
}

func (c *meterCache) invalidate() {
	c.mu.Lock()
	c.byType = nil
	c.mu.Unlock()
}

func (c *meterCache) get(ctx context.Context) (map[string][]*Meter, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byType != nil && time.Since(c.loaded) < c.ttl {
		return c.byType, nil
	}
	ms, err := loadMeters(ctx, c.db.Read())
	if err != nil {
		return nil, err
	}
	c.byType = map[string][]*Meter{}
	for _, m := range ms {
		c.byType[m.EventType] = append(c.byType[m.EventType], m)
	}
	c.loaded = time.Now()
	return c.byType, nil
}
