package afpacket

// Raw mode: the link of a board's raw endpoint (mx_raw.h, spec/api.md
// Appendix A), which carries the RAW frames (ptype 1) of the discovery
// daemon instead of the frames of one protocol endpoint. Mirrors the raw
// path of the Open-MX driver (driver/linux/omx_raw.c): a raw endpoint
// receives the RAW frames of at most RawMaxFrame bytes addressed to its
// board or broadcast, and sends whole frames as given.

// Raw-mode limits (spec/wire.md §2.5).
const (
	// RawMaxFrame is the largest RAW frame delivered to a raw endpoint,
	// from the destination MAC without FCS; larger ones are dropped
	// (OMX_RAW_PKT_LEN_MAX of the original).
	RawMaxFrame = 1024
	// PtypeRaw is the packet type of RAW frames (frame byte 16).
	PtypeRaw = 1
)

// opLdLen loads the frame length (BPF_LD | BPF_W | BPF_LEN).
const opLdLen = 0x00 | 0x00 | 0x80

// rawAccept reports whether a raw endpoint on the board of MAC mac receives
// frame: the Open-MX EtherType, ptype RAW, addressed to mac or to the
// broadcast address, at most RawMaxFrame bytes. It is the reference of
// rawFilterProgram.
func rawAccept(mac [6]byte, frame []byte) bool {
	if len(frame) < 17 || len(frame) > RawMaxFrame {
		return false
	}
	if frame[12] != 0x86 || frame[13] != 0xdf || frame[16] != PtypeRaw {
		return false
	}
	dst := [6]byte(frame[0:6])
	return dst == mac || dst == [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
}

// rawFilterProgram returns the classic BPF program implementing rawAccept
// in the kernel; like filterProgram it also refuses copies of frames this
// host sends (PACKET_OUTGOING). A load beyond the end of the frame drops it.
func rawFilterProgram(mac [6]byte) []insn {
	hi := uint32(mac[0])<<8 | uint32(mac[1])
	lo := uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
	const (
		drop   = 16 // index of the "ret 0" instruction
		accept = 17 // index of the "ret all" instruction
		bcast  = 13 // index of the broadcast check on A = bytes 0..1
	)
	// jump returns the relative offset from instruction at to target.
	jump := func(at, target int) uint8 { return uint8(target - at - 1) }
	return []insn{
		0:  {Code: opLdH, K: 12},
		1:  {Code: opJeq, K: 0x86DF, Jf: jump(1, drop)},
		2:  {Code: opLdB, K: 16},
		3:  {Code: opJeq, K: PtypeRaw, Jf: jump(3, drop)},
		4:  {Code: opLdLen},
		5:  {Code: opJgt, K: RawMaxFrame, Jt: jump(5, drop)},
		6:  {Code: opLdW, K: adPktType},
		7:  {Code: opJeq, K: pktOutgoing, Jt: jump(7, drop)},
		8:  {Code: opLdH, K: 0},
		9:  {Code: opJeq, K: hi, Jf: jump(9, bcast)},
		10: {Code: opLdW, K: 2},
		11: {Code: opJeq, K: lo, Jt: jump(11, accept)},
		12: {Code: opLdH, K: 0}, // A = bytes 0..1 again for the broadcast check
		13: {Code: opJeq, K: 0xffff, Jf: jump(13, drop)},
		14: {Code: opLdW, K: 2},
		15: {Code: opJeq, K: 0xffffffff, Jt: jump(15, accept), Jf: jump(15, drop)},
		16: {Code: opRetK, K: 0},
		17: {Code: opRetK, K: acceptAll},
	}
}
