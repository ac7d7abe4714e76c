// Package wire is the Open-MX wire format: the Ethernet frames that Open-MX
// (and Myricom MX in Ethernet mode) exchange under EtherType 0x86DF.
//
// Layouts come from Open-MX, common/omx_wire.h, as specified field by field in
// spec/wire.md §1–§2; the test vectors of spec/wire.md §9 are the golden tests
// of this package.
//
// # What it is
//
// Every packet type is a plain value struct (Msg for TINY and SMALL, Medium,
// Rndv, Connect, Truc, Pull, PullReply, Notify, NackLib, NackMCP, HostQuery,
// HostReply, Raw, and the omxoed Discovery payload) with:
//
//	func (p *X) Encode(b []byte, h Head, m Mode) (int, error)
//	func DecodeX(frame []byte, m Mode) (Head, X, error)
//
// Encode writes the 16-byte common head, the body and the payload into the
// caller-owned buffer b, zeroes every reserved field and the padding up to
// MinFrame, and returns the frame length. Decode checks the EtherType, the
// packet type, that the frame holds the header of its type, that declared
// lengths fit in the frame, and the limits a receiver must enforce
// (spec/wire.md §2.16, §3.4, §3.5); a frame it accepts always re-encodes to a
// frame that decodes to the same value.
//
// Everything is big-endian on the wire (spec/wire.md §1.2); the host-order
// "--disable-endian" variant of the original is not supported.
//
// A Mode (NativeMode, MXWireMode) carries the wire mode and the constants
// derived from its MTU (spec/wire.md §2.2). Peers must use the same mode: the
// mode is never negotiated on the wire.
//
// Seq is the 16-bit sequence number of the library protocol (14-bit sequence
// part, 2-bit session part) with wraparound-safe arithmetic (spec/wire.md
// §4.1).
//
// # What it is not
//
// No protocol logic lives here: no peer tables, partners, acks,
// retransmission, session or endpoint checks (only the consistency checks a
// frame can be judged on alone). No I/O: frames come from and go to an
// engine/link implementation. The EtherType is the fixed 0x86DF.
//
// # Memory and concurrency
//
// Encode and decode never allocate on success, except DecodeHostReply, which
// builds the Hostname string, and errors, which carry context. Data and Body
// fields of decoded values alias the frame: they are valid as long as the
// caller keeps the frame unchanged. Encode copies payloads into b (Data may
// already alias the payload area of b). Functions are pure and safe for
// concurrent use on distinct buffers; decoders never panic on any input.
package wire
