package shm

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// newTestRing returns a ring over plain memory.
func newTestRing(capacity uint64, mtu int) *ring {
	mem := make([]byte, hdrSize+capacity)
	initHeader(mem, capacity, mtu, 1)
	return &ring{mem: mem, capacity: capacity, mtu: mtu}
}

func TestRingWrapAndFull(t *testing.T) {
	r := newTestRing(1024, 200)
	rng := rand.New(rand.NewPCG(1, 2))
	var queue [][]byte
	buf := make([]byte, 300)
	wraps := 0
	for i := range 5000 {
		if rng.IntN(3) != 0 {
			f := make([]byte, 1+rng.IntN(200))
			for j := range f {
				f[j] = byte(i + j)
			}
			before := u64At(r.mem, offTail).Load()
			switch r.push(f, len(f)) {
			case pushed:
				queue = append(queue, f)
				if (before%r.capacity)+recordSize(len(f)) > r.capacity {
					wraps++
				}
			case pushFull:
				used := u64At(r.mem, offTail).Load() - u64At(r.mem, offHead).Load()
				if used+recordSize(len(f)) <= r.capacity-recordSize(200) {
					t.Fatalf("push %d: full with %d of %d bytes used", i, used, r.capacity)
				}
			default:
				t.Fatalf("push %d: corrupt", i)
			}
			continue
		}
		n, bad := r.pop(buf)
		if bad {
			t.Fatalf("pop %d: bad", i)
		}
		if len(queue) == 0 {
			if n != 0 {
				t.Fatalf("pop %d: got %d bytes from an empty ring", i, n)
			}
			continue
		}
		if !bytes.Equal(buf[:n], queue[0]) {
			t.Fatalf("pop %d: got %d bytes, want %d (%x...)", i, n, len(queue[0]), queue[0][:1])
		}
		queue = queue[1:]
	}
	if wraps < 10 {
		t.Errorf("only %d wraparounds exercised", wraps)
	}
}

func TestRingPopRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(r *ring)
	}{
		{"length over mtu", func(r *ring) {
			binary.LittleEndian.PutUint32(r.data(), 5000)
			binary.LittleEndian.PutUint32(r.data()[4:], 5000^lenTag)
		}},
		{"bad tag", func(r *ring) { binary.LittleEndian.PutUint32(r.data()[4:], 1) }},
		{"zero length", func(r *ring) {
			binary.LittleEndian.PutUint32(r.data(), 0)
			binary.LittleEndian.PutUint32(r.data()[4:], lenTag)
		}},
		{"tail beyond capacity", func(r *ring) { u64At(r.mem, offTail).Store(1 << 40) }},
		{"misaligned tail", func(r *ring) { u64At(r.mem, offTail).Store(13) }},
		{"head after tail", func(r *ring) { u64At(r.mem, offHead).Store(1 << 20) }},
		{"record past tail", func(r *ring) { u64At(r.mem, offTail).Store(8) }},
		{"wrap marker at 0", func(r *ring) {
			binary.LittleEndian.PutUint32(r.data(), wrapMark)
			binary.LittleEndian.PutUint32(r.data()[4:], wrapMark^lenTag)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRing(1024, 200)
			if r.push(make([]byte, 100), 100) != pushed {
				t.Fatal("push failed")
			}
			tc.mod(r)
			n, bad := r.pop(make([]byte, 300))
			if !bad || n != 0 {
				t.Fatalf("pop = %d, bad %v; want 0, bad", n, bad)
			}
			r.reset()
			if n, bad := r.pop(make([]byte, 300)); n != 0 || bad {
				t.Fatalf("after reset: pop = %d, %v", n, bad)
			}
		})
	}
}

// FuzzRingPop throws arbitrary ring contents at the consumer: it must
// never panic nor return more than the MTU.
func FuzzRingPop(f *testing.F) {
	f.Add(uint64(0), uint64(16), []byte{60, 0, 0, 0, 0x73, 0x58, 0x4d, 0x5a})
	f.Add(uint64(8), uint64(1024), []byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, head, tail uint64, data []byte) {
		r := newTestRing(512, 100)
		copy(r.data(), data)
		copy(r.data()[head%512&^7:], data)
		u64At(r.mem, offHead).Store(head)
		u64At(r.mem, offTail).Store(tail)
		buf := make([]byte, 200)
		for range 100 {
			n, bad := r.pop(buf)
			if n > 100 {
				t.Fatalf("pop returned %d bytes, MTU 100", n)
			}
			if bad || n == 0 {
				return
			}
		}
	})
}
