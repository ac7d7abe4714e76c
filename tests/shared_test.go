package tests

// Two processes of one host, no privilege: the same-host path (shared
// memory) carries omx_perf and the stress program with verified data.

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// sharedStart starts prog in the background with env and returns a
// function waiting for its result.
func sharedStart(t *testing.T, env []string, prog string, args ...string) (*exec.Cmd, *strings.Builder, *strings.Builder) {
	t.Helper()
	cmd := testlib.Command(nil, env, prog, args...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &so, &se
}

// TestSharedPerf: omx_perf between two processes of the loopback board,
// 0 B to 4 MiB, payloads verified, with the single copy of large messages
// (process_vm_readv) and with the two-copy path.
func TestSharedPerf(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		dma  bool
	}{
		{"single-copy", nil, true},
		{"two-copies", []string{"OMX_SHARED_SINGLE_COPY=0"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) { sharedPerf(t, tc.env, tc.dma) })
	}
}

func sharedPerf(t *testing.T, extra []string, dma bool) {
	env := append(testlib.CEnv(t), append([]string{"OMX_DEBUG_COUNTERS=1"}, extra...)...) // OMX_IFNAMES=lo, a private node state directory
	res, serr := sharedPerfPair(t, env, 120*time.Second, "-N", "10", "-W", "2", "-P", "0", "-E", "4194305")
	lines := 0
	for _, l := range strings.Split(res.Stdout, "\n") {
		if netPerfLine.MatchString(l) {
			lines++
		}
	}
	if lines != 24 {
		t.Fatalf("%d result lines, want 24:\n%s", lines, res.Stdout)
	}
	single := testlib.Counter(res.Stderr, "DMA Shared Large") + testlib.Counter(serr, "DMA Shared Large")
	pulls := testlib.Counter(res.Stderr, "Send Pull Request") + testlib.Counter(serr, "Send Pull Request")
	if dma && (single == 0 || pulls != 0) {
		t.Errorf("single copy: %d direct reads, %d pull requests", single, pulls)
	}
	if !dma && (single != 0 || pulls == 0) {
		t.Errorf("two copies: %d direct reads, %d pull requests", single, pulls)
	}
}

// sharedPerfPair runs omx_perf -V between a server and a client process of
// the loopback board and returns the client's result and the server's
// stderr; both must exit 0.
func sharedPerfPair(t *testing.T, env []string, timeout time.Duration, args ...string) (testlib.Result, string) {
	t.Helper()
	bin := testlib.CompileC(t, "omx_perf", []string{filepath.Join(testlib.Root(), "examples", "omx_perf.c")})
	srv, sout, serr := sharedStart(t, env, bin, "-V")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sout.String(), "Starting receiver...") {
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s\n%s", sout.String(), serr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	res := testlib.Run(t, timeout, env, bin, append([]string{"-d", "localhost", "-V"}, args...)...)
	if res.ExitCode != 0 {
		t.Fatalf("client: exit %d\n%s\n%s\nserver:\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr, sout.String(), serr.String())
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("server: %v\n%s\n%s", err, sout.String(), serr.String())
	}
	return res, serr.String()
}

// TestSharedStress: the stress program between two processes of one host.
func TestSharedStress(t *testing.T) {
	bin := testlib.CompileTestC(t, "stress")
	env := testlib.CEnv(t)
	a, aout, aerr := sharedStart(t, env, bin, "-d", "localhost", "-e", "1", "-r", "2", "-n", "300", "-s", "9")
	res := testlib.Run(t, 120*time.Second, env, bin, "-d", "localhost", "-e", "2", "-r", "1", "-n", "300", "-s", "9")
	aw := a.Wait()
	if res.ExitCode != 0 || aw != nil || !strings.Contains(res.Stdout, "errors 0") || !strings.Contains(aout.String(), "errors 0") {
		t.Fatalf("stress: exit %d / %v\n%s\n%s\n%s\n%s", res.ExitCode, aw, res.Stdout, res.Stderr, aout.String(), aerr.String())
	}
}

// TestSharedPair: the one-process behaviours of the library issue (every
// size class, synchronous sends, truncation, unexpected messages and
// probes) between two processes, with the single and the two-copy path.
func TestSharedPair(t *testing.T) {
	bin := testlib.CompileTestC(t, "pair")
	for _, extra := range [][]string{nil, {"OMX_SHARED_SINGLE_COPY=0"}, {"OMX_DISABLE_SHARED=1"}} {
		t.Run(strings.Join(append([]string{"default"}, extra...), ","), func(t *testing.T) {
			env := testlib.Isolate(t, append(testlib.CEnv(t), extra...))
			b, bout, berr := sharedStart(t, env, bin, "b", "1", "2")
			res := testlib.Run(t, 120*time.Second, env, bin, "a", "2", "1")
			bw := b.Wait()
			if res.ExitCode != 0 || bw != nil || !strings.Contains(res.Stdout, "pair: PASS") || !strings.Contains(bout.String(), "pair: PASS") {
				t.Fatalf("a: exit %d\n%s\n%s\nb: %v\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr, bw, bout.String(), berr.String())
			}
			ctestCheckLeaks(t, res.Stderr)
		})
	}
}
