package compat

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// singleCopy returns the single-copy reader unless OMX_SHARED_SINGLE_COPY=0
// (then large same-host messages always take two copies, for comparison
// and tests).
func (l *Library) singleCopy(cfg Config) func(pid uint32, addr uint64, n uint32, dst [][]byte) error {
	if Getenv("OMX_SHARED_SINGLE_COPY") == "0" {
		return nil
	}
	return l.readProcess(cfg.Verbose, expandPrefix(cfg.VerbosePrefix))
}

// readProcess copies n bytes at addr of process pid into dst with one
// process_vm_readv(2): the same-host single copy of large messages. The
// kernel refuses it without ptrace rights over the sender (other user,
// Yama restrictions); the engine then falls back to copies through the
// shared-memory ring, which verbose mode says once.
func (l *Library) readProcess(verbose bool, prefix string) func(pid uint32, addr uint64, n uint32, dst [][]byte) error {
	var once sync.Once
	return func(pid uint32, addr uint64, n uint32, dst [][]byte) error {
		local := make([]unix.Iovec, 0, len(dst))
		left := n
		for _, d := range dst {
			if left == 0 {
				break
			}
			k := min(uint32(len(d)), left)
			if k == 0 {
				continue
			}
			v := unix.Iovec{Base: &d[0]}
			v.SetLen(int(k))
			local = append(local, v)
			left -= k
		}
		remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: int(n)}}
		got, err := unix.ProcessVMReadv(int(pid), local, remote, 0)
		if err == nil && uint32(got) != n {
			err = fmt.Errorf("short read of %d bytes out of %d", got, n)
		}
		if err != nil {
			once.Do(func() {
				if verbose {
					Stderr(fmt.Sprintf("%sprocess_vm_readv from pid %d refused (%v): large same-host messages take two copies\n", prefix, pid, err))
				}
			})
		}
		return err
	}
}
