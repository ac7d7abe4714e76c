//go:build linux

package node

// Locking protocol of the registry files.
//
// A slot is held by whoever holds flock(LOCK_EX) on the file that is linked
// at the slot's path. Invariant: a slot file is unlinked only by a process
// holding its lock (Release of the owner, or List removing a stale file).
// Hence, after taking the lock, a claimant checks that its file is still the
// one at the path: if so, nobody can unlink it before the claimant lets go,
// and at most one claim per slot exists at any time; if not (the file was
// unlinked while the claimant was waiting to lock it), it starts over.
//
// Stale files (owner died: the kernel dropped the lock with the last file
// descriptor) are reused by the next Acquire or removed by List. Acquire
// never waits for a lock. When the lock is taken by another party, the
// recorded pid tells a live owner (ErrBusy) from a short-lived holder of a
// stale file: a List removing it or a competing Acquire about to reuse it,
// in which case Acquire retries for a few milliseconds.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// maxAttempts bounds the Acquire retries (transient holders of a stale
	// file, or the file replaced under us), retryPause separates them.
	maxAttempts = 100
	retryPause  = 100 * time.Microsecond
	// infoSizeMax is the most of a registry file that readers look at.
	infoSizeMax = 4096
)

// Test hooks: beforeRetry runs before Acquire retries on a transient
// holder, afterOpen between the open and the flock of a slot file.
var (
	beforeRetry = func() {}
	afterOpen   = func() {}
)

// Registry is the endpoint registry of one run directory. Create it with
// OpenRegistry, normally once per process and run directory. A Registry is
// safe for concurrent use and holds no resource but its path: it needs no
// closing.
type Registry struct {
	dir string // <run dir>/endpoints
}

// slotFileMode is the mode of the slot files: written by their creator
// only, read by omx_endpoint_info of every user when the directory allows.
const slotFileMode = 0o644

// OpenRegistry opens the endpoint registry of runDir, creating runDir and
// runDir/endpoints when missing (MakeSubdir: 0755 in root's run directory,
// 0700 in a per-user one). Either must be a safe directory (see
// safedir.go): one writable by another user, not belonging to this user
// or root, or a symbolic link, is refused with an error wrapping
// ErrUnsafeDir that names it. Slot files are 0644: only the user of the
// registry (or root) creates or changes them.
func OpenRegistry(runDir string) (*Registry, error) {
	dir, err := MakeSubdir(runDir, EndpointsDir)
	if err != nil {
		return nil, fmt.Errorf("open endpoint registry: %w", err)
	}
	return &Registry{dir: dir}, nil
}

// Dir returns the directory holding the slot files.
func (r *Registry) Dir() string { return r.dir }

// Claim is a slot held by this process. It stays held until Release or the
// end of the process (including a crash or SIGKILL: the kernel drops the
// lock with the file descriptor). A Claim is safe for concurrent use.
type Claim struct {
	path string
	info Info

	mu sync.Mutex
	fd int // -1 once released
}

// Acquire claims slot s for this process with the given session id and
// records an Info for it (pid, effective uid, command, time). It costs one
// open and one flock when the slot is free or held; it does not block.
//
// Two claims of the same slot conflict even inside one process. A slot held
// by a live claim gives an error wrapping ErrBusy; a slot whose file holds
// a different user's data that this process may not replace gives an error
// wrapping fs.ErrPermission; a bad board name an error of its own.
func (r *Registry) Acquire(s Slot, session uint32) (*Claim, error) {
	return r.AcquireAs(s, session, Holder{PID: os.Getpid(), UID: os.Geteuid(), Command: selfCommand()})
}

// Holder is the process an endpoint is claimed for.
type Holder struct {
	PID, UID int
	Command  string
}

// AcquireAs is Acquire on behalf of another process (the node service
// claims the endpoints it serves to applications in their name; the claim
// is held by the service, which releases it when the application goes).
func (r *Registry) AcquireAs(s Slot, session uint32, h Holder) (*Claim, error) {
	name, err := slotName(s)
	if err != nil {
		return nil, fmt.Errorf("acquire endpoint: %w", err)
	}
	path := filepath.Join(r.dir, name)
	info := Info{
		Board:   s.Board,
		NICID:   s.NICID,
		Index:   s.Index,
		PID:     h.PID,
		UID:     h.UID,
		Session: session,
		Command: sanitize(h.Command),
	}
	for attempt := 1; ; attempt++ {
		fd, busy, err := r.lockSlot(path)
		switch {
		case err != nil:
			return nil, fmt.Errorf("acquire endpoint %s: %w", name, err)
		case busy != nil:
			if busy.transient && attempt < maxAttempts {
				beforeRetry()
				time.Sleep(retryPause)
				continue
			}
			return nil, fmt.Errorf("acquire endpoint %s: %w%s", name, ErrBusy, busy.owner())
		case fd < 0:
			if attempt >= maxAttempts {
				return nil, fmt.Errorf("acquire endpoint %s: slot file keeps being replaced", name)
			}
			continue
		}
		info.Opened = time.Now()
		if err := writeInfo(fd, marshalInfo(info)); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("acquire endpoint %s: %w", name, err)
		}
		return &Claim{path: path, info: info, fd: fd}, nil
	}
}

// busyHolder describes who holds a slot's lock.
type busyHolder struct {
	pid       int  // recorded owner, 0 if unknown
	transient bool // the recorded owner is dead: the holder is cleaning up
}

func (b *busyHolder) owner() string {
	if b.pid > 0 {
		return fmt.Sprintf(" (open by pid %d)", b.pid)
	}
	return ""
}

// lockSlot makes one attempt at locking the file of a slot. Outcomes: fd >=
// 0, the slot is ours; busy != nil, somebody holds it; fd < 0 and no error,
// the file changed under us (try again); err != nil, give up.
//
// The file is first opened without O_CREAT (so that a file of another
// user, such as one root left in this user's directory, is reclaimed
// rather than written), never through a symbolic link, and must be a
// regular file with one link (a planted file could otherwise make us write
// elsewhere).
func (r *Registry) lockSlot(path string) (fd int, busy *busyHolder, err error) {
	const flags = unix.O_RDWR | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NONBLOCK
	fd, err = unix.Open(path, flags, 0)
	switch err {
	case nil:
	case unix.ENOENT:
		fd, err = unix.Open(path, flags|unix.O_CREAT|unix.O_EXCL, slotFileMode)
		if err == unix.EEXIST {
			return -1, nil, nil // raced with another creation
		}
		if err != nil {
			return -1, nil, &fs.PathError{Op: "create", Path: path, Err: err}
		}
		// Open applies the umask.
		if err := unix.Fchmod(fd, slotFileMode); err != nil {
			unix.Close(fd)
			return -1, nil, &fs.PathError{Op: "chmod", Path: path, Err: err}
		}
	case unix.EACCES:
		return r.reclaimForeign(path)
	default:
		return -1, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := checkRegular(fd, path); err != nil {
		unix.Close(fd)
		if err == errUnlinked {
			return -1, nil, nil
		}
		return -1, nil, err
	}
	afterOpen()
	if err := flockNB(fd); err != nil {
		defer unix.Close(fd)
		if err == unix.EWOULDBLOCK {
			return -1, holderOf(fd), nil
		}
		return -1, nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	if !stillLinked(fd, path) {
		unix.Close(fd)
		return -1, nil, nil
	}
	return fd, nil, nil
}

// reclaimForeign handles a slot file this process may not write (another
// user's file in a directory that is not shared by every user): busy if it
// is held; if it is stale, remove it when the directory allows (then the
// caller tries again), else fail with a permission error.
func (r *Registry) reclaimForeign(path string) (int, *busyHolder, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err == unix.ENOENT {
		return -1, nil, nil
	}
	if err != nil {
		return -1, nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := checkRegular(fd, path); err != nil {
		if err == errUnlinked {
			return -1, nil, nil
		}
		return -1, nil, err
	}
	if err := flockNB(fd); err != nil {
		if err == unix.EWOULDBLOCK {
			return -1, holderOf(fd), nil
		}
		return -1, nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	if !stillLinked(fd, path) {
		return -1, nil, nil
	}
	if err := unix.Unlink(path); err != nil {
		return -1, nil, &fs.PathError{Op: "replace stale slot file", Path: path, Err: unix.EACCES}
	}
	return -1, nil, nil
}

func flockNB(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			return err
		}
	}
}

// errUnlinked is returned by checkRegular for a file removed since it was
// opened.
var errUnlinked = errors.New("slot file removed")

// checkRegular accepts a regular file with a single link; a file with no
// link left gives errUnlinked.
func checkRegular(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink == 0 {
		return errUnlinked
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
		return fmt.Errorf("%s: not a regular file with a single link", path)
	}
	return nil
}

// stillLinked reports whether the file open as fd is the one at path.
func stillLinked(fd int, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(fd, &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// holderOf reads the owner recorded in a locked slot file. An empty or
// unreadable file belongs to a claimant still writing it: a live owner.
func holderOf(fd int) *busyHolder {
	in, err := readInfo(fd)
	if err != nil || in.PID <= 0 {
		return &busyHolder{}
	}
	return &busyHolder{pid: in.PID, transient: !processAlive(in.PID)}
}

// processAlive reports whether pid names a process (possibly of another
// user). Every process sharing a run directory must share a pid namespace.
func processAlive(pid int) bool {
	return unix.Kill(pid, 0) != unix.ESRCH
}

func readInfo(fd int) (Info, error) {
	buf := make([]byte, infoSizeMax)
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return Info{}, err
	}
	return unmarshalInfo(buf[:n])
}

// writeInfo replaces the contents of a slot file with one write.
func writeInfo(fd int, data []byte) error {
	if err := unix.Ftruncate(fd, 0); err != nil {
		return fmt.Errorf("truncate slot file: %w", err)
	}
	n, err := unix.Pwrite(fd, data, 0)
	if err == nil && n != len(data) {
		err = unix.EIO
	}
	if err != nil {
		return fmt.Errorf("write slot file: %w", err)
	}
	return nil
}

// Info returns what Acquire recorded for the claim.
func (c *Claim) Info() Info { return c.info }

// Release gives the slot back: the file is removed (if it is still ours;
// when the directory does not allow it, it is emptied instead) and then
// unlocked and closed. Release is idempotent: later calls
// return nil.
func (c *Claim) Release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	fd := c.fd
	c.fd = -1
	if stillLinked(fd, c.path) {
		if unix.Unlink(c.path) != nil {
			// Not allowed to remove it: leave it empty, it is stale
			// as soon as the lock goes.
			unix.Ftruncate(fd, 0)
		}
	}
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("release endpoint %s: %w", filepath.Base(c.path), err)
	}
	return nil
}

// List returns the endpoints currently held in the registry, sorted by
// board name and then index (raw endpoints last). Files whose lock is free
// are stale (their owner died): they are skipped and removed when the
// directory allows. Files held by a claimant that has not finished writing
// them, or whose recorded owner is dead (a stale file being reused or
// removed at that instant), are skipped too. Board and Index come from the
// file name. Only failing to read the directory is an error.
func (r *Registry) List() ([]Info, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	var out []Info
	for _, e := range entries {
		board, index, ok := parseSlotName(e.Name())
		if !ok {
			continue
		}
		in, held := inspect(filepath.Join(r.dir, e.Name()))
		if !held {
			continue
		}
		in.Board, in.Index = board, index
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Board != out[j].Board {
			return out[i].Board < out[j].Board
		}
		return out[i].Index < out[j].Index
	})
	return out, nil
}

// inspect reads one slot file for List, removing it if it is stale.
func inspect(path string) (Info, bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return Info{}, false
	}
	defer unix.Close(fd)
	if checkRegular(fd, path) != nil {
		return Info{}, false
	}
	switch err := flockNB(fd); err {
	case nil:
		// Stale. Remove it while holding its lock (the invariant).
		if stillLinked(fd, path) {
			unix.Unlink(path)
		}
		return Info{}, false
	case unix.EWOULDBLOCK:
	default:
		return Info{}, false
	}
	in, err := readInfo(fd)
	if err != nil || in.PID <= 0 || !processAlive(in.PID) {
		return Info{}, false
	}
	return in, true
}

// selfCommand is the base name of argv[0] of this process, from
// /proc/self/cmdline (os.Args[0] if that cannot be read).
var selfCommand = sync.OnceValue(func() string {
	var arg0 string
	if data, err := os.ReadFile("/proc/self/cmdline"); err == nil {
		first, _, _ := bytes.Cut(data, []byte{0})
		arg0 = string(first)
	}
	if arg0 == "" && len(os.Args) > 0 {
		arg0 = os.Args[0]
	}
	if arg0 == "" {
		return ""
	}
	return filepath.Base(arg0)
})
