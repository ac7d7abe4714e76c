package engine

import "unsafe"

// bufferAddress returns the address of a send buffer for the same-host
// single-copy path: the application's memory (C memory, which does not
// move), read by the receiving process with process_vm_readv.
func bufferAddress(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}
