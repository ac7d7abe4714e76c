package shm

import (
	"sync/atomic"
	"unsafe"
)

// u64At returns the 8-byte aligned word at off of a mapping as an atomic.
// Mappings are page aligned and every offset used is a multiple of 8.
func u64At(mem []byte, off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&mem[off:][:8][0]))
}

// u32At returns the 4-byte aligned word at off of a mapping as an atomic.
func u32At(mem []byte, off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off:][:4][0]))
}
