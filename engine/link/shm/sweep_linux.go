//go:build linux

package shm

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Sweep removes from dir the inbox files left by processes that died
// without closing their endpoints (SIGKILL, exit without omx_finalize), and
// the temporary files of Opens that died half-way. Open and Close of every
// link call it on their directory, so a crash leaves nothing once another
// endpoint of the directory opens or closes. It returns how many files it
// removed.
//
// Only files this package made are removed: a name "omx-*" holding a
// valid inbox header whose owner pid is not alive, a name
// "omx-*.tmp-<pid>-<hex>" whose pid is not alive, or a FIFO
// "omx-*.bell-<pid>" (an inbox's bell) whose pid is not alive. Anything else (garbage,
// another program's files) is left alone; the owner's Open replaces a
// foreign file at its own inbox name. A file replaced between the check
// and the unlink (a new owner renamed its inbox into place) is kept: the
// unlink happens only if the name still refers to the inode checked.
func Sweep(dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "omx-") {
			continue
		}
		path := filepath.Join(dir, name)
		if i := strings.LastIndex(name, ".bell-"); i >= 0 && e.Type()&os.ModeNamedPipe != 0 {
			if v, err := strconv.ParseUint(name[i+len(".bell-"):], 10, 32); err == nil && !pidAlive(v) {
				if unix.Unlink(path) == nil {
					n++
				}
			}
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		if i := strings.LastIndex(name, ".tmp-"); i >= 0 {
			pid, _, ok := strings.Cut(name[i+len(".tmp-"):], "-")
			if v, err := strconv.ParseUint(pid, 10, 32); ok && err == nil && !pidAlive(v) {
				if unix.Unlink(path) == nil {
					n++
				}
			}
			continue
		}
		if sweepInbox(path) {
			n++
		}
	}
	return n
}

// sweepInbox removes path if it is an inbox whose owner is dead.
func sweepInbox(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size < hdrSize {
		return false
	}
	var hdr [offOwner + 4]byte
	if n, err := unix.Pread(fd, hdr[:], 0); err != nil || n != len(hdr) {
		return false
	}
	if binary.LittleEndian.Uint32(hdr[offMagic:]) != magic ||
		binary.LittleEndian.Uint32(hdr[offVersion:]) != version ||
		pidAlive(uint64(binary.LittleEndian.Uint32(hdr[offOwner:]))) {
		return false
	}
	var now unix.Stat_t
	if unix.Lstat(path, &now) != nil || now.Dev != st.Dev || now.Ino != st.Ino {
		return false
	}
	return unix.Unlink(path) == nil
}

// Alive reports whether endpoint index of cfg's board and namespace has an
// inbox in cfg.Dir owned by a live process, or one whose header cannot be
// read as valid (read-only: it takes no lock and changes nothing, so it may
// be called while that endpoint opens).
func Alive(cfg Config, index uint8) bool {
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	path := filepath.Join(cfg.Dir, fileName(cfg.Namespace, cfg.Board, index))
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var hdr [offOwner + 4]byte
	if n, err := unix.Pread(fd, hdr[:], 0); err != nil || n != len(hdr) {
		return false
	}
	if binary.LittleEndian.Uint32(hdr[offMagic:]) != magic || binary.LittleEndian.Uint32(hdr[offVersion:]) != version {
		// A damaged header (its owner repairs it) tells nothing: only a
		// missing inbox or a valid one with a dead owner means closed.
		return true
	}
	return pidAlive(uint64(binary.LittleEndian.Uint32(hdr[offOwner:])))
}
