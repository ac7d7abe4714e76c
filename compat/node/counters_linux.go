//go:build linux

package node

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// CounterFile is the counter file of one endpoint of this process. Create
// it with CreateCounters; the engine updates the values through Store.
type CounterFile struct {
	dir string

	mu     sync.Mutex
	fd     int    // -1 once closed
	tmp    string // temporary path, until published
	path   string // published path ("" until Publish)
	board  string
	mem    []byte // the mapping (kept after Close, see Unmap)
	store  *[NumCounters]atomic.Uint64
	closed bool
}

// counterFileMode is the mode of counter files: only their creator (the
// user of the directory, or root) writes them, every user who may enter the
// directory reads them.
const counterFileMode = 0o644

// openCountersDir returns <runDir>/counters, made when missing if create
// (MakeSubdir: 0755 in root's run directory, 0700 in a per-user one),
// checked otherwise (CheckSubdir). A directory that is not safe (writable
// by another user, not belonging to this user or root, a symbolic link) is
// refused with an error wrapping ErrUnsafeDir.
func openCountersDir(runDir string, create bool) (string, error) {
	if create {
		return MakeSubdir(runDir, CountersDir)
	}
	return CheckSubdir(runDir, CountersDir)
}

// CreateCounters creates a counter file (all zero) for an endpoint about
// to open, under a temporary name, locked and mapped; runDir and its
// counters directory are created when missing.
func CreateCounters(runDir string) (*CounterFile, error) {
	dir, err := openCountersDir(runDir, true)
	if err != nil {
		return nil, fmt.Errorf("create counters: %w", err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, fmt.Sprintf("%s%d.%s", newPrefix, os.Getpid(), hex.EncodeToString(rnd[:])))
	fd, err := unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, counterFileMode)
	if err != nil {
		return nil, fmt.Errorf("create counters: %w", &fs.PathError{Op: "create", Path: tmp, Err: err})
	}
	fail := func(op string, err error) (*CounterFile, error) {
		unix.Unlink(tmp)
		unix.Close(fd)
		return nil, fmt.Errorf("create counters: %w", &fs.PathError{Op: op, Path: tmp, Err: err})
	}
	if err := unix.Fchmod(fd, counterFileMode); err != nil { // open applied the umask
		return fail("chmod", err)
	}
	if err := flockNB(fd); err != nil {
		return fail("flock", err)
	}
	if err := unix.Ftruncate(fd, CounterFileSize); err != nil {
		return fail("truncate", err)
	}
	mem, err := unix.Mmap(fd, 0, CounterFileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap", err)
	}
	writeHeader(mem)
	return &CounterFile{dir: dir, fd: fd, tmp: tmp, mem: mem, store: storeOf(mem)}, nil
}

func writeHeader(mem []byte) {
	copy(mem, counterMagic)
	binary.NativeEndian.PutUint16(mem[4:], counterVersion)
	binary.NativeEndian.PutUint16(mem[6:], NumCounters)
}

func headerOK(mem []byte) bool {
	return len(mem) >= CounterFileSize && string(mem[:4]) == counterMagic &&
		binary.NativeEndian.Uint16(mem[4:]) == counterVersion &&
		binary.NativeEndian.Uint16(mem[6:]) == NumCounters
}

// storeOf views the counters of a mapping (page aligned, so the uint64
// are 8-byte aligned).
func storeOf(mem []byte) *[NumCounters]atomic.Uint64 {
	return (*[NumCounters]atomic.Uint64)(unsafe.Pointer(&mem[counterHeaderSize]))
}

// Store returns the counters, in the mapped file. They stay valid after
// Close, until Unmap.
func (f *CounterFile) Store() *[NumCounters]atomic.Uint64 { return f.store }

// Path returns the current path of the file.
func (f *CounterFile) Path() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path != "" {
		return f.path
	}
	return f.tmp
}

// Publish gives the file its name "<board>.<index>" once the endpoint is
// open (the caller holds the endpoint slot, so no live endpoint has that
// name). The values of a file left there by a dead process are first
// added to the board's totals. On error the file stays unpublished (its
// values are not seen by readers) and must still be closed.
func (f *CounterFile) Publish(board string, index uint32) error {
	name, err := slotName(Slot{Board: board, Index: index})
	if err != nil {
		return fmt.Errorf("publish counters: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.path != "" {
		return errors.New("publish counters: already published or closed")
	}
	path := filepath.Join(f.dir, name)
	for attempt := 0; ; attempt++ {
		if attempt >= maxAttempts {
			return fmt.Errorf("publish counters %s: %w", name, ErrBusy)
		}
		old, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if err == unix.ENOENT {
			if err := unix.Rename(f.tmp, path); err != nil {
				return fmt.Errorf("publish counters: %w", &fs.PathError{Op: "rename", Path: path, Err: err})
			}
			break
		}
		if err != nil {
			return fmt.Errorf("publish counters: %w", &fs.PathError{Op: "open", Path: path, Err: err})
		}
		if err := flockNB(old); err != nil {
			unix.Close(old)
			if err != unix.EWOULDBLOCK {
				return fmt.Errorf("publish counters: %w", &fs.PathError{Op: "flock", Path: path, Err: err})
			}
			// A reader folding the stale file, or the slot is not ours.
			time.Sleep(retryPause)
			continue
		}
		if !stillLinked(old, path) {
			unix.Close(old)
			continue
		}
		foldFd(f.dir, board, old)
		err = unix.Rename(f.tmp, path)
		unix.Close(old)
		if err != nil {
			return fmt.Errorf("publish counters: %w", &fs.PathError{Op: "rename", Path: path, Err: err})
		}
		break
	}
	f.path, f.board, f.tmp = path, board, ""
	return nil
}

// Close ends the file: a published file adds its values to the board's
// totals and is removed, an unpublished one is removed; its descriptor is
// closed (the lock goes with the mapping, on a file no longer linked).
// The mapping stays (Store keeps working, its values no longer
// seen by anybody) until Unmap. Close of a nil or closed file does
// nothing.
func (f *CounterFile) Close() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	var err error
	if f.path != "" {
		err = addToTotal(f.dir, f.board, f.store)
		if uerr := unix.Unlink(f.path); uerr != nil && err == nil {
			err = &fs.PathError{Op: "remove", Path: f.path, Err: uerr}
		}
	} else if f.tmp != "" {
		unix.Unlink(f.tmp)
	}
	unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		return fmt.Errorf("close counters: %w", err)
	}
	return nil
}

// Unmap releases the mapping. Nothing may use Store afterwards. It closes
// the file first if needed.
func (f *CounterFile) Unmap() {
	if f == nil {
		return
	}
	f.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mem != nil {
		unix.Munmap(f.mem)
		f.mem, f.store = nil, nil
	}
}

// CloseCountersWith closes f now and unmaps it once owner (the object
// that holds f.Store(), such as the engine's counters of the endpoint) is
// unreachable, so that a late update after Close never touches an unmapped
// page.
func CloseCountersWith[T any](f *CounterFile, owner *T) error {
	if f == nil {
		return nil
	}
	err := f.Close()
	runtime.AddCleanup(owner, func(f *CounterFile) { f.Unmap() }, f)
	return err
}

// withCounters runs fn on the counters of the open counter file fd; it
// returns false, without calling fn, for a file that is not a regular
// file, is too short or has a bad header (it counts as zero).
//
// A file that cannot crash its reader: it is mapped (and fn works on the
// mapping, so that Swap is atomic with the updates of its owner) only when
// it belongs to this process's user, who alone (with root) could shrink
// it, and after fstat showed it whole. Another user's file (root reading
// a user's) is read with pread into a private copy instead; if writable,
// the counters fn changed are written back with pwrite (an update the
// owner makes in between may be lost: only clearing and folding change
// counters, and they set them to zero).
func withCounters(fd int, writable bool, fn func(s *[NumCounters]atomic.Uint64)) bool {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size < CounterFileSize {
		return false
	}
	if int(st.Uid) == geteuid() {
		prot := unix.PROT_READ
		if writable {
			prot |= unix.PROT_WRITE
		}
		mem, err := unix.Mmap(fd, 0, CounterFileSize, prot, unix.MAP_SHARED)
		if err != nil {
			return false
		}
		defer unix.Munmap(mem)
		if !headerOK(mem) {
			return false
		}
		fn(storeOf(mem))
		return true
	}
	var words, orig [CounterFileSize / 8]uint64
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), CounterFileSize)
	if n, err := unix.Pread(fd, buf, 0); err != nil || n != CounterFileSize || !headerOK(buf) {
		return false
	}
	orig = words
	fn(storeOf(buf))
	if writable {
		for i := counterHeaderSize / 8; i < len(words); i++ {
			if words[i] != orig[i] {
				unix.Pwrite(fd, buf[i*8:i*8+8], int64(i*8))
			}
		}
	}
	return true
}

// foldFd moves the values of the (locked, writable) counter file fd to the
// totals of board.
func foldFd(dir string, board string, fd int) error {
	var err error
	withCounters(fd, true, func(s *[NumCounters]atomic.Uint64) {
		err = addToTotal(dir, board, s)
	})
	return err
}

// addToTotal moves the values of s to the .total file of board, creating
// it when missing (each counter is swapped to 0, then added).
func addToTotal(dir string, board string, s *[NumCounters]atomic.Uint64) error {
	var v CounterValues
	nonzero := false
	for i := range s {
		if v[i] = s[i].Swap(0); v[i] != 0 {
			nonzero = true
		}
	}
	if !nonzero {
		return nil
	}
	err := addValuesToTotal(dir, board, &v)
	if err != nil {
		// Put the values back rather than lose them.
		for i := range s {
			s[i].Add(v[i])
		}
	}
	return err
}

// addValuesToTotal adds v to the .total file of board in dir. A missing
// file is made whole (header, size) under a temporary name and then
// linked in place, so that nobody ever sees it short. Only a file of this
// user is changed (mapped: see withCounters).
func addValuesToTotal(dir string, board string, v *CounterValues) error {
	path := filepath.Join(dir, board+"."+totalSuffix)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err == unix.ENOENT {
		fd, err = createTotal(dir, path)
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != geteuid() {
		return fmt.Errorf("%s: not a regular file of uid %d", path, geteuid())
	}
	ok := withCounters(fd, true, func(t *[NumCounters]atomic.Uint64) {
		for i := range v {
			if v[i] != 0 {
				t[i].Add(v[i])
			}
		}
	})
	if !ok {
		return fmt.Errorf("%s: not a counter file", path)
	}
	return nil
}

// createTotal makes a totals file (all zero) at path, or opens the one
// another process linked there first.
func createTotal(dir, path string) (int, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, fmt.Sprintf("%s%d.%s", newPrefix, os.Getpid(), hex.EncodeToString(rnd[:])))
	fd, err := unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, counterFileMode)
	if err != nil {
		return -1, err
	}
	defer unix.Unlink(tmp)
	var hdr [CounterFileSize]byte
	writeHeader(hdr[:])
	if err := unix.Fchmod(fd, counterFileMode); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if n, err := unix.Pwrite(fd, hdr[:], 0); err != nil || n != len(hdr) {
		unix.Close(fd)
		if err == nil {
			err = unix.EIO
		}
		return -1, err
	}
	if err := unix.Link(tmp, path); err != nil {
		unix.Close(fd)
		if err == unix.EEXIST {
			return unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		}
		return -1, err
	}
	return fd, nil
}

// parseCounterName splits "<board>.<index>" or "<board>.total"; total
// tells which.
func parseCounterName(name string) (board string, total, ok bool) {
	if strings.HasPrefix(name, ".") {
		return "", false, false
	}
	if b, found := strings.CutSuffix(name, "."+totalSuffix); found {
		return b, true, checkBoardName(b) == nil
	}
	b, index, ok := parseSlotName(name)
	if !ok || index == RawIndex {
		return "", false, false
	}
	return b, false, true
}

// ReadCounters returns the counters of board (its interface name; "" for
// every board: the sum over the host) as omx_counters shows them: the sum
// of the board's endpoint files and of its totals. When reset is not nil,
// each counter i with reset(i) is read and set to 0 atomically in every
// file summed (omx_counters -c); this needs write access to them, and
// without it nothing is reset and the error wraps fs.ErrPermission. A
// missing counters directory reads as all zero; one that is not safe is
// refused (ErrUnsafeDir). Files of dead processes are folded into the
// totals on the way when this process may. Reading never maps a file of
// another user (see withCounters): a file truncated under the reader
// cannot crash it.
func ReadCounters(runDir, board string, reset func(i int) bool) (CounterValues, error) {
	var sum CounterValues
	dir, err := openCountersDir(runDir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return sum, nil
	}
	if err != nil {
		return sum, fmt.Errorf("read counters: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return sum, fmt.Errorf("read counters: %w", err)
	}
	type file struct {
		path, board string
		total       bool
		fd          int
		writable    bool
	}
	var files []file
	defer func() {
		for _, f := range files {
			unix.Close(f.fd)
		}
	}()
	for _, e := range ents {
		b, total, ok := parseCounterName(e.Name())
		if !ok || (board != "" && b != board) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		writable := true
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if err == unix.EACCES || err == unix.EPERM || err == unix.EROFS {
			if reset != nil {
				return CounterValues{}, fmt.Errorf("read counters: %w", &fs.PathError{Op: "open", Path: path, Err: err})
			}
			writable = false
			fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		}
		if err != nil {
			continue // removed meanwhile, or not a file
		}
		files = append(files, file{path: path, board: b, total: total, fd: fd, writable: writable})
	}
	// Endpoint files first: folding a stale one moves its values to a
	// totals file read afterwards.
	sort.SliceStable(files, func(i, j int) bool { return !files[i].total && files[j].total })
	var extra []string // totals files created by folding
	seen := make(map[string]bool)
	for _, f := range files {
		if f.total {
			seen[f.path] = true
		}
	}
	read := func(fd int, writable bool) {
		withCounters(fd, writable, func(s *[NumCounters]atomic.Uint64) {
			for i := range s {
				if reset != nil && reset(i) {
					sum[i] += s[i].Swap(0)
				} else {
					sum[i] += s[i].Load()
				}
			}
		})
	}
	for _, f := range files {
		if f.total {
			read(f.fd, f.writable)
			continue
		}
		if checkRegular(f.fd, f.path) != nil {
			continue // removed since listed: its values moved to the totals
		}
		if flockNB(f.fd) == nil {
			// Stale: its process died without closing.
			if !stillLinked(f.fd, f.path) {
				continue
			}
			if f.writable && foldFd(dir, f.board, f.fd) == nil && unix.Unlink(f.path) == nil {
				tp := filepath.Join(dir, f.board+"."+totalSuffix)
				if !seen[tp] {
					seen[tp] = true
					extra = append(extra, tp)
				}
				unix.Flock(f.fd, unix.LOCK_UN)
				continue
			}
			read(f.fd, f.writable)
			unix.Flock(f.fd, unix.LOCK_UN)
			continue
		}
		read(f.fd, f.writable)
	}
	for _, tp := range extra {
		fd, err := unix.Open(tp, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
		if err != nil {
			continue
		}
		read(fd, true)
		unix.Close(fd)
	}
	return sum, nil
}
