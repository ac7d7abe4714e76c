package nettest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

const (
	// Prefix starts the name of every namespace and temporary directory this
	// package makes: "omxt<pid>n<net>h<host>" for hosts, "omxt<pid>n<net>m"
	// for the middle namespace, "omxt<pid>-..." for directories.
	Prefix = "omxt"
	// HostIf is the name of a host's interface inside its namespace.
	HostIf = "veth0"
	// BridgeIf is the Linux bridge in the middle namespace (3+ hosts).
	BridgeIf = "br0"
	// MaxHosts bounds Options.Hosts (one MAC byte per host).
	MaxHosts = 64

	netnsDir = "/run/netns"
)

// Options describe a network. The zero value is not valid: set Hosts.
type Options struct {
	// Hosts is the number of hosts, 1..MaxHosts.
	Hosts int
	// MTU of every veth (and bridge); 0 means 9000.
	MTU int
	// Bridge, when not nil, puts the fault bridge between the two hosts
	// (Hosts must be 2). When nil, 2 hosts share one veth pair and any other
	// number is joined by a Linux bridge in a middle namespace.
	Bridge *BridgeConfig
}

// Net is a running test network. Its fields are read-only.
type Net struct {
	Hosts []*Host
	// Middle is the middle namespace ("" when the hosts are joined
	// directly); its interface towards host i is Port(i).
	Middle string
	MTU    int
	// PeersFile lists every host (the file each Host.PeersFile names).
	PeersFile string

	t      testing.TB
	id     int
	mu     sync.Mutex
	netns  []string // created so far, deleted at cleanup
	bridge *Bridge
}

// Host is one namespace of a Net. Its fields are read-only.
type Host struct {
	Index int
	// Name is the namespace, unique on the machine; also the host name.
	Name string
	// Hostname is the OMX_HOSTNAME value (board host names are
	// "<Hostname>:<board>").
	Hostname string
	// IfName is the host's interface (HostIf), its only board.
	IfName string
	// MAC is IfName's address, 02:6f:6d:<net>:<net>:<host index>: the same
	// for the same network of a test binary on every run.
	MAC [6]byte
	// RunDir is the host's node state directory (OMX_RUNDIR), a temporary
	// directory.
	RunDir string
	// PeersFile is the static peers file (OMX_PEERS_FILE) naming every host
	// of the Net as "<MAC> <Hostname>:0", in host order.
	PeersFile string

	net *Net
}

var (
	nextNet   atomic.Int32
	staleOnce sync.Once
)

// New builds a network for t and registers its removal with t.Cleanup. It
// skips (testlib.Skip) when not root or when ip is missing, and fails t on
// any other setup error.
func New(t testing.TB, opt Options) *Net {
	t.Helper()
	NeedPriv(t)
	if opt.MTU == 0 {
		opt.MTU = 9000
	}
	switch {
	case opt.Hosts < 1 || opt.Hosts > MaxHosts:
		t.Fatalf("nettest: %d hosts: want 1..%d", opt.Hosts, MaxHosts)
	case opt.MTU < 68 || opt.MTU > 65535:
		t.Fatalf("nettest: MTU %d out of range", opt.MTU)
	case opt.Bridge != nil && opt.Hosts != 2:
		t.Fatalf("nettest: the fault bridge joins exactly 2 hosts, not %d", opt.Hosts)
	}
	staleOnce.Do(func() {
		if err := CleanStale(); err != nil {
			t.Logf("nettest: removing leftovers of dead test binaries: %v", err)
		}
	})

	id := int(nextNet.Add(1))
	prefix := fmt.Sprintf("%s%dn%d", Prefix, os.Getpid(), id)
	n := &Net{MTU: opt.MTU, t: t, id: id}
	t.Cleanup(n.destroy)

	dir := t.TempDir()
	n.PeersFile = filepath.Join(dir, "peers")
	var peers strings.Builder
	peers.WriteString("# open-mx-go test network " + prefix + "\n")
	for i := range opt.Hosts {
		name := fmt.Sprintf("%sh%d", prefix, i)
		h := &Host{
			Index: i, Name: name, Hostname: name, IfName: HostIf,
			MAC:    hostMAC(id, i),
			RunDir: t.TempDir(), PeersFile: n.PeersFile, net: n,
		}
		n.Hosts = append(n.Hosts, h)
		fmt.Fprintf(&peers, "%s %s:0\n", FormatMAC(h.MAC), h.Hostname)
	}
	if err := os.WriteFile(n.PeersFile, []byte(peers.String()), 0o644); err != nil {
		t.Fatalf("nettest: %v", err)
	}

	for _, h := range n.Hosts {
		n.addNetns(h.Name)
	}
	direct := opt.Hosts == 2 && opt.Bridge == nil
	if !direct {
		n.Middle = prefix + "m"
		n.addNetns(n.Middle)
	}

	mtu := strconv.Itoa(opt.MTU)
	if direct {
		h0, h1 := n.Hosts[0], n.Hosts[1]
		n.mustIP("link", "add", "name", HostIf, "address", FormatMAC(h0.MAC), "mtu", mtu, "netns", h0.Name,
			"type", "veth", "peer", "name", HostIf, "address", FormatMAC(h1.MAC), "mtu", mtu, "netns", h1.Name)
	} else {
		for i, h := range n.Hosts {
			n.mustIP("link", "add", "name", HostIf, "address", FormatMAC(h.MAC), "mtu", mtu, "netns", h.Name,
				"type", "veth", "peer", "name", Port(i), "address", FormatMAC(portMAC(id, i)), "mtu", mtu, "netns", n.Middle)
		}
	}
	for _, h := range n.Hosts {
		n.mustIP("-n", h.Name, "link", "set", "lo", "up")
		n.mustIP("-n", h.Name, "link", "set", HostIf, "up")
	}
	switch {
	case opt.Bridge != nil:
		for i := range n.Hosts {
			n.mustIP("-n", n.Middle, "link", "set", Port(i), "up")
		}
	case !direct:
		n.linuxBridge()
	}
	// Until the kernel has seen the carrier (link watch), a veth's queue
	// discards what is sent: wait for every end to be operationally up.
	for _, h := range n.Hosts {
		n.waitUp(h.Name, HostIf)
		if !direct {
			n.waitUp(n.Middle, Port(h.Index))
		}
	}
	if opt.Bridge != nil {
		n.bridge = startBridge(t, n, *opt.Bridge)
	}
	return n
}

// waitUp waits until ifname in ns has operational state UP.
func (n *Net) waitUp(ns, ifname string) {
	n.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := n.mustIP("-n", ns, "-j", "link", "show", "dev", ifname)
		var ls []struct {
			OperState string `json:"operstate"`
		}
		if err := json.Unmarshal(out, &ls); err != nil || len(ls) != 1 {
			n.t.Fatalf("nettest: parsing ip -j link show: %v\n%s", err, out)
		}
		if ls[0].OperState == "UP" {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("nettest: %s in %s is %s after 5s, want UP", ifname, ns, ls[0].OperState)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Port is the middle namespace's interface towards host i.
func Port(i int) string { return "p" + strconv.Itoa(i) }

// Bridge returns the fault bridge, or nil when the network has none.
func (n *Net) Bridge() *Bridge { return n.bridge }

// MiddleHost returns the middle namespace as a Host (nil when the hosts are
// joined directly), to run programs or Do there. It has no MAC, interface
// or Open-MX environment (Env returns nil).
func (n *Net) MiddleHost() *Host {
	if n.Middle == "" {
		return nil
	}
	return &Host{Index: -1, Name: n.Middle, net: n}
}

// Namespaces lists the namespaces of n (hosts first, then the middle one).
func (n *Net) Namespaces() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.netns...)
}

// Env returns the Open-MX environment of h: OMX_HOSTNAME, OMX_RUNDIR,
// OMX_PEERS_FILE and OMX_IFNAMES.
func (h *Host) Env() []string {
	if h.Hostname == "" {
		return nil
	}
	return []string{
		"OMX_HOSTNAME=" + h.Hostname,
		"OMX_RUNDIR=" + h.RunDir,
		"OMX_PEERS_FILE=" + h.PeersFile,
		"OMX_IFNAMES=" + h.IfName,
	}
}

// NICID is h's board 0 nic_id: its MAC as a 48-bit integer, first byte in
// the most significant position.
func (h *Host) NICID() uint64 {
	var v uint64
	for _, b := range h.MAC {
		v = v<<8 | uint64(b)
	}
	return v
}

func hostMAC(id, i int) [6]byte { return [6]byte{0x02, 0x6f, 0x6d, byte(id >> 8), byte(id), byte(i)} }

// portMAC is the MAC of the middle namespace's port towards host i.
func portMAC(id, i int) [6]byte {
	return [6]byte{0x02, 0x6f, 0x6d, byte(id >> 8), byte(id), 0x80 | byte(i)}
}

// FormatMAC writes m as six colon-separated lower-case hex bytes.
func FormatMAC(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// NeedPriv skips t (testlib.Skip) unless the process can build networks:
// root and iproute2's ip.
func NeedPriv(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testlib.Skip(t, "network tests need CAP_SYS_ADMIN, CAP_NET_ADMIN and CAP_NET_RAW to create namespaces and veths: run as root")
	}
	if _, err := ip(); err != nil {
		testlib.Skip(t, "network tests need iproute2's ip: "+err.Error())
	}
}

// ip returns the path of iproute2's ip.
var ip = sync.OnceValues(func() (string, error) {
	for _, p := range []string{"ip", "/usr/sbin/ip", "/sbin/ip"} {
		if q, err := exec.LookPath(p); err == nil {
			return q, nil
		}
	}
	return "", errors.New("ip not found in PATH, /usr/sbin or /sbin")
})

// runIP runs ip with args and returns its combined output.
func runIP(args ...string) ([]byte, error) {
	p, err := ip()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(p, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

func (n *Net) mustIP(args ...string) []byte {
	n.t.Helper()
	out, err := runIP(args...)
	if err != nil {
		n.t.Fatalf("nettest: %v", err)
	}
	return out
}

// addNetns creates a namespace, remembers it for cleanup and quiets it:
// IPv6 off (no autoconfiguration frames on the wire).
func (n *Net) addNetns(name string) {
	n.t.Helper()
	if out, err := runIP("netns", "add", name); err != nil {
		if bytes.Contains(out, []byte("not permitted")) || bytes.Contains(out, []byte("Permission denied")) {
			testlib.Skip(n.t, "cannot create network namespaces (needs CAP_SYS_ADMIN): "+err.Error())
		}
		n.t.Fatalf("nettest: %v", err)
	}
	n.mu.Lock()
	n.netns = append(n.netns, name)
	n.mu.Unlock()
	err := doInNetns(name, func() error {
		if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
			return nil // no IPv6 in this kernel
		}
		for _, k := range []string{"all", "default"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+k+"/disable_ipv6", []byte("1"), 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		n.t.Fatalf("nettest: disabling IPv6 in %s: %v", name, err)
	}
}

// linuxBridge joins the ports of the middle namespace with a bridge that
// forwards at once (no STP, no forward delay) and knows every host's port
// in advance (static FDB entries), so unicast frames are never flooded.
// Multicast snooping is off: with it the bridge device itself sends IGMP
// reports (all-snoopers group) onto the test wire.
func (n *Net) linuxBridge() {
	n.t.Helper()
	m := n.Middle
	n.mustIP("-n", m, "link", "add", BridgeIf, "mtu", strconv.Itoa(n.MTU), "type", "bridge", "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0")
	for i := range n.Hosts {
		n.mustIP("-n", m, "link", "set", Port(i), "master", BridgeIf)
		n.mustIP("-n", m, "link", "set", Port(i), "up")
	}
	n.mustIP("-n", m, "link", "set", BridgeIf, "up")
	if br, err := exec.LookPath("bridge"); err == nil {
		for i, h := range n.Hosts {
			if out, err := exec.Command(br, "-n", m, "fdb", "replace", FormatMAC(h.MAC), "dev", Port(i), "master", "static").CombinedOutput(); err != nil {
				n.t.Fatalf("nettest: bridge fdb add: %v: %s", err, out)
			}
		}
	}
	// Ports normally forward as soon as they are up; wait for it anyway.
	deadline := time.Now().Add(5 * time.Second)
	for {
		states, err := n.portStates()
		if err != nil {
			n.t.Fatalf("nettest: %v", err)
		}
		ready := len(states) == len(n.Hosts)
		for _, s := range states {
			ready = ready && s == "forwarding"
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("nettest: bridge ports of %s not forwarding after 5s: %v", m, states)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// portStates returns the STP state of each bridge port of the middle
// namespace, by interface name.
func (n *Net) portStates() (map[string]string, error) {
	out, err := runIP("-n", n.Middle, "-d", "-j", "link", "show", "master", BridgeIf)
	if err != nil {
		return nil, err
	}
	var links []struct {
		IfName   string `json:"ifname"`
		LinkInfo struct {
			SlaveData struct {
				State string `json:"state"`
			} `json:"info_slave_data"`
		} `json:"linkinfo"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return nil, fmt.Errorf("parsing ip -j link: %v", err)
	}
	states := map[string]string{}
	for _, l := range links {
		states[l.IfName] = l.LinkInfo.SlaveData.State
	}
	return states, nil
}

// destroy stops the bridge and every process left in the namespaces, then
// deletes the namespaces.
func (n *Net) destroy() {
	if n.bridge != nil {
		n.bridge.stop()
	}
	for _, ns := range n.Namespaces() {
		if err := deleteNetns(ns); err != nil {
			n.t.Errorf("nettest: %v", err)
		}
	}
}

// deleteNetns kills the processes still inside ns (all started by the
// tests), then deletes it. Deleting a namespace destroys its veths and their
// peers.
func deleteNetns(ns string) error {
	if out, err := runIP("netns", "pids", ns); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
	}
	_, err := runIP("netns", "delete", ns)
	return err
}

// CleanStale removes the namespaces and temporary directories left by test
// binaries that are no longer running (names "omxt<pid>..." whose pid is
// dead). New calls it once per test binary.
func CleanStale() error {
	var errs []error
	if ents, err := os.ReadDir(netnsDir); err == nil {
		for _, e := range ents {
			if stalePid(e.Name()) {
				if err := deleteNetns(e.Name()); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if ents, err := os.ReadDir(os.TempDir()); err == nil {
		for _, e := range ents {
			if e.IsDir() && stalePid(e.Name()) {
				if err := os.RemoveAll(filepath.Join(os.TempDir(), e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// stalePid reports whether name is "omxt<pid>n..." or "omxt<pid>-..." for a
// pid that is not this process and not alive.
func stalePid(name string) bool {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end <= 0 || (rest[end] != 'n' && rest[end] != '-') {
		return false
	}
	pid, err := strconv.Atoi(rest[:end])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	err = unix.Kill(pid, 0)
	return err == unix.ESRCH
}
