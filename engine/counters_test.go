package engine

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCounterLabels(t *testing.T) {
	if NumCounters != 85 {
		t.Fatalf("NumCounters = %d, want 85 (OMX_INFO_COUNTER_MAX)", NumCounters)
	}
	seen := make(map[string]Counter)
	for c := Counter(0); c < NumCounters; c++ {
		l := c.Label()
		if l == "" || l == "** Unknown **" {
			t.Errorf("counter %d has no label", c)
		}
		if prev, dup := seen[l]; dup {
			t.Errorf("counters %d and %d share label %q", prev, c, l)
		}
		seen[l] = c
	}
	for _, tt := range []struct {
		c    Counter
		want string
	}{
		{0, "Send Tiny"},
		{SendTiny, "Send Tiny"},
		{SendNackMCP, "Send Nack MCP"},
		{16, "Recv Tiny"},
		{RecvHostReply, "Recv Host Reply"},
		{DMARecvPullReplyDeferredWait, "DMA Recv Pull Reply with Deferred Wait"},
		{RecvNonLinearHeader, "Recv Open-MX Header as Non-Linear"},
		{49, "Drop Bad Data Length for Headers"},
		{DropUnknownPacketType, "Drop Unknown Packet Type"},
		{72, "Shared Tiny"},
		{SharedTiny, "Shared Tiny"},
		{84, "DMA Shared Large only Partial"},
		{DMASharedLargeOnlyPartial, "DMA Shared Large only Partial"},
		{-1, "** Unknown **"},
		{NumCounters, "** Unknown **"},
		{1000, "** Unknown **"},
	} {
		if got := tt.c.Label(); got != tt.want {
			t.Errorf("Counter(%d).Label() = %q, want %q", int(tt.c), got, tt.want)
		}
	}
}

func TestCounterShared(t *testing.T) {
	for c := Counter(0); c < NumCounters; c++ {
		want := strings.HasPrefix(c.Label(), "Shared ") || strings.HasPrefix(c.Label(), "DMA Shared ")
		if got := c.Shared(); got != want {
			t.Errorf("%q.Shared() = %v, want %v", c.Label(), got, want)
		}
	}
}

func TestCounters(t *testing.T) {
	var c Counters // zero value ready
	if got := c.Snapshot(); got != ([NumCounters]uint64{}) {
		t.Fatalf("zero Counters not zero: %v", got)
	}
	c.Inc(SendTiny)
	c.Inc(SendTiny)
	c.Add(RecvPullReply, 40)
	c.Add(DMASharedLargeOnlyPartial, 1<<40)
	var want [NumCounters]uint64
	want[SendTiny] = 2
	want[RecvPullReply] = 40
	want[DMASharedLargeOnlyPartial] = 1 << 40
	if diff := cmp.Diff(want, c.Snapshot()); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
	if got := c.Get(SendTiny); got != 2 {
		t.Errorf("Get(SendTiny) = %d, want 2", got)
	}
	if got := c.Get(SendSmall); got != 0 {
		t.Errorf("Get(SendSmall) = %d, want 0", got)
	}
	c.Reset()
	if got := c.Snapshot(); got != ([NumCounters]uint64{}) {
		t.Errorf("after Reset: %v", got)
	}
}

func TestCountersConcurrent(t *testing.T) {
	var c Counters
	const workers, perWorker = 8, 1000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				c.Inc(SharedRndv)
				c.Add(RecvTiny, 2)
				_ = c.Snapshot()
			}
		}()
	}
	wg.Wait()
	if got := c.Get(SharedRndv); got != workers*perWorker {
		t.Errorf("SharedRndv = %d, want %d", got, workers*perWorker)
	}
	if got := c.Get(RecvTiny); got != 2*workers*perWorker {
		t.Errorf("RecvTiny = %d, want %d", got, 2*workers*perWorker)
	}
}

func TestNewCountersExternalStore(t *testing.T) {
	var store [NumCounters]atomic.Uint64
	store[RecvTiny].Store(4) // existing values are kept
	c := NewCounters(&store)
	c.Inc(SendTiny)
	c.Add(SharedPull, 9)
	if got := store[SendTiny].Load(); got != 1 {
		t.Errorf("store[SendTiny] = %d, want 1", got)
	}
	if got := store[SharedPull].Load(); got != 9 {
		t.Errorf("store[SharedPull] = %d, want 9", got)
	}
	if got := c.Get(RecvTiny); got != 4 {
		t.Errorf("Get(RecvTiny) = %d, want 4", got)
	}
	store[RecvSmall].Add(2) // updated by another process
	s := c.Snapshot()
	if s[RecvSmall] != 2 || s[SendTiny] != 1 {
		t.Errorf("Snapshot = %v", s)
	}
	c.Reset()
	for i := range store {
		if v := store[i].Load(); v != 0 {
			t.Errorf("after Reset store[%d] = %d", i, v)
		}
	}
	if c := NewCounters(nil); c.Get(SendTiny) != 0 {
		t.Error("NewCounters(nil) not zero")
	} else {
		c.Inc(SendTiny)
		if c.Get(SendTiny) != 1 {
			t.Error("NewCounters(nil) does not count")
		}
	}
}
