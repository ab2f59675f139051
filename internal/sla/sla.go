// Package sla is service level management: agreements (SLA, OLA, UC)
// with targets measured in a service-hours calendar, outages and incidents
// (by hand, from incidents, from Prometheus Alertmanager), the compliance
// engine that measures every target exactly and raises breaches and
// at-risk warnings, the responsibility chain from an SLA to the OLAs and
// UCs under it, and rebates: a breach of an SLA becomes a credit on the
// customer's next invoice, a breach of a UC a claim against the supplier.
//
// The arithmetic is in compute.go and is pure: spans of Unix microseconds
// and exact rationals, no floating point.
package sla

import (
	"context"
	"log/slog"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/jobs"
	"github.com/steward-itaas/steward/internal/metering"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Service is service level management.
type Service struct {
	db       *sqldb.DB
	now      func() time.Time
	jobs     *jobs.Runner
	cat      *catalog.Catalog
	metering *metering.Service
	log      *slog.Logger
}

// EvaluateJob is the kind of the compliance job: the composition root runs
// it every minute, and every change to an agreement, outage or incident
// asks for a run within seconds.
const EvaluateJob = "sla.evaluate"

// New returns the service and registers its job with the runner.
func New(db *sqldb.DB, now func() time.Time, runner *jobs.Runner, cat *catalog.Catalog, m *metering.Service, log *slog.Logger) *Service {
	s := &Service{db: db, now: now, jobs: runner, cat: cat, metering: m, log: log}
	runner.HandleWithoutArguments(EvaluateJob, func(ctx context.Context, _ *jobs.Job) error {
		_, err := s.Evaluate(ctx)
		return err
	})
	return s
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

func (s *Service) audit(ctx context.Context, tx *sqldb.Tx, p *access.Principal, e audit.Entry) error {
	return audit.Write(ctx, tx, p, s.now(), e)
}

// changed asks for an evaluation soon: one job per ten seconds however
// many changes arrive (an alert storm is one re-measure, not hundreds).
// Changed asks for a compliance pass soon, in the transaction of a change
// to what agreements measure (the service desk's incidents).
func (s *Service) Changed(ctx context.Context, tx *sqldb.Tx) error { return s.changed(ctx, tx) }

func (s *Service) changed(ctx context.Context, tx *sqldb.Tx) error {
	at := s.now().UTC().Truncate(10 * time.Second)
	_, err := s.jobs.EnqueueTx(ctx, tx, jobs.EnqueueInput{Kind: EvaluateJob, UniqueKey: EvaluateJob + "@" + at.Format(time.RFC3339), RunAt: at.Add(10 * time.Second)})
	if err == nil {
		s.jobs.Wake()
	}
	return err
}
