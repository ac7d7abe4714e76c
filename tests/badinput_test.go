package tests

// Bad input: C programs (tests/c/bad_*.c, table runner in tests/c/badinput.h)
// call every API function, Open-MX and MX, with NULL pointers, stale or
// foreign handles, closed endpoints, bad masks, too many segments, bad board
// or endpoint numbers, before init, with oversize host names, bad get_info
// keys and lengths. Each case must return its documented code through the
// right error handler, exactly once, and never crash. Each program prints
// "ok <case>" or "FAIL <case>: <why>"; "--list" prints its case names, so a
// crash shows as the cases left without a result.
//
// Every program ends by closing its endpoints and finalizing, and runs with
// OMX_DEBUG_LEAKS=1: the "OMX: leaks: ..." line printed at each finalize must
// count nothing. bad_leaks.c stresses that with requests left in every state,
// and also compares the process's file descriptors before init and after
// finalize.

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// badPrograms are the table-driven programs, one per API family.
var badPrograms = []string{"bad_endpoint", "bad_requests", "bad_info", "bad_misc"}

// badSkipStatus is the exit status of a program that cannot run here
// (BAD_SKIP in badinput.h).
const badSkipStatus = 77

// badLeakKeys are the counters of the OMX_DEBUG_LEAKS line, in order.
var badLeakKeys = []string{"endpoints", "requests", "partners", "goroutines", "files"}

var badLeakLine = regexp.MustCompile(`(?m)^OMX: leaks: (.*)$`)

// badResults is what a program printed on stdout.
type badResults struct {
	ok    map[string]bool
	fail  map[string]string // case (or "setup"/"teardown") -> why
	order []string          // FAIL lines in output order
	skip  string
}

func badParse(stdout string) badResults {
	r := badResults{ok: map[string]bool{}, fail: map[string]string{}}
	for _, line := range strings.Split(stdout, "\n") {
		switch {
		case strings.HasPrefix(line, "ok "):
			r.ok[strings.TrimPrefix(line, "ok ")] = true
		case strings.HasPrefix(line, "FAIL "):
			rest := strings.TrimPrefix(line, "FAIL ")
			name, why, _ := strings.Cut(rest, ": ")
			if _, dup := r.fail[name]; !dup {
				r.fail[name] = why
			}
			r.order = append(r.order, rest)
		case strings.HasPrefix(line, "SKIP: "):
			r.skip = strings.TrimPrefix(line, "SKIP: ")
		}
	}
	return r
}

// badTail is the end of a program's stderr, for failure messages: the
// runner prints "# case <name>" before each case, so a crash shows where.
func badTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// badExit describes an exit status, naming the crash when there was one.
func badExit(code int) string {
	if code < 0 {
		return "killed by a signal (crash)"
	}
	return fmt.Sprintf("exit status %d", code)
}

// badLeaks parses every OMX_DEBUG_LEAKS line of stderr into its counters.
func badLeaks(stderr string) ([]map[string]int, error) {
	var out []map[string]int
	for _, m := range badLeakLine.FindAllStringSubmatch(stderr, -1) {
		counts := map[string]int{}
		for _, field := range strings.Fields(m[1]) {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				return nil, fmt.Errorf("leak line %q: field %q is not key=value", m[0], field)
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("leak line %q: %s: %v", m[0], k, err)
			}
			counts[k] = n
		}
		for _, k := range badLeakKeys {
			if _, ok := counts[k]; !ok {
				return nil, fmt.Errorf("leak line %q has no %s= count", m[0], k)
			}
		}
		out = append(out, counts)
	}
	return out, nil
}

// badCheckLeaks asserts stderr holds want leak lines (any number >= 1 when
// want < 0), each counting nothing.
func badCheckLeaks(t *testing.T, stderr string, want int) {
	t.Helper()
	lines, err := badLeaks(stderr)
	if err != nil {
		t.Error(err)
		return
	}
	switch {
	case want < 0 && len(lines) == 0:
		t.Errorf("no \"OMX: leaks:\" line on stderr although OMX_DEBUG_LEAKS=1 and finalize was called")
	case want >= 0 && len(lines) != want:
		t.Errorf("%d \"OMX: leaks:\" lines on stderr, want one per finalize (%d)", len(lines), want)
	}
	for i, counts := range lines {
		for _, k := range badLeakKeys {
			if counts[k] != 0 {
				t.Errorf("finalize #%d left %s=%d (want 0): %v", i+1, k, counts[k], counts)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, prog := range badPrograms {
		t.Run(prog, func(t *testing.T) {
			t.Parallel()
			bin := testlib.CompileTestC(t, prog)
			list := testlib.MustRun(t, 30*time.Second, nil, bin, "--list")
			var names []string
			seen := map[string]bool{}
			for _, name := range strings.Split(strings.TrimSpace(list.Stdout), "\n") {
				if seen[name] {
					t.Errorf("case name %q appears twice in the table", name)
				}
				seen[name] = true
				names = append(names, name)
			}
			if len(names) < 10 {
				t.Fatalf("%s --list printed %d cases:\n%s", prog, len(names), list.Stdout)
			}

			res := testlib.Run(t, 3*time.Minute, testlib.CEnv(t), bin)
			got := badParse(res.Stdout)
			if res.ExitCode == badSkipStatus && got.skip != "" {
				testlib.Skip(t, prog+": "+got.skip)
			}
			for _, phase := range []string{"setup", "teardown"} {
				if why, ok := got.fail[phase]; ok {
					t.Errorf("%s failed: %s", phase, why)
				}
			}
			missing := 0
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					if why, ok := got.fail[name]; ok {
						t.Error(why)
					} else if !got.ok[name] {
						missing++
						t.Errorf("no result: %s stopped before this case (%s)", prog, badExit(res.ExitCode))
					}
				})
			}
			wantExit := 0
			if len(got.fail) > 0 {
				wantExit = 1
			}
			if res.ExitCode != wantExit || missing > 0 {
				t.Errorf("%s: %s, %d failed cases, %d without result; stderr ends with:\n%s",
					prog, badExit(res.ExitCode), len(got.fail), missing, badTail(res.Stderr, 30))
			}
			// Failed cases still end with teardown's close and finalize.
			if _, failed := got.fail["teardown"]; !failed && res.ExitCode >= 0 && missing == 0 {
				badCheckLeaks(t, res.Stderr, -1)
			}
		})
	}
}

// TestBadInputLeaks runs bad_leaks: requests left in every state, every
// endpoint closed, finalize; nothing may remain.
func TestBadInputLeaks(t *testing.T) {
	bin := testlib.CompileTestC(t, "bad_leaks")
	res := testlib.Run(t, 3*time.Minute, testlib.CEnv(t), bin)
	got := badParse(res.Stdout)
	for _, line := range got.order {
		t.Errorf("FAIL %s", line)
	}
	if res.ExitCode != 0 {
		t.Fatalf("bad_leaks: %s\nstdout:\n%s\nstderr ends with:\n%s", badExit(res.ExitCode), res.Stdout, badTail(res.Stderr, 30))
	}
	for _, want := range []string{"omx.connect_all_pairs", "omx.traffic_all_pairs_all_sizes", "mx.traffic",
		"fds.after_first_finalize", "fds.after_omx_cycle", "fds.after_mx_cycle"} {
		if !got.ok[want] {
			t.Errorf("bad_leaks did not report ok %s", want)
		}
	}
	m := regexp.MustCompile(`(?m)^finalized (\d+)$`).FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("bad_leaks did not print how many times it finalized:\n%s", res.Stdout)
	}
	n, _ := strconv.Atoi(m[1])
	if n != 3 {
		t.Errorf("bad_leaks finalized %d times, want 3", n)
	}
	badCheckLeaks(t, res.Stderr, n)
}

// TestBadInputFatal checks the default error handler: a bad call with no
// handler installed prints "OMX: <message>: <strerror>" and exits with
// status 255 (exit(-1)); before init the line reads "OMX: BeforeInit: ...";
// OMX_FATAL_ERRORS=0 (or its MX alias) makes the default handler return.
func TestBadInputFatal(t *testing.T) {
	bin := testlib.CompileTestC(t, "bad_misc")
	badEndpoint := `(?m)^OMX: .+: Bad Endpoint$`
	for _, tc := range []struct {
		name, mode string
		env        []string
		exit       int
		stderr     string // regexp stderr must match
		stdout     string // regexp stdout must match
	}{
		{name: "omx_default", mode: "fatal-omx", exit: 255, stderr: badEndpoint},
		{name: "mx_default", mode: "fatal-mx", exit: 255, stderr: badEndpoint},
		{name: "omx_explicit", mode: "fatal-explicit-omx", exit: 255, stderr: badEndpoint},
		{name: "mx_explicit", mode: "fatal-explicit-mx", exit: 255, stderr: badEndpoint},
		{name: "before_init", mode: "fatal-before-init", exit: 255, stderr: `(?m)^OMX: BeforeInit: .+: Not initialized$`},
		{name: "OMX_FATAL_ERRORS=0", mode: "fatal-off", env: []string{"OMX_FATAL_ERRORS=0"}, exit: 0, stdout: `(?m)^returned 9$`},
		{name: "MX_ERRORS_ARE_FATAL=0", mode: "fatal-off", env: []string{"MX_ERRORS_ARE_FATAL=0"}, exit: 0, stdout: `(?m)^returned 9$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"OMX_RUNDIR=" + t.TempDir()}, tc.env...)
			if os.Getenv("OMX_IFNAMES") == "" {
				env = append(env, "OMX_IFNAMES=lo")
			}
			res := testlib.Run(t, time.Minute, env, bin, tc.mode)
			if res.ExitCode != tc.exit {
				t.Errorf("%s: %s, want exit status %d\nstdout:\n%s\nstderr:\n%s", tc.mode, badExit(res.ExitCode), tc.exit, res.Stdout, res.Stderr)
			}
			if tc.stderr != "" && !regexp.MustCompile(tc.stderr).MatchString(res.Stderr) {
				t.Errorf("%s: stderr does not match %s:\n%s", tc.mode, tc.stderr, res.Stderr)
			}
			if tc.stdout != "" && !regexp.MustCompile(tc.stdout).MatchString(res.Stdout) {
				t.Errorf("%s: stdout does not match %s:\n%s", tc.mode, tc.stdout, res.Stdout)
			}
		})
	}
}
