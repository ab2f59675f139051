package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/metering"
)

// TestKillNineReplay is the crash drill of docs/metering.md: a real
// steward process takes batches from concurrent clients and is killed
// with SIGKILL mid-load. Every batch it acknowledged must be there after
// the crash; then a restarted server gets every batch again, acknowledged
// or not, and each event is counted exactly once.
func TestKillNineReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and crashes a steward process")
	}
	cfg := drillDatabase(t)
	ctx := context.Background()
	open := func() *app.App {
		a, err := app.New(ctx, app.Config{Database: cfg}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open()
	token, err := benchSetup(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	hour := time.Now().UTC().Truncate(time.Hour)
	const perBatch = 100
	batch := func(n int) []byte {
		var parts []string
		for j := range perBatch {
			parts = append(parts, fmt.Sprintf(`{"specversion":"1.0","id":"b%d-%d","source":"/crash","type":"com.example.api.called","subject":"s%d","time":%q,"data":{"calls":1}}`,
				n, j, j%10, hour.Format(time.RFC3339)))
		}
		return []byte("[" + strings.Join(parts, ",") + "]")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(base string, n int) (int, []byte, error) {
		req, _ := http.NewRequest("POST", base+"/api/v1/events", bytes.NewReader(batch(n)))
		req.Header.Set("Content-Type", metering.ContentBatch)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res.StatusCode, body, err
	}
	start := func() (*exec.Cmd, string) { return drillServe(t, cfg, nil) }

	// Phase 1: load, then SIGKILL while batches are in flight.
	cmd, base := start()
	var mu sync.Mutex
	acked := map[int]bool{}
	sent := 0
	var wg sync.WaitGroup
	stop := make(chan struct{})
	next := make(chan int)
	go func() {
		for n := 0; ; n++ {
			select {
			case next <- n:
			case <-stop:
				close(next)
				return
			}
		}
	}()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range next {
				mu.Lock()
				sent = max(sent, n+1)
				mu.Unlock()
				code, _, err := send(base, n)
				if err == nil && code == 200 {
					mu.Lock()
					acked[n] = true
					mu.Unlock()
				}
			}
		}()
	}
	for {
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		enough := len(acked) >= 50
		mu.Unlock()
		if enough {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()
	t.Logf("killed after %d batches sent, %d acknowledged", sent, len(acked))

	total := func() (int64, int64) {
		a := open()
		defer a.Close()
		u, err := a.Metering.Usage(ctx, access.System(), metering.UsageQuery{Meter: "api-calls", From: hour, To: hour.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		var q int64
		for _, r := range u.Rows {
			q += int64(r.Quantity) / metering.Scale
		}
		var events int64
		a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_events WHERE source = '/crash'`).Scan(&events)
		return q, events
	}
	// Nothing acknowledged is lost, and the rollups agree with the events kept.
	q, events := total()
	if q < int64(len(acked)*perBatch) || q != events {
		t.Fatalf("after the crash: usage %d, events %d; %d were acknowledged", q, events, len(acked)*perBatch)
	}

	// Phase 2: restart and replay everything sent.
	cmd, base = start()
	for n := range sent {
		code, body, err := send(base, n)
		if err != nil || code != 200 {
			t.Fatalf("replay of batch %d: %d %v %s", n, code, err, body)
		}
		if acked[n] && !bytes.Contains(body, []byte(`"duplicates":100`)) {
			t.Errorf("batch %d was acknowledged before the crash but its replay was not all duplicates: %s", n, body)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if q, events := total(); q != int64(sent*perBatch) || events != q {
		t.Fatalf("after the replay: usage %d, events %d; want exactly %d", q, events, sent*perBatch)
	}
}
