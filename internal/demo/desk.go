package demo

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/catalog"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The service desk's history (issue 20, "Demo"): half a year of tickets
// raised by the demo's consumers about the demo's services and worked by
// its agents, written through the real desk API on a clock the seed moves
// through the past, so that due times, holds, audit records and events
// are what the product would have recorded. The history is planned first
// (each ticket's story as steps in time, from a fixed seed) and then
// played in time order. It is what the service suggestion is measured on
// (internal/triage): the phrasings in deskcorpus.go vary per ticket.

// deskTickets is how many tickets users raise over the history (problems
// and a major incident's come on top).
const deskTickets = 320

// deskDays is how far back the history goes.
const deskDays = 182

// deskPerson is a requester or an agent the history needs beyond the
// demo's personas. They have no password: they are people in the
// history, not sign-ins of the demo.
type deskPerson struct {
	email, name string
	home        string // org unit code (requesters)
	bu          string // business unit code: a consumer's scope; "" for IT staff
	group       string // assignment group (agents)
}

var deskPeople = []deskPerson{
	{email: "priya@contoso.example", name: "Priya Shah", home: "CC-4200", bu: "RETAIL"},
	{email: "tom@contoso.example", name: "Tom Becker", home: "CC-4100", bu: "RETAIL"},
	{email: "lucy@contoso.example", name: "Lucy Evans", home: "CC-4100", bu: "RETAIL"},
	{email: "marcus@contoso.example", name: "Marcus Webb", home: "CC-4200", bu: "RETAIL"},
	{email: "jan@contoso.example", name: "Jan Novák", home: "CC-5100", bu: "MFG"},
	{email: "mei@contoso.example", name: "Mei Lin", home: "CC-5100", bu: "MFG"},
	{email: "carlos@contoso.example", name: "Carlos Ruiz", home: "CC-5100", bu: "MFG"},
	{email: "aisha@contoso.example", name: "Aisha Bello", home: "MFG", bu: "MFG"},
	{email: "hannah@contoso.example", name: "Hannah Schmidt", home: "CC-6100", bu: "FIN"},
	{email: "oliver@contoso.example", name: "Oliver Grant", home: "CC-6100", bu: "FIN"},
	{email: "fatima@contoso.example", name: "Fatima Rahman", home: "FIN", bu: "FIN"},
	{email: "sean@it.contoso.example", name: "Sean Murphy", group: "Service Desk"},
	{email: "ingrid@it.contoso.example", name: "Ingrid Berg", group: "Platform Engineering"},
	{email: "nikhil@it.contoso.example", name: "Nikhil Rao", group: "Network Operations"},
}

// The history's agents.
const (
	alex   = "alex@it.contoso.example"
	sean   = "sean@it.contoso.example"
	ingrid = "ingrid@it.contoso.example"
	nikhil = "nikhil@it.contoso.example"
)

// requester is who raises tickets, and how often (relative).
type requester struct {
	email, first, full, bu string
	weight                 int
}

var requesters = []requester{
	{"dana@contoso.example", "Dana", "Dana Consumer", "RETAIL", 14},
	{"arun@contoso.example", "Arun", "Arun Approver", "RETAIL", 3},
	{"priya@contoso.example", "Priya", "Priya Shah", "RETAIL", 9},
	{"tom@contoso.example", "Tom", "Tom Becker", "RETAIL", 9},
	{"lucy@contoso.example", "Lucy", "Lucy Evans", "RETAIL", 7},
	{"marcus@contoso.example", "Marcus", "Marcus Webb", "RETAIL", 7},
	{"jan@contoso.example", "Jan", "Jan Novák", "MFG", 9},
	{"mei@contoso.example", "Mei", "Mei Lin", "MFG", 8},
	{"carlos@contoso.example", "Carlos", "Carlos Ruiz", "MFG", 7},
	{"aisha@contoso.example", "Aisha", "Aisha Bello", "MFG", 5},
	{"hannah@contoso.example", "Hannah", "Hannah Schmidt", "FIN", 8},
	{"oliver@contoso.example", "Oliver", "Oliver Grant", "FIN", 7},
	{"fatima@contoso.example", "Fatima", "Fatima Rahman", "FIN", 6},
}

// SeedDesk writes the service desk's half year of history (about 330
// tickets, 1,600 steps through the desk's API, a transaction each: some
// seconds on a slow disk, so serve runs it once it is listening), unless
// the desk has tickets already or Services has no DB or SLA. An
// interrupted history is not written again.
func SeedDesk(ctx context.Context, s Services) error {
	if s.DB == nil || s.SLA == nil {
		return nil
	}
	return seedDesk(ctx, s)
}

// seedDesk writes the history, unless the desk has tickets already.
func seedDesk(ctx context.Context, s Services) error {
	end := s.SLA.Now().UTC().Truncate(time.Minute).Add(-2 * time.Minute)
	var clock time.Time
	d := desk.New(s.DB, func() time.Time { return clock }, s.Catalog, s.SLA.Changed)
	d.SLA = s.SLA
	if some, err := d.Tickets(ctx, access.System(), desk.Filter{Page: sqldb.Page{Limit: 1}}); err != nil || len(some.Items) > 0 {
		return err
	}
	if err := seedDeskPeople(ctx, s.Identity); err != nil {
		return err
	}
	h := planHistory(end, s.SLA.Now().UTC())
	pl := &player{desk: d, now: &clock, as: map[string]*access.Principal{}, raised: map[string][]string{}, problems: map[string]string{},
		problemBy: map[string]string{}}
	for _, email := range h.people() {
		p, err := principal(ctx, s, email)
		if err != nil {
			return err
		}
		pl.as[email] = p
	}
	if err := pl.play(ctx, h.steps()); err != nil {
		return err
	}
	return seedChanges(ctx, s, d, &clock, s.SLA.Now().UTC().Truncate(time.Minute))
}

// seedDeskPeople adds the requesters and agents of the history: consumers
// of their business unit, agents in their group.
func seedDeskPeople(ctx context.Context, ids *identity.Service) error {
	sys := access.System()
	units, err := ids.OrgUnits(ctx, sys)
	if err != nil {
		return err
	}
	unitID := map[string]string{}
	for _, u := range units {
		unitID[u.Code] = u.ID
	}
	gs, err := ids.Groups(ctx, sys)
	if err != nil {
		return err
	}
	groupID := map[string]string{}
	for _, g := range gs {
		groupID[g.Name] = g.ID
	}
	for _, p := range deskPeople {
		u, err := ids.UserByEmail(ctx, sys, p.email)
		if errs.Is(err, errs.CodeNotFound) {
			u, err = ids.CreateUser(ctx, sys, identity.CreateUserInput{Email: p.email, Name: p.name, OrgUnitID: unitID[p.home]})
		}
		if err != nil {
			return fmt.Errorf("demo user %s: %w", p.email, err)
		}
		g := identity.CreateGrantInput{UserID: u.ID, Role: access.RoleAgent, ScopeKind: access.ScopeGlobal}
		if p.bu != "" {
			g = identity.CreateGrantInput{UserID: u.ID, Role: access.RoleConsumer, ScopeKind: access.ScopeOrgUnit, ScopeID: unitID[p.bu]}
		}
		if _, err := ids.CreateGrant(ctx, sys, g); err != nil && !errs.Is(err, errs.CodeConflict) {
			return fmt.Errorf("demo grant for %s: %w", p.email, err)
		}
		if p.group != "" {
			if _, err := ids.SetMember(ctx, sys, groupID[p.group], u.ID, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// step is one thing someone does to a ticket at a time.
type step struct {
	at time.Time
	t  *ticketPlan
	n  int // its place in the ticket's story
	do func(ctx context.Context, pl *player, t *ticketPlan) error
}

// ticketPlan is one ticket's story.
type ticketPlan struct {
	topic *topic          // nil for problems and major incidents
	in    desk.RaiseInput // what it is raised as
	ref   string          // the reference once raised
	steps []step
	done  time.Time // when the story resolves it for the last time (zero: never)
	u     float64   // a draw for choices made while playing
}

// raise plans the ticket's raising, its first step.
func (t *ticketPlan) raise(at time.Time, as string, in desk.RaiseInput, parent *ticketPlan) time.Time {
	t.in = in
	return t.add(at, raise(as, in, parent))
}

// add appends a step at (or, if the last step is not before it, just
// after the last step) and returns its time.
func (t *ticketPlan) add(at time.Time, do func(ctx context.Context, pl *player, t *ticketPlan) error) time.Time {
	if n := len(t.steps); n > 0 && !at.After(t.steps[n-1].at) {
		at = t.steps[n-1].at.Add(time.Minute)
	}
	t.steps = append(t.steps, step{at: at, t: t, n: len(t.steps), do: do})
	return at
}

// history is the planned half year.
type history struct {
	end     time.Time
	tickets []*ticketPlan
}

// steps are every ticket's steps up to the end in time order (and a
// ticket's in its story's order): the order they are played in. A story
// the end cuts short is a ticket still open.
func (h *history) steps() []step {
	var all []step
	for _, t := range h.tickets {
		for _, st := range t.steps {
			if st.at.After(h.end) {
				break
			}
			all = append(all, st)
		}
	}
	slices.SortStableFunc(all, func(a, b step) int { return a.at.Compare(b.at) })
	return all
}

// people are everyone who acts in the history.
func (h *history) people() []string {
	out := []string{alex, sean, ingrid, nikhil}
	for _, r := range requesters {
		out = append(out, r.email)
	}
	return out
}

// player plays the history through the desk, moving its clock.
type player struct {
	desk     *desk.Service
	now      *time.Time
	as       map[string]*access.Principal
	raised   map[string][]string // topic key → its tickets' references so far
	problems map[string]string   // topic key → the problem that is its known error
	// problemBy is who works a topic's problem, once its record is written.
	problemBy map[string]string
}

func (pl *player) play(ctx context.Context, steps []step) error {
	for _, st := range steps {
		*pl.now = st.at
		if err := st.do(ctx, pl, st.t); err != nil {
			return fmt.Errorf("demo desk history, %s (%q) step %d at %s: %w", cmp.Or(st.t.ref, "a new ticket"), st.t.in.Summary, st.n, st.at.Format(time.RFC3339), err)
		}
	}
	return nil
}

// The steps a story is made of.

func raise(as string, in desk.RaiseInput, parent *ticketPlan) func(context.Context, *player, *ticketPlan) error {
	return func(ctx context.Context, pl *player, t *ticketPlan) error {
		if parent != nil {
			in.Parent = parent.ref
		}
		tk, err := pl.desk.Raise(ctx, pl.as[as], in)
		if err != nil {
			return err
		}
		t.ref = tk.Reference
		if t.topic != nil && tk.Kind != desk.Problem {
			pl.raised[t.topic.key] = append(pl.raised[t.topic.key], t.ref)
		}
		return nil
	}
}

func take(as string) func(context.Context, *player, *ticketPlan) error {
	return func(ctx context.Context, pl *player, t *ticketPlan) error {
		_, err := pl.desk.Take(ctx, pl.as[as], t.ref)
		return err
	}
}

func comment(as, body string, internal bool) func(context.Context, *player, *ticketPlan) error {
	return func(ctx context.Context, pl *player, t *ticketPlan) error {
		_, err := pl.desk.Comment(ctx, pl.as[as], t.ref, desk.CommentInput{Body: pl.known(t, body), Internal: internal})
		return err
	}
}

func move(as string, in desk.MoveInput) func(context.Context, *player, *ticketPlan) error {
	return func(ctx context.Context, pl *player, t *ticketPlan) error {
		in.Resolution, in.Note = pl.known(t, in.Resolution), pl.known(t, in.Note)
		_, err := pl.desk.Move(ctx, pl.as[as], t.ref, in)
		return err
	}
}

func assign(as string, in desk.AssignInput) func(context.Context, *player, *ticketPlan) error {
	return func(ctx context.Context, pl *player, t *ticketPlan) error {
		_, err := pl.desk.Assign(ctx, pl.as[as], t.ref, in)
		return err
	}
}

func classify(as, service string) func(context.Context, *player, *ticketPlan) error {
	return func(ctx context.Context, pl *player, t *ticketPlan) error {
		_, err := pl.desk.Classify(ctx, pl.as[as], t.ref, desk.ClassifyInput{Service: service})
		return err
	}
}

func rate(as string, in desk.RateInput) func(context.Context, *player, *ticketPlan) error {
	return func(ctx context.Context, pl *player, t *ticketPlan) error {
		_, err := pl.desk.Rate(ctx, pl.as[as], t.ref, in)
		return err
	}
}

// known fills {problem} with the known error of the ticket's topic, and
// {incidents} with the topic's tickets so far (the last eight).
func (pl *player) known(t *ticketPlan, s string) string {
	if t.topic == nil || !strings.Contains(s, "{") {
		return s
	}
	refs := pl.raised[t.topic.key]
	if len(refs) > 8 {
		refs = refs[len(refs)-8:]
	}
	linked := strings.Join(refs, ", ")
	if linked == "" {
		linked = "none yet"
	}
	return strings.NewReplacer("{problem}", pl.problems[t.topic.key], "{incidents}", linked).Replace(s)
}

// planner draws the history.
type planner struct {
	r       *rand.Rand
	end     time.Time // the history stops here (just before now)
	office  catalog.Calendar
	loc     *time.Location
	tickets []*ticketPlan
}

// planHistory plans the history that ends at end; now places the major
// incident on the day of the demo SLA's core switch failover.
func planHistory(end, now time.Time) *history {
	g := &planner{r: rand.New(rand.NewPCG(20, 2026)), end: end, office: londonOffice()}
	g.loc = g.office.Location()
	var total int
	for _, tp := range topics {
		total += tp.weight
	}
	type raised struct {
		topic  *topic
		opened time.Time
		fate   fate
	}
	// The topics first, then the times: what the history is about does
	// not depend on the day it ends.
	rs := make([]raised, deskTickets)
	for i := range rs {
		n := g.r.IntN(total)
		k := 0
		for ; n >= topics[k].weight; k++ {
			n -= topics[k].weight
		}
		rs[i].topic = &topics[k]
	}
	for i := range rs {
		rs[i].opened = g.opened()
	}
	slices.SortStableFunc(rs, func(a, b raised) int { return a.opened.Compare(b.opened) })
	// The backlog, whatever the day: the newest tickets still wait to be
	// taken; of the ones before, some are stuck, some wait for their
	// requester's answer; two wait for a supplier or a change, and one
	// older one was forgotten.
	recent := slices.Clone(backlog[:])
	g.r.Shuffle(len(recent), func(i, j int) { recent[i], recent[j] = recent[j], recent[i] })
	for i, f := range append([]fate{fateUntaken, fateUntaken, fateUntaken}, recent...) {
		rs[len(rs)-1-i].fate = f
	}
	held, forgotten := 2, 1
	for i := len(rs) - 1 - 3 - len(recent); i >= 0 && (held > 0 || forgotten > 0); i-- {
		age := g.end.Sub(rs[i].opened)
		switch {
		case held > 0 && rs[i].topic.hold != "" && age < 30*24*time.Hour:
			rs[i].fate, held = fateHeld, held-1
		case forgotten > 0 && age > 20*24*time.Hour && age < 40*24*time.Hour && g.chance(0.3):
			rs[i].fate, forgotten = fateStalled, forgotten-1
		}
	}
	for _, r := range rs {
		g.ticket(r.topic, r.opened, r.fate)
	}
	g.problems(now)
	g.majorIncident(now)
	return &history{end: end, tickets: g.tickets}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (g *planner) chance(p float64) bool { return g.r.Float64() < p }

// between is a duration from lo to hi (minutes).
func (g *planner) between(lo, hi int) time.Duration {
	return time.Duration(lo+g.r.IntN(hi-lo+1)) * time.Minute
}

// opened is when a user raises a ticket: any day of the history, a few
// more in the last fortnight (the desk's demand grows), mostly in office
// hours on weekdays.
func (g *planner) opened() time.Time {
	for {
		back := g.r.IntN(deskDays)
		if g.chance(0.06) {
			back = g.r.IntN(14)
		}
		day := g.end.In(g.loc).AddDate(0, 0, -back)
		if wd := day.Weekday(); (wd == time.Saturday || wd == time.Sunday) && g.chance(0.85) {
			continue // few people raise tickets at the weekend
		}
		hour := 8 + g.r.IntN(10)
		if g.chance(0.1) {
			hour = pick(g.r, []int{6, 7, 18, 19, 20, 21})
		}
		at := time.Date(day.Year(), day.Month(), day.Day(), hour, g.r.IntN(60), 0, 0, g.loc)
		if at.Before(g.end.Add(-10 * time.Minute)) {
			return at.UTC()
		}
	}
}

// work is when d of office time (agents' weekdays 08:00–18:00 in London,
// not on holidays) has passed after t.
func (g *planner) work(t time.Time, d time.Duration) time.Time {
	for range 400 {
		l := t.In(g.loc)
		y, m, day := l.Date()
		for _, s := range g.office.HoursOn(y, m, day) {
			from := time.Date(y, m, day, s.Start/60, s.Start%60, 0, 0, g.loc)
			to := time.Date(y, m, day, s.End/60, s.End%60, 0, 0, g.loc)
			if !t.Before(to) {
				continue
			}
			if t.Before(from) {
				t = from
			}
			if !t.Add(d).After(to) {
				return t.Add(d).UTC()
			}
			d -= to.Sub(t)
			t = to
		}
		t = time.Date(y, m, day+1, 0, 0, 0, 0, g.loc)
	}
	return t.UTC()
}

// whenAwake is t + d, moved to the next morning if it falls at night:
// when requesters answer.
func (g *planner) whenAwake(t time.Time, d time.Duration) time.Time {
	l := t.Add(d).In(g.loc)
	if l.Hour() < 7 {
		l = time.Date(l.Year(), l.Month(), l.Day(), 7, g.r.IntN(90), 0, 0, g.loc)
	} else if l.Hour() >= 22 {
		l = time.Date(l.Year(), l.Month(), l.Day()+1, 7, g.r.IntN(90), 0, 0, g.loc)
	}
	return l.UTC()
}

// agentFor is who works a ticket about the service.
func (g *planner) agentFor(service string) string {
	switch service {
	case "private-cloud", "object-storage", "database", "directory", "storage":
		if g.chance(0.55) {
			return ingrid
		}
		return alex
	case "network":
		if g.chance(0.75) {
			return nikhil
		}
		return alex
	}
	return g.firstLine()
}

// firstLine is a Service Desk agent: who takes calls and triages.
func (g *planner) firstLine() string {
	if g.chance(0.6) {
		return alex
	}
	return sean
}

// leads are who second line goes to in each group.
var leads = map[string]string{"Network Operations": nikhil, "Platform Engineering": ingrid}

func (g *planner) requester(tp *topic) requester {
	var rs []requester
	total := 0
	for _, r := range requesters {
		if len(tp.units) == 0 || slices.Contains(tp.units, r.bu) {
			rs = append(rs, r)
			total += r.weight
		}
	}
	n := g.r.IntN(total)
	for _, r := range rs {
		if n < r.weight {
			return r
		}
		n -= r.weight
	}
	return rs[0]
}

// fate is how far a ticket's story goes.
type fate int

const (
	fateDone    fate = iota // resolved (if there was time)
	fateUntaken             // still waiting in the queue
	fateStalled             // taken, and stuck
	fateWaiting             // waiting for the requester's answer
	fateHeld                // waiting for a supplier or a change
	fateQuick               // resolved on the phone
)

// backlog are the fates of the tickets before the newest three, in some
// order: stuck, waiting for the requester, or worked as any other (the
// newest of which are still in progress).
var backlog = [...]fate{fateStalled, fateStalled, fateStalled, fateWaiting, fateWaiting, fateWaiting, fateWaiting, fateWaiting, fateWaiting,
	fateDone, fateDone, fateDone, fateDone, fateDone, fateDone, fateDone, fateDone, fateDone, fateDone, fateDone, fateDone}

// text fills a ticket's placeholders, the same way throughout its story.
type text struct {
	r    *rand.Rand
	rq   requester
	seen map[string]string
}

func (x *text) fill(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(s)
			return b.String()
		}
		name := s[i+1 : i+j]
		b.WriteString(s[:i])
		s = s[i+j+1:]
		v, ok := x.seen[name]
		switch {
		case ok:
		case name == "site":
			v = pick(x.r, sites[x.rq.bu])
		case name == "first":
			v = x.rq.first
		case name == "full":
			v = x.rq.full
		case name == "n":
			v = strconv.Itoa(1 + x.r.IntN(40))
		case name == "asset":
			v = fmt.Sprintf("CT-%05d", 10000+x.r.IntN(90000))
		case fills[name] != nil:
			v = pick(x.r, fills[name])
		default:
			v = "{" + name + "}" // filled while playing: {problem}, {incidents}
		}
		x.seen[name] = v
		b.WriteString(v)
	}
}

// The ways people write: informal spellings, a slip of the finger.
var informal = strings.NewReplacer("can't", "cant", "don't", "dont", "doesn't", "doesnt", "won't", "wont", "I'm", "im", "please", "pls",
	"Please", "pls", "thanks", "thx")

// voice makes a user's text sound like its writer: lower case, informal,
// or with a typo, sometimes.
func (g *planner) voice(s string) string {
	if g.chance(0.12) {
		s = informal.Replace(s)
	}
	if g.chance(0.25) && len(s) > 1 && unicode.IsLower(rune(s[1])) { // not an acronym: VPN, SSO
		s = strings.ToLower(s[:1]) + s[1:]
	}
	if g.chance(0.08) {
		s = g.typo(s)
	}
	return s
}

// typo swaps, drops or doubles a letter of one longer word.
func (g *planner) typo(s string) string {
	words := strings.Fields(s)
	var long []int
	for i, w := range words {
		if len(w) >= 6 && strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return s
	}
	w := words[pick(g.r, long)]
	k := 1 + g.r.IntN(len(w)-3)
	var slip string
	switch g.r.IntN(3) {
	case 0:
		slip = w[:k] + w[k+1:k+2] + w[k:k+1] + w[k+2:]
	case 1:
		slip = w[:k] + w[k+1:]
	default:
		slip = w[:k+1] + w[k:]
	}
	return strings.Replace(s, w, slip, 1)
}

// describe is a user's description: greeting, the trouble, an aside,
// a plea when urgent, a sign-off.
func (g *planner) describe(x *text, kind desk.Kind, detail string, urgent bool) string {
	var b strings.Builder
	if gr := pick(g.r, greetings); gr != "" {
		b.WriteString(gr + "\n\n")
	}
	b.WriteString(g.voice(sentence(detail)))
	if g.chance(0.4) {
		b.WriteString(" " + x.fill(pick(g.r, asides[kind])))
	}
	if urgent && g.chance(0.6) {
		b.WriteString(" " + pick(g.r, pressing))
	}
	if so := pick(g.r, signoffs); so != "" {
		b.WriteString("\n\n" + x.fill(so))
	}
	return b.String()
}

// sentence ends s with a full stop unless it ends with a mark already.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

// levels are the impact and urgency a user picks: mostly the topic's.
func (g *planner) levels(tp *topic) (impact, urgency int) {
	impact, urgency = cmp.Or(tp.impact, 2), cmp.Or(tp.urgency, 2)
	switch u := g.r.Float64(); {
	case u < 0.12 && urgency > 1:
		urgency--
	case u < 0.2 && urgency < 3:
		urgency++
	case u < 0.25 && impact < 3:
		impact++
	}
	return impact, urgency
}

// priority is the default matrix's (migration 0029).
func priority(impact, urgency int) int { return min(impact+urgency-1, 4) }

// story is one user's incident or request being planned: who raised
// it, who works it, and when its last step happens.
type story struct {
	g      *planner
	t      *ticketPlan
	tp     *topic
	x      *text
	rq     requester
	agent  string    // who works it now
	at     time.Time // the last step's time
	res    []string  // how its case is resolved
	onSLA  bool      // Retail's desktop incident, held to the desktop SLA's two hours
	prio   int
	opened time.Time
}

// ticket plans one user's incident or request: raised (by its requester,
// or by the service desk taking a call), reclassified if raised against
// the wrong service, taken, asked about, noted, escalated, held, resolved,
// reopened, rated, closed, as far as its fate lets it go.
func (g *planner) ticket(tp *topic, opened time.Time, f fate) {
	s := &story{g: g, t: &ticketPlan{topic: tp, u: g.r.Float64()}, tp: tp, rq: g.requester(tp), opened: opened}
	g.tickets = append(g.tickets, s.t)
	s.x = &text{r: g.r, rq: s.rq, seen: map[string]string{}}
	onPhone := g.chance(0.2) || (tp.quick && g.chance(0.5))
	raisedOn := tp.service
	if len(tp.wrong) > 0 && !onPhone && g.chance(0.2) {
		raisedOn = pick(g.r, tp.wrong)
	}
	s.agent = g.agentFor(tp.service)
	raiser := s.raise(raisedOn, onPhone)
	if f == fateDone && onPhone && tp.quick && g.chance(0.75) {
		s.resolve(s.at.Add(g.between(3, 12)), raiser, true) // on the phone
		s.agent = raiser
		s.afterResolved(false)
		return
	}
	if raisedOn != tp.service {
		s.reclassify(raisedOn)
	}
	if f == fateUntaken {
		return
	}
	s.take(f == fateStalled)
	if f == fateStalled {
		if g.chance(0.4) {
			s.t.add(g.whenAwake(s.at, g.between(24*60, 72*60)), comment(s.rq.email, pick(g.r, chases), false))
		}
		return
	}
	working, asked := s.ask(f == fateWaiting)
	if asked && f == fateWaiting {
		return
	}
	s.note()
	s.escalate()
	if tp.hold != "" && (f == fateHeld || g.chance(0.2)) {
		s.at = s.t.add(g.work(s.at, g.between(10, 180)), move(s.agent, desk.MoveInput{To: desk.StateOnHold, HoldReason: tp.hold, Note: tp.holdNote}))
		if f == fateHeld {
			return
		}
		s.at = s.t.add(g.work(s.at, g.between(8*60, 40*60)), move(s.agent, desk.MoveInput{To: desk.StateInProgress}))
	} else if !working && g.chance(0.2) {
		s.at = s.t.add(g.work(s.at, g.between(2, 60)), move(s.agent, desk.MoveInput{To: desk.StateInProgress}))
	}
	took := map[int][2]int{1: {30, 180}, 2: {60, 360}, 3: {60, 1200}, 4: {180, 2400}}[s.prio]
	switch {
	case s.onSLA:
		took = [2]int{10, 70}
	case tp.kind == desk.Request:
		took = [2]int{120, 1800}
	case tp.quick:
		took = [2]int{5, 40}
	}
	s.resolve(g.work(s.at, g.between(took[0], took[1])), s.agent, false)
	reopened := g.chance(0.045)
	if reopened {
		s.at = s.t.add(g.whenAwake(s.at, g.between(120, 72*60)), move(s.rq.email, desk.MoveInput{To: desk.StateInProgress, Note: g.voice(pick(g.r, reopenNotes))}))
		s.at = s.t.add(g.work(s.at, g.between(10, 120)), comment(s.agent, pick(g.r, reopenWork), true))
		s.resolve(g.work(s.at, g.between(60, 960)), s.agent, false)
	}
	s.afterResolved(reopened || s.at.Sub(opened) > 7*24*time.Hour)
}

// raise plans the raising, in the requester's words or, on the phone, in
// the agent's (who raises it on the requester's behalf), and returns who
// raised it.
func (s *story) raise(service string, onPhone bool) string {
	g, tp, x := s.g, s.tp, s.x
	impact, urgency := g.levels(tp)
	s.prio = priority(impact, urgency)
	c := &tp.cases[g.r.IntN(len(tp.cases))]
	s.res = c.resolutions
	if len(s.res) == 0 {
		s.res = tp.resolutions
	}
	summary, detail := x.fill(pick(g.r, c.summaries)), x.fill(pick(g.r, c.details))
	in := desk.RaiseInput{Kind: tp.kind, Service: service, Summary: summary, Impact: impact, Urgency: urgency}
	raiser := s.rq.email
	if onPhone {
		raiser, in.Requester = g.firstLine(), s.rq.email
		in.Summary = strings.ToUpper(summary[:1]) + summary[1:]
		in.Description = x.fill(pick(g.r, calls)) + sentence(detail)
	} else {
		in.Summary = g.voice(summary)
		in.Description = g.describe(x, tp.kind, detail, urgency == 1)
	}
	s.at = s.t.raise(s.opened, raiser, in, nil)
	return raiser
}

// reclassify plans the service desk moving a ticket raised against the
// wrong service to the right one (its team's queue).
func (s *story) reclassify(from string) {
	g := s.g
	triager := g.firstLine()
	s.at = s.t.add(g.work(s.at, g.between(5, 90)), classify(triager, s.tp.service))
	if g.chance(0.5) {
		s.at = s.t.add(s.at.Add(g.between(1, 3)), comment(triager, fmt.Sprintf("Raised against %s; this is about %s, so it goes to that team.", from, s.tp.service), true))
	}
}

// take plans the agent taking the ticket, quickly for Retail's desktop
// incidents (the desktop SLA: resolved within two service hours, mostly),
// and sometimes telling the requester so.
func (s *story) take(ack bool) {
	g := s.g
	s.onSLA = s.tp.service == "desktop" && s.rq.bu == "RETAIL" && s.tp.kind == desk.Incident && s.prio == 3 && g.chance(0.92)
	respond := map[int][2]int{1: {2, 10}, 2: {5, 40}, 3: {10, 120}, 4: {30, 300}}[s.prio]
	if s.onSLA {
		respond = [2]int{5, 30}
	}
	s.at = s.t.add(g.work(s.at, g.between(respond[0], respond[1])), take(s.agent))
	if g.chance(0.25) || ack {
		s.at = s.t.add(s.at.Add(g.between(1, 5)), comment(s.agent, s.x.fill(pick(g.r, acks)), false))
	}
}

// ask plans the agent asking the requester something (the ticket waits
// for the customer) and, unless waiting is its fate, the answer, which
// moves it on: whether it asked, and whether it is in progress after.
func (s *story) ask(waiting bool) (working, asked bool) {
	g := s.g
	if !waiting && !g.chance(0.28) {
		return false, false
	}
	asks, replies := s.tp.asks, s.tp.replies
	if len(asks) == 0 {
		asks, replies = genericAsks, genericReplies
	}
	k := g.r.IntN(len(asks))
	s.at = s.t.add(g.work(s.at, g.between(5, 120)), move(s.agent, desk.MoveInput{To: desk.StateOnHold, HoldReason: "customer", Note: s.x.fill(asks[k])}))
	if waiting {
		return false, true
	}
	reply := replies[min(k, len(replies)-1)]
	s.at = s.t.add(g.whenAwake(s.at, g.between(20, 30*60)), comment(s.rq.email, g.voice(s.x.fill(reply)), false))
	return true, true // the answer ends the hold
}

// note plans a work note, sometimes.
func (s *story) note() {
	g := s.g
	if !g.chance(0.3) {
		return
	}
	notes := s.tp.notes
	if len(notes) == 0 || g.chance(0.3) {
		notes = genericNotes
	}
	s.at = s.t.add(g.work(s.at, g.between(5, 90)), comment(s.agent, s.x.fill(pick(g.r, notes)), true))
}

// escalate plans first line handing the ticket to second line (the
// topic's group, tier 2), when the topic needs it and often.
func (s *story) escalate() {
	g := s.g
	if lead, ok := leads[s.tp.escalate]; ok && s.agent != lead && g.chance(0.6) {
		s.at = s.t.add(g.work(s.at, g.between(10, 120)), assign(s.agent, desk.AssignInput{Group: s.tp.escalate, Tier: 2, Assignee: lead, Note: s.tp.escalateNote}))
		s.agent = lead
	}
}

// resolve plans the resolution: the case's, or, while a problem is open
// for the topic, mostly its known error's workaround.
func (s *story) resolve(at time.Time, as string, firstContact bool) {
	in := desk.MoveInput{To: desk.StateResolved, Resolution: s.x.fill(pick(s.g.r, s.res)), FirstContact: firstContact}
	if s.tp.known == "" {
		s.t.done = s.t.add(at, move(as, in))
	} else {
		key, known := s.tp.key, s.x.fill(s.tp.known)
		s.t.done = s.t.add(at, func(ctx context.Context, pl *player, t *ticketPlan) error {
			if pl.problems[key] != "" && t.u < 0.7 {
				in.Resolution = known
				if pl.problemBy[key] != "" && t.in.Kind != desk.Request {
					if _, err := pl.desk.LinkIncident(ctx, pl.as[alex], pl.problems[key], t.ref, true); err != nil {
						return err
					}
				}
			}
			return move(as, in)(ctx, pl, t)
		})
	}
	s.at = s.t.done
}

// afterResolved plans the requester's rating and, for some, their
// closing the ticket (confirming the fix; the others stay resolved).
func (s *story) afterResolved(slow bool) {
	g := s.g
	if g.chance(0.48) {
		r := pick(g.r, []int{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 3, 3, 2, 1})
		if slow && r > 1 && g.chance(0.5) {
			r--
		}
		c := pick(g.r, ratingComments[r])
		if c != "" {
			s.x.seen["agent"] = strings.Fields(agentName[s.agent])[0]
			c = g.voice(s.x.fill(c))
		}
		s.at = s.t.add(g.whenAwake(s.at, g.between(10, 36*60)), rate(s.rq.email, desk.RateInput{Rating: r, Comment: c}))
	}
	if g.chance(0.22) {
		g.close(s.t, s.rq.email, g.whenAwake(s.at, g.between(2, 48*60)))
	}
}

// close plans someone closing a resolved ticket.
func (g *planner) close(t *ticketPlan, as string, at time.Time) {
	t.add(at, move(as, desk.MoveInput{To: desk.StateClosed}))
}

var agentName = map[string]string{alex: "Alex Agent", sean: "Sean Murphy", ingrid: "Ingrid Berg", nikhil: "Nikhil Rao"}

// problem is a problem an agent raises when incidents of a topic pile up:
// its known error, its workaround, and, for some, the fix.
type problem struct {
	topic, by, service string
	daysAgo            int
	summary, symptoms  string
	cause, workaround  string
	fix                string // resolved after fixDays with this; "" leaves it open
	fixDays            int
	wait, waitNote     string // open: on hold for this reason
}

var problems = []problem{
	{topic: "outlook-password", by: alex, service: "email", daysAgo: 130, summary: "Outlook asks for the password again and again after the monthly update",
		symptoms: "Many users report Outlook prompting for credentials every few minutes since the monthly update; Outlook on the web is fine.",
		cause:    "A legacy registry key from the 2023 mail migration disables modern authentication; the update made Outlook honour it.",
		workaround: "Known error. Workaround: clear the cached credentials in Credential Manager and delete the legacy registry key " +
			"(HKCU\\Software\\Microsoft\\Exchange\\AlwaysUseMSOAuthForAutoDiscover), then restart Outlook.",
		fix: "Removed the legacy key from every laptop by group policy; no new cases in two weeks.", fixDays: 24},
	{topic: "print", by: alex, service: "desktop", daysAgo: 80, summary: "Printer driver missing after the standard image update",
		symptoms:   "Laptops updated to the latest standard image lose the v3 printer driver: print jobs fail or the printer shows offline.",
		cause:      "The image build removed the v3 driver package that the older print queues still use.",
		workaround: "Known error. Workaround: reinstall 'Contoso printer drivers' from Software Center, then re-add the printer.",
		fix:        "The driver is back in the image (build 26.08) and the print queues moved to the v4 driver.", fixDays: 12},
	{topic: "vpn", by: nikhil, service: "network", daysAgo: 50, summary: "VPN drops for home users on some internet providers",
		symptoms:   "Home workers on some providers lose the VPN every few minutes; the same laptops are stable on a phone hotspot.",
		cause:      "Large packets are fragmented by some home routers and the gateway drops the fragments.",
		workaround: "Known error. Workaround: switch the user to the 'Compatibility' VPN profile (smaller MTU).",
		wait:       "change", waitNote: "The fix (MSS clamping on both gateways) goes in with the next network change."},
	{topic: "crm-slow", by: alex, service: "crm-saas", daysAgo: 65, summary: "CRM slow every Monday morning",
		symptoms:   "Every Monday between 08:00 and 10:00 the CRM takes 20 to 40 seconds to open a record.",
		cause:      "The vendor runs its weekly re-indexing for our tenant on Monday mornings.",
		workaround: "Known error. Workaround: none on our side; urgent lookups through the CRM's mobile app, which is less affected.",
		wait:       "supplier", waitNote: "The vendor has agreed to move the batch to Sunday night; waiting for their date."},
	{topic: "wifi", by: nikhil, service: "network", daysAgo: 18, summary: "Handheld scanners drop Wi-Fi when roaming between access points",
		symptoms:   "Warehouse and store handheld scanners lose their session when they move between access points.",
		cause:      "Under investigation: fast roaming is off on the store SSID.",
		workaround: "Known error. Workaround: re-open the scanner app after moving between areas."},
}

// problems plans the problems: raised and worked by their agent, linked
// to their topic's incidents so far, and the incidents after them name
// the known error.
func (g *planner) problems(now time.Time) {
	known := true
	for i := range problems {
		pr := &problems[i]
		t := &ticketPlan{topic: topicByKey(pr.topic)}
		g.tickets = append(g.tickets, t)
		opened := g.work(workday(&g.office, now, pr.daysAgo, 10, 0), g.between(0, 300))
		at := t.raise(opened, pr.by, desk.RaiseInput{Kind: desk.Problem, Service: pr.service, OrgUnit: "CONTOSO", Summary: pr.summary,
			Description: pr.symptoms, Impact: 2, Urgency: 2}, nil)
		at = t.add(at.Add(g.between(1, 5)), func(ctx context.Context, pl *player, t *ticketPlan) error {
			pl.problems[pr.topic] = t.ref
			return take(pr.by)(ctx, pl, t)
		})
		at = t.add(at.Add(g.between(5, 30)), comment(pr.by, "Linked incidents: {incidents}.", true))
		at = t.add(g.work(at, g.between(60, 600)), move(pr.by, desk.MoveInput{To: desk.StateInProgress, Note: pr.workaround}))
		at = t.add(g.work(at, g.between(120, 1200)), comment(pr.by, "Root cause: "+pr.cause, true))
		// The known error's record, and the incidents so far linked to it
		// (later ones are linked when the workaround resolves them).
		at = t.add(at.Add(g.between(2, 10)), func(ctx context.Context, pl *player, t *ticketPlan) error {
			workaround := strings.TrimPrefix(pr.workaround, "Known error. Workaround: ")
			if _, err := pl.desk.UpdateProblem(ctx, pl.as[pr.by], t.ref, desk.ProblemInput{RootCause: &pr.cause, Workaround: &workaround, KnownError: &known}); err != nil {
				return err
			}
			for _, ref := range pl.raised[pr.topic] {
				if _, err := pl.desk.LinkIncident(ctx, pl.as[alex], t.ref, ref, true); err != nil { // alex works every service's tickets
					return err
				}
			}
			pl.problemBy[pr.topic] = pr.by
			return nil
		})
		switch {
		case pr.fix != "":
			t.done = t.add(g.work(at, time.Duration(pr.fixDays)*10*time.Hour), func(ctx context.Context, pl *player, t *ticketPlan) error {
				delete(pl.problems, pr.topic) // fixed: no longer a known error
				return move(pr.by, desk.MoveInput{To: desk.StateResolved, Resolution: pr.fix})(ctx, pl, t)
			})
			g.close(t, pr.by, g.work(t.done, g.between(60, 1200))) // after the review
		case pr.wait != "":
			t.add(g.work(at, g.between(60, 600)), move(pr.by, desk.MoveInput{To: desk.StateOnHold, HoldReason: pr.wait, Note: pr.waitNote}))
		}
	}
}

func topicByKey(key string) *topic {
	for i := range topics {
		if topics[i].key == key {
			return &topics[i]
		}
	}
	panic("demo: no desk topic " + key)
}

// majorIncident plans the morning of the core switch failover (the demo
// SLA's network outage, 20 working days ago from 09:00 to 11:00): the
// network team's major incident, the calls it brought as its children,
// all resolved together, and the problem raised after.
func (g *planner) majorIncident(now time.Time) {
	start := workday(&g.office, now, 20, 9, 0).UTC()
	mi := &ticketPlan{}
	g.tickets = append(g.tickets, mi)
	at := mi.raise(start.Add(4*time.Minute), nikhil, desk.RaiseInput{Service: "network", OrgUnit: "CONTOSO", Impact: 1, Urgency: 1,
		Summary:     "Major incident: no network at head office and in the stores",
		Description: "Monitoring shows the London core switch down at 09:00; head office, the stores and the plants lose access to the data centre. Failover to the standby switch did not complete."}, nil)
	at = mi.add(at.Add(time.Minute), take(nikhil))
	mi.add(at.Add(2*time.Minute), move(nikhil, desk.MoveInput{To: desk.StateInProgress,
		Note: "We know: the network is down at head office, the stores and the plants. We are working on it and will update here every 30 minutes."}))
	calls := []struct{ who, summary, detail string }{
		{"dana@contoso.example", "Tills can't take card payments", "Dana called from the Leeds store: the tills can't reach the payment server and the back office PC has no network."},
		{"jan@contoso.example", "No network on the plant floor", "Jan called: the MES terminals on Line 3 lost their connection and production booking has stopped."},
		{"hannah@contoso.example", "Nothing loads, no internet", "Hannah called from head office, 5th floor: no internet, no shared drives, Teams disconnected."},
		{"tom@contoso.example", "Store network down", "Tom called from the Bristol store: everything in the store is offline."},
		{"priya@contoso.example", "Online shop back office unreachable", "Priya called: the shop's back office and the order database can't be reached from head office."},
		{"mei@contoso.example", "Can't connect to anything", "Mei called from the Derby plant: no network on any PC."},
	}
	var children []*ticketPlan
	for i, c := range calls {
		t := &ticketPlan{}
		g.tickets = append(g.tickets, t)
		children = append(children, t)
		by := pick(g.r, []string{alex, sean})
		at := t.raise(start.Add(time.Duration(7+5*i)*time.Minute), by, desk.RaiseInput{Service: "network", Requester: c.who, Impact: 2, Urgency: 1,
			Summary: c.summary, Description: c.detail}, mi)
		t.add(at.Add(time.Minute), comment(by, "This is part of a major incident the network team is working on; we'll update you here.", false))
	}
	mi.done = mi.add(start.Add(2*time.Hour+3*time.Minute), move(nikhil, desk.MoveInput{To: desk.StateResolved,
		Resolution: "The London core switch's supervisor engine failed; the standby took over after a manual failover at 10:55 and every site is back. Problem raised for the root cause."}))
	at = mi.done
	g.close(mi, nikhil, g.work(at, 24*60*time.Minute)) // after the major incident review
	for _, t := range children {
		t.done = mi.done // resolved with their parent, with its resolution
	}
	pb := &ticketPlan{}
	g.tickets = append(g.tickets, pb)
	at = pb.raise(at.Add(40*time.Minute), nikhil, desk.RaiseInput{Kind: desk.Problem, Service: "network", OrgUnit: "CONTOSO", Impact: 1, Urgency: 2,
		Summary:     "Core switch supervisor engine failure; failover did not complete",
		Description: "The London core switch's supervisor engine failed at 09:00 and the standby did not take over on its own (two hours of outage)."}, nil)
	at = pb.add(at.Add(2*time.Minute), take(nikhil))
	at = pb.add(g.work(at, 6*60*time.Minute), move(nikhil, desk.MoveInput{To: desk.StateOnHold, HoldReason: "supplier",
		Note: "Vendor case opened; replacement supervisor engine on its way (RMA)."}))
	at = pb.add(g.work(at, 30*60*time.Minute), move(nikhil, desk.MoveInput{To: desk.StateInProgress, Note: "Replacement engine arrived; fitting it in the maintenance window."}))
	pb.done = pb.add(g.work(at, 20*60*time.Minute), move(nikhil, desk.MoveInput{To: desk.StateResolved,
		Resolution: "Replaced the supervisor engine and upgraded the switch software, which fixes the failover bug (vendor advisory). Failover tested in the maintenance window."}))
	g.close(pb, nikhil, g.work(pb.done, g.between(60, 600)))
}
