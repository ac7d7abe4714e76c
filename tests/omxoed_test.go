package tests

// Network tests of omxoed (spec/tools.md §6, spec/wire.md §6.5–6.6, §4.7):
// hosts in network namespaces each run the node service; discovery fills
// every host's published peer table, host names resolve, connects to
// closed endpoints are refused at once, a second instance refuses to start
// and SIGTERM stops the service cleanly.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// oedTools builds tools/<name> for each name into one temporary directory
// of t and returns that directory.
func oedTools(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range names {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), "./tools/"+name)
		cmd.Dir = testlib.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	return dir
}

// oedEnv hides the static peers file: only discovery may fill the table.
func oedEnv(h *nettest.Host) []string {
	return []string{"OMX_PEERS_FILE=" + filepath.Join(h.RunDir, "no-static-peers")}
}

// oedStart starts omxoed on h, logging into its run directory.
func oedStart(t *testing.T, h *nettest.Host, bin string) *nettest.Proc {
	t.Helper()
	return h.Start(t, oedEnv(h), bin, "-v", "-l", filepath.Join(h.RunDir, "omxoed.log"))
}

// oedLog returns h's omxoed log.
func oedLog(h *nettest.Host) string {
	b, _ := os.ReadFile(filepath.Join(h.RunDir, "omxoed.log"))
	return string(b)
}

// oedWaitTable waits until h's published peer table holds want (nic id ->
// host name) exactly, names included.
func oedWaitTable(t *testing.T, h *nettest.Host, want map[uint64]string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got []node.Peer
	for {
		got, _, _ = node.ReadPeerTable(h.RunDir)
		if len(got) == len(want) {
			ok := true
			for _, p := range got {
				if name, found := want[p.NICID]; !found || name != p.Hostname {
					ok = false
				}
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: published peer table after %v: %v, want %v\nlog:\n%s", h.Name, within, got, want, oedLog(h))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOmxoedDiscoveryNackShutdown(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 3})
	bin := filepath.Join(oedTools(t, "omxoed"), "omxoed")
	want := map[uint64]string{}
	for _, h := range n.Hosts {
		want[h.NICID()] = h.Hostname + ":0"
	}
	procs := make([]*nettest.Proc, len(n.Hosts))
	start := time.Now()
	for i, h := range n.Hosts {
		procs[i] = oedStart(t, h, bin)
	}
	for _, h := range n.Hosts {
		oedWaitTable(t, h, want, 10*time.Second)
	}
	t.Logf("every table complete, names resolved, after %v", time.Since(start))
	for i, h := range n.Hosts {
		if pid := oedPid(h); pid != procs[i].Pid() {
			t.Errorf("%s: pid file holds %d, omxoed is %d", h.Name, pid, procs[i].Pid())
		}
		if !strings.Contains(oedLog(h), "Now managing 1 NICs...") {
			t.Errorf("%s: log lacks the start message:\n%s", h.Name, oedLog(h))
		}
	}

	t.Run("omx_info lists every host", func(t *testing.T) {
		info := filepath.Join(oedTools(t, "omx_info"), "omx_info")
		for _, h := range n.Hosts {
			res := h.MustRun(t, 20*time.Second, oedEnv(h), info)
			if strings.Contains(res.Stdout, "not configured") {
				t.Errorf("%s: omx_info says the peer table is not configured:\n%s", h.Name, res.Stdout)
			}
			for _, o := range n.Hosts {
				if !strings.Contains(res.Stdout, " "+o.Hostname+":0") {
					t.Errorf("%s: omx_info does not list %s:\n%s", h.Name, o.Hostname, res.Stdout)
				}
			}
		}
	})

	t.Run("renamed board resolves across hosts", func(t *testing.T) {
		tools := oedTools(t, "omx_hostname")
		a, b := n.Hosts[0], n.Hosts[1]
		newName := a.Hostname + "-renamed:0"
		a.MustRun(t, 10*time.Second, oedEnv(a), filepath.Join(tools, "omx_hostname"), "-n", newName)
		// b forgets its peers' names: its omxoed asks them again.
		b.MustRun(t, 10*time.Second, oedEnv(b), filepath.Join(tools, "omx_hostname"), "-c")
		want2 := map[uint64]string{}
		for k, v := range want {
			want2[k] = v
		}
		want2[a.NICID()] = newName
		oedWaitTable(t, b, want2, 15*time.Second)
		testlib.Lib(t)
		prog := testlib.CompileC(t, "oed_connect", []string{filepath.Join(testlib.Root(), "tests", "c", "oed_connect.c")})
		// A connect by the new name resolves (endpoint 7 is not open: 33).
		res := b.Run(t, 30*time.Second, oedEnv(b), prog, newName, "7", "10000", "mx")
		if f := strings.Fields(res.Stdout); len(f) != 3 || f[0] != "result" || f[1] != "33" {
			t.Errorf("connect to %s from %s: exit %d\n%s\n%s", newName, b.Name, res.ExitCode, res.Stdout, res.Stderr)
		}
		a.MustRun(t, 10*time.Second, oedEnv(a), filepath.Join(tools, "omx_hostname"), "-n", a.Hostname+":0")
		b.MustRun(t, 10*time.Second, oedEnv(b), filepath.Join(tools, "omx_hostname"), "-c")
		oedWaitTable(t, b, want, 15*time.Second)
	})

	t.Run("second instance refused", func(t *testing.T) {
		h := n.Hosts[0]
		res := h.Run(t, 10*time.Second, oedEnv(h), bin, "-f")
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, "another omxoed is running") ||
			!strings.Contains(res.Stderr, "pid "+strconv.Itoa(procs[0].Pid())) {
			t.Errorf("second omxoed: exit %d, stderr %q; want exit 1 naming pid %d", res.ExitCode, res.Stderr, procs[0].Pid())
		}
		select {
		case <-procs[0].Done():
			t.Fatal("the first omxoed died")
		default:
		}
	})

	t.Run("library resolves names", func(t *testing.T) {
		testlib.Lib(t)
		prog := testlib.CompileC(t, "oed_connect", []string{filepath.Join(testlib.Root(), "tests", "c", "oed_connect.c")})
		a, b := n.Hosts[0], n.Hosts[1]
		// Endpoint 7 of b is not open: b's omxoed refuses the connect.
		for _, api := range []struct {
			arg  string
			code int
		}{{"omx", 33}, {"mx", 33}} { // OMX_REMOTE_ENDPOINT_CLOSED, MX_CONNECTION_FAILED
			res := a.Run(t, 30*time.Second, oedEnv(a), prog, b.Hostname+":0", "7", "10000", api.arg)
			f := strings.Fields(res.Stdout)
			if res.ExitCode != 0 || len(f) != 3 || f[0] != "result" {
				t.Fatalf("%s connect: exit %d\n%s\n%s", api.arg, res.ExitCode, res.Stdout, res.Stderr)
			}
			code, _ := strconv.Atoi(f[1])
			ms, _ := strconv.ParseFloat(f[2], 64)
			if code != api.code || ms > 1000 {
				t.Errorf("%s connect to a closed endpoint: code %d after %v ms, want %d within 1000 ms\nlog of %s:\n%s",
					api.arg, code, ms, api.code, b.Name, oedLog(b))
			}
		}
	})

	t.Run("open endpoint not refused", func(t *testing.T) {
		testlib.Lib(t)
		prog := testlib.CompileC(t, "oed_connect", []string{filepath.Join(testlib.Root(), "tests", "c", "oed_connect.c")})
		holder := testlib.CompileTestC(t, "holder")
		a, b := n.Hosts[0], n.Hosts[1]
		hp := b.Start(t, oedEnv(b), holder, "7", "hold")
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(hp.Stdout(), "open 0 7") {
			if time.Now().After(deadline) {
				t.Fatalf("holder: %q %q", hp.Stdout(), hp.Stderr())
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)                                                               // omxoed's filter follows the registry
		res := a.Run(t, 30*time.Second, oedEnv(a), prog, b.Hostname+":0", "7", "10000", "omx", "0x1234") // holder's key
		if f := strings.Fields(res.Stdout); len(f) != 3 || f[1] != "0" {
			t.Errorf("connect to an open endpoint: %q %q, want result 0\nlog:\n%s", res.Stdout, res.Stderr, oedLog(b))
		}
		hp.Kill()
		hp.Wait(10 * time.Second)
		time.Sleep(300 * time.Millisecond)
		res = a.Run(t, 30*time.Second, oedEnv(a), prog, b.Hostname+":0", "7", "10000")
		if f := strings.Fields(res.Stdout); len(f) != 3 || f[1] != "33" {
			t.Errorf("connect to the endpoint after its holder died: %q %q, want result 33", res.Stdout, res.Stderr)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		h := n.Hosts[2]
		if err := procs[2].Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		res := procs[2].Wait(10 * time.Second)
		if res.ExitCode != 0 {
			t.Errorf("omxoed after SIGTERM: exit %d\n%s", res.ExitCode, res.Stderr)
		}
		if _, err := os.Stat(filepath.Join(h.RunDir, "omxoed.pid")); !os.IsNotExist(err) {
			t.Errorf("pid file still there after SIGTERM: %v", err)
		}
		if !strings.Contains(oedLog(h), "Exiting on signal terminated") {
			t.Errorf("log lacks the exit message:\n%s", oedLog(h))
		}
		reg, err := node.OpenRegistry(h.RunDir)
		if err != nil {
			t.Fatal(err)
		}
		if infos, _ := reg.List(); len(infos) != 0 {
			t.Errorf("registry still lists %v after SIGTERM", infos)
		}
		// Without omxoed on the target, the same connect is not refused:
		// it times out (OMX_TIMEOUT, 30).
		testlib.Lib(t)
		prog := testlib.CompileC(t, "oed_connect", []string{filepath.Join(testlib.Root(), "tests", "c", "oed_connect.c")})
		a := n.Hosts[0]
		res = a.Run(t, 30*time.Second, oedEnv(a), prog, h.Hostname+":0", "7", "1500")
		if f := strings.Fields(res.Stdout); len(f) != 3 || f[1] != "30" {
			t.Errorf("connect to a host without omxoed: %q %q, want result 30 (OMX_TIMEOUT)", res.Stdout, res.Stderr)
		}
		// tools.md §6: peers are never removed: the other hosts keep the
		// stopped host in their tables (and its name).
		for _, o := range n.Hosts[:2] {
			oedWaitTable(t, o, want, time.Second)
		}
		// It can start again at once.
		p := oedStart(t, h, bin)
		oedWaitPid(t, h, p.Pid())
		p.Signal(syscall.SIGTERM)
		if res := p.Wait(10 * time.Second); res.ExitCode != 0 {
			t.Errorf("restarted omxoed after SIGTERM: exit %d", res.ExitCode)
		}
	})
}

// oedPid returns the pid recorded in h's omxoed pid file, 0 if none.
func oedPid(h *nettest.Host) int {
	b, err := os.ReadFile(filepath.Join(h.RunDir, "omxoed.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// oedWaitPid waits until h's pid file names pid.
func oedWaitPid(t *testing.T, h *nettest.Host, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for oedPid(h) != pid {
		if time.Now().After(deadline) {
			t.Fatalf("%s: pid file never named %d:\n%s", h.Name, pid, oedLog(h))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOmxInitDynamic: omx_init starts omxoed on every host, reports it,
// restarts it and stops it.
func TestOmxInitDynamic(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 1500})
	// omxoed next to omx_init, where omx_init looks first.
	bin := filepath.Join(oedTools(t, "omxoed", "omx_init"), "omx_init")
	env := func(h *nettest.Host) []string {
		return append(oedEnv(h), "OMX_CONFIG=/nonexistent", "OMX_DISCOVERY_LOG="+filepath.Join(h.RunDir, "omxoed.log"))
	}
	want := map[uint64]string{}
	pids := map[string]int{}
	for _, h := range n.Hosts {
		want[h.NICID()] = h.Hostname + ":0"
		res := h.Run(t, 30*time.Second, env(h), bin, "start")
		if res.ExitCode != 0 {
			t.Fatalf("%s: omx_init start: exit %d\n%s\n%s", h.Name, res.ExitCode, res.Stdout, res.Stderr)
		}
		board := fmt.Sprintf(" Board #0: %s addr %s MTU 1500\n", h.IfName, nettest.FormatMAC(h.MAC))
		if !strings.Contains(res.Stdout, board) || !strings.Contains(res.Stdout, "Starting the dynamic peer discovery (") ||
			!strings.Contains(res.Stderr, "MTU 1500 is below 9000") {
			t.Errorf("%s: omx_init start output:\n%s\n%s", h.Name, res.Stdout, res.Stderr)
		}
		pids[h.Name] = oedPid(h)
		if !strings.Contains(res.Stdout, fmt.Sprintf("Started as pid=%d\n", pids[h.Name])) {
			t.Errorf("%s: start does not report the pid %d of omxoed:\n%s", h.Name, pids[h.Name], res.Stdout)
		}
	}
	for _, h := range n.Hosts {
		oedWaitTable(t, h, want, 10*time.Second)
	}
	h := n.Hosts[0]
	res := h.Run(t, 30*time.Second, env(h), bin, "status")
	if !strings.Contains(res.Stdout, "Open-MX user-space stack is started\n") ||
		!strings.Contains(res.Stdout, fmt.Sprintf(" Discovery: omxoed pid=%d running\n", pids[h.Name])) ||
		!strings.Contains(res.Stdout, " Interfaces: "+h.IfName+"\n") {
		t.Errorf("status:\n%s\n%s", res.Stdout, res.Stderr)
	}
	res = h.Run(t, 30*time.Second, env(h), bin, "restart-discovery")
	newPid := oedPid(h)
	if res.ExitCode != 0 || newPid == pids[h.Name] || newPid == 0 ||
		!strings.Contains(res.Stdout, fmt.Sprintf("Killing the dynamic peer discovery (omxoed, pid=%d)\n", pids[h.Name])) {
		t.Errorf("restart-discovery: exit %d, pid %d -> %d\n%s\n%s", res.ExitCode, pids[h.Name], newPid, res.Stdout, res.Stderr)
	}
	for _, h := range n.Hosts {
		pid := oedPid(h)
		res := h.Run(t, 30*time.Second, env(h), bin, "stop")
		if res.ExitCode != 0 || !strings.Contains(res.Stdout, fmt.Sprintf("Killing the dynamic peer discovery (omxoed, pid=%d)\n", pid)) {
			t.Errorf("%s: stop: exit %d\n%s\n%s", h.Name, res.ExitCode, res.Stdout, res.Stderr)
		}
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s: omxoed %d still runs after stop", h.Name, pid)
		}
		if _, err := os.Stat(filepath.Join(h.RunDir, "omxoed.pid")); !os.IsNotExist(err) {
			t.Errorf("%s: omxoed pid file left after stop: %v", h.Name, err)
		}
		if res := h.Run(t, 30*time.Second, env(h), bin, "status"); res.Stdout != "Open-MX user-space stack is not started\n" {
			t.Errorf("%s: status after stop: %q", h.Name, res.Stdout)
		}
	}
}
