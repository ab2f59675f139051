package notify

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// The recorder lets the sender run ahead of the database by at most its
// bound of mails, records every mail handed over once, in order, in
// groups (of one, at the bound 1), and records what is left when closed.
// Its commits here wait for the test's word, so the sender is held at the
// bound while one is in flight.
func TestRecorderBoundsUnrecordedMails(t *testing.T) {
	for _, bound := range []int{DefaultUnrecorded, 1, 3} {
		t.Run(fmt.Sprint(bound), func(t *testing.T) { recorderBounds(t, bound) })
	}
}

func recorderBounds(t *testing.T, maxUnrecorded int) {
	const mails = 50
	gate := make(chan struct{})
	var mu sync.Mutex
	var batches [][]string
	r := startRecorder(func(ids []string) {
		<-gate
		mu.Lock()
		batches = append(batches, ids)
		mu.Unlock()
	}, maxUnrecorded)
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
	if held == 0 || (maxUnrecorded > 1) == (len(batches) >= mails) {
		t.Errorf("the sender was held at the bound %d times, in %d commits: want the bound reached, and mails grouped unless the bound is 1", held, len(batches))
	}
}

// The recorder gathers: a commit waits for recordEvery mails (or its
// gather time, or the close), so mails sent a few milliseconds apart (at
// the mailer's pace) share a commit instead of taking the writer each.
func TestRecorderGathersMails(t *testing.T) {
	batches := make(chan []string, 100)
	r := startRecorder(func(ids []string) { batches <- ids }, DefaultUnrecorded)
	recordEvery := DefaultUnrecorded / 2
	r.gather = time.Hour
	for i := range recordEvery {
		r.room()
		r.sent([]string{fmt.Sprint(i)})
		time.Sleep(time.Millisecond) // the recorder could commit each, were it not gathering
	}
	select {
	case b := <-batches:
		if len(b) != recordEvery || b[0] != "0" {
			t.Errorf("the first commit holds %v, want the first %d mails", b, recordEvery)
		}
	case <-time.After(time.Minute):
		t.Fatalf("no commit after %d mails", recordEvery)
	}
	r.close()

	// Fewer mails are committed once the gather time has passed.
	r = startRecorder(func(ids []string) { batches <- ids }, DefaultUnrecorded)
	r.gather = 10 * time.Millisecond
	r.room()
	r.sent([]string{"a"})
	select {
	case b := <-batches:
		if len(b) != 1 || b[0] != "a" {
			t.Errorf("the commit holds %v, want [a]", b)
		}
	case <-time.After(time.Minute):
		t.Fatal("one mail was not committed after the gather time")
	}
	r.close()
}
