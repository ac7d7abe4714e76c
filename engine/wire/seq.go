package wire

// Seq is a 16-bit library sequence number (lib_seqnum, lib_piggyack, TRUC
// lib_seqnum, CONNECT target_recv_seqnum_start): a 14-bit sequence part and,
// above it, a 2-bit session part ("sesnum") naming the connection
// incarnation. Mirrors the OMX__SEQNUM macros of libopen-mx/omx_types.h
// (spec/wire.md §4.1). Arithmetic wraps the sequence part modulo 2^14 and
// keeps the session bits; compare with Sub, never with < on raw values.
type Seq uint16

const (
	seqNumMask     = 0x3FFF
	seqSessionMask = 0xC000
	seqSessionStep = 0x4000
)

// FirstSeq returns the first seqnum of a session: its session bits (the
// argument masked with 0xC000) with sequence part 1.
func FirstSeq(session uint16) Seq { return Seq(session&seqSessionMask | 1) }

// Num returns the sequence part (low 14 bits).
func (s Seq) Num() uint16 { return uint16(s) & seqNumMask }

// Session returns the session bits, in place (s & 0xC000).
func (s Seq) Session() uint16 { return uint16(s) & seqSessionMask }

// SameSession reports whether s and t carry the same session bits.
func (s Seq) SameSession(t Seq) bool { return s.Session() == t.Session() }

// Next returns the following seqnum: session bits kept, the sequence part
// wraps from 0x3FFF to 0 (0 is legal after a wrap).
func (s Seq) Next() Seq { return s.Add(1) }

// Add returns s advanced by n, modulo 2^14, session bits kept.
func (s Seq) Add(n uint16) Seq {
	return Seq(uint16(s)&seqSessionMask | (uint16(s)+n)&seqNumMask)
}

// Sub returns the distance from t to s, (s - t) & 0x3FFF: how many Next
// steps lead from t to s in the 14-bit space. Session bits are ignored.
func (s Seq) Sub(t Seq) uint16 { return (uint16(s) - uint16(t)) & seqNumMask }

// NextSession returns the first seqnum of the next session: session bits
// incremented modulo 4, sequence part 1 (spec/wire.md §4.10, partner cleanup).
func (s Seq) NextSession() Seq {
	return FirstSeq(uint16(s)&seqSessionMask + seqSessionStep)
}
