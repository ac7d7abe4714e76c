package wire

import "encoding/binary"

// Same-host rendezvous extension (open-mx-go only). An RNDV carried by the
// same-host link between processes of one host may name, in its padding
// (frame bytes 48..59, zero on the wire of every other sender), the process
// and address holding the message, so that the receiver copies it in one
// step (process_vm_readv) instead of pulling it. A receiver that cannot
// read it falls back to the normal pull.
const (
	rndvLocalOffPID  = 48
	rndvLocalOffAddr = 52
	rndvLocalEnd     = 60
)

// PutRndvLocal writes the extension into an encoded RNDV frame (at least
// 60 bytes).
func PutRndvLocal(frame []byte, pid uint32, addr uint64) {
	if len(frame) < rndvLocalEnd {
		return
	}
	binary.BigEndian.PutUint32(frame[rndvLocalOffPID:], pid)
	binary.BigEndian.PutUint64(frame[rndvLocalOffAddr:], addr)
}

// RndvLocal reads the extension of an RNDV frame; ok is false when there is
// none (pid 0).
func RndvLocal(frame []byte) (pid uint32, addr uint64, ok bool) {
	if len(frame) < rndvLocalEnd {
		return 0, 0, false
	}
	pid = binary.BigEndian.Uint32(frame[rndvLocalOffPID:])
	addr = binary.BigEndian.Uint64(frame[rndvLocalOffAddr:])
	return pid, addr, pid != 0
}
