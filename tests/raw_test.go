package tests

// The raw API of mx_raw.h between two hosts (network namespaces joined by
// veth): the omxoed discovery broadcast and a unicast reply, send
// completions, one raw endpoint per board across processes, timeouts, the
// peer table and board host name a mapper writes, and bad handles. The C
// side is tests/c/raw.c.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// rawWaitOutput waits until p has printed line on stdout.
func rawWaitOutput(t *testing.T, p *nettest.Proc, line string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.Stdout(), line+"\n") {
		select {
		case <-p.Done():
			r := p.Wait(0)
			t.Fatalf("exited (%d) before printing %q\nstdout:\n%s\nstderr:\n%s", r.ExitCode, line, r.Stdout, r.Stderr)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q after 20s\nstdout:\n%s\nstderr:\n%s", line, p.Stdout(), p.Stderr())
		}
	}
}

func rawNIC(h *nettest.Host) string { return fmt.Sprintf("%#x", h.NICID()) }

func TestRawNet(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000})
	bin := testlib.CompileTestC(t, "raw")
	a, b := n.Hosts[0], n.Hosts[1]

	t.Run("discovery", func(t *testing.T) {
		lis := b.Start(t, nil, bin, "listen", rawNIC(a))
		rawWaitOutput(t, lis, "ready")
		res := a.Run(t, time.Minute, nil, bin, "announce", rawNIC(b))
		lres := lis.Wait(30 * time.Second)
		if res.ExitCode != 0 || lres.ExitCode != 0 {
			t.Fatalf("announce exit %d, listen exit %d\nannounce:\n%s%s\nlisten:\n%s%s",
				res.ExitCode, lres.ExitCode, res.Stdout, res.Stderr, lres.Stdout, lres.Stderr)
		}
		m := regexp.MustCompile(`(?m)^reply (\d+)$`).FindStringSubmatch(res.Stdout)
		if m == nil {
			t.Fatalf("announce output:\n%s", res.Stdout)
		}
		// The listener read two broadcasts before it replied.
		if sends, _ := strconv.Atoi(m[1]); sends < 2 {
			t.Errorf("reply after %d broadcasts, want at least 2", sends)
		}
		if !strings.Contains(lres.Stdout, "replied\n") {
			t.Errorf("listen output:\n%s", lres.Stdout)
		}
	})

	t.Run("busy", func(t *testing.T) {
		holder := a.Start(t, nil, bin, "hold")
		rawWaitOutput(t, holder, "held")
		a.MustRun(t, time.Minute, nil, bin, "open-busy")
		// The slot file says who holds it.
		info, err := os.ReadFile(filepath.Join(a.RunDir, node.EndpointsDir, a.IfName+".raw"))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("pid=%d\n", holder.Pid()); !strings.Contains(string(info), want) || !strings.Contains(string(info), "index=raw\n") {
			t.Errorf("raw slot file does not name the holder (%s):\n%s", want, info)
		}
		// The other host's board is another board.
		b.MustRun(t, time.Minute, nil, bin, "open-ok")
		// A holder killed outright frees the board.
		holder.Kill()
		holder.Wait(10 * time.Second)
		a.MustRun(t, time.Minute, nil, bin, "open-ok")
	})

	t.Run("timeout", func(t *testing.T) {
		res := a.MustRun(t, time.Minute, nil, bin, "timeout")
		if !strings.HasPrefix(res.Stdout, "waited ") {
			t.Errorf("timeout output:\n%s", res.Stdout)
		}
	})

	t.Run("peers", func(t *testing.T) {
		const (
			nicX, nicY, nameY = 0x02aa00000001, 0x02aa00000002, "mapped-y:0"
		)
		nameB := "renamed-b:0"
		a.MustRun(t, time.Minute, nil, bin, "misc", fmt.Sprintf("%#x", nicX), fmt.Sprintf("%#x", nicY), nameY,
			rawNIC(b), nameB, "host-a-renamed:0")
		// The published table: X without a name, Y and B with theirs.
		peers, _, err := node.ReadPeerTable(a.RunDir)
		if err != nil {
			t.Fatal(err)
		}
		want := []node.Peer{{NICID: nicX}, {NICID: nicY, Hostname: nameY}, {NICID: b.NICID(), Hostname: nameB}}
		if diff := cmp.Diff(want, peers); diff != "" {
			t.Errorf("published peer table mismatch (-want +got):\n%s", diff)
		}
		// A new process finds the names (the published table overrides
		// the peers file for B).
		a.MustRun(t, time.Minute, nil, bin, "lookup", nameY, fmt.Sprintf("%#x", nicY))
		a.MustRun(t, time.Minute, nil, bin, "lookup", nameB, rawNIC(b))
		// The board's new name is recorded for later libraries.
		name, err := os.ReadFile(filepath.Join(a.RunDir, "hostname."+a.IfName))
		if err != nil || string(name) != "host-a-renamed:0\n" {
			t.Errorf("board host name file: %q, %v", name, err)
		}
		// Host B's tables are its own.
		if _, _, err := node.ReadPeerTable(b.RunDir); err == nil {
			t.Error("host B has a published peer table")
		}
	})

	t.Run("bad_handles", func(t *testing.T) {
		res := a.MustRun(t, time.Minute, nil, bin, "bad-handles")
		if !strings.Contains(res.Stdout, "bad handles ok\n") {
			t.Errorf("output:\n%s", res.Stdout)
		}
	})
}

// TestRawLoopback: the loopback board has no raw Ethernet access.
func TestRawLoopback(t *testing.T) {
	bin := testlib.CompileTestC(t, "raw")
	env := append(testlib.CEnv(t), "OMX_IFNAMES=lo")
	testlib.MustRun(t, time.Minute, env, bin, "no-driver")
}
