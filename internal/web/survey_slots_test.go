package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPageSlots: no more survey page requests run at once than there are
// slots, every request runs in the end, and one whose client left while
// it waited never runs.
func TestPageSlots(t *testing.T) {
	slots := newPageSlots(3)
	var running, most, ran atomic.Int32
	release := make(chan struct{})
	h := slots.bound(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		running.Add(-1)
		ran.Add(1)
	})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h(httptest.NewRecorder(), httptest.NewRequest("GET", "/s/x", nil))
		}()
	}
	for len(slots) < 3 {
		runtime.Gosched() // until the first three hold the slots
	}
	// A request whose client is gone while it waits gives up.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h(httptest.NewRecorder(), httptest.NewRequest("GET", "/s/y", nil).WithContext(ctx))
	close(release)
	wg.Wait()
	if most.Load() != 3 || ran.Load() != 10 {
		t.Fatalf("at most %d at once (want 3), %d ran (want 10)", most.Load(), ran.Load())
	}
}
