package afpacket

import (
	"slices"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// insn is one classic BPF instruction, laid out like struct sock_filter.
type insn struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
const (
	opLdW  = 0x00 | 0x00 | 0x20 // BPF_LD | BPF_W | BPF_ABS
	opLdH  = 0x00 | 0x08 | 0x20 // BPF_LD | BPF_H | BPF_ABS
	opLdB  = 0x00 | 0x10 | 0x20 // BPF_LD | BPF_B | BPF_ABS
	opJeq  = 0x05 | 0x10 | 0x00 // BPF_JMP | BPF_JEQ | BPF_K
	opJgt  = 0x05 | 0x20 | 0x00 // BPF_JMP | BPF_JGT | BPF_K
	opJge  = 0x05 | 0x30 | 0x00 // BPF_JMP | BPF_JGE | BPF_K
	opRetK = 0x06 | 0x00        // BPF_RET | BPF_K

	// adPktType is the ancillary offset (SKF_AD_OFF + SKF_AD_PKTTYPE) at
	// which a load yields skb->pkt_type.
	adPktType = 0xfffff000 + 4
	// pktOutgoing is PACKET_OUTGOING: a copy of a frame this host sends.
	pktOutgoing = 4
	// acceptAll is the snap length returned for accepted frames: all of it.
	acceptAll = 0xffffffff
)

// Packet types (spec/wire.md §2.1) the filter routes.
const (
	ptHostQuery = 3
	ptHostReply = 4
	ptTRUC      = 35
	ptPull      = 41
	ptPullReply = 42
	ptNotify    = 43
	ptNackLib   = 44
	ptNackMCP   = 45
)

// filterProgram returns the classic BPF program implementing f.Accept in
// the kernel. It also refuses copies of frames this host sends (pkt_type
// PACKET_OUTGOING): a socket bound to one EtherType does not get them on
// current kernels (only ETH_P_ALL taps do) and Open sets
// PACKET_IGNORE_OUTGOING as well, so this is only defence in depth. A load
// beyond the end of the frame ends the program with 0 (drop), which gives
// the same length checks as Accept.
//
// With self, copies of outgoing frames are accepted like incoming ones
// (the filter still wants them addressed to f.MAC): see Config.Self.
func filterProgram(f link.Filter, self bool) []insn {
	const (
		drop = iota + 1000 // jump targets, resolved below
		accept
		byte17
		byte25
		pullMagic
	)
	type line struct {
		insn
		label  int // this line's label, or 0
		jt, jf int // targets: 0 = next instruction, else a label
	}
	mac := f.MAC
	prog := []line{
		{insn: insn{Code: opLdH, K: 12}},
		{insn: insn{Code: opJeq, K: link.EtherType}, jf: drop},
		{insn: insn{Code: opLdW, K: 2}},
		{insn: insn{Code: opJeq, K: uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])}, jf: drop},
		{insn: insn{Code: opLdH, K: 0}},
		{insn: insn{Code: opJeq, K: uint32(mac[0])<<8 | uint32(mac[1])}, jf: drop},
		{insn: insn{Code: opLdB, K: 16}},
		{insn: insn{Code: opJeq, K: ptHostQuery}, jt: accept},
		{insn: insn{Code: opJeq, K: ptHostReply}, jt: accept},
		{insn: insn{Code: opJeq, K: ptPullReply}, jt: pullMagic},
		{insn: insn{Code: opJeq, K: ptNackLib}, jt: byte25},
		{insn: insn{Code: opJeq, K: ptNotify}, jt: byte17},
		{insn: insn{Code: opJeq, K: ptNackMCP}, jt: byte17},
		{insn: insn{Code: opJgt, K: ptPull}, jt: drop},
		{insn: insn{Code: opJge, K: ptTRUC}, jt: byte17, jf: drop},
		{label: byte17, insn: insn{Code: opLdB, K: 17}},
		{insn: insn{Code: opJeq, K: uint32(f.Endpoint)}, jt: accept, jf: drop},
		{label: byte25, insn: insn{Code: opLdB, K: 25}},
		{insn: insn{Code: opJeq, K: uint32(f.Endpoint)}, jt: accept, jf: drop},
		{label: pullMagic, insn: insn{Code: opLdW, K: 28}},
		{insn: insn{Code: opJeq, K: uint32(f.Endpoint) ^ link.PullMagic}, jt: accept, jf: drop},
		{label: drop, insn: insn{Code: opRetK, K: 0}},
		{label: accept, insn: insn{Code: opRetK, K: acceptAll}},
	}
	if !self {
		// Before the ptype load: refuse copies of outgoing frames.
		i := slices.IndexFunc(prog, func(l line) bool { return l.Code == opLdB && l.K == 16 })
		prog = slices.Insert(prog, i,
			line{insn: insn{Code: opLdW, K: adPktType}},
			line{insn: insn{Code: opJeq, K: pktOutgoing}, jt: drop})
	}
	at := map[int]int{}
	for i, l := range prog {
		if l.label != 0 {
			at[l.label] = i
		}
	}
	out := make([]insn, len(prog))
	for i, l := range prog {
		out[i] = l.insn
		rel := func(target int) uint8 {
			if target == 0 {
				return 0
			}
			d := at[target] - i - 1
			if d < 0 || d > 255 {
				panic("afpacket: BPF jump out of range")
			}
			return uint8(d)
		}
		if l.insn.Code&0x07 == 0x05 { // BPF_JMP
			out[i].Jt, out[i].Jf = rel(l.jt), rel(l.jf)
		}
	}
	return out
}
