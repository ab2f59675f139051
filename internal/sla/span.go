package sla

import (
	"slices"
	"time"
)

// Span is a half-open stretch of time [Start, End) in Unix microseconds:
// the database's precision, so arithmetic on spans is exact.
type Span struct{ Start, End int64 }

// Micros is t in Unix microseconds.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// Time is the instant of a microsecond count.
func Time(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Len is the span's length in microseconds.
func (s Span) Len() int64 { return s.End - s.Start }

// Set is a union of disjoint spans in order. Build one with normal.
type Set []Span

// normal sorts spans and merges those that overlap or touch.
func normal(spans []Span) Set {
	spans = slices.DeleteFunc(spans, func(s Span) bool { return s.End <= s.Start })
	slices.SortFunc(spans, func(a, b Span) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return Set(out)
}

// Len is the total length of the set in microseconds.
func (a Set) Len() int64 {
	var n int64
	for _, s := range a {
		n += s.Len()
	}
	return n
}

// Intersect returns a ∩ b.
func (a Set) Intersect(b Set) Set {
	var out Set
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].Start, b[j].Start), min(a[i].End, b[j].End)
		if lo < hi {
			out = append(out, Span{lo, hi})
		}
		if a[i].End < b[j].End {
			i++
		} else {
			j++
		}
	}
	return out
}

// Minus returns a − b.
func (a Set) Minus(b Set) Set {
	var out Set
	j := 0
	for _, s := range a {
		cur := s.Start
		for j < len(b) && b[j].End <= cur {
			j++
		}
		for k := j; k < len(b) && b[k].Start < s.End; k++ {
			if b[k].Start > cur {
				out = append(out, Span{cur, b[k].Start})
			}
			cur = max(cur, b[k].End)
		}
		if cur < s.End {
			out = append(out, Span{cur, s.End})
		}
	}
	return out
}

// lenWithin is the length of a ∩ [from, to), found by binary search.
func (a Set) lenWithin(from, to int64) int64 {
	i, _ := slices.BinarySearchFunc(a, from, func(s Span, t int64) int {
		if s.End <= t {
			return -1
		}
		return 1
	})
	var n int64
	for ; i < len(a) && a[i].Start < to; i++ {
		n += min(a[i].End, to) - max(a[i].Start, from)
	}
	return max(n, 0)
}

// Clip returns the part of a within [from, to).
func (a Set) Clip(from, to int64) Set { return a.Intersect(Set{{from, to}}) }

// weighted is a span of loss with its weight in permille (1000 is total).
type weighted struct {
	Span
	permille int64
}

// lossIn measures loss over the set: at each instant the largest weight
// of the losses then running counts, so overlapping outages are never
// counted twice. The answer is in permille-microseconds (exact).
func lossIn(losses []weighted, in Set) int64 {
	if len(losses) == 0 || len(in) == 0 {
		return 0
	}
	// Sweep the boundaries; each elementary piece takes its largest weight.
	type edge struct {
		at int64
		w  int64
		on bool
	}
	edges := make([]edge, 0, 2*len(losses))
	for _, l := range losses {
		if l.End > l.Start && l.permille > 0 {
			edges = append(edges, edge{l.Start, l.permille, true}, edge{l.End, l.permille, false})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	var total int64
	cur := 0 // the first span of in that may still overlap a piece
	active := map[int64]int{}
	for i := 0; i < len(edges); {
		at := edges[i].at
		for ; i < len(edges) && edges[i].at == at; i++ {
			if edges[i].on {
				active[edges[i].w]++
			} else if active[edges[i].w]--; active[edges[i].w] == 0 {
				delete(active, edges[i].w)
			}
		}
		if i == len(edges) || len(active) == 0 {
			continue
		}
		var w int64
		for k := range active {
			w = max(w, k)
		}
		end := edges[i].at
		for cur < len(in) && in[cur].End <= at {
			cur++
		}
		for k := cur; k < len(in) && in[k].Start < end; k++ {
			total += w * (min(end, in[k].End) - max(at, in[k].Start))
		}
	}
	return total
}
