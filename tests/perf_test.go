package tests

// examples/omx_perf.c (the ping-pong benchmark of spec/tools.md §11) and
// tests/c/stress.c (the symmetric message stress).
//
// omx_perf needs two processes to measure anything, so here it is checked
// where one process suffices: option handling, its error messages, the
// endpoint it opens (a server started and stopped), and the exact result
// line, through its hidden -T option that formats given measurements.
// perfRunPair runs a real server/client pair for the network tests.
//
// stress runs both of its sides in one process on two endpoints of the
// loopback board, through the same-host path and through the network path
// (OMX_DISABLE_SHARED=1).

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

const (
	perfTimeout   = 60 * time.Second
	stressTimeout = 180 * time.Second
)

// perfOptionLetters are the options of tools.md §11.1 plus -V; the usage
// text has one line " -<letter>..." for each.
const perfOptionLetters = "bswyvdeSEMINWPUYarV"

// perfBuild compiles examples/omx_perf.c as `make examples` does (gnu99,
// warnings are errors).
func perfBuild(t *testing.T) string {
	t.Helper()
	return testlib.CompileC(t, "omx_perf", []string{filepath.Join(testlib.Root(), "examples", "omx_perf.c")})
}

// perfResult is one result line of an omx_perf client.
type perfResult struct {
	Length    int64
	LatencyUS float64
	MBs       float64 // 10^6 bytes per second
	MiBs      float64
}

var perfResultLine = regexp.MustCompile(`^length +(\d+):\t(\S+) us\t(\S+) MB/s\t (\S+) MiB/s$`)

// perfParseResults returns the result lines of an omx_perf client's stdout,
// failing the test on a line starting with "length" that does not have the
// exact format.
func perfParseResults(t *testing.T, stdout string) []perfResult {
	t.Helper()
	var out []perfResult
	for _, line := range strings.Split(stdout, "\n") {
		if !strings.HasPrefix(line, "length") {
			continue
		}
		m := perfResultLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("malformed result line %q", line)
			continue
		}
		var r perfResult
		var err error
		if r.Length, err = strconv.ParseInt(m[1], 10, 64); err != nil {
			t.Errorf("result line %q: %v", line, err)
		}
		for i, p := range []*float64{&r.LatencyUS, &r.MBs, &r.MiBs} {
			if *p, err = strconv.ParseFloat(m[i+2], 64); err != nil {
				t.Errorf("result line %q: %v", line, err)
			}
		}
		out = append(out, r)
	}
	return out
}

// perfProc is a program running in the background whose stdout is read
// line by line (omx_perf servers, which never exit on their own with -s).
type perfProc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer // read only once the process has been waited for
	seen   []string
	once   sync.Once
	exit   int
}

// perfStart starts argv (a program and its arguments) with extra
// environment entries; the process is killed at the end of the test.
func perfStart(t *testing.T, env []string, argv ...string) *perfProc {
	t.Helper()
	p := &perfProc{cmd: exec.Command(argv[0], argv[1:]...), lines: make(chan string, 64)}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %v: %v", argv, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(p.stop)
	return p
}

// stop kills the process if it still runs and reaps it.
func (p *perfProc) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		p.finish()
	})
}

// finish waits for the process (already exited or killed) and the rest of
// its output.
func (p *perfProc) finish() {
	for line := range p.lines {
		p.seen = append(p.seen, line)
	}
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		p.exit = ee.ExitCode()
	}
}

// waitLine reads stdout until a line equal to want, and fails the test
// (killing the process) on end of output or after timeout.
func (p *perfProc) waitLine(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				p.stop()
				t.Fatalf("%s ended (status %d) before printing %q\nstdout:\n%s\nstderr:\n%s",
					filepath.Base(p.cmd.Path), p.exit, want, strings.Join(p.seen, "\n"), p.stderr.String())
			}
			p.seen = append(p.seen, line)
			if line == want {
				return
			}
		case <-deadline:
			p.stop()
			t.Fatalf("%s did not print %q within %v\nstdout:\n%s\nstderr:\n%s",
				filepath.Base(p.cmd.Path), want, timeout, strings.Join(p.seen, "\n"), p.stderr.String())
		}
	}
}

// wait waits for the process to exit by itself (failing after timeout) and
// returns its exit status, stdout and stderr.
func (p *perfProc) wait(t *testing.T, timeout time.Duration) (int, string, string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		p.once.Do(p.finish)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not exit within %v", filepath.Base(p.cmd.Path), timeout)
	}
	return p.exit, strings.Join(p.seen, "\n"), p.stderr.String()
}

// perfSide is how to run one side of an omx_perf pair: a command prefix,
// extra environment, and the omx_perf arguments. For a nettest host h:
// prefix {"ip", "netns", "exec", h.Name}, env h.Env(), and on the client
// args {"-d", server.Hostname + ":0", ...}.
type perfSide struct {
	prefix []string
	env    []string
	args   []string
}

// perfRunPair runs an omx_perf server (without -s) then a client against
// it, checks both exit 0 with the expected banners, and returns the
// client's result lines (one per length).
func perfRunPair(t *testing.T, prog string, server, client perfSide, timeout time.Duration) []perfResult {
	t.Helper()
	srv := perfStart(t, server.env, append(append(append([]string{}, server.prefix...), prog), server.args...)...)
	srv.waitLine(t, "Starting receiver...", perfTimeout)

	argv := append(append(append([]string{}, client.prefix...), prog), client.args...)
	res := testlib.MustRun(t, timeout, client.env, argv[0], argv[1:]...)
	if !regexp.MustCompile(`(?m)^Starting sender to '.*'\.\.\.$`).MatchString(res.Stdout) {
		t.Errorf("client stdout lacks the \"Starting sender to\" line:\n%s", res.Stdout)
	}

	code, sout, serr := srv.wait(t, timeout)
	if code != 0 {
		t.Fatalf("server exit status %d\nstdout:\n%s\nstderr:\n%s", code, sout, serr)
	}
	return perfParseResults(t, res.Stdout)
}

// perfLoopbackEnv is the environment of an omx_perf run on the loopback
// board whatever the caller's OMX_IFNAMES; extra entries come last.
func perfLoopbackEnv(t *testing.T, extra ...string) []string {
	return append(append(testlib.CEnv(t), "OMX_IFNAMES=lo"), extra...)
}

func TestPerfOptions(t *testing.T) {
	t.Parallel()
	bin := perfBuild(t)

	// tools.md §0.2: -h prints the usage only and exits 255.
	t.Run("help", func(t *testing.T) {
		res := testlib.Run(t, perfTimeout, perfLoopbackEnv(t), bin, "-h")
		if res.ExitCode != 255 {
			t.Errorf("exit status %d, want 255", res.ExitCode)
		}
		if res.Stdout != "" {
			t.Errorf("stdout not empty:\n%s", res.Stdout)
		}
		perfCheckUsage(t, res.Stderr)
		if strings.Contains(res.Stderr, "Unknown option") {
			t.Errorf("-h reported an unknown option:\n%s", res.Stderr)
		}
	})

	// An unknown option, or a missing argument: getopt's diagnostic, then
	// "Unknown option -?" and the usage on stderr, exit 255.
	for _, args := range [][]string{{"-x"}, {"-d"}, {"-N", "10", "-Q", "-d", "localhost"}} {
		t.Run("bad_option"+strings.Join(args, "_"), func(t *testing.T) {
			res := testlib.Run(t, perfTimeout, perfLoopbackEnv(t), bin, args...)
			if res.ExitCode != 255 {
				t.Errorf("exit status %d, want 255", res.ExitCode)
			}
			if res.Stdout != "" {
				t.Errorf("stdout not empty:\n%s", res.Stdout)
			}
			if !regexp.MustCompile(`(?m)^.*omx_perf: (invalid option|option requires an argument) -- '.'$`).MatchString(res.Stderr) {
				t.Errorf("no getopt diagnostic on stderr:\n%s", res.Stderr)
			}
			if !strings.Contains(res.Stderr, "\nUnknown option -?\n") {
				t.Errorf("no \"Unknown option -?\" line on stderr:\n%s", res.Stderr)
			}
			perfCheckUsage(t, res.Stderr)
		})
	}

	// tools.md §11.2 client step 1: with OMX_FATAL_ERRORS=0 the program's
	// own message; with the default fatal handler the library's, first.
	t.Run("unknown_peer", func(t *testing.T) {
		res := testlib.Run(t, perfTimeout, perfLoopbackEnv(t, "OMX_FATAL_ERRORS=0"), bin, "-d", "no-such-host:0")
		if res.ExitCode != 255 {
			t.Errorf("exit status %d, want 255\nstderr:\n%s", res.ExitCode, res.Stderr)
		}
		if res.Stderr != "Cannot find peer name no-such-host:0\n" {
			t.Errorf("stderr %q, want exactly %q", res.Stderr, "Cannot find peer name no-such-host:0\n")
		}
		if res.Stdout != "" {
			t.Errorf("stdout not empty (no endpoint may be opened before the look-up):\n%s", res.Stdout)
		}
	})
	t.Run("unknown_peer_fatal", func(t *testing.T) {
		res := testlib.Run(t, perfTimeout, perfLoopbackEnv(t, "OMX_FATAL_ERRORS=1", "OMX_VERBOSE_PREFIX=OMX: "),
			bin, "-d", "no-such-host:0")
		if res.ExitCode != 255 {
			t.Errorf("exit status %d, want 255\nstderr:\n%s", res.ExitCode, res.Stderr)
		}
		if !regexp.MustCompile(`(?m)^OMX: .+: Peer Not Found`).MatchString(res.Stderr) {
			t.Errorf("no \"OMX: <message>: Peer Not Found...\" line from the fatal handler:\n%s", res.Stderr)
		}
		if strings.Contains(res.Stderr, "Cannot find peer name") {
			t.Errorf("the program's own message appeared although the fatal handler exits first:\n%s", res.Stderr)
		}
	})

	t.Run("bad_board", func(t *testing.T) {
		res := testlib.Run(t, perfTimeout, perfLoopbackEnv(t, "OMX_FATAL_ERRORS=0"), bin, "-b", "7")
		if res.ExitCode != 255 {
			t.Errorf("exit status %d, want 255", res.ExitCode)
		}
		if want := "Failed to open endpoint (Board Not Found)\n"; res.Stderr != want {
			t.Errorf("stderr %q, want %q", res.Stderr, want)
		}
	})

	// The server opens its endpoint, says so and waits for a client; the
	// endpoint given by -e (atoi: -1 is OMX_ANY_ENDPOINT).
	for _, tc := range []struct {
		args  []string
		first string
	}{
		{nil, "Successfully open endpoint 0 for hostname 'localhost' iface 'lo'"},
		{[]string{"-e", "3", "-w", "-v"}, "Successfully open endpoint 3 for hostname 'localhost' iface 'lo'"},
		{[]string{"-e", "-1", "-s"}, "Successfully open any endpoint for hostname 'localhost' iface 'lo'"},
	} {
		t.Run("server"+strings.Join(tc.args, "_"), func(t *testing.T) {
			p := perfStart(t, perfLoopbackEnv(t), append([]string{bin}, tc.args...)...)
			p.waitLine(t, "Starting receiver...", perfTimeout)
			if want := []string{tc.first, "Starting receiver..."}; strings.Join(p.seen, "\n") != strings.Join(want, "\n") {
				t.Errorf("server stdout:\n%s\nwant:\n%s", strings.Join(p.seen, "\n"), strings.Join(want, "\n"))
			}
		})
	}

	// -d sets the local endpoint to "any"; a later -e wins (tools.md §11.1).
	// The client prints its banners before connecting; it is stopped there.
	for _, tc := range []struct {
		args  []string
		first string
	}{
		{[]string{"-e", "4", "-d", "localhost"}, "Successfully open any endpoint for hostname 'localhost' iface 'lo'"},
		{[]string{"-d", "localhost", "-e", "4"}, "Successfully open endpoint 4 for hostname 'localhost' iface 'lo'"},
	} {
		t.Run("client"+strings.Join(tc.args, "_"), func(t *testing.T) {
			p := perfStart(t, perfLoopbackEnv(t), append([]string{bin, "-r", "9"}, tc.args...)...)
			p.waitLine(t, "Starting sender to 'localhost'...", perfTimeout)
			if p.seen[0] != tc.first || len(p.seen) != 2 {
				t.Errorf("client stdout:\n%s\nwant %q then the sender line", strings.Join(p.seen, "\n"), tc.first)
			}
		})
	}
}

// perfCheckUsage asserts the usage text names every option, and not the
// hidden -T.
func perfCheckUsage(t *testing.T, stderr string) {
	t.Helper()
	if !strings.Contains(stderr, "Usage: ") {
		t.Errorf("no usage text on stderr:\n%s", stderr)
	}
	for _, c := range perfOptionLetters {
		if !regexp.MustCompile(`(?m)^ -` + string(c) + `\b`).MatchString(stderr) {
			t.Errorf("usage lacks option -%c:\n%s", c, stderr)
		}
	}
	if strings.Contains(stderr, " -T") {
		t.Errorf("usage shows the hidden -T option:\n%s", stderr)
	}
	if !regexp.MustCompile(`(?m)^ -V\b.*open-mx-go`).MatchString(stderr) {
		t.Errorf("usage does not mark -V as an open-mx-go addition:\n%s", stderr)
	}
}

// TestPerfResultLine checks the result line of tools.md §11.2 byte for byte
// with -T <length>,<usecs>,<iterations>, which prints the line of those
// measurements. Expected values, by hand from the C format
// "length % 9lld:\t%.3f us\t%.2f MB/s\t %.2f MiB/s\n" with k = 2 (1 with -U):
// latency = (float)usecs / k / iter, MB/s = k*iter*length/usecs,
// MiB/s = MB/s / 1.048576.
func TestPerfResultLine(t *testing.T) {
	t.Parallel()
	bin := perfBuild(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		// 7970/2/1000 = 3.985; nothing transferred.
		{"empty", []string{"-T", "0,7970,1000"},
			"length         0:\t3.985 us\t0.00 MB/s\t 0.00 MiB/s\n"},
		// The examples of tools.md §11.2: 2*1000*1/15900 = 0.1258 MB/s,
		// /1.048576 = 0.1199 MiB/s.
		{"spec_example_1", []string{"-T", "1,15900,1000"},
			"length         1:\t7.950 us\t0.13 MB/s\t 0.12 MiB/s\n"},
		// 16777216/2/1000 = 8388.608 us; 2*1000*4194304/16777216 = 500 MB/s
		// = 476.837 MiB/s.
		{"spec_example_4M", []string{"-T", "4194304,16777216,1000"},
			"length   4194304:\t8388.608 us\t500.00 MB/s\t 476.84 MiB/s\n"},
		// Single precision: (float)16777217 is 16777216, so the latency
		// is 8388608.000 (double would give 8388608.500);
		// 2*4194304/16777217 = 0.49999997 MB/s = 0.4768 MiB/s.
		{"single_precision", []string{"-T", "4194304,16777217,1"},
			"length   4194304:\t8388608.000 us\t0.50 MB/s\t 0.48 MiB/s\n"},
		// Nine digits: the space flag adds a leading space.
		// 2*123456789/1000 = 246913.578 MB/s, /1.048576 = 235475.138.
		{"nine_digits", []string{"-T", "123456789,1000,1"},
			"length  123456789:\t500.000 us\t246913.58 MB/s\t 235475.14 MiB/s\n"},
		// -U: k = 1. 5000/1000 = 5 us; 1000*1024/5000 = 204.8 MB/s
		// = 195.3125 MiB/s.
		{"unidirectional", []string{"-U", "-T", "1024,5000,1000"},
			"length      1024:\t5.000 us\t204.80 MB/s\t 195.31 MiB/s\n"},
		// Several lines, in order.
		{"several", []string{"-T", "2,4000,1000", "-T", "32768,100000,1000"},
			"length         2:\t2.000 us\t1.00 MB/s\t 0.95 MiB/s\n" +
				"length     32768:\t50.000 us\t655.36 MB/s\t 625.00 MiB/s\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := testlib.MustRun(t, perfTimeout, nil, bin, tc.args...)
			if res.Stdout != tc.want {
				t.Errorf("omx_perf %s printed\n%q\nwant\n%q", strings.Join(tc.args, " "), res.Stdout, tc.want)
			}
			if res.Stderr != "" {
				t.Errorf("stderr: %s", res.Stderr)
			}
			if got := perfParseResults(t, res.Stdout); len(got) != strings.Count(tc.want, "\n") {
				t.Errorf("perfParseResults found %d lines in %q", len(got), res.Stdout)
			}
		})
	}

	// T = 0: 0/0 is NaN (its sign depends on the CPU).
	res := testlib.MustRun(t, perfTimeout, nil, bin, "-T", "0,0,1000")
	if !regexp.MustCompile(`^length         0:\t0\.000 us\t-?nan MB/s\t -?nan MiB/s\n$`).MatchString(res.Stdout) {
		t.Errorf("T=0 line %q, want NaN bandwidths", res.Stdout)
	}
	got := perfParseResults(t, "length     65536:\t12.500 us\t5242.88 MB/s\t 5000.00 MiB/s\n")
	if want := (perfResult{Length: 65536, LatencyUS: 12.5, MBs: 5242.88, MiBs: 5000}); len(got) != 1 || got[0] != want {
		t.Errorf("perfParseResults = %+v, want [%+v]", got, want)
	}
}

// TestPerfRunPairHelper exercises perfRunPair, meant for the network tests,
// with shell stand-ins for omx_perf: the server must be up (banner printed)
// before the client starts, and must exit by itself once the client is done.
func TestPerfRunPairHelper(t *testing.T) {
	t.Parallel()
	flag := filepath.Join(t.TempDir(), "server-was-up")
	server := perfSide{args: []string{"-c",
		`touch "$1"; echo "Successfully open endpoint 0 for hostname 'h1' iface 'lo'"; echo 'Starting receiver...'; ` +
			`while [ ! -e "$1.client" ]; do sleep 0.05; done`, "server", flag}}
	client := perfSide{args: []string{"-c",
		`[ -e "$1" ] || exit 3; touch "$1.client"; echo "Starting sender to 'h1'..."; ` +
			`printf 'length % 9d:\t%s us\t%s MB/s\t %s MiB/s\n' 0 1.500 0.00 0.00 4096 3.000 2730.67 2604.17`,
		"client", flag}}
	got := perfRunPair(t, "/bin/sh", server, client, perfTimeout)
	want := []perfResult{{0, 1.5, 0, 0}, {4096, 3, 2730.67, 2604.17}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("perfRunPair = %+v, want %+v", got, want)
	}
}

// TestPerfPedantic: the example is plain C99.
func TestPerfPedantic(t *testing.T) {
	t.Parallel()
	testlib.CompileC(t, "omx_perf_c99", []string{filepath.Join(testlib.Root(), "examples", "omx_perf.c")},
		"-std=c99", "-pedantic")
}

var stressSummary = regexp.MustCompile(`(?m)^stress: sent (\d+) received (\d+) bytes (\d+) errors (\d+)$`)

// stressRun runs the stress program and returns the byte count of its
// summary, checking the message counts, the exit status and the leaks.
func stressRun(t *testing.T, bin string, env []string, wantMsgs int, args ...string) uint64 {
	t.Helper()
	start := time.Now()
	res := testlib.MustRun(t, stressTimeout, append(testlib.CEnv(t), env...), bin, args...)
	t.Logf("stress %s (env %v, %v): %s", strings.Join(args, " "), env, time.Since(start).Round(time.Millisecond),
		strings.TrimSpace(res.Stdout))
	m := stressSummary.FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("no summary line on stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	}
	if want := strconv.Itoa(wantMsgs); m[1] != want || m[2] != want || m[4] != "0" {
		t.Errorf("summary %q, want %s messages sent and received, 0 errors", m[0], want)
	}
	if strings.Contains(res.Stderr, "FAIL") || strings.Contains(res.Stderr, "error") {
		t.Errorf("exit 0 but stderr reports a failure:\n%s", res.Stderr)
	}
	ctestCheckLeaks(t, res.Stderr)
	moved, err := strconv.ParseUint(m[3], 10, 64)
	if err != nil {
		t.Fatalf("summary %q: %v", m[0], err)
	}
	return moved
}

// TestStress: 2000 messages each way in one process, over the same-host
// path and the network path. The messages depend on the seed only, so
// every path must move the same number of bytes.
func TestStress(t *testing.T) {
	t.Parallel()
	bin := testlib.CompileTestC(t, "stress")

	const n = 2000
	modes := []struct {
		name string
		env  []string
	}{
		{"default", nil},
		{"disable_self", []string{"OMX_DISABLE_SELF=1"}},
		{"disable_shared", []string{"OMX_DISABLE_SHARED=1"}},
	}
	var mu sync.Mutex
	bytesOf := map[string]uint64{}
	t.Run("paths", func(t *testing.T) {
		for _, m := range modes {
			t.Run(m.name, func(t *testing.T) {
				t.Parallel()
				b := stressRun(t, bin, m.env, 2*n, "-n", strconv.Itoa(n), "-s", "42")
				mu.Lock()
				bytesOf[m.name] = b
				mu.Unlock()
			})
		}
	})
	if len(bytesOf) == len(modes) {
		for _, m := range modes[1:] {
			if bytesOf[m.name] != bytesOf["default"] {
				t.Errorf("seed 42 moved %d bytes with %s, %d by default", bytesOf[m.name], m.name, bytesOf["default"])
			}
		}
		// 2*2000 messages of 0 B .. 4 MiB, 12% of them above 32 KiB.
		if b := bytesOf["default"]; b < 100<<20 {
			t.Errorf("only %d bytes moved: the large messages are missing", b)
		}
	}

	// Many small messages, fixed endpoint numbers.
	t.Run("small_only", func(t *testing.T) {
		t.Parallel()
		b := stressRun(t, bin, nil, 2*5000, "-n", "5000", "-M", "128", "-e", "5", "-r", "2", "-s", "7")
		if b == 0 || b > 2*5000*128 {
			t.Errorf("%d bytes for 10000 messages of at most 128 bytes", b)
		}
	})
}

// TestStressUsage: bad options and sizes are usage errors (exit 2).
func TestStressUsage(t *testing.T) {
	t.Parallel()
	bin := testlib.CompileTestC(t, "stress")
	for _, args := range [][]string{{"-x"}, {"-M", "16777216"}, {"extra"}} {
		res := testlib.Run(t, perfTimeout, testlib.CEnv(t), bin, args...)
		if res.ExitCode != 2 || !strings.Contains(res.Stderr, "usage: ") {
			t.Errorf("stress %s: exit %d, want 2 with the usage\nstderr:\n%s", strings.Join(args, " "), res.ExitCode, res.Stderr)
		}
	}
	res := testlib.Run(t, perfTimeout, testlib.CEnv(t), bin, "-h")
	if res.ExitCode != 0 || !strings.Contains(res.Stderr, "usage: ") {
		t.Errorf("stress -h: exit %d\nstderr:\n%s", res.ExitCode, res.Stderr)
	}
}
