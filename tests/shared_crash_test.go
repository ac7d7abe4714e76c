package tests

// Failure cases of the same-host path (issue 5 §2): a process killed in the
// middle of transfers, the clean-up of the shared segments, garbage written
// into a live inbox, and the permissions of the segments.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// crashProc is a started C program whose stdout is read line by line.
type crashProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	out   *strings.Builder // every stdout line, for failure messages
	err   *strings.Builder
	done  chan struct{} // closed when stdout is drained
}

// crashStart starts prog with env; its stdout lines arrive on p.lines.
func crashStart(t *testing.T, env []string, prog string, args ...string) *crashProc {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &crashProc{cmd: cmd, lines: make(chan string, 64), out: &strings.Builder{}, err: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = p.err
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return p
}

// crashExpect waits for a line starting with prefix and returns it.
func crashExpect(t *testing.T, p *crashProc, prefix string, timeout time.Duration) string {
	t.Helper()
	tm := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s: exited before %q\nstdout:\n%s\nstderr:\n%s", p.cmd.Path, prefix, p.out.String(), p.err.String())
			}
			p.out.WriteString(l + "\n")
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-tm:
			t.Fatalf("%s: no %q after %v\nstdout:\n%s\nstderr:\n%s", p.cmd.Path, prefix, timeout, p.out.String(), p.err.String())
		}
	}
}

// crashRunDir returns the OMX_RUNDIR of a CEnv environment.
func crashRunDir(t *testing.T, env []string) string {
	t.Helper()
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "OMX_RUNDIR="); ok {
			return v
		}
	}
	t.Fatal("no OMX_RUNDIR in the environment")
	return ""
}

// crashShmFiles lists the entries of <rundir>/shm.
func crashShmFiles(t *testing.T, rundir string) []string {
	t.Helper()
	var left []string
	ents, err := os.ReadDir(filepath.Join(rundir, "shm"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		left = append(left, filepath.Join(rundir, "shm", e.Name()))
	}
	return left
}

// crashTree lists every regular file under dir (relative paths).
func crashTree(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			r, _ := filepath.Rel(dir, p)
			files = append(files, r)
		}
		return nil
	})
	return files
}

// crashDevShm returns the /dev/shm entries whose name starts with "omx-"
// and contains ns (the namespace of a run directory: the test's own).
func crashDevShm(ns string) []string {
	ents, _ := os.ReadDir("/dev/shm")
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "omx-") && strings.Contains(e.Name(), ns) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSharedCrash: the victim process is SIGKILLed while large and small
// messages are in flight both ways; the survivor's requests end with the
// statuses of spec/api.md §7.7/§7.19 (a crashed process is "closed", or
// "unreachable" once the retry budget is spent), in bounded time, without
// crashing; then nothing is left of the shared-memory path.
func TestSharedCrash(t *testing.T) {
	bin := testlib.CompileTestC(t, "shm_crash")
	env := testlib.CEnv(t)
	rundir := crashRunDir(t, env)
	victim := crashStart(t, env, bin, "victim", "3", "4")
	survivor := crashStart(t, env, bin, "survivor", "4", "3", "1500")
	crashExpect(t, victim, "READY", 30*time.Second)
	crashExpect(t, survivor, "READY", 30*time.Second)
	devShm := crashDevShm(crashNamespace(rundir))

	// The segments are the owner's only.
	for _, ep := range []string{"3", "4"} {
		p := filepath.Join(rundir, "shm", fmt.Sprintf("omx-%s-lo-%s", crashNamespace(rundir), ep))
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatalf("inbox of endpoint %s: %v (shm dir: %v)", ep, err, crashShmFiles(t, rundir))
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want a regular file with mode 0600", p, fi.Mode())
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != uint32(os.Getuid()) {
			t.Errorf("%s: not owned by uid %d", p, os.Getuid())
		}
	}

	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.cmd.Wait()
	io.WriteString(survivor.stdin, "go\n")
	done := crashExpect(t, survivor, "DONE", 90*time.Second)
	<-survivor.done
	werr := survivor.cmd.Wait()
	out := survivor.out.String()
	if werr != nil {
		t.Fatalf("survivor: %v\nstdout:\n%s\nstderr:\n%s", werr, out, survivor.err.String())
	}
	t.Logf("survivor:\n%s", out)
	// The small non-synchronous send may have completed before the kill
	// (it is done once buffered); every other request needs the dead peer.
	want := map[string][]string{
		"send-large":  {"33", "92"},
		"ssend-small": {"33", "92"},
		"send-small":  {"0", "33", "92"},
		"recv-large":  {"33", "92"},
		"recv-sync":   {"0", "33", "92"}, // the data may be there already
	}
	for name, codes := range want {
		found := false
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == name {
				found = true
				ok := false
				for _, c := range codes {
					ok = ok || f[1] == c
				}
				if !ok {
					t.Errorf("%s ended with %q, want one of codes %v", name, strings.Join(f[1:], " "), codes)
				}
			}
		}
		if !found {
			t.Errorf("no status for %s", name)
		}
	}
	t.Logf("%s", done)
	if left := crashShmFiles(t, rundir); len(left) != 0 {
		t.Errorf("left in %s/shm after both exited: %v", rundir, left)
	}
	if left := crashDevShm(crashNamespace(rundir)); len(left) != 0 || len(devShm) != 0 {
		t.Errorf("/dev/shm holds files of this run: %v (while running: %v)", left, devShm)
	}
	// What may remain of the node state directory: the totals of the
	// counters (intended), and the registry and counters files of the
	// killed process (its flock is gone, so the slot is free; the next
	// counters reader folds its counts into the totals).
	allowed := map[string]bool{"counters/lo.total": true, "counters/lo.3": true, "endpoints/lo.3": true}
	tree := crashTree(t, rundir)
	for _, f := range tree {
		if !allowed[f] {
			t.Errorf("left in the node state directory: %s (all: %v)", f, tree)
		}
	}
	t.Logf("node state directory after the crash: %v", tree)
}

// crashNamespace is compat's namespace of the shm files of a run
// directory (FNV-1a of its path, as in compat/local.go).
func crashNamespace(rundir string) string {
	h := fnv.New32a()
	h.Write([]byte(rundir))
	return fmt.Sprintf("%08x", h.Sum32())
}

// crashScribble writes garbage into the file at path every few
// milliseconds until stop is closed: the header words (indices, lock,
// magic) and, when data is set, spans of the data area. It returns the
// number of writes done.
func crashScribble(path string, data bool, stop <-chan struct{}) <-chan int {
	done := make(chan int, 1)
	go func() {
		rng := rand.New(rand.NewPCG(11, 12))
		n := 0
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				continue
			}
			buf := make([]byte, 8)
			binary.LittleEndian.PutUint64(buf, rng.Uint64())
			var off int64
			switch n % 4 {
			case 0:
				off = 128 // tail
			case 1:
				off = 192 // head
			case 2:
				off = 64 // producer lock: a pid that does not exist
				binary.LittleEndian.PutUint64(buf, 1<<40+uint64(n))
			case 3:
				if data {
					buf = make([]byte, 64)
					for i := range buf {
						buf[i] = byte(rng.Uint32())
					}
					off = 256 + rng.Int64N(1<<20)
				} else {
					off = 0 // magic and version
				}
			}
			f.WriteAt(buf, off)
			f.Close()
			n++
		}
	}()
	return done
}

// TestSharedGarbage: garbage written into a live process's inbox while it
// communicates (the stress program, both directions, every size class) is
// rejected: neither process crashes nor hangs, and the transfer completes
// with verified data (what the ring drops, the protocol retransmits).
// Garbage goes into the header words; OMX_TEST_SCRIBBLE_DATA=1 also
// scribbles over the data area, where a record's payload is not
// checksummed (a same-user writer can alter pending data: see doc.go).
func TestSharedGarbage(t *testing.T) {
	bin := testlib.CompileTestC(t, "stress")
	env := testlib.CEnv(t)
	rundir := crashRunDir(t, env)
	inbox := filepath.Join(rundir, "shm", fmt.Sprintf("omx-%s-lo-1", crashNamespace(rundir)))
	a, aout, aerr := sharedStart(t, env, bin, "-d", "localhost", "-e", "1", "-r", "2", "-n", "300", "-s", "5")
	stop := make(chan struct{})
	writes := crashScribble(inbox, os.Getenv("OMX_TEST_SCRIBBLE_DATA") == "1", stop)
	res := testlib.Run(t, 120*time.Second, env, bin, "-d", "localhost", "-e", "2", "-r", "1", "-n", "300", "-s", "5")
	aw := a.Wait()
	close(stop)
	n := <-writes
	if res.ExitCode != 0 || aw != nil || !strings.Contains(res.Stdout, "errors 0") || !strings.Contains(aout.String(), "errors 0") {
		t.Fatalf("stress under garbage: exit %d / %v\n%s\n%s\n%s\n%s", res.ExitCode, aw, res.Stdout, res.Stderr, aout.String(), aerr.String())
	}
	if n < 10 {
		t.Fatalf("only %d garbage writes into %s: the test did not disturb anything", n, inbox)
	}
	t.Logf("%d garbage writes into the inbox", n)
	// Both exited cleanly: nothing is left of the shared-memory path, and
	// of the node state directory only the counters totals (every endpoint
	// closed: its registry and counters files are gone).
	if left := crashShmFiles(t, rundir); len(left) != 0 {
		t.Errorf("left in %s/shm after a clean exit: %v", rundir, left)
	}
	for _, f := range crashTree(t, rundir) {
		if !strings.HasSuffix(f, ".total") {
			t.Errorf("left in the node state directory after a clean exit: %s", f)
		}
	}
}
