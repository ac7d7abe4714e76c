//go:build linux

package afpacket

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// needRoot skips (or fails under OMX_TEST_REQUIRE_PRIV=1) unless the test
// can create namespaces and raw sockets.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testlib.Skip(t, "needs root (CAP_NET_ADMIN for network namespaces and veth, CAP_NET_RAW for AF_PACKET): run as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testlib.Skip(t, "needs the ip command (iproute2) to create network namespaces")
	}
}

var nsCounter atomic.Int32

// pair is two network namespaces joined by a veth pair.
type pair struct {
	nsA, nsB string // namespace names (ip netns)
	ifA, ifB string // interface names, ifA in nsA, ifB in nsB
}

func ipCmd(t testing.TB, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newPair creates two namespaces joined by a veth pair of the given MTU,
// both ends up, and deletes them when the test ends. Names carry the pid
// and a counter so parallel test binaries never collide; nothing outside
// the two namespaces is touched.
func newPair(t testing.TB, mtu int) pair {
	t.Helper()
	needRoot(t)
	id := fmt.Sprintf("%d%c", os.Getpid(), 'a'+nsCounter.Add(1)-1)
	p := pair{
		nsA: "omxlink" + id + "A", nsB: "omxlink" + id + "B",
		ifA: "omxl" + id + "a", ifB: "omxl" + id + "b",
	}
	if len(p.ifA) > 15 {
		t.Fatalf("interface name %q too long", p.ifA)
	}
	for _, ns := range []string{p.nsA, p.nsB} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
			}
		})
	}
	// Created straight inside the namespaces; deleting them deletes it.
	ipCmd(t, "link", "add", p.ifA, "netns", p.nsA, "type", "veth", "peer", "name", p.ifB, "netns", p.nsB)
	ipCmd(t, "-n", p.nsA, "link", "set", p.ifA, "mtu", fmt.Sprint(mtu), "up")
	ipCmd(t, "-n", p.nsB, "link", "set", p.ifB, "mtu", fmt.Sprint(mtu), "up")
	// Until the kernel's link watcher has seen the carrier (up to a
	// second), the interfaces' queueing discipline drops every frame;
	// the operational state turns UP at the same time.
	deadline := time.Now().Add(10 * time.Second)
	for _, end := range [][2]string{{p.nsA, p.ifA}, {p.nsB, p.ifB}} {
		for {
			out, err := exec.Command("ip", "-n", end[0], "-o", "link", "show", "dev", end[1]).CombinedOutput()
			if err != nil {
				t.Fatalf("ip -n %s link show %s: %v\n%s", end[0], end[1], err, out)
			}
			if strings.Contains(string(out), " state UP ") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not come up: %s", end[1], out)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return p
}

// inNetns runs f on an OS thread that has joined namespace ns. Sockets
// created by f stay in ns for their lifetime, wherever they are used from.
// If the thread cannot return to its namespace it is discarded.
func inNetns(t testing.TB, ns string, f func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread dies with this goroutine.
			errc <- fmt.Errorf("setns back: %w", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// openIn opens a link in namespace ns and closes it when the test ends.
func openIn(t testing.TB, ns string, cfg Config) *packetLink {
	t.Helper()
	var l *packetLink
	var err error
	inNetns(t, ns, func() {
		var ll any
		ll, err = Open(cfg)
		if err == nil {
			l = ll.(*packetLink)
		}
	})
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
