package tests

// The one-process C test programs of tests/c (pingpong, unexp, ...), built
// against include/ and the library, run in several modes each.
//
// Every program exits 0 after printing "<name>...: PASS" on stdout, or 1
// with a "FAIL: file:line: ..." line on stderr. Each run gets a private
// node state directory (OMX_RUNDIR), the loopback interface as its only
// board unless OMX_IFNAMES is already set, and OMX_DEBUG_LEAKS=1: the
// "OMX: leaks: ..." line printed at each finalize must count nothing, since
// every program closes its endpoints before finalizing.

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// ctestTimeout bounds one run of one program.
const ctestTimeout = 90 * time.Second

// ctestMode is one run of a program.
type ctestMode struct {
	name string
	args []string
	env  []string
}

var (
	ctestPassLine = regexp.MustCompile(`(?m)^.*: PASS$`)
	ctestLeakLine = regexp.MustCompile(`(?m)^OMX: leaks: (.*)$`)
)

// ctestCheckLeaks asserts every leak line of stderr counts zero everywhere,
// and that there is at least one (the program finalized).
func ctestCheckLeaks(t *testing.T, stderr string) {
	t.Helper()
	lines := ctestLeakLine.FindAllStringSubmatch(stderr, -1)
	if len(lines) == 0 {
		t.Errorf("no \"OMX: leaks:\" line on stderr although OMX_DEBUG_LEAKS=1 and the program finalized")
	}
	for i, m := range lines {
		for _, field := range strings.Fields(m[1]) {
			k, v, ok := strings.Cut(field, "=")
			n, err := strconv.Atoi(v)
			if !ok || err != nil {
				t.Errorf("leak line %q: bad field %q", m[0], field)
				continue
			}
			if n != 0 {
				t.Errorf("finalize #%d left %s=%d (want 0): %s", i+1, k, n, m[0])
			}
		}
	}
}

// ctestRun runs prog in each mode as a subtest and checks the outcome.
func ctestRun(t *testing.T, prog string, modes []ctestMode) {
	t.Parallel()
	bin := testlib.CompileTestC(t, prog)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			env := append(testlib.CEnv(t), m.env...)
			start := time.Now()
			res := testlib.MustRun(t, ctestTimeout, env, bin, m.args...)
			t.Logf("%s %s (%v, env %v):\n%s", prog, strings.Join(m.args, " "), time.Since(start).Round(time.Millisecond),
				m.env, res.Stdout)
			if strings.Contains(res.Stderr, "FAIL") {
				t.Errorf("exit 0 but stderr reports a failure:\n%s", res.Stderr)
			}
			if !ctestPassLine.MatchString(res.Stdout) {
				t.Errorf("exit 0 without a PASS line; stdout:\n%s", res.Stdout)
			}
			ctestCheckLeaks(t, res.Stderr)
		})
	}
}

// ctestAPIs doubles modes: MX API (no flag) and Open-MX API (apiFlag).
func ctestAPIs(apiFlag string, modes []ctestMode) []ctestMode {
	var out []ctestMode
	for _, m := range modes {
		out = append(out, ctestMode{name: "mx/" + m.name, args: m.args, env: m.env})
		out = append(out, ctestMode{name: "omx/" + m.name, args: append([]string{apiFlag}, m.args...), env: m.env})
	}
	return out
}

// TestCPingpong: every size class 0 B..16 MiB, self and cross-endpoint,
// through the self, same-host and network thresholds, both APIs.
func TestCPingpong(t *testing.T) {
	const small = "1100000" // -m: sizes up to 1 MiB + 3 for the variants
	modes := ctestAPIs("-O", []ctestMode{
		{name: "self", args: []string{"-q"}},
		{name: "self_disable_self", args: []string{"-q"}, env: []string{"OMX_DISABLE_SELF=1"}},
		{name: "cross", args: []string{"-q", "-x"}},
		{name: "cross_disable_shared", args: []string{"-q", "-x"}, env: []string{"OMX_DISABLE_SHARED=1"}},
		{name: "self_sync", args: []string{"-q", "-S", "-m", small}},
		{name: "cross_sync_vect", args: []string{"-q", "-x", "-S", "-v", "-m", small}},
		{name: "self_vect_disable_self", args: []string{"-q", "-v", "-m", small}, env: []string{"OMX_DISABLE_SELF=1"}},
		// As root: the network path (the loopback interface) even to itself.
		{name: "self_disable_both", args: []string{"-q", "-m", small}, env: []string{"OMX_DISABLE_SELF=1", "OMX_DISABLE_SHARED=1"}},
	})
	modes = append(modes,
		// the MX aliases of the path knobs
		ctestMode{name: "mx/self_MX_DISABLE_SELF", args: []string{"-q", "-m", small}, env: []string{"MX_DISABLE_SELF=1"}},
		ctestMode{name: "mx/cross_MX_DISABLE_SHMEM", args: []string{"-q", "-x", "-m", small}, env: []string{"MX_DISABLE_SHMEM=1"}},
	)
	ctestRun(t, "pingpong", modes)
}

// TestCUnexp: unexpected queue, probe/iprobe masks, consumption by irecv.
func TestCUnexp(t *testing.T) {
	ctestRun(t, "unexp", []ctestMode{
		{name: "self"},
		{name: "ctxids", env: []string{"OMX_CTXIDS=10,10"}},
		{name: "disable_self", env: []string{"OMX_DISABLE_SELF=1"}},
		{name: "network_ctxids", env: []string{"OMX_DISABLE_SELF=1", "OMX_DISABLE_SHARED=1", "OMX_CTXIDS=10,10"}},
	})
}

// TestCUnexpHandler: the unexpected handler with network thresholds and on
// the self path.
func TestCUnexpHandler(t *testing.T) {
	ctestRun(t, "unexp_handler", []ctestMode{
		{name: "network", env: []string{"OMX_DISABLE_SELF=1", "OMX_DISABLE_SHARED=1"}},
		{name: "self", args: []string{"-S"}},
	})
}

// TestCTruncate: truncated receives on both sides; the sender sees the
// truncation only above the rendezvous threshold of its path (32768 to the
// network, 4096 between endpoints of a host unless OMX_DISABLE_SHARED=1).
func TestCTruncate(t *testing.T) {
	ctestRun(t, "truncate", []ctestMode{
		{name: "network", env: []string{"OMX_DISABLE_SELF=1", "OMX_DISABLE_SHARED=1"}},
		{name: "self", args: []string{"-S"}},
		{name: "cross", args: []string{"-x", "-t", "4096"}},
		{name: "cross_disable_shared", args: []string{"-x", "-t", "32768"}, env: []string{"OMX_DISABLE_SHARED=1"}},
	})
}

// TestCTruncateFatal: with the default (fatal) error handler a truncated
// receive ends the process: exit status 255, "OMX: <message>: Message
// Truncated" on stderr.
func TestCTruncateFatal(t *testing.T) {
	t.Parallel()
	bin := testlib.CompileTestC(t, "truncate")
	env := append(testlib.CEnv(t), "OMX_FATAL_ERRORS=1", "OMX_VERBOSE_PREFIX=OMX: ")
	res := testlib.Run(t, ctestTimeout, env, bin, "-F")
	if res.ExitCode != 255 {
		t.Errorf("exit status %d, want 255\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if !regexp.MustCompile(`(?m)^OMX: .+: Message Truncated$`).MatchString(res.Stderr) {
		t.Errorf("stderr has no \"OMX: <message>: Message Truncated\" line:\n%s", res.Stderr)
	}
	if !strings.Contains(res.Stdout, "fatal mode") {
		t.Errorf("the program did not reach the truncated receive; stdout:\n%s", res.Stdout)
	}
	if strings.Contains(res.Stderr, "FAIL") {
		t.Errorf("stderr reports a failure:\n%s", res.Stderr)
	}
}

// TestCCancel: cancel and cancel_notest, Open-MX and MX.
func TestCCancel(t *testing.T) {
	ctestRun(t, "cancel", []ctestMode{
		{name: "omx"},
		{name: "mx", args: []string{"-m"}},
	})
}

// TestCWaitAny: done-queue order, masks, context ids, timeouts.
func TestCWaitAny(t *testing.T) {
	ctestRun(t, "wait_any", []ctestMode{{name: "default"}})
}

// TestCCtxid: context-id parameters, mask rules and matching.
func TestCCtxid(t *testing.T) {
	ctestRun(t, "ctxid", []ctestMode{
		{name: "self"},
		{name: "disable_self", env: []string{"OMX_DISABLE_SELF=1"}},
	})
}

// TestCWakeup: one mx_wakeup releases every blocked thread.
func TestCWakeup(t *testing.T) {
	ctestRun(t, "wakeup", []ctestMode{{name: "default"}})
}

// TestCThreads: concurrent use of one endpoint and of several endpoints.
func TestCThreads(t *testing.T) {
	ctestRun(t, "threads", []ctestMode{
		{name: "default"},
		{name: "disable_self", env: []string{"OMX_DISABLE_SELF=1"}},
	})
}

// TestCVect: vectorial sends/receives over the three paths.
func TestCVect(t *testing.T) {
	ctestRun(t, "vect", []ctestMode{
		{name: "self"},
		{name: "shared", env: []string{"OMX_DISABLE_SELF=1"}},
		{name: "native", env: []string{"OMX_DISABLE_SELF=1", "OMX_DISABLE_SHARED=1"}},
	})
}

// TestCMiscAPI: info, strings, conversions, address contexts, forget,
// ibuffered, init/finalize, handlers; MX and Open-MX.
func TestCMiscAPI(t *testing.T) {
	ctestRun(t, "misc_api", []ctestMode{
		{name: "mx"},
		{name: "omx", args: []string{"-o"}},
	})
}
