package nettest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

const etherOMX = 0x86DF

// linkInfo is what `ip -j link show` says about an interface.
type linkInfo struct {
	IfName    string   `json:"ifname"`
	MTU       int      `json:"mtu"`
	Address   string   `json:"address"`
	Flags     []string `json:"flags"`
	OperState string   `json:"operstate"`
}

func links(t *testing.T, ns string) map[string]linkInfo {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-j", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip -n %s link show: %v", ns, err)
	}
	var ls []linkInfo
	if err := json.Unmarshal(out, &ls); err != nil {
		t.Fatalf("parsing ip -j output: %v\n%s", err, out)
	}
	m := map[string]linkInfo{}
	for _, l := range ls {
		m[l.IfName] = l
	}
	return m
}

// netnsList returns the names `ip netns list` prints.
func netnsList(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// testFrame is an Open-MX-typed frame of size bytes from src to dst carrying
// seq at offset 16 and a pattern derived from seq after it.
func testFrame(dst, src [6]byte, seq uint32, size int) []byte {
	payload := make([]byte, size-14)
	payload[0], payload[1] = 0xff, 0xff // no peer index
	binary.BigEndian.PutUint32(payload[2:], seq)
	for i := 6; i < len(payload); i++ {
		payload[i] = byte(uint32(i)*31 + seq)
	}
	return Frame(dst, src, etherOMX, payload)
}

func recvOne(t *testing.T, c *RawConn, timeout time.Duration) []byte {
	t.Helper()
	buf := make([]byte, 65536)
	n, err := c.Recv(buf, timeout)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return buf[:n]
}

func expectNothing(t *testing.T, c *RawConn, what string) {
	t.Helper()
	buf := make([]byte, 65536)
	if n, err := c.Recv(buf, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("%s: got a %d-byte frame (err %v): %x", what, n, err, buf[:min(n, 64)])
	}
}

func TestNetworks(t *testing.T) {
	NeedPriv(t)
	tests := []struct {
		name  string
		hosts int
		mtu   int
	}{
		{"2 hosts MTU 9000", 2, 9000},
		{"2 hosts MTU 1500", 2, 1500},
		{"3 hosts MTU 9000", 3, 9000},
		{"3 hosts MTU 1500", 3, 1500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := New(t, Options{Hosts: tc.hosts, MTU: tc.mtu})
			checkTopology(t, n, tc.hosts, tc.mtu)
			checkPeersFile(t, n)
			checkFrames(t, n)
		})
	}
}

func checkTopology(t *testing.T, n *Net, hosts, mtu int) {
	t.Helper()
	if len(n.Hosts) != hosts || n.MTU != mtu {
		t.Fatalf("%d hosts, MTU %d; want %d, %d", len(n.Hosts), n.MTU, hosts, mtu)
	}
	listed := netnsList(t)
	names := map[string]bool{}
	macs := map[[6]byte]bool{}
	for i, h := range n.Hosts {
		if !slices.Contains(listed, h.Name) {
			t.Errorf("namespace %s missing from ip netns list %v", h.Name, listed)
		}
		if h.Index != i || h.Hostname != h.Name || h.IfName != HostIf || names[h.Name] || macs[h.MAC] {
			t.Errorf("host %d: %+v (duplicate name or MAC?)", i, h)
		}
		names[h.Name], macs[h.MAC] = true, true
		if h.MAC[0]&3 != 2 {
			t.Errorf("host %d: MAC %s is not locally administered unicast", i, FormatMAC(h.MAC))
		}
		want := fmt.Sprintf("%s%dn", Prefix, os.Getpid())
		if !strings.HasPrefix(h.Name, want) {
			t.Errorf("host %d: name %q lacks prefix %q", i, h.Name, want)
		}
		ls := links(t, h.Name)
		if len(ls) != 2 {
			t.Errorf("%s: interfaces %v, want lo and %s only", h.Name, ls, HostIf)
		}
		l := ls[HostIf]
		if l.MTU != mtu || l.Address != FormatMAC(h.MAC) || l.OperState != "UP" {
			t.Errorf("%s %s: mtu %d addr %s state %s; want %d %s UP", h.Name, HostIf, l.MTU, l.Address, l.OperState, mtu, FormatMAC(h.MAC))
		}
		if !slices.Contains(ls["lo"].Flags, "UP") {
			t.Errorf("%s: lo is down: %v", h.Name, ls["lo"].Flags)
		}
		if info, err := os.Stat(h.RunDir); err != nil || !info.IsDir() {
			t.Errorf("%s: RunDir %q: %v", h.Name, h.RunDir, err)
		}
		wantEnv := []string{"OMX_HOSTNAME=" + h.Name, "OMX_RUNDIR=" + h.RunDir, "OMX_PEERS_FILE=" + n.PeersFile, "OMX_IFNAMES=" + HostIf}
		if diff := cmp.Diff(wantEnv, h.Env()); diff != "" {
			t.Errorf("%s: Env mismatch (-want +got):\n%s", h.Name, diff)
		}
		// IPv6 is off: no autoconfiguration frames.
		err := h.Do(func() error {
			b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + HostIf + "/disable_ipv6")
			if err == nil && strings.TrimSpace(string(b)) != "1" {
				return fmt.Errorf("disable_ipv6 = %q", b)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", h.Name, err)
		}
	}
	if hosts == 2 {
		if n.Middle != "" || n.MiddleHost() != nil {
			t.Errorf("2 hosts without a fault bridge have a middle namespace %q", n.Middle)
		}
		return
	}
	if !slices.Contains(listed, n.Middle) {
		t.Errorf("middle namespace %s missing", n.Middle)
	}
	ls := links(t, n.Middle)
	for i := range hosts {
		if l := ls[Port(i)]; l.MTU != mtu || l.OperState != "UP" {
			t.Errorf("%s %s: %+v; want MTU %d and UP", n.Middle, Port(i), l, mtu)
		}
	}
	if l := ls[BridgeIf]; l.MTU != mtu || !slices.Contains(l.Flags, "UP") {
		t.Errorf("%s %s: %+v", n.Middle, BridgeIf, l)
	}
}

func checkPeersFile(t *testing.T, n *Net) {
	t.Helper()
	b, err := os.ReadFile(n.PeersFile)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			got = append(got, l)
		}
	}
	var want []string
	for _, h := range n.Hosts {
		m := h.MAC
		want = append(want, fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x %s:0", m[0], m[1], m[2], m[3], m[4], m[5], h.Hostname))
		if h.PeersFile != n.PeersFile {
			t.Errorf("%s: PeersFile %q, want %q", h.Name, h.PeersFile, n.PeersFile)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("peers file mismatch (-want +got):\n%s", diff)
	}
	// The format of spec/tools.md §5.1: "<mac> <hostname>", hex bytes.
	for _, l := range got {
		f := strings.Fields(l)
		if len(f) != 2 || len(strings.Split(f[0], ":")) != 6 || !strings.HasSuffix(f[1], ":0") || len(f[1]) > 79 {
			t.Errorf("peers line %q does not follow the peers file format", l)
		}
	}
}

// checkFrames sends raw 0x86DF frames: unicast between every pair, the
// largest frame the MTU allows, a frame too large for it, and a broadcast.
func checkFrames(t *testing.T, n *Net) {
	t.Helper()
	all := n.Hosts[0].OpenRaw(t, 0)
	conns := make([]*RawConn, len(n.Hosts))
	for i, h := range n.Hosts {
		conns[i] = h.OpenRaw(t, etherOMX)
		if conns[i].MAC != h.MAC {
			t.Fatalf("RawConn MAC %x, want %x", conns[i].MAC, h.MAC)
		}
	}
	seq := uint32(0)
	for i, src := range n.Hosts {
		for j, dst := range n.Hosts {
			if i == j {
				continue
			}
			for _, size := range []int{60, 1000, n.MTU + 14} {
				seq++
				f := testFrame(dst.MAC, src.MAC, seq, size)
				if err := conns[i].Send(f); err != nil {
					t.Fatalf("%s -> %s, %d bytes: %v", src.Name, dst.Name, size, err)
				}
				if got := recvOne(t, conns[j], 2*time.Second); !bytes.Equal(got, f) {
					t.Fatalf("%s -> %s, %d bytes: received %d bytes, differing", src.Name, dst.Name, size, len(got))
				}
			}
		}
	}
	// One byte over the MTU does not leave the host.
	big := testFrame(n.Hosts[1].MAC, n.Hosts[0].MAC, 999, n.MTU+15)
	if err := conns[0].Send(big); !errors.Is(err, unix.EMSGSIZE) {
		t.Errorf("sending %d bytes over MTU %d: err %v, want EMSGSIZE", len(big), n.MTU, err)
	}
	expectNothing(t, conns[1], "oversized frame")
	// Broadcast reaches every other host.
	bc := testFrame(Broadcast, n.Hosts[1].MAC, 1000, 64)
	if err := conns[1].Send(bc); err != nil {
		t.Fatal(err)
	}
	for k, c := range conns {
		if k == 1 {
			expectNothing(t, c, "own broadcast")
			continue
		}
		if got := recvOne(t, c, 2*time.Second); !bytes.Equal(got, bc) {
			t.Errorf("%s: broadcast differs: %x", n.Hosts[k].Name, got)
		}
	}
	// Nothing else reached any host: unicast went only to its destination,
	// never looped back, and the wire is quiet (IPv6 off, no addresses).
	for k, c := range conns {
		expectNothing(t, c, "stray frame at "+n.Hosts[k].Name)
	}
	// Host 0 saw, of any EtherType, only the test frames sent to it.
	if got, want := all.Drain(), 3*(len(n.Hosts)-1)+1; got != want {
		t.Errorf("%s received %d frames of any EtherType, want the %d test frames", n.Hosts[0].Name, got, want)
	}
}

func TestCommands(t *testing.T) {
	n := New(t, Options{Hosts: 2, MTU: 1500})
	h := n.Hosts[1]
	r := h.MustRun(t, 10*time.Second, []string{"EXTRA=x", "OMX_IFNAMES=override"}, "sh", "-c",
		`echo "$OMX_HOSTNAME|$OMX_RUNDIR|$OMX_PEERS_FILE|$OMX_IFNAMES|$EXTRA"; cat /sys/class/net/veth0/address /sys/class/net/veth0/mtu; ls /sys/class/net`)
	want := fmt.Sprintf("%s|%s|%s|override|x\n%s\n1500\nlo\nveth0\n", h.Name, h.RunDir, n.PeersFile, FormatMAC(h.MAC))
	if r.Stdout != want {
		t.Errorf("output in %s:\n%s\nwant:\n%s", h.Name, r.Stdout, want)
	}
	if r := h.Run(t, 10*time.Second, nil, "sh", "-c", "echo oops >&2; exit 3"); r.ExitCode != 3 || r.Stderr != "oops\n" {
		t.Errorf("exit code and stderr: %+v", r)
	}

	// A background process runs in the host's namespace, and its pid is
	// the program's own (ip netns exec does not fork).
	p := h.Start(t, nil, "sh", "-c", "echo started; exec sleep 60")
	waitFor(t, func() bool { return p.Stdout() == "started\n" })
	nsLink, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", p.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(netnsDir, h.Name), &st); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("net:[%d]", st.Ino); nsLink != want {
		t.Errorf("process %d is in %s, want %s", p.Pid(), nsLink, want)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r := p.Wait(10 * time.Second); r.ExitCode != -1 || r.Stdout != "started\n" {
		t.Errorf("terminated process: %+v", r)
	}
	if p.Stdout() != "started\n" {
		t.Errorf("Stdout() = %q", p.Stdout())
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signal after exit: %v", err)
	}

	q := n.Hosts[0].Start(t, nil, "sh", "-c", "exit 4")
	if r := q.Wait(10 * time.Second); r.ExitCode != 4 {
		t.Errorf("exit 4: %+v", r)
	}
}

func TestCleanup(t *testing.T) {
	NeedPriv(t)
	var names []string
	var pid int
	var dirs []string
	t.Run("net", func(t *testing.T) {
		n := New(t, Options{Hosts: 3, MTU: 1500})
		names = n.Namespaces()
		if len(names) != 4 {
			t.Fatalf("namespaces %v, want 3 hosts and the middle", names)
		}
		// Left running on purpose: cleanup must stop it.
		pid = n.Hosts[2].Start(t, nil, "sleep", "60").Pid()
		for _, h := range n.Hosts {
			dirs = append(dirs, h.RunDir)
		}
		dirs = append(dirs, filepath.Dir(n.PeersFile))
	})
	if t.Failed() || pid <= 0 {
		t.Fatal("network setup failed")
	}
	listed := netnsList(t)
	for _, ns := range names {
		if slices.Contains(listed, ns) {
			t.Errorf("namespace %s still exists after cleanup", ns)
		}
	}
	if err := unix.Kill(pid, 0); err != unix.ESRCH {
		t.Errorf("process %d still exists after cleanup (%v)", pid, err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists (%v)", d, err)
		}
	}
}

func TestCleanStale(t *testing.T) {
	NeedPriv(t)
	// A pid that is certainly dead: a child we started and reaped. (The
	// kernel does not reuse it in the next moments.)
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	dead := c.Process.Pid
	stale := fmt.Sprintf("%s%dn1h0", Prefix, dead)
	alive := fmt.Sprintf("%s%dn77h0", Prefix, os.Getppid()) // the go command: alive
	for _, ns := range []string{stale, alive} {
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", ns).Run() })
	}
	if out, err := exec.Command("ip", "-n", stale, "link", "add", "x0", "type", "veth", "peer", "name", "x1").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-faultbridge-x", Prefix, dead))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CleanStale(); err != nil {
		t.Fatal(err)
	}
	listed := netnsList(t)
	if slices.Contains(listed, stale) {
		t.Errorf("stale namespace %s not removed", stale)
	}
	if !slices.Contains(listed, alive) {
		t.Errorf("namespace %s of a live process removed", alive)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("stale directory %s not removed (%v)", dir, err)
	}
	for _, name := range []string{"omxt", "omxtn1", "omxt12", "omxtx1n", "other123n1", fmt.Sprintf("%s%dn1", Prefix, os.Getpid())} {
		if stalePid(name) {
			t.Errorf("stalePid(%q) = true", name)
		}
	}
	if !stalePid(stale) || !stalePid(filepath.Base(dir)) {
		t.Errorf("stalePid misses %s or %s", stale, filepath.Base(dir))
	}
}

func TestOptionsErrors(t *testing.T) {
	NeedPriv(t)
	for _, opt := range []Options{
		{Hosts: 0},
		{Hosts: MaxHosts + 1},
		{Hosts: 2, MTU: 20},
		{Hosts: 3, Bridge: &BridgeConfig{}},
	} {
		ft := &fatalRecorder{TB: t}
		func() {
			defer func() { _ = recover() }()
			New(ft, opt)
		}()
		if !ft.failed {
			t.Errorf("New(%+v) accepted bad options", opt)
		}
	}
}

// fatalRecorder turns Fatalf into a recorded failure and a panic the caller
// recovers, so a test can check that New rejects options.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.failed = true
	panic(fmt.Sprintf(format, args...))
}
