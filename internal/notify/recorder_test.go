package notify

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// The recorder lets the sender run ahead of the database by at most
// maxUnrecorded mails, records every mail handed over once, in order, in
// groups, and records what is left when closed. Its commits here wait for
// the test's word, so the sender is held at the bound while one is in
// flight.
func TestRecorderBoundsUnrecordedMails(t *testing.T) {
	const mails = 50
	gate := make(chan struct{})
	var mu sync.Mutex
	var batches [][]string
	r := startRecorder(func(ids []string) {
		<-gate
		mu.Lock()
		batches = append(batches, ids)
		mu.Unlock()
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range mails {
			r.room()
			r.sent([]string{fmt.Sprint(i)})
		}
	}()
	unrecorded := func() int {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.pendingMails + r.committing
	}
	finished := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	held := 0
	for !finished() {
		// The sender stops at the bound while a commit waits (or ends).
		deadline := time.Now().Add(time.Minute)
		for n := unrecorded(); n != maxUnrecorded && !finished(); n = unrecorded() {
			if n > maxUnrecorded {
				t.Fatalf("%d mails unrecorded, more than %d", n, maxUnrecorded)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sender neither reached %d unrecorded mails nor ended (%d)", maxUnrecorded, n)
			}
			time.Sleep(time.Millisecond)
		}
		if !finished() {
			held++
		}
		select {
		case gate <- struct{}{}: // one commit may end
		case <-done:
		}
	}
	closed := make(chan struct{})
	go func() {
		for {
			select {
			case gate <- struct{}{}:
			case <-closed:
				return
			}
		}
	}()
	r.close()
	close(closed)
	r.close() // again: nothing to do

	var got []string
	for _, b := range batches {
		if len(b) > maxUnrecorded {
			t.Errorf("a commit of %d mails, more than %d", len(b), maxUnrecorded)
		}
		got = append(got, b...)
	}
	want := make([]string, mails)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("recorded %v, want each of the %d mails once, in order", got, mails)
	}
	if held == 0 || len(batches) >= mails {
		t.Errorf("the sender was held at the bound %d times, in %d commits: want the bound reached and mails grouped", held, len(batches))
	}
}
