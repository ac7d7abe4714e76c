//go:build linux

package shm

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if pidAlive(uint64(cmd.Process.Pid)) {
		t.Skip("the pid of an exited child was reused at once")
	}
	return cmd.Process.Pid
}

// writeInbox writes a file with a valid inbox header owned by pid.
func writeInbox(t *testing.T, path string, pid int) {
	t.Helper()
	mem := make([]byte, hdrSize+4096)
	initHeader(mem, 4096, testMTU, pid)
	if err := os.WriteFile(path, mem, 0o600); err != nil {
		t.Fatal(err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSweep(t *testing.T) {
	dir := t.TempDir()
	dead := deadPid(t)
	live := mustOpen(t, cfgFor(dir, 1)) // swept at Open: nothing to remove yet
	writeInbox(t, filepath.Join(dir, "omx-t-eth9-2"), dead)
	writeInbox(t, filepath.Join(dir, "omx-x-eth0-7"), dead) // other namespace, same directory
	writeInbox(t, filepath.Join(dir, "omx-t-eth9-3"), os.Getpid())
	os.WriteFile(filepath.Join(dir, fmt.Sprintf("omx-t-eth9-4.tmp-%d-abc", dead)), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, fmt.Sprintf("omx-t-eth9-5.tmp-%d-abc", os.Getpid())), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, "omx-t-eth9-6"), make([]byte, hdrSize+64), 0o600) // garbage: not ours
	os.WriteFile(filepath.Join(dir, "other"), nil, 0o600)
	// An inbox with a bad magic but a dead owner word is not ours either.
	bad := make([]byte, hdrSize)
	binary.LittleEndian.PutUint32(bad[offOwner:], uint32(dead))
	os.WriteFile(filepath.Join(dir, "omx-t-eth9-8"), bad, 0o600)

	// Bells: a dead owner's goes, a live one's stays, a regular file of
	// that name is not a bell.
	if err := unix.Mkfifo(filepath.Join(dir, fmt.Sprintf("omx-t-eth9-2.bell-%d", dead)), 0o600); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, fmt.Sprintf("omx-t-eth9-7.bell-%d", dead)), nil, 0o600)

	if n := Sweep(dir); n != 4 {
		t.Errorf("Sweep removed %d files, want 4", n)
	}
	ownBell := fmt.Sprintf("omx-t-eth9-1.bell-%d", os.Getpid())
	want := []string{"omx-t-eth9-1", ownBell, "omx-t-eth9-3", fmt.Sprintf("omx-t-eth9-7.bell-%d", dead), fmt.Sprintf("omx-t-eth9-5.tmp-%d-abc", os.Getpid()), "omx-t-eth9-6", "omx-t-eth9-8", "other"}
	slices.Sort(want)
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Sweep: %v, want %v", got, want)
	}
	if n := Sweep(dir); n != 0 {
		t.Errorf("second Sweep removed %d files", n)
	}

	// Open and Close sweep too.
	writeInbox(t, filepath.Join(dir, "omx-t-eth9-2"), dead)
	l2 := mustOpen(t, cfgFor(dir, 9))
	if slices.Contains(dirNames(t, dir), "omx-t-eth9-2") {
		t.Error("Open did not sweep a dead owner's inbox")
	}
	writeInbox(t, filepath.Join(dir, "omx-t-eth9-2"), dead)
	l2.Close()
	live.Close()
	want = []string{"omx-t-eth9-3", // owned by this live process
		fmt.Sprintf("omx-t-eth9-7.bell-%d", dead),
		fmt.Sprintf("omx-t-eth9-5.tmp-%d-abc", os.Getpid()), "omx-t-eth9-6", "omx-t-eth9-8", "other"}
	slices.Sort(want)
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Close: %v, want %v", got, want)
	}
}
