package sla

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// AlertmanagerMessage is the body of Prometheus Alertmanager's webhook
// (version 4). Only what outages need is read.
type AlertmanagerMessage struct {
	Version  string  `json:"version"`
	GroupKey string  `json:"groupKey"`
	Status   string  `json:"status"`
	Receiver string  `json:"receiver"`
	Alerts   []Alert `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"` // firing or resolved
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// The labels an alert names its outage with.
const (
	LabelService    = "service"        // a service's code
	LabelConfigItem = "config_item"    // or a configuration item's code
	LabelImpact     = "impact"         // full (default), partial or degraded
	LabelShare      = "share_percent"  // of users or units, for partial and degraded
	LabelPlanned    = "planned"        // "true" for planned work
	LabelNotOutage  = "steward_ignore" // "true": not an outage
)

// AlertResult says what became of a notification's alerts.
type AlertResult struct {
	Recorded   int            `json:"recorded"`   // new outages
	Resolved   int            `json:"resolved"`   // outages ended
	Duplicates int            `json:"duplicates"` // alerts already known as they are
	Ignored    []IgnoredAlert `json:"ignored"`
}

// IgnoredAlert is an alert that is not an outage Steward can place.
type IgnoredAlert struct {
	Fingerprint string `json:"fingerprint"`
	Reason      string `json:"reason"`
}

// Alertmanager records the alerts of a notification as outages: a firing
// alert opens an outage on the service (or configuration item) its labels
// name, unique by fingerprint and start so repeated notifications are one
// outage; a resolved alert ends it. Alerts Steward cannot place are
// ignored with the reason (the notification as a whole is accepted, so
// Alertmanager does not retry the rest), and so are alerts on what the
// caller's grants do not cover (mayRecord). Callers need outage.record.
func (s *Service) Alertmanager(ctx context.Context, p *access.Principal, m AlertmanagerMessage) (*AlertResult, error) {
	if err := p.RequireAnywhere(access.OutageRecord); err != nil {
		return nil, err
	}
	if m.Version != "4" {
		return nil, errs.Invalid("this is not an Alertmanager webhook notification of version 4 (version %q): point Alertmanager's webhook_config at this URL", m.Version)
	}
	res := &AlertResult{Ignored: []IgnoredAlert{}}
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		touched := false
		for _, a := range m.Alerts {
			ignore := func(why string) { res.Ignored = append(res.Ignored, IgnoredAlert{a.Fingerprint, why}) }
			in, why := a.outage()
			if why != "" {
				ignore(why)
				continue
			}
			started := a.StartsAt.UTC().Truncate(time.Microsecond)
			var id string
			var svc, ci sql.NullString
			var ended sql.NullTime
			err := tx.QueryRowContext(ctx, `SELECT id, service_id, ci_id, ended_at FROM outages WHERE source = 'alertmanager' AND fingerprint = $1 AND started_at = $2`,
				a.Fingerprint, sqldb.Time(started)).Scan(&id, &svc, &ci, &ended)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return sqldb.Err(err, "outage")
			}
			switch {
			case id == "":
				if _, err := s.insertOutage(ctx, tx, p, in, Alertmanager, a.Fingerprint, ""); err != nil {
					if errs.Is(err, errs.CodeInvalid) || errs.Is(err, errs.CodeForbidden) {
						ignore(errs.As(err).Message)
						continue
					}
					return err
				}
				res.Recorded++
				if in.Ended != "" {
					res.Resolved++
				}
				touched = true
			case a.Status == "resolved" && !ended.Valid:
				end := a.EndsAt.UTC().Truncate(time.Microsecond)
				if !end.After(started) {
					ignore("resolved with endsAt not after startsAt")
					continue
				}
				if err := mayRecord(ctx, tx, p, svc.String, ci.String); err != nil {
					if errs.Is(err, errs.CodeForbidden) {
						ignore(errs.As(err).Message)
						continue
					}
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE outages SET ended_at = $1, updated_at = $2 WHERE id = $3`, sqldb.Time(end), sqldb.Time(s.now()), id); err != nil {
					return sqldb.Err(err, "outage")
				}
				if err := s.audit(ctx, tx, p, audit.Entry{Action: "outage.resolve", ObjectType: "outage", ObjectID: id,
					After: map[string]any{"ended_at": end, "source": Alertmanager, "fingerprint": a.Fingerprint}}); err != nil {
					return err
				}
				res.Resolved++
				touched = true
			default:
				res.Duplicates++
			}
		}
		if !touched {
			return nil
		}
		return s.changed(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// outage reads the alert's labels into an outage, or says why it is none.
func (a *Alert) outage() (OutageInput, string) {
	if a.Fingerprint == "" {
		return OutageInput{}, "the alert has no fingerprint"
	}
	if a.Labels[LabelNotOutage] == "true" {
		return OutageInput{}, "labelled " + LabelNotOutage
	}
	in := OutageInput{Service: a.Labels[LabelService], ConfigItem: a.Labels[LabelConfigItem], Impact: Impact(a.Labels[LabelImpact]),
		Planned: a.Labels[LabelPlanned] == "true", Started: a.StartsAt.UTC().Format(time.RFC3339Nano)}
	if in.Service == "" && in.ConfigItem == "" {
		return in, fmt.Sprintf("no %s or %s label names what is out", LabelService, LabelConfigItem)
	}
	if in.Service != "" && in.ConfigItem != "" {
		in.ConfigItem = "" // the service is what the agreements measure
	}
	if v := a.Labels[LabelShare]; v != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
		if err != nil {
			return in, fmt.Sprintf("label %s=%q is not a whole percentage", LabelShare, v)
		}
		in.Share = n
	}
	summary := a.Annotations["summary"]
	if summary == "" {
		summary = a.Labels["alertname"]
	}
	in.Summary = "Alert: " + summary
	if len(in.Summary) > 500 {
		in.Summary = in.Summary[:500]
	}
	if a.Status == "resolved" {
		in.Ended = a.EndsAt.UTC().Format(time.RFC3339Nano)
	}
	return in, ""
}
