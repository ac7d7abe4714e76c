package compat

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// singleCopy returns the single-copy reader unless OMX_SHARED_SINGLE_COPY=0
// (then large same-host messages always take two copies, for comparison
// and tests).
func (l *Library) singleCopy(cfg Config) func(pid uint32, addr uint64, n uint32, dst [][]byte) error {
	if Getenv("OMX_SHARED_SINGLE_COPY") == "0" {
		return nil
	}
	allowReaders()
	return l.readProcess(cfg.Verbose, expandPrefix(cfg.VerbosePrefix))
}

// prSetPtracerAny is PR_SET_PTRACER_ANY: any process may trace this one,
// within the other ptrace rules (same user).
const prSetPtracerAny = ^uintptr(0)

// allowReaders lets the other processes of this user read this process's
// buffers with process_vm_readv when Yama restricts ptrace to ancestors
// (ptrace_scope 1, the default of several distributions): MPI ranks are
// siblings, so without it every large same-host message would take two
// copies. It grants no more than ptrace_scope 0 does (the same user only);
// OMX_SHARED_SINGLE_COPY=0 leaves the process alone.
func allowReaders() {
	if scope, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope"); err == nil && strings.TrimSpace(string(scope)) == "1" {
		_ = unix.Prctl(unix.PR_SET_PTRACER, prSetPtracerAny, 0, 0, 0)
	}
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

// singleCopyStatus says whether large same-host messages can take one copy
// here, and why not: OMX_SHARED_SINGLE_COPY=0, a kernel without
// process_vm_readv, or a Yama ptrace policy that forbids it between
// processes (or allows it only between processes that may trace each
// other). It probes the system call on this process.
func singleCopyStatus(getenv func(string) string) (ok bool, why string) {
	if getenv("OMX_SHARED_SINGLE_COPY") == "0" {
		return false, "OMX_SHARED_SINGLE_COPY=0"
	}
	var src, dst [8]byte
	local := []unix.Iovec{{Base: &dst[0]}}
	local[0].SetLen(len(dst))
	remote := []unix.RemoteIovec{{Base: uintptr(unsafe.Pointer(&src[0])), Len: len(src)}}
	if _, err := unix.ProcessVMReadv(unix.Getpid(), local, remote, 0); err != nil {
		return false, fmt.Sprintf("process_vm_readv unavailable: %v", err)
	}
	scope, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	switch s := strings.TrimSpace(string(scope)); {
	case err != nil, s == "0":
		return true, ""
	case s == "1":
		return true, "(Yama ptrace_scope 1: open-mx-go processes allow each other; two copies with other programs)"
	case s == "2":
		return true, "only with CAP_SYS_PTRACE (Yama ptrace_scope 2); two copies otherwise"
	default:
		return false, "Yama ptrace_scope " + s + " forbids process_vm_readv"
	}
}

// rawSocketsAllowed reports whether this process may open AF_PACKET
// sockets (CAP_NET_RAW), which the network path needs.
func rawSocketsAllowed() bool {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
