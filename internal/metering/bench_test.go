//go:build unix

package metering

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// The CPU of ingest's two halves, one goroutine each: reading a request
// (parse, then each meter's reading of the data) and committing a group.
// Run: go test ./internal/metering -run X -bench . -benchtime 3s

func benchBatch(seq, n int) []byte {
	now := time.Now().UTC().Format(time.RFC3339)
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"specversion":"1.0","id":"%d-%d","source":"/bench/1","type":"com.example.api.called","subject":"s-%d","time":%q,"data":{"calls":%d,"region":"r%d"}}`,
			seq, i, (seq*n+i)%1000, now, 1+i%7, i%3)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func BenchmarkParseAndApplyPerEvent(b *testing.B) {
	m := &Meter{ID: "m", Code: "api-calls", Aggregation: Sum, ValuePath: "calls", GroupBy: []string{"region"}}
	body := benchBatch(1, 100)
	h := http.Header{"Content-Type": {ContentBatch}}
	b.ResetTimer()
	c0 := cpuNow()
	defer func() { b.ReportMetric(float64((cpuNow()-c0).Nanoseconds())/float64(b.N), "cpu-ns/event") }()
	for i := 0; i < b.N; i += 100 {
		p, err := ParseRequest(h, body, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range p.Events {
			if _, e := apply([]*Meter{m}, ev); len(e) > 0 {
				b.Fatal(e)
			}
		}
	}
}

// cpuNow is the CPU time the process has used: on a machine others share,
// a steadier figure than the wall time ns/op reports.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkCommitPerEvent(b *testing.B) {
	for _, group := range []int{500, 2000, 5000, 10000} {
		b.Run(fmt.Sprint("group=", group), func(b *testing.B) {
			ctx := context.Background()
			s := New(sqldbtest.Open(b), time.Now)
			b.Cleanup(s.Close)
			m, err := s.SaveMeter(ctx, access.System(), MeterInput{Code: "api-calls", Name: "API calls", EventType: "com.example.api.called",
				Aggregation: Sum, ValuePath: "calls", GroupBy: []string{"region"}, Unit: "call"})
			if err != nil {
				b.Fatal(err)
			}
			var cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i += group {
				b.StopTimer()
				p, _ := ParseRequest(http.Header{"Content-Type": {ContentBatch}}, benchBatch(i, group), time.Now())
				pd := &pending{done: make(chan error, 1)}
				for j, ev := range p.Events {
					c, _ := apply([]*Meter{m}, ev)
					pd.rows = append(pd.rows, &row{ev: ev, index: j, contrib: c})
				}
				b.StartTimer()
				c0 := cpuNow()
				s.commitGroup([]*pending{pd})
				cpu += cpuNow() - c0
				if err := <-pd.done; err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
		})
	}
}
