package engine

import "sync"

// table maps integer handles to values. A handle is (generation << 32) |
// (slot + 1), so 0 is never valid and a freed slot's old handles stop
// working when it is reused. The zero value is ready to use; it is safe for
// concurrent use.
type table[T any] struct {
	// genMask, when non-zero, bounds generations (so that handles can be
	// packed into fewer bits, see partnerRef).
	genMask uint32
	mu      sync.RWMutex
	slots   []tableSlot[T]
	free    []uint32
	n       int
}

type tableSlot[T any] struct {
	gen  uint32
	used bool
	val  T
}

// add stores v and returns its handle.
func (t *table[T]) add(v T) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var i uint32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.slots = append(t.slots, tableSlot[T]{gen: 1})
		i = uint32(len(t.slots) - 1)
	}
	s := &t.slots[i]
	s.used, s.val = true, v
	t.n++
	return uint64(s.gen)<<32 | uint64(i+1)
}

func (t *table[T]) slot(h uint64) (uint32, bool) {
	i := uint32(h) - 1
	if uint32(h) == 0 || int(i) >= len(t.slots) {
		return 0, false
	}
	s := &t.slots[i]
	return i, s.used && s.gen == uint32(h>>32)
}

// get returns the value of handle h, and whether h is valid.
func (t *table[T]) get(h uint64) (T, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var zero T
	i, ok := t.slot(h)
	if !ok {
		return zero, false
	}
	return t.slots[i].val, true
}

// remove invalidates h; it reports whether h was valid.
func (t *table[T]) remove(h uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.slot(h)
	if !ok {
		return false
	}
	s := &t.slots[i]
	var zero T
	s.used, s.val = false, zero
	s.gen++
	if t.genMask != 0 {
		s.gen &= t.genMask
	}
	if s.gen == 0 {
		s.gen = 1
	}
	t.free = append(t.free, i)
	t.n--
	return true
}

// len returns the number of live handles.
func (t *table[T]) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n
}

// snapshot returns the live values.
func (t *table[T]) snapshot() []T {
	t.mu.RLock()
	defer t.mu.RUnlock()
	vals := make([]T, 0, t.n)
	for i := range t.slots {
		if t.slots[i].used {
			vals = append(vals, t.slots[i].val)
		}
	}
	return vals
}
