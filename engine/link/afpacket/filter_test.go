package afpacket

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// runBPF interprets the subset of classic BPF filterProgram emits, with the
// kernel's semantics: a load past the end of the packet returns 0.
func runBPF(t testing.TB, prog []insn, pkt []byte, pktType uint32) uint32 {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
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
		case opJeq, opJgt, opJge:
			var c bool
			switch in.Code {
			case opJeq:
				c = a == in.K
			case opJgt:
				c = a > in.K
			default:
				c = a >= in.K
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

func TestFilterProgramShape(t *testing.T) {
	prog := filterProgram(link.Filter{MAC: [6]byte{1, 2, 3, 4, 5, 6}, Endpoint: 7}, false)
	if len(prog) > 4096 {
		t.Fatalf("program of %d instructions exceeds BPF_MAXINSNS", len(prog))
	}
	if last := prog[len(prog)-1]; last.Code != opRetK {
		t.Errorf("last instruction %+v is not a return", last)
	}
	for pc, in := range prog {
		if in.Code&0x07 == 0x05 && (pc+1+int(in.Jt) >= len(prog) || pc+1+int(in.Jf) >= len(prog)) {
			t.Errorf("pc %d: jump beyond the program", pc)
		}
	}
}

// TestFilterProgramMatchesAccept checks the BPF program against
// link.Filter.Accept on targeted and random frames.
func TestFilterProgramMatchesAccept(t *testing.T) {
	mac := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	r := rand.New(rand.NewPCG(1, 2))
	for _, ep := range []uint8{0, 1, 7, 255} {
		f := link.Filter{MAC: mac, Endpoint: ep}
		prog, self := filterProgram(f, false), filterProgram(f, true)
		check := func(pkt []byte) {
			t.Helper()
			want := f.Accept(pkt)
			got := runBPF(t, prog, pkt, 0) != 0
			if got != want {
				t.Fatalf("endpoint %d: BPF accepts=%v, Accept=%v for %d bytes %x", ep, got, want, len(pkt), pkt)
			}
			if runBPF(t, prog, pkt, pktOutgoing) != 0 {
				t.Fatalf("endpoint %d: BPF accepts an outgoing frame", ep)
			}
			// The self program accepts the same frames, outgoing or not.
			for _, pt := range []uint32{0, pktOutgoing} {
				if got := runBPF(t, self, pkt, pt) != 0; got != want {
					t.Fatalf("endpoint %d, self, pkt_type %d: BPF accepts=%v, Accept=%v for %x", ep, pt, got, want, pkt)
				}
			}
		}
		magic := uint32(ep) ^ link.PullMagic
		base := func(n int, pt byte) []byte {
			b := make([]byte, n)
			copy(b, mac[:])
			b[12], b[13], b[16] = 0x86, 0xdf, pt
			return b
		}
		// Every ptype with the right and a wrong endpoint byte at 17 and 25
		// and with the right and a wrong pull magic, at every short length.
		for pt := range 256 {
			for _, n := range []int{17, 18, 25, 26, 31, 32, 60} {
				for _, v := range []uint8{ep, ep + 1} {
					b := base(n, byte(pt))
					if n > 17 {
						b[17] = v
					}
					if n > 25 {
						b[25] = v
					}
					check(b)
					if n >= 32 {
						binary.BigEndian.PutUint32(b[28:], magic)
						check(b)
						b[29] ^= 0x10
						check(b)
					}
				}
			}
		}
		// Wrong MAC bytes and EtherType.
		for i := range 14 {
			b := base(60, 37)
			b[17] = ep
			check(b)
			b[i] ^= 0x01
			check(b)
		}
		// Short frames.
		for n := range 17 {
			b := base(60, 37)
			b[17] = ep
			check(b[:n])
		}
		// Random mutations of accepted frames.
		for range 20000 {
			b := base(60, byte(35+r.IntN(11)))
			b[17], b[25] = ep, ep
			binary.BigEndian.PutUint32(b[28:], magic)
			for range r.IntN(3) {
				i := r.IntN(32)
				b[i] ^= byte(1 << r.IntN(8))
			}
			check(b)
		}
	}
}
