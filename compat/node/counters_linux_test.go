//go:build linux

package node

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func counterNames(t *testing.T, runDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(runDir, CountersDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func mustRead(t *testing.T, runDir, board string, reset func(int) bool) CounterValues {
	t.Helper()
	v, err := ReadCounters(runDir, board, reset)
	if err != nil {
		t.Fatalf("ReadCounters(%q): %v", board, err)
	}
	return v
}

func TestCountersLifeCycle(t *testing.T) {
	run := t.TempDir()
	if v := mustRead(t, run, "", nil); v != (CounterValues{}) {
		t.Fatalf("no counters dir: got %v", v)
	}
	f, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.Path())
	if err != nil || fi.Size() != CounterFileSize {
		t.Fatalf("new file: %v %v", fi, err)
	}
	s := f.Store()
	s[0].Add(5)
	s[84].Add(7)
	// Unpublished: not seen.
	if v := mustRead(t, run, "", nil); v != (CounterValues{}) {
		t.Fatalf("unpublished file counted: %v", v)
	}
	if err := f.Publish("eth0", 3); err != nil {
		t.Fatal(err)
	}
	if got, want := counterNames(t, run), []string{"eth0.3"}; !equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	s[16].Add(2)
	var want CounterValues
	want[0], want[16], want[84] = 5, 2, 7
	if v := mustRead(t, run, "eth0", nil); v != want {
		t.Fatalf("eth0 = %v, want %v", v, want)
	}
	if v := mustRead(t, run, "", nil); v != want {
		t.Fatalf("all = %v, want %v", v, want)
	}
	if v := mustRead(t, run, "eth1", nil); v != (CounterValues{}) {
		t.Fatalf("eth1 = %v, want zero", v)
	}
	// A second endpoint of the same board adds up.
	g, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Publish("eth0", 4); err != nil {
		t.Fatal(err)
	}
	g.Store()[0].Add(1)
	want[0]++
	if v := mustRead(t, run, "eth0", nil); v != want {
		t.Fatalf("two endpoints: %v, want %v", v, want)
	}
	// Close moves the values to the totals: nothing lost.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, w := counterNames(t, run), []string{"eth0.4", "eth0.total"}; !equal(got, w) {
		t.Fatalf("after close: files %v, want %v", got, w)
	}
	s[0].Add(100) // late update after close: harmless, not counted
	if v := mustRead(t, run, "eth0", nil); v != want {
		t.Fatalf("after close: %v, want %v", v, want)
	}
	f.Unmap()
	g.Close()
	g.Close() // idempotent
	g.Unmap()
	if v := mustRead(t, run, "eth0", nil); v != want {
		t.Fatalf("after both closed: %v, want %v", v, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCountersReset(t *testing.T) {
	run := t.TempDir()
	f, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Unmap()
	if err := f.Publish("eth0", 0); err != nil {
		t.Fatal(err)
	}
	g, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Publish("eth0", 1); err != nil {
		t.Fatal(err)
	}
	g.Store()[1].Add(3)
	g.Store()[72].Add(4)
	g.Unmap() // totals: [1]=3, [72]=4
	f.Store()[1].Add(10)
	f.Store()[73].Add(20)
	shared := func(i int) bool { return i >= SharedCountersFirst }
	// Reset only the shared family, as omx_counters -s -c does.
	v := mustRead(t, run, "", shared)
	if v[1] != 13 || v[72] != 4 || v[73] != 20 {
		t.Fatalf("read with reset: %v", v)
	}
	v = mustRead(t, run, "", nil)
	if v[1] != 13 || v[72] != 0 || v[73] != 0 {
		t.Fatalf("after shared reset: %v", v)
	}
	// Reset everything of the board.
	mustRead(t, run, "eth0", func(int) bool { return true })
	if v := mustRead(t, run, "eth0", nil); v != (CounterValues{}) {
		t.Fatalf("after reset: %v", v)
	}
	f.Store()[2].Add(1) // the live endpoint keeps counting
	if v := mustRead(t, run, "eth0", nil); v[2] != 1 {
		t.Fatalf("after reset and update: %v", v)
	}
}

func TestCountersResetPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root may write any file: run this test as an unprivileged user.
		countersAsNobody(t, "^TestCountersResetPermission$")
		return
	}
	run := t.TempDir()
	f, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Unmap()
	f.Publish("eth0", 0)
	f.Store()[0].Add(9)
	if err := os.Chmod(f.Path(), 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCounters(run, "eth0", func(int) bool { return true }); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("reset of a read-only file: %v, want ErrPermission", err)
	}
	if v := mustRead(t, run, "eth0", nil); v[0] != 9 {
		t.Fatalf("read-only file: %v", v)
	}
}

func TestCountersConcurrent(t *testing.T) {
	run := t.TempDir()
	const writers, n = 4, 20000
	var wg sync.WaitGroup
	var files []*CounterFile
	for w := 0; w < writers; w++ {
		f, err := CreateCounters(run)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Publish("lo", uint32(w)); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	done := make(chan struct{})
	var reset uint64
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			// Reading while resetting counter 5 must lose no update.
			v, err := ReadCounters(run, "lo", func(i int) bool { return i == 5 })
			if err != nil {
				t.Error(err)
				return
			}
			reset += v[5]
		}
	}()
	for _, f := range files {
		wg.Add(1)
		go func(f *CounterFile) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				f.Store()[5].Add(1)
				f.Store()[6].Add(1)
			}
			f.Close() // concurrently with the reader
		}(f)
	}
	wg.Wait()
	close(done)
	readers.Wait()
	v := mustRead(t, run, "lo", nil)
	if got := v[5] + reset; got != writers*n {
		t.Errorf("counter 5: read %d + reset %d = %d, want %d", v[5], reset, got, writers*n)
	}
	if v[6] != writers*n {
		t.Errorf("counter 6 = %d, want %d", v[6], writers*n)
	}
	for _, f := range files {
		f.Unmap()
	}
	if got, want := counterNames(t, run), []string{"lo.total"}; !equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
}

// The helper process of TestCountersDeadProcess: publishes a counter file,
// counts, says so and waits to be killed.
func TestCountersHelperProcess(t *testing.T) {
	run := os.Getenv("OMX_TEST_COUNTERS_HELPER")
	if run == "" {
		t.Skip("helper process")
	}
	f, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Publish("eth0", 2); err != nil {
		t.Fatal(err)
	}
	f.Store()[0].Add(41)
	f.Store()[72].Add(1)
	os.Stdout.WriteString("ready " + strconv.Itoa(os.Getpid()) + "\n")
	time.Sleep(time.Minute)
}

func TestCountersDeadProcess(t *testing.T) {
	run := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCountersHelperProcess$")
	cmd.Env = append(os.Environ(), "OMX_TEST_COUNTERS_HELPER="+run)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("helper: %v", err)
	}
	if line != "ready "+strconv.Itoa(cmd.Process.Pid)+"\n" {
		t.Fatalf("helper said %q", line)
	}
	// Live in another process: read through the mapping, not folded.
	if v := mustRead(t, run, "eth0", nil); v[0] != 41 || v[72] != 1 {
		t.Fatalf("live file of another process: %v", v)
	}
	if got, want := counterNames(t, run), []string{"eth0.2"}; !equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	cmd.Process.Kill() // SIGKILL: no clean-up
	cmd.Wait()
	// Stale: folded into the totals by the reader, values kept.
	if v := mustRead(t, run, "eth0", nil); v[0] != 41 || v[72] != 1 {
		t.Fatalf("after the process died: %v", v)
	}
	if got, want := counterNames(t, run), []string{"eth0.total"}; !equal(got, want) {
		t.Fatalf("after fold: files %v, want %v", got, want)
	}
	if v := mustRead(t, run, "eth0", nil); v[0] != 41 {
		t.Fatalf("second read: %v", v)
	}
}

func TestCountersPublishOverStale(t *testing.T) {
	run := t.TempDir()
	f, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Publish("eth0", 0); err != nil {
		t.Fatal(err)
	}
	f.Store()[3].Add(8)
	// Die without closing: drop the lock (the mapping holds the open file,
	// hence the lock, too), leave the file.
	unix.Munmap(f.mem)
	unix.Close(f.fd)
	g, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Unmap()
	if err := g.Publish("eth0", 0); err != nil {
		t.Fatal(err)
	}
	g.Store()[3].Add(1)
	if got, want := counterNames(t, run), []string{"eth0.0", "eth0.total"}; !equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	if v := mustRead(t, run, "eth0", nil); v[3] != 9 {
		t.Fatalf("counter 3 = %d, want 9 (8 folded + 1 live)", v[3])
	}
}

func TestCountersBadFiles(t *testing.T) {
	run := t.TempDir()
	dir := filepath.Join(run, CountersDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Short, bad header, raw index, foreign names: all count as zero.
	os.WriteFile(filepath.Join(dir, "eth0.0"), []byte("OMXC"), 0o644)
	os.WriteFile(filepath.Join(dir, "eth0.1"), make([]byte, CounterFileSize), 0o644)
	os.WriteFile(filepath.Join(dir, "eth0.raw"), make([]byte, CounterFileSize), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o644)
	if v := mustRead(t, run, "", nil); v != (CounterValues{}) {
		t.Fatalf("bad files counted: %v", v)
	}
	for _, tt := range []struct {
		name         string
		board        string
		total, valid bool
	}{
		{"eth0.3", "eth0", false, true},
		{"eth0.100.7", "eth0.100", false, true},
		{"eth0.total", "eth0", true, true},
		{"eth0.raw", "", false, false},
		{".new.1.ab", "", false, false},
		{"eth0.03", "", false, false},
		{"eth0", "", false, false},
	} {
		b, total, ok := parseCounterName(tt.name)
		if ok != tt.valid || (ok && (b != tt.board || total != tt.total)) {
			t.Errorf("parseCounterName(%q) = %q, %v, %v", tt.name, b, total, ok)
		}
	}
}

// countersAsNobody runs the named test of this binary as user nobody (the
// caller is root) and fails with its output if it fails.
func countersAsNobody(t *testing.T, run string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "nodetest")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "node.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(tmp, 0o777|os.ModeSticky)
	cmd := exec.Command(bin, "-test.run="+run, "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "GORACE=atexit_sleep_ms=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "PASS") {
		t.Fatalf("as nobody, no PASS:\n%s", out)
	}
}

// TestCountersModes: counter files are 0644 whatever the umask (never
// 0666), in a directory that follows the run directory; a run directory
// others may write is refused and left alone.
func TestCountersModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	run := t.TempDir()
	if err := os.Chmod(run, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Unmap()
	if err := f.Publish("eth0", 0); err != nil {
		t.Fatal(err)
	}
	f.Store()[3].Add(1)
	if err := f.Close(); err != nil { // makes eth0.total
		t.Fatal(err)
	}
	g, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Unmap()
	g.Publish("eth0", 1)
	for _, p := range []string{g.Path(), filepath.Join(run, CountersDir, "eth0.total")} {
		if got := modeOf(t, p); got != 0o644 {
			t.Errorf("%s: mode %v, want 0644", p, got)
		}
	}
	if got := modeOf(t, filepath.Join(run, CountersDir)); got != os.ModeDir|0o700 {
		t.Errorf("counters dir mode %v, want 0700 in a 0700 run dir", got)
	}

	open := t.TempDir()
	mkdirMode(t, filepath.Join(open, "run"), 0o777|os.ModeSticky)
	before := snapshot(t, open)
	if _, err := CreateCounters(filepath.Join(open, "run")); !errors.Is(err, ErrUnsafeDir) {
		t.Errorf("CreateCounters in a world-writable run dir: %v, want refused", err)
	}
	if _, err := ReadCounters(filepath.Join(open, "run"), "", nil); !errors.Is(err, ErrUnsafeDir) {
		t.Errorf("ReadCounters in a world-writable run dir: %v, want refused", err)
	}
	if after := snapshot(t, open); after != before {
		t.Errorf("refused directory changed:\n%s\nwant\n%s", after, before)
	}
}

// TestCountersOfAnotherUserNotMapped: the files of another user (here,
// root's files read by "uid 1000") are read with pread, never mapped, so
// that their owner truncating one cannot crash the reader with SIGBUS;
// clearing writes the cleared counters back.
func TestCountersOfAnotherUserNotMapped(t *testing.T) {
	run := t.TempDir()
	f, err := CreateCounters(run)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Unmap()
	f.Publish("eth0", 0)
	f.Store()[0].Add(7)
	f.Store()[1].Add(3)
	path := f.Path()
	asUID(t, 1000)
	if v := mustRead(t, run, "eth0", nil); v[0] != 7 || v[1] != 3 {
		t.Fatalf("read through pread: %v", v[:2])
	}
	if v := mustRead(t, run, "eth0", func(i int) bool { return i == 0 }); v[0] != 7 || v[1] != 3 {
		t.Fatalf("read and clear counter 0: %v", v[:2])
	}
	if s := f.Store(); s[0].Load() != 0 || s[1].Load() != 3 {
		t.Errorf("after clearing counter 0 through pwrite: %d %d, want 0 3", s[0].Load(), s[1].Load())
	}

	// The owner shrinks and restores its file while the other user reads
	// it: reads see zero or the values, and never fault.
	other, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				other.Truncate(CounterFileSize)
				return
			default:
			}
			other.Truncate(0)
			other.Truncate(CounterFileSize)
		}
	}()
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		if _, err := ReadCounters(run, "eth0", nil); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-done
}
