//go:build !linux

package compat

func (l *Library) singleCopy(cfg Config) func(pid uint32, addr uint64, n uint32, dst [][]byte) error {
	return nil
}

// readProcess is not available: large same-host messages take two copies.
func (l *Library) readProcess(verbose bool, prefix string) func(pid uint32, addr uint64, n uint32, dst [][]byte) error {
	return nil
}

// singleCopyStatus: no single copy on this system.
func singleCopyStatus(getenv func(string) string) (ok bool, why string) {
	return false, "process_vm_readv is Linux-only"
}

// rawSocketsAllowed: no AF_PACKET sockets on this system.
func rawSocketsAllowed() bool { return false }
