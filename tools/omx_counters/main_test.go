package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
)

// toolBin is omx_counters built once for the tests of this package.
var toolBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "omx_counters-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	toolBin = filepath.Join(dir, "omx_counters")
	os.Chmod(dir, 0o755) // runnable by the unprivileged user of TestClearNotPermitted
	if out, err := exec.Command("go", "build", "-o", toolBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fakeNode is a private node state directory with the loopback board.
type fakeNode struct {
	run string
	env []string
}

func newFakeNode(t *testing.T) *fakeNode {
	run := t.TempDir()
	return &fakeNode{run: run, env: []string{"OMX_RUNDIR=" + run, "OMX_IFNAMES=lo", "OMX_HOSTNAME=testhost", "OMX_CONFIG=/nonexistent"}}
}

func (f *fakeNode) getenv(k string) string {
	for _, kv := range f.env {
		if name, v, _ := strings.Cut(kv, "="); name == k {
			return v
		}
	}
	return ""
}

// boardLine is the header line omx_counters prints for board 0 (lo).
func (f *fakeNode) boardLine(t *testing.T) string {
	n, err := nodeinfo.Load(f.getenv)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := n.Board(0)
	if !ok || b.IfName != "lo" {
		t.Fatalf("board 0 = %+v, %v; want lo", b, ok)
	}
	return nodeinfo.BoardLine(b)
}

// endpoint publishes a counter file for endpoint index of lo, as the
// library does, with the given values; it stays open until the test ends.
func (f *fakeNode) endpoint(t *testing.T, index uint32, vals map[int]uint64) *node.CounterFile {
	cf, err := node.CreateCounters(f.run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cf.Unmap)
	if err := cf.Publish("lo", index); err != nil {
		t.Fatal(err)
	}
	for i, v := range vals {
		cf.Store()[i].Add(v)
	}
	return cf
}

func (f *fakeNode) run1(t *testing.T, args ...string) testlib.Result {
	t.Helper()
	return testlib.Run(t, 30*time.Second, f.env, toolBin, args...)
}

// runAs runs the tool as another user (the test runs as root).
func (f *fakeNode) runAs(t *testing.T, uid int, args ...string) testlib.Result {
	t.Helper()
	cmd := exec.Command(toolBin, args...)
	cmd.Env = append(os.Environ(), f.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	res := testlib.Result{}
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", toolBin, err)
		}
		res.ExitCode = ee.ExitCode()
	}
	res.Stdout, res.Stderr = so.String(), se.String()
	return res
}

const sep = "=======================================================\n"
const sharedTitle = "Shared Communication (addr 00:00:00:00:00:00)\n"

func TestFormat(t *testing.T) {
	f := newFakeNode(t)
	f.endpoint(t, 0, map[int]uint64{0: 12000, 13: 17, 16: 12000, 72: 2008})
	a := f.endpoint(t, 3, map[int]uint64{0: 5, 78: 2, 79: 2, 28: 123456789})
	board := f.boardLine(t) + "\n"
	want := sharedTitle + sep +
		"072:      2008 Shared Tiny\n" +
		"078:         2 Shared Connect Request\n" +
		"079:         2 Shared Connect Reply\n" +
		"\n" +
		board + sep +
		"000:     12005 Send Tiny\n" +
		"013:        17 Send Raw\n" +
		"016:     12000 Recv Tiny\n" +
		"028:  123456789 Recv Raw\n" +
		"\n"
	for _, args := range [][]string{nil, {"-a"}, {"-q"}, {"-v", "-q"}, {"-b", "0", "-a"}, {"-s", "-a"}} {
		res := f.run1(t, args...)
		if res.ExitCode != 0 || res.Stdout != want || res.Stderr != "" {
			t.Errorf("omx_counters %v: exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", args, res.ExitCode, res.Stdout, want, res.Stderr)
		}
	}
	// Closing an endpoint keeps its counts in the board totals.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if res := f.run1(t); res.Stdout != want {
		t.Errorf("after close:\n%s\nwant:\n%s", res.Stdout, want)
	}
	wantShared := sharedTitle + sep +
		"072:      2008 Shared Tiny\n" +
		"078:         2 Shared Connect Request\n" +
		"079:         2 Shared Connect Reply\n\n"
	if res := f.run1(t, "-s"); res.Stdout != wantShared || res.ExitCode != 0 {
		t.Errorf("-s: exit %d\n%s\nwant:\n%s", res.ExitCode, res.Stdout, wantShared)
	}
	wantBoard := board + sep +
		"000:     12005 Send Tiny\n" +
		"013:        17 Send Raw\n" +
		"016:     12000 Recv Tiny\n" +
		"028:  123456789 Recv Raw\n\n"
	if res := f.run1(t, "-b", "0"); res.Stdout != wantBoard || res.ExitCode != 0 {
		t.Errorf("-b 0: exit %d\n%s\nwant:\n%s", res.ExitCode, res.Stdout, wantBoard)
	}
	if res := f.run1(t, "-b0", "-s", "-b", "0"); res.Stdout != wantBoard {
		t.Errorf("last of -b/-s wins: got\n%s", res.Stdout)
	}
}

func TestVerbose(t *testing.T) {
	f := newFakeNode(t)
	f.endpoint(t, 1, map[int]uint64{1: 3, 73: 4})
	res := f.run1(t, "-v")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
	}
	blocks := strings.Split(strings.TrimSuffix(res.Stdout, "\n\n"), "\n\n")
	if len(blocks) != 2 {
		t.Fatalf("%d blocks, want 2 (shared, lo):\n%s", len(blocks), res.Stdout)
	}
	line := regexp.MustCompile(`^(\d{3}): ( {0,8}\d+| \d{9,}) (.+)$`)
	for bi, blk := range blocks {
		lines := strings.Split(blk, "\n")
		if len(lines) != 2+node.NumCounters {
			t.Fatalf("block %d has %d lines, want %d", bi, len(lines), 2+node.NumCounters)
		}
		for i, l := range lines[2:] {
			m := line.FindStringSubmatch(l)
			if m == nil || m[1] != fmt.Sprintf("%03d", i) || len(m[2]) != 9 && len(m[2]) < 10 {
				t.Fatalf("block %d line %d: %q", bi, i, l)
			}
			want := "0"
			switch {
			case bi == 0 && i == 73:
				want = "4"
			case bi == 1 && i == 1:
				want = "3"
			}
			if strings.TrimSpace(m[2]) != want {
				t.Errorf("block %d counter %d = %s, want %s", bi, i, m[2], want)
			}
		}
		if got := lines[2+84]; got != "084:         0 DMA Shared Large only Partial" {
			t.Errorf("last line %q", got)
		}
	}
}

func TestClear(t *testing.T) {
	f := newFakeNode(t)
	cf := f.endpoint(t, 0, map[int]uint64{0: 7, 72: 9})
	// -s -c clears only the shared family.
	res := f.run1(t, "-s", "-c")
	if want := sharedTitle + sep + "072:         9 Shared Tiny\n\n"; res.Stdout != want || res.ExitCode != 0 {
		t.Fatalf("-s -c: exit %d\n%s\nwant\n%s\n%s", res.ExitCode, res.Stdout, want, res.Stderr)
	}
	board := f.boardLine(t) + "\n"
	want := sharedTitle + sep + "\n" + board + sep + "000:         7 Send Tiny\n\n"
	if res := f.run1(t); res.Stdout != want {
		t.Fatalf("after -s -c:\n%s\nwant\n%s", res.Stdout, want)
	}
	// -c shows the values, then they are 0; the endpoint keeps counting.
	if res := f.run1(t, "-c"); res.Stdout != want {
		t.Fatalf("-c:\n%s\nwant\n%s", res.Stdout, want)
	}
	empty := sharedTitle + sep + "\n" + board + sep + "\n"
	if res := f.run1(t); res.Stdout != empty {
		t.Fatalf("after -c:\n%s\nwant\n%s", res.Stdout, empty)
	}
	cf.Store()[16].Add(1)
	if res := f.run1(t, "-b", "0"); res.Stdout != board+sep+"016:         1 Recv Tiny\n\n" {
		t.Fatalf("update after clear:\n%s", res.Stdout)
	}
}

func TestMissingBoard(t *testing.T) {
	f := newFakeNode(t)
	for _, args := range [][]string{{"-b", "5"}, {"-b", "31"}, {"-b", "-1"}} {
		res := f.run1(t, args...)
		want := fmt.Sprintf("Failed to read board #%s id, Board Not Found\n", args[1])
		if res.ExitCode != 0 || res.Stdout != "" || res.Stderr != want {
			t.Errorf("%v: exit %d stdout %q stderr %q, want stderr %q", args, res.ExitCode, res.Stdout, res.Stderr, want)
		}
	}
	// atoi: a non-numeric board is board 0.
	if res := f.run1(t, "-b", "lo"); !strings.HasPrefix(res.Stdout, f.boardLine(t)) {
		t.Errorf("-b lo: %q", res.Stdout)
	}
}

func TestUsageAndBadOptions(t *testing.T) {
	f := newFakeNode(t)
	for _, args := range [][]string{{"-h"}, {"--help"}} {
		res := f.run1(t, args...)
		if res.ExitCode != 255 || res.Stdout != "" || !strings.HasPrefix(res.Stderr, "Usage: omx_counters [options]\n") ||
			!strings.Contains(res.Stderr, " -c\t") || !strings.Contains(res.Stderr, "kernel module") {
			t.Errorf("%v: exit %d stdout %q stderr:\n%s", args, res.ExitCode, res.Stdout, res.Stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		diag string
	}{
		{[]string{"-x"}, "omx_counters: invalid option -- 'x'"},
		{[]string{"-b"}, "omx_counters: option requires an argument -- 'b'"},
		{[]string{"--bogus"}, "omx_counters: unrecognized option '--bogus'"},
	} {
		res := f.run1(t, tc.args...)
		want := tc.diag + "\nUnknown option -?\nUsage: omx_counters [options]\n"
		if res.ExitCode != 255 || res.Stdout != "" || !strings.HasPrefix(res.Stderr, want) {
			t.Errorf("%v: exit %d stdout %q stderr:\n%s\nwant prefix:\n%s", tc.args, res.ExitCode, res.Stdout, res.Stderr, want)
		}
	}
}

func TestClearNotPermitted(t *testing.T) {
	f := newFakeNode(t)
	f.endpoint(t, 0, map[int]uint64{0: 7})
	// Another user's run directory: the counters cannot be cleared.
	if err := os.Chmod(filepath.Join(f.run, node.CountersDir, "lo.0"), 0o444); err != nil {
		t.Fatal(err)
	}
	var res testlib.Result
	if os.Geteuid() == 0 {
		// Root may write any file: clear as an unprivileged user instead.
		for _, d := range []string{filepath.Dir(f.run), f.run, filepath.Join(f.run, node.CountersDir)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		res = f.runAs(t, 65534, "-b", "0", "-c")
	} else {
		res = f.run1(t, "-b", "0", "-c")
	}
	if res.Stderr != "Clearing counters: Operation not permitted\n" || res.Stdout != "" || res.ExitCode != 0 {
		t.Errorf("exit %d stdout %q stderr %q", res.ExitCode, res.Stdout, res.Stderr)
	}
}
