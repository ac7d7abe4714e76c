package engine

import "sync/atomic"

// Address is the content of an endpoint address (omx_endpoint_addr_t, 16
// opaque bytes): the remote endpoint (nic id, index, session) and a
// reference to the partner object of the local endpoint that produced it.
//
// Layout of the two 64-bit words (host order):
//
//	word 0: bits 0..47 nic id, bits 48..55 endpoint index
//	word 1: bits 0..31 partner reference, bits 32..63 remote session id
//
// Bytes 12..15 hold the session, as in Open-MX. Decoding needs no lookup,
// so decompose works on any address without a lock.
type Address struct {
	NICID    uint64
	Endpoint uint32
	Session  uint32
	ref      uint32
}

// Words encodes a into the two words of omx_endpoint_addr_t.
func (a Address) Words() [2]uint64 {
	return [2]uint64{
		a.NICID&0xffffffffffff | uint64(a.Endpoint&0xff)<<48,
		uint64(a.ref) | uint64(a.Session)<<32,
	}
}

// AddressFromWords decodes an omx_endpoint_addr_t.
func AddressFromWords(w [2]uint64) Address {
	return Address{
		NICID:    w[0] & 0xffffffffffff,
		Endpoint: uint32(w[0]>>48) & 0xff,
		ref:      uint32(w[1]),
		Session:  uint32(w[1] >> 32),
	}
}

// Partners are referenced from addresses by 32 bits: a 20-bit slot and a
// 12-bit generation.
const (
	partnerSlotBits = 20
	partnerGenMask  = 1<<(32-partnerSlotBits) - 1
)

func partnerRef(h uint64) uint32 {
	return uint32(h>>32)<<partnerSlotBits | uint32(h)
}

func partnerHandle(ref uint32) uint64 {
	return uint64(ref>>partnerSlotBits)<<32 | uint64(ref&(1<<partnerSlotBits-1))
}

// Partner is what an endpoint knows of one remote endpoint it talked to
// (mirrors struct omx__partner, libopen-mx/omx_types.h). Fields are guarded
// by the owning endpoint's lock, except context, which is read and written
// lock-free as in Open-MX (spec/api.md §7.14).
type Partner struct {
	ep      *Endpoint
	handle  uint64
	nicID   uint64
	index   uint32
	session uint32         // last known session of the remote endpoint
	context atomic.Uintptr // the application's void *, never dereferenced
	w       *wireState     // protocol state of a remote partner (nil: this host)
	appRef  bool           // an address of it was handed to the application: never reclaimed
}

type partnerKey struct {
	nicID uint64
	index uint32
}

// address returns the partner's address, for the application (which then
// holds it: the partner is not reclaimed any more).
func (p *Partner) address() Address {
	p.appRef = true
	return Address{NICID: p.nicID, Endpoint: p.index, Session: p.session, ref: partnerRef(p.handle)}
}
