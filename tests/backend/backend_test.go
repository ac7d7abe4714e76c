// Package backend tests the node service's backend (issue "multi-user
// hosts"): applications running as an ordinary user (nobody) reach other
// hosts through omxoed, which checks every frame they send.
package backend

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// nobody is the unprivileged user the applications run as.
const nobody = "65534"

type tools struct{ dir, perf, stress, oed, forge, info, epinfo string }

var (
	buildOnce sync.Once
	built     tools
	buildErr  error
)

// build makes the library, omx_perf and the Go programs the tests run.
func build(t *testing.T) tools { return buildTB(t) }

func buildTB(t testing.TB) tools {
	t.Helper()
	lib := testlib.Lib(t)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-backend-", nettest.Prefix, os.Getpid()))
		if err != nil {
			buildErr = err
			return
		}
		// Programs run as nobody: the directory must be readable.
		os.Chmod(dir, 0o755)
		built.dir = dir
		built.perf = filepath.Join(dir, "omx_perf")
		built.stress = filepath.Join(dir, "stress")
		for out, src := range map[string]string{built.perf: "examples/omx_perf.c", built.stress: "tests/c/stress.c"} {
			args := []string{"-std=gnu99", "-O2", "-I", testlib.IncludeDir(), "-o", out,
				filepath.Join(testlib.Root(), src), "-L", lib, "-Wl,-rpath," + lib, "-lmyriexpress", "-lpthread"}
			if b, err := exec.Command(testlib.CC(), args...).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("cc %s: %v\n%s", src, err, b)
				return
			}
		}
		for name, pkg := range map[string]string{"omxoed": "./tools/omxoed", "backendforge": "./tests/backendforge",
			"omx_info": "./tools/omx_info", "omx_endpoint_info": "./tools/omx_endpoint_info"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
			cmd.Dir = testlib.Root()
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
		built.oed = filepath.Join(dir, "omxoed")
		built.forge = filepath.Join(dir, "backendforge")
		built.info = filepath.Join(dir, "omx_info")
		built.epinfo = filepath.Join(dir, "omx_endpoint_info")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// service starts omxoed (as root, with env) on h and waits for its
// backend socket.
func service(t *testing.T, h *nettest.Host, tl tools, env ...string) *nettest.Proc {
	return serviceTB(t, h, tl, env...)
}

func serviceTB(t testing.TB, h *nettest.Host, tl tools, env ...string) *nettest.Proc {
	t.Helper()
	openToNobody(h)
	p := h.Start(t, env, tl.oed, "-f", "-v") // the log on stderr
	sock := filepath.Join(h.RunDir, "backend.sock")
	deadline := time.Now().Add(10 * time.Second)
	for !fileIsSocket(sock) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no backend socket after 10 s; log:\n%s", h.Name, p.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// openToNobody makes the test's temporary directories of h (run
// directory, peers file) readable by nobody, as /run/open-mx and
// /etc/open-mx are.
func openToNobody(h *nettest.Host) {
	for _, d := range []string{h.RunDir, filepath.Dir(h.RunDir), filepath.Dir(h.PeersFile)} {
		os.Chmod(d, 0o755)
	}
}

// asNobody runs prog as nobody (no capability, no supplementary group).
func asNobody(prog string, args ...string) (string, []string) {
	return "/usr/bin/setpriv", append([]string{"--reuid=" + nobody, "--regid=" + nobody, "--clear-groups", "--inh-caps=-all", prog}, args...)
}

func needSetpriv(t *testing.T) {
	if _, err := os.Stat("/usr/bin/setpriv"); err != nil {
		testlib.Skip(t, "needs setpriv (util-linux) to run programs as nobody")
	}
}

// Two hosts, each with its service; omx_perf between two processes of
// nobody, every size from 0 B to 4 MiB with verified data.
func TestBackendPerfAsNobody(t *testing.T) {
	needSetpriv(t)
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tl := build(t)
	a, b := n.Hosts[0], n.Hosts[1]
	oa, ob := service(t, a, tl), service(t, b, tl)
	prog, args := asNobody(tl.perf)
	srv := b.Start(t, []string{"OMX_VERBOSE=1"}, prog, args...)
	time.Sleep(300 * time.Millisecond)
	prog, args = asNobody(tl.perf, "-d", b.Hostname+":0", "-V", "-S", "0", "-E", "4194305", "-N", "3", "-W", "1")
	res := a.Run(t, 120*time.Second, []string{"OMX_VERBOSE=1"}, prog, args...)
	if res.ExitCode != 0 {
		t.Fatalf("omx_perf client as nobody: exit %d\n%s\n%s\nserver: %s\nlog A:\n%s\nlog B:\n%s", res.ExitCode, res.Stdout, res.Stderr,
			srv.Stderr(), oa.Stderr(), ob.Stderr())
	}
	lines := strings.Count(res.Stdout, "\n")
	if !strings.Contains(res.Stdout, "4194304") || lines < 20 {
		t.Fatalf("omx_perf output misses sizes:\n%s", res.Stdout)
	}
	t.Logf("omx_perf as nobody through the services: %d lines, last:\n%s", lines, lastLine(res.Stdout))
	if res := srv.Wait(10 * time.Second); res.ExitCode != 0 {
		t.Fatalf("omx_perf server as nobody: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	for _, o := range []*nettest.Proc{oa, ob} {
		if lg := o.Stderr(); !strings.Contains(lg, "Serving endpoints") {
			t.Errorf("the service did not serve:\n%s", lg)
		}
	}
}

// The stress program (every size class, 8 messages outstanding each way,
// checksummed) between processes of nobody on two hosts.
func TestBackendStressAsNobody(t *testing.T) {
	needSetpriv(t)
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tl := build(t)
	a, b := n.Hosts[0], n.Hosts[1]
	service(t, a, tl)
	service(t, b, tl)
	prog, args := asNobody(tl.stress, "-d", b.Hostname+":0", "-n", "300", "-s", "3")
	pa := a.Start(t, nil, prog, args...)
	prog, args = asNobody(tl.stress, "-d", a.Hostname+":0", "-n", "300", "-s", "3")
	rb := b.Run(t, 300*time.Second, nil, prog, args...)
	ra := pa.Wait(60 * time.Second)
	for i, r := range []testlib.Result{ra, rb} {
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "errors 0") {
			t.Fatalf("stress as nobody on host %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, r.ExitCode, r.Stdout, r.Stderr)
		}
	}
	t.Logf("stress as nobody: %s", lastLine(rb.Stdout))
}

// An application of nobody pushes forged frames into its channel: each is
// refused and counted, none reaches the wire; the allowed control frame
// does. Another endpoint of nobody listening meanwhile sees only frames
// addressed to it.
func TestBackendForgedFrames(t *testing.T) {
	needSetpriv(t)
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tl := build(t)
	a, b := n.Hosts[0], n.Hosts[1]
	oed := service(t, a, tl)
	sock := filepath.Join(a.RunDir, "backend.sock")
	capture := b.OpenRaw(t, 0x0003) // every frame reaching host B
	capture.Drain()
	prog, args := asNobody(tl.forge, "listen", "-socket", sock, "-if", a.IfName, "-ep", "1", "-for", "4s")
	listener := a.Start(t, nil, prog, args...)
	time.Sleep(500 * time.Millisecond)
	prog, args = asNobody(tl.forge, "forge", "-socket", sock, "-if", a.IfName, "-ep", "0", "-peer", nettest.FormatMAC(b.MAC))
	res := a.Run(t, 20*time.Second, nil, prog, args...)
	if res.ExitCode != 0 {
		t.Fatalf("backendforge forge: exit %d\n%s\n%s\nlog:\n%s", res.ExitCode, res.Stdout, res.Stderr, oed.Stderr())
	}
	var sent struct{ Sent []string }
	if err := json.Unmarshal([]byte(res.Stdout), &sent); err != nil || len(sent.Sent) != 7 {
		t.Fatalf("backendforge output %q: %v", res.Stdout, err)
	}
	var seen []string
	buf := make([]byte, 1<<16)
	for {
		k, err := capture.Recv(buf, 500*time.Millisecond)
		if err != nil || k == 0 {
			break
		}
		if i := bytes.Index(buf[:k], []byte("FORGED:")); i >= 0 {
			rest := buf[i+7 : k]
			if j := bytes.IndexByte(rest, 0); j >= 0 {
				rest = rest[:j]
			}
			seen = append(seen, string(rest))
		}
	}
	if len(seen) != 1 || !strings.HasPrefix(seen[0], "OK") {
		t.Fatalf("frames of the forger on the wire: %q, want only the control\nlog:\n%s", seen, oed.Stderr())
	}
	lres := listener.Wait(20 * time.Second)
	var heard struct{ Frames, Foreign int }
	if lres.ExitCode != 0 || json.Unmarshal([]byte(lres.Stdout), &heard) != nil {
		t.Fatalf("listener: exit %d %q %s", lres.ExitCode, lres.Stdout, lres.Stderr)
	}
	if heard.Foreign != 0 {
		t.Fatalf("the listener of endpoint 1 received %d frames of other endpoints", heard.Foreign)
	}
	oed.Signal(syscall.SIGTERM)
	oed.Wait(10 * time.Second)
	lg := oed.Stderr()
	if !strings.Contains(lg, "6 frames refused from applications") {
		t.Fatalf("the service did not count 6 refused frames:\n%s", lg)
	}
	t.Logf("service: %s", lastLine(grepLine(lg, "frames refused")))
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func grepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// Without raw-socket rights and without the service, a connect to another
// host fails at once, saying why (no OMX_VERBOSE needed).
func TestNoNetworkPathFailsAtOnce(t *testing.T) {
	needSetpriv(t)
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tl := build(t)
	a, b := n.Hosts[0], n.Hosts[1]
	openToNobody(a)
	prog, args := asNobody(tl.perf, "-d", b.Hostname+":0")
	start := time.Now()
	res := a.Run(t, 60*time.Second, nil, prog, args...)
	took := time.Since(start)
	if res.ExitCode == 0 || took > 10*time.Second {
		t.Fatalf("omx_perf without a network path: exit %d after %v\n%s", res.ExitCode, took, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "no network path") || !strings.Contains(res.Stderr, "CAP_NET_RAW") {
		t.Fatalf("the failure does not say why:\n%s", res.Stderr)
	}
	t.Logf("failed after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(res.Stderr))
}

// perfLine runs omx_perf from a to b (server started on b) for one size
// and returns the half round trip (µs) and the bandwidth (MB/s).
func perfLine(tb testing.TB, a, b *nettest.Host, perf string, nobodyRun, wait bool, size, iter int) (float64, float64) {
	tb.Helper()
	wrap := func(args ...string) (string, []string) {
		if wait {
			args = append(args, "-w")
		}
		if nobodyRun {
			return asNobody(perf, args...)
		}
		return perf, args
	}
	prog, args := wrap()
	srv := b.Start(tb, nil, prog, args...)
	time.Sleep(300 * time.Millisecond)
	prog, args = wrap("-d", b.Hostname+":0", "-S", fmt.Sprint(size), "-E", fmt.Sprint(size+1), "-N", fmt.Sprint(iter), "-W", "10")
	res := a.Run(tb, 120*time.Second, nil, prog, args...)
	srv.Wait(10 * time.Second)
	var us, mbs float64
	for _, l := range strings.Split(res.Stdout, "\n") {
		if _, err := fmt.Sscanf(strings.TrimSpace(l), "length %d: %f us %f MB/s", new(int), &us, &mbs); err == nil {
			return us, mbs
		}
	}
	tb.Fatalf("omx_perf %d B: exit %d\n%s\n%s", size, res.ExitCode, res.Stdout, res.Stderr)
	return 0, 0
}

// BenchmarkBackendVsDirect compares omx_perf through the node service (as
// nobody) with the direct path (as root) in the same run: 0 B half round
// trip and 4 MiB bandwidth (the aims: at most 2 µs more, at least 0.8×).
func BenchmarkBackendVsDirect(b *testing.B) {
	if os.Getuid() != 0 {
		b.Skip("needs root for network namespaces")
	}
	n := nettest.New(b, nettest.Options{Hosts: 2})
	tl := buildTB(b)
	ha, hb := n.Hosts[0], n.Hosts[1]
	serviceTB(b, ha, tl)
	serviceTB(b, hb, tl)
	for i := 0; i < b.N; i++ {
		dLat, _ := perfLine(b, ha, hb, tl.perf, false, false, 0, 20000)
		bLat, _ := perfLine(b, ha, hb, tl.perf, true, false, 0, 20000)
		dLatW, _ := perfLine(b, ha, hb, tl.perf, false, true, 0, 5000)
		bLatW, _ := perfLine(b, ha, hb, tl.perf, true, true, 0, 5000)
		_, dBW := perfLine(b, ha, hb, tl.perf, false, false, 4<<20, 50)
		_, bBW := perfLine(b, ha, hb, tl.perf, true, false, 4<<20, 50)
		b.ReportMetric(dLat, "direct-0B-us")
		b.ReportMetric(bLat, "backend-0B-us")
		b.ReportMetric(dLatW, "direct-0B-wait-us")
		b.ReportMetric(bLatW, "backend-0B-wait-us")
		b.ReportMetric(dBW, "direct-4MiB-MB/s")
		b.ReportMetric(bBW, "backend-4MiB-MB/s")
		b.Logf("0 B polling: direct %.2f µs, backend %.2f µs (+%.2f); 0 B blocking (-w): direct %.2f µs, backend %.2f µs (+%.2f)",
			dLat, bLat, bLat-dLat, dLatW, bLatW, bLatW-dLatW)
		b.Logf("4 MiB: direct %.0f MB/s, backend %.0f MB/s (%.2f×)", dBW, bBW, bBW/dBW)
	}
}

// A board whose access list does not name the user is refused to it, with
// a message naming the list; another user of the list gets it.
func TestBackendBoardAccess(t *testing.T) {
	needSetpriv(t)
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tl := build(t)
	a := n.Hosts[0]
	oed := service(t, a, tl, "OMX_BOARD_ACCESS="+a.IfName+":root,4242")
	sock := filepath.Join(a.RunDir, "backend.sock")
	prog, args := asNobody(tl.forge, "listen", "-socket", sock, "-if", a.IfName, "-ep", "2", "-for", "100ms")
	res := a.Run(t, 20*time.Second, nil, prog, args...)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "OMX_BOARD_ACCESS") || !strings.Contains(res.Stderr, "not allowed") {
		t.Fatalf("nobody on a board for root and uid 4242: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	res = a.Run(t, 20*time.Second, nil, "/usr/bin/setpriv", "--reuid=4242", "--regid=4242", "--clear-groups", "--inh-caps=-all",
		tl.forge, "listen", "-socket", sock, "-if", a.IfName, "-ep", "2", "-for", "100ms")
	if res.ExitCode != 0 {
		t.Fatalf("uid 4242, named in the list: exit %d\n%s%s\nlog:\n%s", res.ExitCode, res.Stdout, res.Stderr, oed.Stderr())
	}
	t.Logf("refused as expected: %s", strings.TrimSpace(lastLine(oed.Stderr())))
}

func fileIsSocket(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// The service makes a user's state directory in the node state directory
// when the user's first endpoint opens (0700, owned by the user), and the
// user's endpoints keep their state there.
func TestBackendUserDir(t *testing.T) {
	needSetpriv(t)
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tl := build(t)
	a := n.Hosts[0]
	service(t, a, tl)
	prog, args := asNobody(tl.perf)
	srv := a.Start(t, nil, prog, args...)
	dir := filepath.Join(a.RunDir, "users", nobody)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.Stdout(), "Starting receiver") {
		if time.Now().After(deadline) {
			t.Fatalf("omx_perf as nobody did not start:\n%s%s", srv.Stdout(), srv.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		t.Fatalf("no state directory of nobody: %v", err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || st.Mode().Perm() != 0o700 || sys.Uid != 65534 {
		t.Fatalf("%s: mode %v uid %d, want a 0700 directory of nobody", dir, st.Mode(), sys.Uid)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "shm"))
	if len(ents) == 0 {
		t.Fatalf("no inbox of nobody's endpoint in %s/shm", dir)
	}
	srv.Kill()
}

// A "container": a network namespace of its own with no interface but
// lo, sharing the host's node state directory (a bind mount in a real
// container; here the same file system). An application of nobody there
// gets the host's board from the node service and reaches the other host.
func TestBackendContainer(t *testing.T) {
	needSetpriv(t)
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tl := build(t)
	a, b := n.Hosts[0], n.Hosts[1]
	service(t, a, tl)
	service(t, b, tl)
	ns := fmt.Sprintf("%s%d-container", nettest.Prefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", ns, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	exec.Command("ip", "-n", ns, "link", "set", "lo", "up").Run()
	prog, args := asNobody(tl.perf)
	srv := b.Start(t, nil, prog, args...)
	time.Sleep(300 * time.Millisecond)
	prog, args = asNobody(tl.perf, "-d", b.Hostname+":0", "-V", "-S", "0", "-E", "1048577", "-N", "2")
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, prog}, args...)...)
	cmd.Env = append(os.Environ(), a.Env()...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "1048576") {
			t.Fatalf("omx_perf in the container: %v\n%s\n%s\nserver: %s", err, out.String(), errb.String(), srv.Stderr())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("omx_perf in the container hangs:\n%s\n%s", out.String(), errb.String())
	}
	t.Logf("from a network namespace without interfaces, through the service: %s", lastLine(out.String()))
}
