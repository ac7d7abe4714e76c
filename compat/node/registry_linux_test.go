//go:build linux

package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// holdEnv makes the test binary a helper process that claims a slot,
// prints "held" and waits for its standard input to close:
// "<run dir>|<board>|<nic id>|<index>|<session>".
const holdEnv = "OMX_NODE_TEST_HOLD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(holdEnv); spec != "" {
		os.Exit(holdSlot(spec))
	}
	os.Exit(m.Run())
}

func holdSlot(spec string) int {
	f := strings.Split(spec, "|")
	if len(f) != 5 {
		fmt.Fprintln(os.Stderr, "bad", holdEnv, spec)
		return 2
	}
	nic, _ := strconv.ParseUint(f[2], 10, 64)
	index, _ := strconv.ParseUint(f[3], 10, 32)
	session, _ := strconv.ParseUint(f[4], 10, 32)
	r, err := OpenRegistry(f[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := r.Acquire(Slot{Board: f[1], NICID: nic, Index: uint32(index)}, uint32(session))
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("held")
	io.Copy(io.Discard, os.Stdin)
	if err := c.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// holder is a helper process holding a slot.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startHolder runs the test binary as a helper that claims s in runDir and
// waits until it holds it. With cred set, the helper runs under that
// identity (binary is then the path of a copy it can execute).
func startHolder(t *testing.T, binary, runDir string, s Slot, session uint32, cred *syscall.Credential) *holder {
	t.Helper()
	cmd := exec.Command(binary, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d|%d|%d", holdEnv, runDir, s.Board, s.NICID, s.Index, session),
		"GORACE=atexit_sleep_ms=0") // a -race helper otherwise lingers 1 s at exit
	cmd.Stderr = os.Stderr
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { h.kill() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "held\n" {
		t.Fatalf("helper did not claim %v: %q, %v", s, line, err)
	}
	return h
}

// kill sends SIGKILL and reaps the helper.
func (h *holder) kill() {
	if h.cmd.ProcessState != nil {
		return
	}
	h.cmd.Process.Kill()
	h.cmd.Wait()
	h.stdin.Close()
}

// stop lets the helper release its slot and exit normally.
func (h *holder) stop(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
}

func openTestRegistry(t *testing.T) (*Registry, string) {
	t.Helper()
	runDir := filepath.Join(t.TempDir(), "run")
	r, err := OpenRegistry(runDir)
	if err != nil {
		t.Fatal(err)
	}
	return r, runDir
}

func mustAcquire(t *testing.T, r *Registry, s Slot, session uint32) *Claim {
	t.Helper()
	c, err := r.Acquire(s, session)
	if err != nil {
		t.Fatalf("Acquire(%v): %v", s, err)
	}
	t.Cleanup(func() { c.Release() })
	return c
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run /bin/true: %v", err)
	}
	return cmd.Process.Pid
}

func TestAcquireSameProcess(t *testing.T) {
	r, _ := openTestRegistry(t)
	s := Slot{Board: "eth0", NICID: 0x001122334455, Index: 3}
	c := mustAcquire(t, r, s, 0x1234)

	path := filepath.Join(r.Dir(), "eth0.3")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("slot file: %v", err)
	}

	_, err := r.Acquire(s, 0x5678)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("second Acquire of the same slot: %v, want ErrBusy", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("busy error %q does not name the owner", err)
	}
	// A second registry of the same run dir conflicts too.
	r2, err := OpenRegistry(filepath.Dir(r.Dir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Acquire(s, 1); !errors.Is(err, ErrBusy) {
		t.Errorf("Acquire through another Registry: %v, want ErrBusy", err)
	}

	// Other indexes, other boards and the raw endpoint are independent.
	mustAcquire(t, r, Slot{Board: "eth0", Index: 4}, 1)
	mustAcquire(t, r, Slot{Board: "eth1", Index: 3}, 1)
	mustAcquire(t, r, Slot{Board: "eth0.100", Index: 3}, 1)
	raw := mustAcquire(t, r, Slot{Board: "eth0", Index: RawIndex}, 1)
	if _, err := os.Stat(filepath.Join(r.Dir(), "eth0.raw")); err != nil {
		t.Errorf("raw slot file: %v", err)
	}
	if _, err := r.Acquire(Slot{Board: "eth0", Index: RawIndex}, 1); !errors.Is(err, ErrBusy) {
		t.Errorf("second raw Acquire: %v, want ErrBusy", err)
	}
	if err := raw.Release(); err != nil {
		t.Fatal(err)
	}

	if err := c.Release(); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("slot file after Release: %v, want removed", err)
	}
	if err := c.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	c2 := mustAcquire(t, r, s, 0x5678)
	if got := c2.Info().Session; got != 0x5678 {
		t.Errorf("session = %#x", got)
	}
	// The old claim's idempotent Release must not free the new claim.
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Acquire(s, 1); !errors.Is(err, ErrBusy) {
		t.Errorf("after a stale Release: %v, want ErrBusy", err)
	}
}

func TestAcquireBadBoard(t *testing.T) {
	r, _ := openTestRegistry(t)
	for _, b := range []string{"", "a/b", ".hidden", "..", "has space", "tab\tx", "nl\n", strings.Repeat("b", 201)} {
		_, err := r.Acquire(Slot{Board: b, Index: 0}, 1)
		if err == nil || errors.Is(err, ErrBusy) {
			t.Errorf("Acquire(board %q) = %v, want a bad-name error", b, err)
		}
	}
	entries, err := os.ReadDir(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("bad names created files: %v", entries)
	}
}

func TestList(t *testing.T) {
	r, _ := openTestRegistry(t)
	before := time.Now()
	mustAcquire(t, r, Slot{Board: "eth1", NICID: 0x0b, Index: 0}, 7)
	mustAcquire(t, r, Slot{Board: "eth0", NICID: 0x0a, Index: RawIndex}, 5)
	mustAcquire(t, r, Slot{Board: "eth0", NICID: 0x0a, Index: 12}, 0xdeadbeef)
	mustAcquire(t, r, Slot{Board: "eth0", NICID: 0x0a, Index: 2}, 3)
	released := mustAcquire(t, r, Slot{Board: "eth0", NICID: 0x0a, Index: 1}, 3)
	if err := released.Release(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	got, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	cmd := filepath.Base(os.Args[0])
	pid, uid := os.Getpid(), os.Geteuid()
	want := []Info{
		{Board: "eth0", NICID: 0x0a, Index: 2, PID: pid, UID: uid, Session: 3, Command: cmd},
		{Board: "eth0", NICID: 0x0a, Index: 12, PID: pid, UID: uid, Session: 0xdeadbeef, Command: cmd},
		{Board: "eth0", NICID: 0x0a, Index: RawIndex, PID: pid, UID: uid, Session: 5, Command: cmd},
		{Board: "eth1", NICID: 0x0b, Index: 0, PID: pid, UID: uid, Session: 7, Command: cmd},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Info{}, "Opened")); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}
	for _, in := range got {
		if in.Opened.Before(before.Truncate(time.Second)) || in.Opened.After(after) {
			t.Errorf("%s.%d opened at %v, not within [%v, %v]", in.Board, in.Index, in.Opened, before, after)
		}
	}
}

func TestListRemovesStaleFiles(t *testing.T) {
	r, _ := openTestRegistry(t)
	live := mustAcquire(t, r, Slot{Board: "eth0", Index: 0}, 1)

	// A file left by a dead process: valid contents, nobody holds the lock.
	stale := Info{Board: "eth0", Index: 1, PID: deadPID(t), Command: "gone", Opened: time.Now()}
	stalePath := filepath.Join(r.Dir(), "eth0.1")
	if err := os.WriteFile(stalePath, marshalInfo(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	// Even one naming a live process is stale when unlocked.
	stale2 := stale
	stale2.PID = os.Getpid()
	stale2Path := filepath.Join(r.Dir(), "eth0.2")
	if err := os.WriteFile(stale2Path, marshalInfo(stale2), 0o644); err != nil {
		t.Fatal(err)
	}
	// Files that are not slot files are left alone.
	junk := filepath.Join(r.Dir(), "README")
	if err := os.WriteFile(junk, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Index != 0 || got[0].Session != live.Info().Session {
		t.Errorf("List = %+v, want only eth0.0", got)
	}
	for _, p := range []string{stalePath, stale2Path} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stale %s: %v, want removed", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(junk); err != nil {
		t.Errorf("non-slot file: %v, want kept", err)
	}
}

func TestAcquireReusesStaleFile(t *testing.T) {
	r, _ := openTestRegistry(t)
	path := filepath.Join(r.Dir(), "eth0.5")
	old := Info{Board: "eth0", Index: 5, PID: deadPID(t), Command: "a-much-longer-command-name-than-ours", Session: 9, Opened: time.Now()}
	if err := os.WriteFile(path, marshalInfo(old), 0o644); err != nil {
		t.Fatal(err)
	}
	c := mustAcquire(t, r, Slot{Board: "eth0", Index: 5}, 77)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := unmarshalInfo(data)
	if err != nil {
		t.Fatalf("slot file after reuse: %v\n%s", err, data)
	}
	if in.PID != os.Getpid() || in.Session != 77 || in.Command != c.Info().Command {
		t.Errorf("slot file after reuse = %+v\n%s", in, data)
	}
}

// TestAcquireWaitsForTransientHolder checks that a stale file locked for a
// moment by somebody else (List removing it, a competing Acquire) does not
// make Acquire report a busy slot, while a live owner does.
func TestAcquireWaitsForTransientHolder(t *testing.T) {
	r, _ := openTestRegistry(t)
	path := filepath.Join(r.Dir(), "eth0.0")
	old := Info{Board: "eth0", PID: deadPID(t), Opened: time.Now()}
	if err := os.WriteFile(path, marshalInfo(old), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	retries := 0
	beforeRetry = func() {
		retries++
		if retries == 3 {
			f.Close() // the transient holder goes away
		}
	}
	defer func() { beforeRetry = func() {} }()
	c := mustAcquire(t, r, Slot{Board: "eth0", Index: 0}, 1)
	if retries != 3 {
		t.Errorf("Acquire retried %d times, want 3", retries)
	}
	if c.Info().PID != os.Getpid() {
		t.Errorf("claim = %+v", c.Info())
	}

	// A holder that never lets go: ErrBusy after bounded retries.
	old.Index = 1
	path1 := filepath.Join(r.Dir(), "eth0.1")
	if err := os.WriteFile(path1, marshalInfo(old), 0o644); err != nil {
		t.Fatal(err)
	}
	f1, err := os.Open(path1)
	if err != nil {
		t.Fatal(err)
	}
	defer f1.Close()
	if err := syscall.Flock(int(f1.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	retries = 0
	beforeRetry = func() { retries++ }
	if _, err := r.Acquire(Slot{Board: "eth0", Index: 1}, 1); !errors.Is(err, ErrBusy) {
		t.Errorf("Acquire with a stuck holder: %v, want ErrBusy", err)
	}
	if retries != maxAttempts-1 {
		t.Errorf("retries = %d, want %d", retries, maxAttempts-1)
	}
}

// TestAcquireAfterFileReplaced checks the race the lock protocol guards
// against: between the open and the flock of a claimant, the owner releases
// (removing the file) and a third party claims the slot with a new file.
// The claimant then locks a removed file and must not think it owns the
// slot.
func TestAcquireAfterFileReplaced(t *testing.T) {
	r, _ := openTestRegistry(t)
	s := Slot{Board: "eth0", Index: 0}
	c1 := mustAcquire(t, r, s, 1)
	var (
		c2    *Claim
		err2  error
		calls int
	)
	afterOpen = func() {
		calls++
		if calls == 1 {
			if err := c1.Release(); err != nil {
				t.Error(err)
			}
			c2, err2 = r.Acquire(s, 2)
		}
	}
	defer func() { afterOpen = func() {} }()
	c3, err := r.Acquire(s, 3)
	if err2 != nil {
		t.Fatalf("third party Acquire: %v", err2)
	}
	defer c2.Release()
	if err == nil {
		c3.Release()
		t.Fatal("two claims of one slot: the claimant locked a removed file")
	}
	if !errors.Is(err, ErrBusy) {
		t.Errorf("claimant: %v, want ErrBusy", err)
	}
	if got, err := r.List(); err != nil || len(got) != 1 || got[0].Session != 2 {
		t.Errorf("List = %+v, %v; want the third party's claim", got, err)
	}
}

func TestAcquireHeldByOtherProcess(t *testing.T) {
	r, runDir := openTestRegistry(t)
	s := Slot{Board: "eth0", NICID: 0x0060dd47c475, Index: 3}
	h := startHolder(t, os.Args[0], runDir, s, 0xabcd, nil)
	childPID := h.cmd.Process.Pid

	_, err := r.Acquire(s, 1)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Acquire of a slot held by pid %d: %v, want ErrBusy", childPID, err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", childPID)) {
		t.Errorf("busy error %q does not name pid %d", err, childPID)
	}

	got, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []Info{{Board: "eth0", NICID: 0x0060dd47c475, Index: 3, PID: childPID, UID: os.Geteuid(),
		Session: 0xabcd, Command: filepath.Base(os.Args[0])}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Info{}, "Opened")); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}

	// SIGKILL: no clean-up runs, the kernel drops the lock.
	h.kill()
	c, err := r.Acquire(s, 2)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed: %v", err)
	}
	defer c.Release()
	got, err = r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PID != os.Getpid() || got[0].Session != 2 {
		t.Errorf("List after takeover = %+v", got)
	}
}

func TestKilledHolderIsStale(t *testing.T) {
	r, runDir := openTestRegistry(t)
	s := Slot{Board: "eth2", Index: 0}
	h := startHolder(t, os.Args[0], runDir, s, 1, nil)
	h.kill()
	path := filepath.Join(r.Dir(), "eth2.0")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a killed holder should leave its file: %v", err)
	}
	got, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("List = %+v, want nothing", got)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale file after List: %v, want removed", err)
	}

	// A holder that exits normally removes its file.
	h = startHolder(t, os.Args[0], runDir, s, 1, nil)
	h.stop(t)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file after a normal release: %v, want removed", err)
	}
}

func TestConcurrentAcquire(t *testing.T) {
	r, _ := openTestRegistry(t)
	s := Slot{Board: "eth0", Index: 0}
	dead := deadPID(t)
	for round := range 20 {
		if round%2 == 1 {
			// Start from a stale file: contenders see a dead owner.
			old := Info{Board: "eth0", PID: dead, Opened: time.Now()}
			if err := os.WriteFile(filepath.Join(r.Dir(), "eth0.0"), marshalInfo(old), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		const n = 16
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			mu     sync.Mutex
			claims []*Claim
			errs   []error
		)
		for g := range n {
			wg.Go(func() {
				<-start
				c, err := r.Acquire(s, uint32(g))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else {
					claims = append(claims, c)
				}
			})
		}
		// A concurrent lister must not break exclusivity either.
		wg.Go(func() {
			<-start
			r.List()
		})
		close(start)
		wg.Wait()
		if len(claims) != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1 (errors: %v)", round, len(claims), errs)
		}
		for _, err := range errs {
			if !errors.Is(err, ErrBusy) {
				t.Fatalf("round %d: loser error %v, want ErrBusy", round, err)
			}
		}
		got, err := r.List()
		if err != nil || len(got) != 1 || got[0].Session != claims[0].Info().Session {
			t.Fatalf("round %d: List = %+v, %v; want the winner", round, got, err)
		}
		if err := claims[0].Release(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAcquireRefusesPlantedFiles(t *testing.T) {
	r, _ := openTestRegistry(t)
	target := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(target, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(r.Dir(), "eth0.0")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(target, filepath.Join(r.Dir(), "eth0.1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(r.Dir(), "eth0.2"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range uint32(3) {
		c, err := r.Acquire(Slot{Board: "eth0", Index: i}, 1)
		if err == nil {
			c.Release()
			t.Errorf("Acquire over planted eth0.%d succeeded", i)
		} else if errors.Is(err, ErrBusy) {
			t.Errorf("Acquire over planted eth0.%d: %v, want an error other than ErrBusy", i, err)
		}
	}
	if data, _ := os.ReadFile(target); string(data) != "precious\n" {
		t.Errorf("target file changed: %q", data)
	}
	if got, err := r.List(); err != nil || len(got) != 0 {
		t.Errorf("List = %+v, %v", got, err)
	}
}

func TestRegistryModes(t *testing.T) {
	fileMode := func(t *testing.T, r *Registry) os.FileMode {
		t.Helper()
		c := mustAcquire(t, r, Slot{Board: "eth0", Index: 0}, 1)
		defer c.Release()
		fi, err := os.Stat(filepath.Join(r.Dir(), "eth0.0"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode()
	}
	dirMode := func(t *testing.T, r *Registry) os.FileMode {
		t.Helper()
		fi, err := os.Stat(r.Dir())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode() & (os.ModePerm | os.ModeSticky)
	}

	t.Run("created run dir", func(t *testing.T) {
		runDir := filepath.Join(t.TempDir(), "a", "run")
		if _, err := OpenRegistry(runDir); err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o700)
		if os.Geteuid() == 0 {
			want = 0o755
		}
		for _, d := range []string{filepath.Dir(runDir), runDir} {
			fi, err := os.Stat(d)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %v, want %v (exactly, whatever the umask)", d, got, want)
			}
		}
	})

	t.Run("owned by root", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to own the run dir")
		}
		runDir := t.TempDir()
		if err := os.Chmod(runDir, 0o755); err != nil {
			t.Fatal(err)
		}
		r, err := OpenRegistry(runDir)
		if err != nil {
			t.Fatal(err)
		}
		if got := dirMode(t, r); got != 0o755 {
			t.Errorf("endpoints dir mode %v, want 0755", got)
		}
		if got := fileMode(t, r); got != 0o644 {
			t.Errorf("slot file mode %v, want 0644", got)
		}
	})

	t.Run("per-user", func(t *testing.T) {
		runDir := t.TempDir()
		if err := os.Chmod(runDir, 0o700); err != nil {
			t.Fatal(err)
		}
		r, err := OpenRegistry(runDir)
		if err != nil {
			t.Fatal(err)
		}
		if got := dirMode(t, r); got != 0o700 {
			t.Errorf("endpoints dir mode %v, want 0700", got)
		}
		if got := fileMode(t, r); got != 0o644 {
			t.Errorf("slot file mode %v, want 0644", got)
		}
	})

	t.Run("existing endpoints dir kept", func(t *testing.T) {
		runDir := t.TempDir()
		if err := os.Mkdir(filepath.Join(runDir, EndpointsDir), 0o750); err != nil {
			t.Fatal(err)
		}
		r, err := OpenRegistry(runDir)
		if err != nil {
			t.Fatal(err)
		}
		if got := dirMode(t, r); got != 0o750&^umask() {
			t.Errorf("endpoints dir mode %v, want %v", got, 0o750&^umask())
		}
	})

	t.Run("run dir is a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenRegistry(path); err == nil {
			t.Error("OpenRegistry on a file succeeded")
		}
	})
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

// TestRegistryUnsafeDirs: a run directory or endpoints directory that
// another user could change is refused with an error naming it, and left
// exactly as it was (no chmod, nothing created in it).
func TestRegistryUnsafeDirs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, base string) (runDir, refused string)
	}{
		{"world-writable run dir", func(t *testing.T, base string) (string, string) {
			run := filepath.Join(base, "run")
			mkdirMode(t, run, 0o777|os.ModeSticky)
			return run, run
		}},
		{"group-writable run dir", func(t *testing.T, base string) (string, string) {
			run := filepath.Join(base, "run")
			mkdirMode(t, run, 0o775)
			return run, run
		}},
		{"world-writable endpoints dir", func(t *testing.T, base string) (string, string) {
			run := filepath.Join(base, "run")
			mkdirMode(t, run, 0o755)
			mkdirMode(t, filepath.Join(run, EndpointsDir), 0o777|os.ModeSticky)
			return run, filepath.Join(run, EndpointsDir)
		}},
		{"endpoints dir is a link", func(t *testing.T, base string) (string, string) {
			run := filepath.Join(base, "run")
			mkdirMode(t, run, 0o755)
			mkdirMode(t, filepath.Join(base, "elsewhere"), 0o755)
			if err := os.Symlink(filepath.Join(base, "elsewhere"), filepath.Join(run, EndpointsDir)); err != nil {
				t.Fatal(err)
			}
			return run, filepath.Join(run, EndpointsDir)
		}},
		{"run dir is a link", func(t *testing.T, base string) (string, string) {
			mkdirMode(t, filepath.Join(base, "elsewhere"), 0o755)
			run := filepath.Join(base, "run")
			if err := os.Symlink(filepath.Join(base, "elsewhere"), run); err != nil {
				t.Fatal(err)
			}
			return run, run
		}},
		{"parent writable by others", func(t *testing.T, base string) (string, string) {
			parent := filepath.Join(base, "open")
			mkdirMode(t, parent, 0o777)
			return filepath.Join(parent, "run"), parent
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			runDir, refused := tc.setup(t, base)
			before := snapshot(t, base)
			_, err := OpenRegistry(runDir)
			var ue *UnsafeDirError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafeDir) || ue.Path != refused {
				t.Fatalf("OpenRegistry: %v, want an UnsafeDirError naming %s", err, refused)
			}
			if !strings.Contains(err.Error(), refused) {
				t.Errorf("error %q does not name %s", err, refused)
			}
			if after := snapshot(t, base); after != before {
				t.Errorf("directories changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// mkdirMode makes dir with exactly mode.
func mkdirMode(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

// snapshot lists every path under base with its mode and owner.
func snapshot(t *testing.T, base string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %o %d\n", p, st.Mode, st.Uid)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestForeignRunDir: as root, a run directory of another user (who could
// replace what it holds) is refused; the per-user directory made by the
// node service is the user's own.
func TestForeignRunDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to own a directory of another user")
	}
	runDir := t.TempDir()
	if err := os.Chown(runDir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRegistry(runDir); !errors.Is(err, ErrUnsafeDir) || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("OpenRegistry of a directory of uid 65534: %v, want refused", err)
	}
	if _, err := os.Stat(filepath.Join(runDir, EndpointsDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("something was created in the refused directory: %v", err)
	}
}

func TestInfoFormat(t *testing.T) {
	in := Info{
		Board:   "eth0.100",
		NICID:   0x0060dd47c475,
		Index:   RawIndex,
		PID:     3150,
		UID:     1000,
		Session: 0x5f3a29c1,
		Command: "omx_perf",
		Opened:  time.Date(2024, 3, 5, 10, 0, 0, 123456789, time.FixedZone("CET", 3600)),
	}
	data := marshalInfo(in)
	wantText := "board=eth0.100\nnic_id=00:60:dd:47:c4:75\nindex=raw\npid=3150\nuid=1000\n" +
		"session=0x5f3a29c1\ncommand=omx_perf\nopened=2024-03-05T10:00:00.123456789+01:00\n"
	if string(data) != wantText {
		t.Errorf("marshalInfo =\n%s\nwant\n%s", data, wantText)
	}
	back, err := unmarshalInfo(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, back); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}

	// Control characters cannot break the format.
	in.Command = "evil\nindex=7\x7f"
	back, err = unmarshalInfo(marshalInfo(in))
	if err != nil {
		t.Fatal(err)
	}
	if back.Index != RawIndex || back.Command != "evil?index=7?" {
		t.Errorf("sanitized command round trip = %+v", back)
	}

	// Unknown keys are ignored; a missing pid or a bad value is an error.
	if got, err := unmarshalInfo([]byte("pid=1\nfuture=x\n")); err != nil || got.PID != 1 {
		t.Errorf("unknown key: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "board=eth0\n", "pid=x\n", "pid=1\nsession=0x100000000\n", "pid=1\nindex=-1\n", "pid=1\nnoequals\n", "pid=1\nopened=yesterday\n"} {
		if _, err := unmarshalInfo([]byte(bad)); err == nil {
			t.Errorf("unmarshalInfo(%q) succeeded", bad)
		}
	}
}

func TestSlotNames(t *testing.T) {
	tests := []struct {
		name  string
		board string
		index uint32
		ok    bool
	}{
		{"eth0.0", "eth0", 0, true},
		{"eth0.31", "eth0", 31, true},
		{"eth0.100.3", "eth0.100", 3, true},
		{"lo.raw", "lo", RawIndex, true},
		{"eth0.4294967294", "eth0", 4294967294, true},
		{"eth0.4294967295", "", 0, false}, // RawIndex spelled as a number
		{"eth0.03", "", 0, false},
		{"eth0.", "", 0, false},
		{"eth0", "", 0, false},
		{".eth0.1", "", 0, false},
		{"eth0.-1", "", 0, false},
		{".peers.tmp-123", "", 0, false},
	}
	for _, tt := range tests {
		board, index, ok := parseSlotName(tt.name)
		if ok != tt.ok || board != tt.board || index != tt.index {
			t.Errorf("parseSlotName(%q) = %q, %d, %v; want %q, %d, %v", tt.name, board, index, ok, tt.board, tt.index, tt.ok)
		}
		if tt.ok {
			if n, err := slotName(Slot{Board: board, Index: index}); err != nil || n != tt.name {
				t.Errorf("slotName(%q, %d) = %q, %v", board, index, n, err)
			}
		}
	}
}
