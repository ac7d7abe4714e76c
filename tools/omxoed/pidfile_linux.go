//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pidFile is the pid file of the running omxoed, held with flock for the
// life of the process: a second omxoed finds it locked and refuses to
// start. The file is empty until the daemon is ready (its boards open),
// then holds "<pid>\n".
type pidFile struct {
	path string
	f    *os.File
}

// errRunning is wrapped by lockPidFile when another omxoed holds the file.
var errRunning = errors.New("another omxoed is running")

// lockPidFile creates (if needed) and locks path.
func lockPidFile(path string) (*pidFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			who := "pid unknown yet"
			if pid := readPid(path); pid > 0 {
				who = "pid " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("%w (%s, pid file %s is locked)", errRunning, who, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Another process may have removed the file between our open and our
	// lock (its clean shutdown): then lock the new file instead.
	var st1, st2 unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st1) != nil || unix.Stat(path, &st2) != nil || st1.Ino != st2.Ino || st1.Dev != st2.Dev {
		f.Close()
		return lockPidFile(path)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, err
	}
	return &pidFile{path: path, f: f}, nil
}

// ready writes the pid: the daemon is running.
func (p *pidFile) ready() error {
	if _, err := p.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return p.f.Sync()
}

// remove deletes the file (still locked, so nobody reuses it in between)
// and releases the lock.
func (p *pidFile) remove() {
	os.Remove(p.path)
	p.f.Close()
}

// readPid returns the pid recorded in a pid file, 0 if none.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
