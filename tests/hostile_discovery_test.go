package tests

// Attacks on discovery and host names from a second namespace (issue 9
// §4): a host of the segment floods omxoed with announcements of random
// nic ids, of nic ids that are not their source address and of fake peers
// that repeat themselves, and forges HOST_REPLY frames to rename peers,
// both of omxoed's published table and of a library endpoint. The forger
// is the attacker's raw socket and the engine/wire encoders.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine/wire"
	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// Bounds of omxoed's discovery (tools/omxoed/discovery.go), as the tests
// check them.
const (
	discNamelessMax = 128 // discovered peers waiting for their names
	discAdmitBurst  = 32  // admitted at once
	discAdmitPerSec = 4   // then per second
)

// discMAC returns a random unicast, locally administered address.
func discMAC(r *rand.Rand) [6]byte {
	var m [6]byte
	v := r.Uint64()
	for i := range m {
		m[i] = byte(v >> (8 * i))
	}
	m[0] = 0x0a
	return m
}

// discAnnounce encodes an announcement of nic from src.
func discAnnounce(t *testing.T, src [6]byte, nic uint64, serial uint32) []byte {
	t.Helper()
	f := make([]byte, 64)
	if _, err := (&wire.Discovery{NICID: nic, Serial: serial}).Encode(f, wire.Head{Dst: wire.BroadcastMAC, Src: src}, wire.Mode{}); err != nil {
		t.Fatal(err)
	}
	return f
}

// discHostReply encodes a HOST_REPLY from src to dst.
func discHostReply(t *testing.T, dst, src [6]byte, magic uint32, name string) []byte {
	t.Helper()
	f := make([]byte, 200)
	rep := wire.HostReply{SrcDstPeerIndex: 0, Magic: magic, Hostname: name}
	n, err := rep.Encode(f, wire.Head{Dst: dst, Src: src, PeerIndex: wire.UnknownPeerIndex}, wire.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	return f[:n]
}

// discTable returns h's published peer table as nic id -> name.
func discTable(h *nettest.Host) map[uint64]string {
	peers, _, _ := node.ReadPeerTable(h.RunDir)
	m := make(map[uint64]string, len(peers))
	for _, p := range peers {
		m[p.NICID] = p.Hostname
	}
	return m
}

// discWaitName waits until h's published table names nic name.
func discWaitName(t *testing.T, h *nettest.Host, nic uint64, name string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if got, ok := discTable(h)[nic]; ok && got == name {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: %s not published as %q after %v: table %v\nlog:\n%s", h.Name, node.FormatMAC(nic), name, within, discTable(h), oedLog(h))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// discFlood sends frames from c at about rate frames per second for d,
// taking them from next; it returns how many it sent.
func discFlood(t *testing.T, c *nettest.RawConn, rate int, d time.Duration, next func(i int) []byte) int {
	t.Helper()
	const tick = 10 * time.Millisecond
	per := max(1, rate*int(tick)/int(time.Second))
	sent := 0
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for range per {
			if err := c.Send(next(sent)); err != nil {
				t.Fatalf("forger: %v", err)
			}
			sent++
		}
		time.Sleep(tick)
	}
	return sent
}

// TestHostileDiscoveryFlood: announcements of thousands of random nic ids
// (each once, and repeated), of nic ids that are not the frame's source,
// keep the victim's published table bounded; the mismatched ones never
// appear; honest hosts get in during the flood of random ids and right
// after the flood of repeating fakes; the victim's log stays short.
func TestHostileDiscoveryFlood(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 4})
	victim, honest, late, atk := n.Hosts[0], n.Hosts[1], n.Hosts[2], n.Hosts[3]
	bin := filepath.Join(testlib.Root(), "build", "bin", "omxoed")
	if _, err := os.Stat(bin); err != nil {
		bin = filepath.Join(oedTools(t, "omxoed"), "omxoed")
	}
	vp := oedStart(t, victim, bin)
	discWaitName(t, victim, victim.NICID(), victim.Hostname+":0", 10*time.Second)
	raw := atk.OpenRaw(t, 0x86DF)
	r := rand.New(rand.NewPCG(9, 4))

	mismatched := map[uint64]bool{}
	var mu sync.Mutex
	mismatch := func() []byte {
		src, nic := discMAC(r), wire.NICIDFromMAC(discMAC(r))
		switch r.IntN(4) {
		case 0:
			nic = honest.NICID() // an honest host's id from another address
		case 1:
			nic = late.NICID()
		}
		mu.Lock()
		mismatched[nic] = true
		mu.Unlock()
		return discAnnounce(t, src, nic, r.Uint32())
	}
	// checkTable samples the victim's table during the floods.
	stopCheck := make(chan struct{})
	checked := make(chan int)
	biggest := 0
	go func() {
		defer close(checked)
		for {
			tab := discTable(victim)
			biggest = max(biggest, len(tab))
			mu.Lock()
			for nic := range tab {
				if mismatched[nic] && nic != honest.NICID() && nic != late.NICID() {
					t.Errorf("mismatched announcement of %s published", node.FormatMAC(nic))
				}
			}
			mu.Unlock()
			if len(tab) > 4+discNamelessMax {
				t.Errorf("victim's table holds %d peers, want at most %d", len(tab), 4+discNamelessMax)
			}
			select {
			case <-stopCheck:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	// Phase 1: random ids, each announced once from its own address, and
	// mismatched ones; the honest host starts during it and gets in.
	hp := oedStart(t, honest, bin)
	start := time.Now()
	sent := 0
	honestIn := make(chan time.Duration, 1)
	go func() {
		for time.Since(start) < 10*time.Second {
			if discTable(victim)[honest.NICID()] == honest.Hostname+":0" {
				honestIn <- time.Since(start)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		honestIn <- -1
	}()
	sent += discFlood(t, raw, 20000, 4*time.Second, func(i int) []byte {
		if i%2 == 0 {
			m := discMAC(r)
			return discAnnounce(t, m, wire.NICIDFromMAC(m), r.Uint32())
		}
		return mismatch()
	})
	if d := <-honestIn; d < 0 {
		t.Errorf("the honest host did not get in during the flood of random ids: table %v", discTable(victim))
	} else {
		t.Logf("phase 1: %d frames; honest host published (named) %v after it started, during the flood", sent, d.Round(time.Millisecond))
	}
	if tab := discTable(victim); len(tab) != 2 {
		t.Errorf("after the flood of random ids, the victim's table has %d peers, want 2: %v", len(tab), tab)
	}

	// Phase 2: fake peers that announce themselves twice (admitted at the
	// rate limit, evicted since they never answer), and mismatched ones; a
	// second honest host starts during it.
	lp := oedStart(t, late, bin)
	fakes := 0
	var fake [6]byte
	start2 := time.Now()
	sent = discFlood(t, raw, 20000, 4*time.Second, func(i int) []byte {
		switch i % 3 {
		case 0:
			fake = discMAC(r)
			fakes++
			return discAnnounce(t, fake, wire.NICIDFromMAC(fake), 1)
		case 1:
			return discAnnounce(t, fake, wire.NICIDFromMAC(fake), 1)
		}
		return mismatch()
	})
	flood := time.Since(start2)
	tab := discTable(victim)
	maxFakes := discAdmitBurst + discAdmitPerSec*int(flood/time.Second+2)
	t.Logf("phase 2: %d frames, %d fake peers announced twice; victim's table: %d peers", sent, fakes, len(tab))
	if len(tab) > 3+maxFakes {
		t.Errorf("victim's table has %d peers after %v of flood: admissions not rate-limited (want at most %d)", len(tab), flood, 3+maxFakes)
	}
	d := discWaitName(t, victim, late.NICID(), late.Hostname+":0", 15*time.Second)
	t.Logf("second honest host published (named) %v after the flood stopped", d.Round(time.Millisecond))
	close(stopCheck)
	<-checked
	t.Logf("largest victim table seen: %d peers", biggest)
	if got := discTable(victim)[honest.NICID()]; got != honest.Hostname+":0" {
		t.Errorf("first honest host's entry: %q", got)
	}
	discWaitName(t, honest, victim.NICID(), victim.Hostname+":0", 5*time.Second)
	discWaitName(t, late, victim.NICID(), victim.Hostname+":0", 5*time.Second)

	// The victim survived, and said little about the refused frames.
	select {
	case <-vp.Done():
		t.Fatalf("omxoed died:\n%s", oedLog(victim))
	default:
	}
	logText := oedLog(victim)
	for _, what := range []string{"the nic id is not the source address", "new peer"} {
		if c := strings.Count(logText, what); c > 6 {
			t.Errorf("%d log lines with %q in about 10 s, want at most 1 per 10 s (and a few found lines)", c, what)
		}
	}
	if c := strings.Count(logText, "\n"); c > 120 {
		t.Errorf("victim's log has %d lines after the floods:\n%s", c, logText)
	}
	t.Logf("victim's log: %d lines", strings.Count(logText, "\n"))
	for _, p := range []*nettest.Proc{hp, lp} {
		p.Kill()
	}
}

// discNamesSrc is a program holding an endpoint that prints, every 100 ms,
// the names its library knows for the nic ids given: "names a|b|..." ("-"
// for none).
const discNamesSrc = `#include <myriexpress.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	mx_endpoint_t ep;
	int i, round;
	mx_set_error_handler(MX_ERRORS_RETURN);
	if (mx_init() != MX_SUCCESS || mx_open_endpoint(0, MX_ANY_ENDPOINT, 0x1234, NULL, 0, &ep) != MX_SUCCESS) {
		fprintf(stderr, "FAIL: cannot open an endpoint\n");
		return 1;
	}
	for (round = 0; round < 600; round++) {
		printf("names");
		for (i = 1; i < argc; i++) {
			char name[80];
			memset(name, 0, sizeof(name));
			if (mx_nic_id_to_hostname(strtoull(argv[i], NULL, 0), name) != MX_SUCCESS || name[0] == 0)
				strcpy(name, "-");
			printf("%c%s", i == 1 ? ' ' : '|', name);
		}
		printf("\n");
		fflush(stdout);
		usleep(100000);
	}
	mx_close_endpoint(ep);
	mx_finalize();
	return 0;
}
`

// discNames returns the names of the last complete line of a discNamesSrc
// program.
func discNames(p *nettest.Proc) []string {
	lines := strings.Split(p.Stdout(), "\n")
	for i := len(lines) - 2; i >= 0; i-- {
		if rest, ok := strings.CutPrefix(lines[i], "names "); ok {
			return strings.Split(rest, "|")
		}
	}
	return nil
}

// TestHostileDiscoveryHostReply: forged HOST_REPLY frames, with the source
// address of a peer named by the peers file and of a nameless peer, rename
// neither in omxoed's published table nor in a library endpoint; the
// answer to a query (echoing its magic, as only a host that sees the query
// can) is taken, which shows the forged frames did arrive.
func TestHostileDiscoveryHostReply(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 3})
	victim, honest, atk := n.Hosts[0], n.Hosts[1], n.Hosts[2]
	bin := filepath.Join(testlib.Root(), "build", "bin", "omxoed")
	if _, err := os.Stat(bin); err != nil {
		bin = filepath.Join(oedTools(t, "omxoed"), "omxoed")
	}
	raw := atk.OpenRaw(t, 0x86DF)
	r := rand.New(rand.NewPCG(5, 6))
	ghost := discMAC(r) // a nameless peer that does not exist
	ghostNIC := wire.NICIDFromMAC(ghost)

	// Part 1, omxoed: the honest host is named by discovery, the ghost is
	// admitted (announced twice) and stays nameless.
	oedStart(t, victim, bin)
	hp := oedStart(t, honest, bin)
	discWaitName(t, victim, honest.NICID(), honest.Hostname+":0", 10*time.Second)
	for range 2 {
		if err := raw.Send(discAnnounce(t, ghost, ghostNIC, 77)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	discWaitName(t, victim, ghostNIC, "", 5*time.Second)
	t.Logf("omxoed: %s named %q, ghost %s published without a name", node.FormatMAC(honest.NICID()), honest.Hostname+":0", node.FormatMAC(ghostNIC))
	raw.Drain()
	forge := func(src [6]byte, name string, count int) {
		for i := range count {
			magic := uint32(wire.HostQueryMagic)
			if i%2 == 1 {
				magic = r.Uint32()
			}
			if err := raw.Send(discHostReply(t, victim.MAC, src, magic, name)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	forge(honest.MAC, "evil-honest:0", 100)
	forge(ghost, "evil-ghost:0", 100)
	time.Sleep(300 * time.Millisecond)
	tab := discTable(victim)
	if tab[honest.NICID()] != honest.Hostname+":0" || tab[ghostNIC] != "" {
		t.Fatalf("forged host replies renamed peers of omxoed's table: honest %q, ghost %q\nlog:\n%s", tab[honest.NICID()], tab[ghostNIC], oedLog(victim))
	}
	logText := oedLog(victim)
	unsolicited, magic := strings.Count(logText, "we did not ask it"), strings.Count(logText, "not the magic of our query")
	if unsolicited < 1 || magic < 1 || unsolicited > 2 || magic > 2 {
		t.Errorf("log lines about refused replies: %d unsolicited, %d wrong magic; want 1 or 2 each (rate-limited):\n%s", unsolicited, magic, logText)
	}
	t.Logf("omxoed: 200 forged replies refused, %d+%d log lines", unsolicited, magic)
	// Control: answering the victim's query to the ghost (seen on the wire)
	// names it.
	discAnswerQuery(t, raw, victim, ghost, "ghost:0")
	discWaitName(t, victim, ghostNIC, "ghost:0", 8*time.Second)
	t.Log("omxoed: the answer to its own query is taken")

	// Part 2, a library endpoint of the honest host (its omxoed stopped):
	// the victim host is named by the peers file, a second ghost is in the
	// published table without a name.
	hostTwo := honest
	hp.Signal(syscall.SIGTERM)
	if res := hp.Wait(10 * time.Second); res.ExitCode != 0 {
		t.Fatalf("omxoed of %s: exit %d", hostTwo.Name, res.ExitCode)
	}
	ghost2 := discMAC(r)
	ghost2NIC := wire.NICIDFromMAC(ghost2)
	if err := node.WritePeerTable(hostTwo.RunDir, []node.Peer{{NICID: ghost2NIC}}); err != nil {
		t.Fatal(err)
	}
	testlib.Lib(t)
	src := filepath.Join(t.TempDir(), "disc_names.c")
	if err := os.WriteFile(src, []byte(discNamesSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := testlib.CompileC(t, "disc_names", []string{src})
	app := hostTwo.Start(t, nil, prog, fmt.Sprint(victim.NICID()), fmt.Sprint(ghost2NIC))
	want := []string{victim.Hostname + ":0", "-"}
	deadline := time.Now().Add(10 * time.Second)
	for fmt.Sprint(discNames(app)) != fmt.Sprint(want) {
		if time.Now().After(deadline) {
			t.Fatalf("library names %v, want %v\n%s", discNames(app), want, app.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Its first host query to the ghost: the library asks, and the bridge
	// knows the host's port again (part 1 forged its address).
	raw.Drain()
	discSeeQuery(t, raw, hostTwo, ghost2)
	forgeTo := func(src [6]byte, name string, count int) {
		for i := range count {
			magic := uint32(wire.HostQueryMagic)
			if i%2 == 1 {
				magic = r.Uint32()
			}
			if err := raw.Send(discHostReply(t, hostTwo.MAC, src, magic, name)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	forgeTo(victim.MAC, "evil-victim:0", 100)
	forgeTo(ghost2, "evil-ghost2:0", 100)
	time.Sleep(300 * time.Millisecond)
	if got := discNames(app); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("forged host replies renamed peers of the library: %v, want %v", got, want)
	}
	t.Log("library: 200 forged replies refused")
	discAnswerQuery(t, raw, hostTwo, ghost2, "ghost2:0")
	want[1] = "ghost2:0"
	deadline = time.Now().Add(5 * time.Second)
	for fmt.Sprint(discNames(app)) != fmt.Sprint(want) {
		if time.Now().After(deadline) {
			t.Fatalf("the answer to the library's query was not taken: %v, want %v", discNames(app), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Log("library: the answer to its own query is taken")
}

// discSeeQuery waits (up to 7 s) for a host query from h to the address
// as and returns its magic.
func discSeeQuery(t *testing.T, raw *nettest.RawConn, h *nettest.Host, as [6]byte) uint32 {
	t.Helper()
	buf := make([]byte, 9100)
	deadline := time.Now().Add(7 * time.Second)
	for time.Now().Before(deadline) {
		k, err := raw.Recv(buf, time.Until(deadline))
		if err != nil {
			break
		}
		hd, q, err := wire.DecodeHostQuery(buf[:k], wire.Mode{})
		if err == nil && hd.Dst == as && hd.Src == h.MAC {
			return q.Magic
		}
	}
	t.Fatalf("no host query from %s to %s seen", h.Name, nettest.FormatMAC(as))
	return 0
}

// discAnswerQuery waits for the next host query from h to the address as,
// as a host that sees it would, and answers it at once with name (a query
// queued earlier may have expired, or been replaced by a newer one).
func discAnswerQuery(t *testing.T, raw *nettest.RawConn, h *nettest.Host, as [6]byte, name string) {
	t.Helper()
	raw.Drain()
	magic := discSeeQuery(t, raw, h, as)
	if err := raw.Send(discHostReply(t, h.MAC, as, magic, name)); err != nil {
		t.Fatal(err)
	}
}
