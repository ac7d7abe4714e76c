// Package libfabric tests the libfabric provider "omx"
// (capi/libfabric/, built by "make fabric" into
// build/lib/libfabric/libomx-fi.so): libfabric's own tools (fi_info,
// fi_pingpong from Debian's libfabric-bin) load it through
// FI_PROVIDER_PATH, and testdata/tagged.c drives the tagged and message
// paths (tag matching with ignore bits, inject, cancel, truncation,
// multi-segment messages) through the libfabric API.
//
// The tests skip (fail under OMX_TEST_REQUIRE_PRIV=1) when the libfabric
// headers (libfabric-dev) or tools (libfabric-bin) are missing.
package libfabric

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

var (
	buildOnce sync.Once
	buildErr  error
	buildOut  []byte
)

// provider builds the provider once per test binary and returns the
// directory to put in FI_PROVIDER_PATH.
func provider(t *testing.T) string {
	t.Helper()
	testlib.NeedCC(t)
	if _, err := os.Stat("/usr/include/rdma/fabric.h"); err != nil {
		testlib.Skip(t, "libfabric headers missing (/usr/include/rdma/fabric.h): install libfabric-dev")
	}
	for _, tool := range []string{"fi_info", "fi_pingpong"} {
		if _, err := exec.LookPath(tool); err != nil {
			testlib.Skip(t, tool+" not in PATH: install libfabric-bin")
		}
	}
	buildOnce.Do(func() {
		cmd := exec.Command("make", "-s", "fabric")
		cmd.Dir = testlib.Root()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("make fabric: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(testlib.LibDir(), "libfabric")
}

// env is the environment of a program using the provider on this host:
// a private node (OMX_RUNDIR), the loopback board, only our provider.
func env(t *testing.T) []string {
	return append(testlib.CEnv(t), "FI_PROVIDER_PATH="+provider(t), "FI_PROVIDER=omx")
}

func TestFiInfo(t *testing.T) {
	e := env(t)
	r := testlib.MustRun(t, 30*time.Second, e, "fi_info", "-p", "omx")
	if n := strings.Count(r.Stdout, "provider:"); n != 1 {
		t.Fatalf("fi_info -p omx: %d infos, want 1:\n%s%s", n, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"provider: omx", "fabric: omx", "type: FI_EP_RDM"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("fi_info -p omx: no %q in\n%s", want, r.Stdout)
		}
	}
	r = testlib.MustRun(t, 30*time.Second, e, "fi_info", "-p", "omx", "-v")
	for _, want := range []string{"FI_TAGGED", "FI_MSG", "FI_THREAD_DOMAIN", "FI_AV_MAP", "FI_PROGRESS_MANUAL"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("fi_info -p omx -v: no %s in\n%s", want, r.Stdout)
		}
	}
}

func TestTagged(t *testing.T) {
	e := env(t)
	prog := testlib.CompileC(t, "tagged", []string{filepath.Join("testdata", "tagged.c")}, "-lfabric")
	r := testlib.MustRun(t, 60*time.Second, e, prog)
	if !strings.HasSuffix(r.Stdout, "PASS\n") {
		t.Fatalf("tagged: no PASS:\n%s\n%s", r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stderr, "leak") {
		t.Errorf("tagged: the library reports leaks:\n%s", r.Stderr)
	}
	t.Logf("\n%s", r.Stdout)
}

// freePort returns a TCP port nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// pingpongArgs: every size up to 1 MiB, payloads checked (-c).
func pingpongArgs(mode string) []string {
	return []string{"-p", "omx", "-e", "rdm", "-m", mode, "-I", "20", "-c"}
}

// runClient runs the fi_pingpong client until it reaches the server's
// control socket (the server may not listen yet), with run.
func runClient(t *testing.T, run func() testlib.Result) testlib.Result {
	t.Helper()
	var r testlib.Result
	for i := 0; i < 50; i++ {
		r = run()
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "failed to connect") {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
	return r
}

// checkPingpong checks a client's or server's output: every size of the
// table, each with as many acknowledgements as messages sent.
func checkPingpong(t *testing.T, who string, r testlib.Result) {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", who, r.ExitCode, r.Stdout, r.Stderr)
	}
	rows := 0
	for _, l := range strings.Split(r.Stdout, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[1] == "20" {
			if f[2] != "=20" {
				t.Errorf("%s: row %q: not every message acknowledged", who, l)
			}
			rows++
		}
	}
	if rows < 6 || !strings.Contains(r.Stdout, "\n1m ") {
		t.Fatalf("%s: %d size rows (want 64 B .. 1 MiB):\n%s\n%s", who, rows, r.Stdout, r.Stderr)
	}
}

func TestPingpong(t *testing.T) {
	for _, mode := range []string{"msg", "tagged"} {
		t.Run(mode, func(t *testing.T) {
			e := env(t)
			port := freePort(t)
			args := pingpongArgs(mode)
			srv := testlib.Command(nil, e, "fi_pingpong", append(args, "-B", port)...)
			var so, se strings.Builder
			srv.Stdout, srv.Stderr = &so, &se
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- srv.Wait() }()
			t.Cleanup(func() {
				select {
				case <-done:
				default:
					srv.Process.Kill()
					<-done
				}
			})
			cli := runClient(t, func() testlib.Result {
				return testlib.Run(t, 60*time.Second, e, "fi_pingpong", append(args, "-P", port, "127.0.0.1")...)
			})
			checkPingpong(t, "client", cli)
			select {
			case err := <-done:
				done <- err
				res := testlib.Result{Stdout: so.String(), Stderr: se.String()}
				if err != nil {
					res.ExitCode = 1
				}
				checkPingpong(t, "server", res)
			case <-time.After(30 * time.Second):
				t.Fatalf("server still running 30 s after the client:\n%s\n%s", so.String(), se.String())
			}
			t.Logf("client:\n%s", cli.Stdout)
		})
	}
}

// TestPingpongNetns runs fi_pingpong between two network namespaces joined
// by a veth pair: Open-MX frames on the veth, the tool's out-of-band TCP
// socket on IP addresses added to it.
func TestPingpongNetns(t *testing.T) {
	dir := provider(t)
	n := nettest.New(t, nettest.Options{Hosts: 2})
	ipOf := func(i int) string { return fmt.Sprintf("10.213.12.%d", i+1) }
	for i, h := range n.Hosts {
		if out, err := exec.Command("ip", "-n", h.Name, "addr", "add", ipOf(i)+"/24", "dev", h.IfName).CombinedOutput(); err != nil {
			t.Fatalf("ip -n %s addr add: %v: %s", h.Name, err, out)
		}
	}
	e := []string{"FI_PROVIDER_PATH=" + dir, "FI_PROVIDER=omx"}
	for _, mode := range []string{"msg", "tagged"} {
		t.Run(mode, func(t *testing.T) {
			args := pingpongArgs(mode)
			srv := n.Hosts[0].Start(t, e, "fi_pingpong", args...)
			cli := runClient(t, func() testlib.Result {
				return n.Hosts[1].Run(t, 60*time.Second, e, "fi_pingpong", append(args, ipOf(0))...)
			})
			checkPingpong(t, "client", cli)
			checkPingpong(t, "server", srv.Wait(30*time.Second))
			t.Logf("client:\n%s", cli.Stdout)
		})
	}
}
