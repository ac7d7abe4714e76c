package afpacket

import (
	"math/rand/v2"
	"testing"
)

// rawRunBPF interprets the instructions rawFilterProgram emits, with the
// kernel's semantics (a load past the end of the packet returns 0).
func rawRunBPF(t testing.TB, prog []insn, pkt []byte, pktType uint32) uint32 {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case opLdLen:
			a = uint32(len(pkt))
		case opLdW, opLdH, opLdB:
			if in.Code == opLdW && in.K == adPktType {
				a = pktType
				continue
			}
			size := map[uint16]int{opLdW: 4, opLdH: 2, opLdB: 1}[in.Code]
			if int(in.K)+size > len(pkt) {
				return 0
			}
			a = 0
			for _, b := range pkt[in.K : int(in.K)+size] {
				a = a<<8 | uint32(b)
			}
		case opJeq, opJgt:
			c := a == in.K
			if in.Code == opJgt {
				c = a > in.K
			}
			if c {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case opRetK:
			return in.K
		default:
			t.Fatalf("pc %d: opcode %#x not interpreted", pc, in.Code)
		}
	}
	t.Fatal("program fell off its end")
	return 0
}

// rawBase returns the first n bytes of a RAW frame to dst of max(n, 17)
// bytes.
func rawBase(dst [6]byte, n int) []byte {
	b := make([]byte, max(n, 17))
	copy(b, dst[:])
	copy(b[6:], []byte{0x02, 0x99, 0x98, 0x97, 0x96, 0x95})
	b[12], b[13], b[16] = 0x86, 0xdf, PtypeRaw
	return b[:n]
}

// TestRawAccept pins the reference filter on hand-picked frames.
func TestRawAccept(t *testing.T) {
	mac := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	other := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x56}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"unicast 64", rawBase(mac, 64), true},
		{"broadcast 64", rawBase(bcast, 64), true},
		{"unicast 17", rawBase(mac, 17), true},
		{"unicast 1024", rawBase(mac, RawMaxFrame), true},
		{"unicast 1025", rawBase(mac, RawMaxFrame+1), false},
		{"broadcast 9000", rawBase(bcast, 9000), false},
		{"other MAC", rawBase(other, 64), false},
		{"16 bytes", rawBase(mac, 16), false},
		{"ptype 37", func() []byte { b := rawBase(mac, 64); b[16] = 37; return b }(), false},
		{"ptype 3", func() []byte { b := rawBase(mac, 64); b[16] = 3; return b }(), false},
		{"IPv4", func() []byte { b := rawBase(bcast, 64); b[12], b[13] = 0x08, 0x00; return b }(), false},
		{"multicast", func() []byte { b := rawBase(bcast, 64); b[5] = 0xfe; return b }(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawAccept(mac, tc.frame); got != tc.want {
				t.Errorf("rawAccept = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRawFilterProgramMatchesAccept checks the BPF program against
// rawAccept, for several board MACs (including ones that look like the
// broadcast address in either half).
func TestRawFilterProgramMatchesAccept(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, mac := range [][6]byte{
		{0x02, 0x11, 0x22, 0x33, 0x44, 0x55},
		{0, 0, 0, 0, 0, 0},
		{0x02, 0x00, 0xff, 0xff, 0xff, 0xff},
		{0xff, 0xff, 0x02, 0x03, 0x04, 0x05},
	} {
		prog := rawFilterProgram(mac)
		if last := prog[len(prog)-1]; last.Code != opRetK {
			t.Fatalf("last instruction %+v is not a return", last)
		}
		for pc, in := range prog {
			if in.Code&0x07 == 0x05 && (pc+1+int(in.Jt) >= len(prog) || pc+1+int(in.Jf) >= len(prog)) {
				t.Fatalf("pc %d: jump beyond the program", pc)
			}
		}
		accepted := 0
		check := func(pkt []byte) {
			t.Helper()
			want := rawAccept(mac, pkt)
			got := rawRunBPF(t, prog, pkt, 0) != 0
			if got != want {
				t.Fatalf("MAC %x: BPF accepts=%v, rawAccept=%v for %d bytes %x", mac, got, want, len(pkt), pkt[:min(len(pkt), 32)])
			}
			if rawRunBPF(t, prog, pkt, pktOutgoing) != 0 {
				t.Fatalf("MAC %x: BPF accepts an outgoing frame", mac)
			}
			if want {
				accepted++
			}
		}
		bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		for _, dst := range [][6]byte{mac, bcast} {
			for _, n := range []int{0, 12, 14, 16, 17, 60, 64, RawMaxFrame - 1, RawMaxFrame, RawMaxFrame + 1, 1500, 9000} {
				check(rawBase(dst, n))
				for pt := range 256 {
					if n > 16 {
						b := rawBase(dst, n)
						b[16] = byte(pt)
						check(b)
					}
				}
				// Every single-bit change of the head.
				if n >= 17 {
					for i := range 17 * 8 {
						b := rawBase(dst, n)
						b[i/8] ^= 1 << (i % 8)
						check(b)
					}
				}
			}
		}
		for range 20000 {
			dst := mac
			if r.IntN(2) == 0 {
				dst = bcast
			}
			b := rawBase(dst, 17+r.IntN(1100))
			for range r.IntN(3) {
				i := r.IntN(17)
				b[i] ^= byte(1 << r.IntN(8))
			}
			check(b)
		}
		if accepted == 0 {
			t.Fatalf("MAC %x: no frame accepted", mac)
		}
	}
}
