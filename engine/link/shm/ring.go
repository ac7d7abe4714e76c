package shm

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync/atomic"
	"time"
)

// Header layout of an inbox (see the package documentation).
const (
	offMagic    = 0
	offVersion  = 4
	offCapacity = 8
	offMTU      = 16
	offOwner    = 20
	offState    = 24
	offSleepers = 40 // threads of the owner sleeping on the bell (u32)
	offRung     = 44 // 1: the bell was rung since the owner last drained it (u32)
	offLock     = 64
	offTail     = 128
	offHead     = 192
	hdrSize     = 256

	magic   = 0x53584d4f // "OMXS" little-endian
	version = 1

	stateOpen   = 1
	stateClosed = 2

	recHdr   = 8
	wrapMark = math.MaxUint32
	lenTag   = 0x5a4d584f // XORed with the length in the second header word
)

// Lock stealing thresholds.
const (
	deadHolderAge  = 2 * time.Millisecond   // a dead pid's lock is stolen after this
	staleHolderAge = 200 * time.Millisecond // any lock is stolen after this
	lockBudget     = 250 * time.Millisecond
)

// pad8 rounds n up to a multiple of 8.
func pad8(n uint64) uint64 { return (n + 7) &^ 7 }

// recordSize is the ring space taken by a frame of n bytes.
func recordSize(n int) uint64 { return recHdr + pad8(uint64(n)) }

// ring is a view of one mapped inbox. capacity and mtu are the values
// validated when the view was made; they are never re-read from memory.
type ring struct {
	mem      []byte // whole mapping: header then data
	capacity uint64
	mtu      int
	// headSeen is the consumer's head as a producer of this mapping last
	// read it: head only grows (a resync resets both head and tail), so a
	// producer re-reads it only when the ring looks full or the tail went
	// back, and leaves the consumer's cache line alone otherwise.
	headSeen atomic.Uint64
}

func (r *ring) data() []byte { return r.mem[hdrSize : hdrSize+r.capacity] }

// initHeader writes a fresh header into mem (not yet visible to others).
func initHeader(mem []byte, capacity uint64, mtu, pid int) {
	clear(mem[:hdrSize])
	initHeaderFields(mem, capacity, mtu, pid)
}

// initHeaderFields writes the identity fields of a header and marks it
// open, leaving the lock, head and tail alone.
func initHeaderFields(mem []byte, capacity uint64, mtu, pid int) {
	binary.LittleEndian.PutUint32(mem[offMagic:], magic)
	binary.LittleEndian.PutUint32(mem[offVersion:], version)
	binary.LittleEndian.PutUint64(mem[offCapacity:], capacity)
	binary.LittleEndian.PutUint32(mem[offMTU:], uint32(mtu))
	binary.LittleEndian.PutUint32(mem[offOwner:], uint32(pid))
	u32At(mem, offState).Store(stateOpen)
}

// parseHeader validates the header of a mapping of size bytes and returns
// its capacity and MTU; ok is false if it is not a valid inbox.
func parseHeader(mem []byte, size int64) (capacity uint64, mtu int, ok bool) {
	if size < hdrSize || int64(len(mem)) < size {
		return 0, 0, false
	}
	if binary.LittleEndian.Uint32(mem[offMagic:]) != magic ||
		binary.LittleEndian.Uint32(mem[offVersion:]) != version {
		return 0, 0, false
	}
	capacity = binary.LittleEndian.Uint64(mem[offCapacity:])
	m := binary.LittleEndian.Uint32(mem[offMTU:])
	if capacity == 0 || capacity%8 != 0 || capacity != uint64(size)-hdrSize ||
		m < 14 || m > 1<<20 || capacity < 2*recordSize(int(m)) {
		return 0, 0, false
	}
	return capacity, int(m), true
}

// state returns the inbox state word.
func (r *ring) state() uint32 { return u32At(r.mem, offState).Load() }

// setState stores the inbox state word.
func (r *ring) setState(s uint32) { u32At(r.mem, offState).Store(s) }

// sleepers returns the number of owner threads sleeping on the bell.
func (r *ring) sleepers() uint32 { return u32At(r.mem, offSleepers).Load() }

// mustRing reports whether the caller must write to the bell: the owner
// sleeps and nobody rang since it last drained the bell.
func (r *ring) mustRing() bool {
	return r.sleepers() != 0 && u32At(r.mem, offRung).CompareAndSwap(0, 1)
}

// owner returns the pid recorded in the header.
func ownerOf(mem []byte) int { return int(binary.LittleEndian.Uint32(mem[offOwner:])) }

// lockState tracks how long a lock word has kept one value, to decide when
// to steal it.
type lockState struct {
	seen  uint64
	since time.Time
}

// stealable reports whether a lock word holding v, observed at now, may be
// stolen.
func (s *lockState) stealable(v uint64, now time.Time) bool {
	if v != s.seen || s.since.IsZero() {
		s.seen, s.since = v, now
		return false
	}
	age := now.Sub(s.since)
	return age >= staleHolderAge || (age >= deadHolderAge && !pidAlive(v))
}

// tryLock attempts to take the producer lock once (stealing it if st says
// so). stolen reports a steal.
func (r *ring) tryLock(me uint64, st *lockState, now time.Time) (ok, stolen bool) {
	w := u64At(r.mem, offLock)
	if w.CompareAndSwap(0, me) {
		return true, false
	}
	v := w.Load()
	if v != 0 && st.stealable(v, now) && w.CompareAndSwap(v, me) {
		return true, true
	}
	return false, false
}

// lock takes the producer lock, waiting at most lockBudget.
func (r *ring) lock(me uint64) (ok, stolen bool) {
	w := u64At(r.mem, offLock)
	var st lockState
	var start time.Time
	for i := 0; ; i++ {
		if w.CompareAndSwap(0, me) {
			return true, false
		}
		if i < 32 {
			continue
		}
		runtime.Gosched()
		if i%16 != 0 {
			continue
		}
		now := time.Now()
		if start.IsZero() {
			start = now
		}
		if ok, stolen := r.tryLock(me, &st, now); ok {
			return true, stolen
		}
		if now.Sub(start) > lockBudget {
			return false, false
		}
	}
}

// unlock releases the producer lock if me still holds it.
func (r *ring) unlock(me uint64) { u64At(r.mem, offLock).CompareAndSwap(me, 0) }

// pushResult says what push did.
type pushResult int

const (
	pushed pushResult = iota
	pushFull
	pushCorrupt
)

// push appends frame, zero-padded to n bytes, as one record. The producer
// lock must be held.
func (r *ring) push(frame []byte, n int) pushResult {
	if n > r.mtu || recordSize(n) > r.capacity/2 {
		return pushCorrupt
	}
	tail := u64At(r.mem, offTail).Load()
	rec := recordSize(n)
	off := tail % r.capacity
	total := rec
	wrap := r.capacity-off < rec
	if wrap {
		total += r.capacity - off
	}
	head := r.headSeen.Load()
	if tail < head || tail-head+total > r.capacity {
		head = u64At(r.mem, offHead).Load()
		r.headSeen.Store(head)
	}
	if tail < head || tail-head > r.capacity || tail%8 != 0 || head%8 != 0 {
		return pushCorrupt
	}
	if tail-head+total > r.capacity {
		return pushFull
	}
	d := r.data()
	if wrap {
		binary.LittleEndian.PutUint32(d[off:], wrapMark)
		binary.LittleEndian.PutUint32(d[off+4:], wrapMark^lenTag)
		off = 0
	}
	binary.LittleEndian.PutUint32(d[off:], uint32(n))
	binary.LittleEndian.PutUint32(d[off+4:], uint32(n)^lenTag)
	body := d[off+recHdr : off+recHdr+uint64(n)]
	clear(body[copy(body, frame):])
	u64At(r.mem, offTail).Store(tail + total)
	return pushed
}

// pending reports whether a record (or garbage) waits in the ring.
func (r *ring) pending() bool {
	return u64At(r.mem, offHead).Load() != u64At(r.mem, offTail).Load()
}

// pop copies the next record into buf. It returns the record's length
// (0: none), or bad when the ring holds something invalid.
func (r *ring) pop(buf []byte) (n int, bad bool) {
	headW, tailW := u64At(r.mem, offHead), u64At(r.mem, offTail)
	head := headW.Load()
	for {
		tail := tailW.Load()
		if head%8 != 0 || tail%8 != 0 || tail < head || tail-head > r.capacity {
			return 0, true
		}
		if head == tail {
			return 0, false
		}
		off := head % r.capacity
		d := r.data()
		l := binary.LittleEndian.Uint32(d[off:])
		if binary.LittleEndian.Uint32(d[off+4:]) != l^lenTag {
			return 0, true
		}
		if l == wrapMark {
			if off == 0 || head+(r.capacity-off) > tail {
				return 0, true
			}
			head += r.capacity - off
			headW.Store(head)
			continue
		}
		rec := recordSize(int(l))
		if l == 0 || int64(l) > int64(r.mtu) || off+rec > r.capacity || head+rec > tail {
			return 0, true
		}
		n = copy(buf, d[off+recHdr:off+recHdr+uint64(l)])
		headW.Store(head + rec)
		return n, false
	}
}

// reset empties the ring; the producer lock must be held.
func (r *ring) reset() {
	u64At(r.mem, offTail).Store(0)
	u64At(r.mem, offHead).Store(0)
}
