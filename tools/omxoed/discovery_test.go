//go:build linux

package main

import (
	"bytes"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const (
	ownNIC    = 0x02000000aa01
	honestNIC = 0x02000000bb01
)

var t0 = time.Unix(100000, 0)

// fakeNIC returns a random unicast, locally administered nic id.
func fakeNIC(r *rand.Rand) uint64 {
	return (r.Uint64()&0xfcffffffffff | 0x020000000000) & (1<<48 - 1)
}

// twice announces nic twice at now, as a sender repeating itself would.
func twice(d *discovery, nic uint64, now time.Time) verdict {
	d.announce(nic, nic, 1, false, now)
	return d.announce(nic, nic, 1, false, now)
}

func TestAnnounceMismatch(t *testing.T) {
	d := newDiscovery([]uint64{ownNIC}, t0)
	for i := range 10 {
		if v := d.announce(honestNIC+1, honestNIC, 1, false, t0.Add(time.Duration(i)*time.Second)); v != annMismatch {
			t.Fatalf("announcement %d of a nic id that is not its source: verdict %d", i, v)
		}
	}
	if len(d.peers) != 0 || d.discovered != 0 {
		t.Fatalf("mismatched announcements left %d peers", len(d.peers))
	}
	if v := d.announce(ownNIC, ownNIC, 1, false, t0); v != annOwn {
		t.Errorf("own announcement: verdict %d", v)
	}
}

func TestAnnounceSecondSighting(t *testing.T) {
	d := newDiscovery([]uint64{ownNIC}, t0)
	if v := d.announce(honestNIC, honestNIC, 7, false, t0); v != annFirst {
		t.Fatalf("first sighting: verdict %d", v)
	}
	if v := d.announce(honestNIC, honestNIC, 7, false, t0.Add(time.Second)); v != annAdmitted {
		t.Fatalf("second sighting: verdict %d", v)
	}
	if v := d.announce(honestNIC, honestNIC, 7, false, t0.Add(2*time.Second)); v != annKnown {
		t.Fatalf("third sighting: verdict %d", v)
	}
	if v := d.announce(honestNIC, honestNIC, 8, false, t0.Add(3*time.Second)); v != annRestarted {
		t.Fatalf("new serial: verdict %d", v)
	}
	// Too far apart: the second sighting counts as a first one.
	late := uint64(honestNIC + 1)
	d.announce(late, late, 1, false, t0)
	if v := d.announce(late, late, 1, false, t0.Add(sightingWindow)); v != annFirst {
		t.Fatalf("sightings %v apart: verdict %d", sightingWindow, v)
	}
	// A peer of the published table or of the static file is known at once.
	if v := d.announce(0x020000000c01, 0x020000000c01, 1, true, t0); v != annKnown {
		t.Errorf("published peer: verdict %d", v)
	}
	d.setStatic([]node.Peer{{NICID: 0x020000000d01, Hostname: "d:0"}})
	if v := d.announce(0x020000000d01, 0x020000000d01, 1, false, t0); v != annKnown {
		t.Errorf("static peer: verdict %d", v)
	}
}

// TestRandomFloodAdmitsNothing: 200000 random nic ids announced once each
// admit nobody, while an honest peer repeating itself every 1000 frames
// (a second at 1000 frames/s) gets in.
func TestRandomFloodAdmitsNothing(t *testing.T) {
	d := newDiscovery([]uint64{ownNIC}, t0)
	r := rand.New(rand.NewPCG(1, 2))
	now := t0
	honestIn := -1
	for i := range 200000 {
		now = now.Add(time.Millisecond)
		nic := fakeNIC(r)
		if v := d.announce(nic, nic, r.Uint32(), false, now); v != annFirst {
			t.Fatalf("random announcement %d: verdict %d", i, v)
		}
		if i%1000 == 0 && honestIn < 0 && i/1000 < burstCount {
			if d.announce(honestNIC, honestNIC, 5, false, now) == annAdmitted {
				honestIn = i / 1000
			}
		}
	}
	if honestIn < 0 {
		t.Fatal("the honest peer was not admitted by its 8 announcements")
	}
	if d.discovered != 1 {
		t.Fatalf("%d discovered peers, want the honest one alone", d.discovered)
	}
	t.Logf("honest peer admitted at its announcement %d", honestIn+1)
}

// TestAdmissionRate: a flood of peers announcing themselves twice is
// admitted admitBurst at once, then one per admitEvery; no more than
// namelessMax wait for their names; after the flood an honest peer gets in
// on its second announcement.
func TestAdmissionRate(t *testing.T) {
	d := newDiscovery([]uint64{ownNIC}, t0)
	r := rand.New(rand.NewPCG(3, 4))
	admitted, limited, evicted := 0, 0, 0
	for range 1000 {
		switch twice(d, fakeNIC(r), t0) {
		case annAdmitted:
			admitted++
			evicted += len(d.lastEvicts)
		case annRateLimited:
			limited++
		}
	}
	if admitted != admitBurst || limited != 1000-admitBurst {
		t.Fatalf("at once: %d admitted, %d rate-limited; want %d", admitted, limited, admitBurst)
	}
	// 60 s of flood at 1000 peers/s.
	now := t0
	for step := range 60000 {
		now = now.Add(time.Millisecond)
		if twice(d, fakeNIC(r), now) == annAdmitted {
			admitted++
			evicted += len(d.lastEvicts)
		}
		if d.nameless > namelessMax || d.discovered > discoveredMax {
			t.Fatalf("step %d: %d nameless, %d discovered", step, d.nameless, d.discovered)
		}
	}
	want := admitBurst + int(60*time.Second/admitEvery)
	if admitted < want-1 || admitted > want+1 {
		t.Errorf("admitted %d in 60 s, want %d", admitted, want)
	}
	if d.nameless != namelessMax || evicted != admitted-namelessMax {
		t.Errorf("%d nameless, %d evicted; want %d, %d", d.nameless, evicted, namelessMax, admitted-namelessMax)
	}
	// The flood stops; an honest peer announces itself twice, 1 s apart.
	d.announce(honestNIC, honestNIC, 9, false, now.Add(time.Second))
	if v := d.announce(honestNIC, honestNIC, 9, false, now.Add(2*time.Second)); v != annAdmitted {
		t.Fatalf("honest peer after the flood: verdict %d", v)
	}
	if d.nameless != namelessMax {
		t.Errorf("%d nameless after the honest admission", d.nameless)
	}
}

// TestAging: discovered peers that never answer leave after
// unansweredTTL whatever they announce; those that answered stay while
// heard from; fixed peers stay.
func TestAging(t *testing.T) {
	d := newDiscovery([]uint64{ownNIC}, t0)
	quiet, talker, named := uint64(0x020000000101), uint64(0x020000000102), uint64(0x020000000103)
	static, published := uint64(0x020000000104), uint64(0x020000000105)
	d.setStatic([]node.Peer{{NICID: static, Hostname: "s:0"}})
	for _, nic := range []uint64{quiet, talker, named} {
		if v := twice(d, nic, t0); v != annAdmitted {
			t.Fatalf("%x: verdict %d", nic, v)
		}
	}
	d.announce(static, static, 1, false, t0)
	d.announce(published, published, 1, true, t0)
	d.answer(named, t0.Add(time.Second))
	if d.nameless != 2 || d.discovered != 3 {
		t.Fatalf("%d nameless, %d discovered", d.nameless, d.discovered)
	}
	for s := time.Duration(0); s < unansweredTTL; s += 10 * time.Second {
		d.announce(talker, talker, 1, false, t0.Add(s))
		d.announce(named, named, 1, false, t0.Add(s))
		if gone := d.expire(t0.Add(s)); len(gone) != 0 {
			t.Fatalf("at %v: %x aged out", s, gone)
		}
	}
	gone := d.expire(t0.Add(unansweredTTL))
	if len(gone) != 2 || !(gone[0] == quiet && gone[1] == talker || gone[0] == talker && gone[1] == quiet) {
		t.Fatalf("at %v: aged %x, want the two that never answered", unansweredTTL, gone)
	}
	// named was last heard at unansweredTTL-10s.
	last := t0.Add(unansweredTTL - 10*time.Second)
	if gone := d.expire(last.Add(silentTTL - time.Second)); len(gone) != 0 {
		t.Fatalf("aged %x before silentTTL", gone)
	}
	if gone := d.expire(last.Add(silentTTL)); len(gone) != 1 || gone[0] != named {
		t.Fatalf("after silentTTL: aged %x, want %x", gone, named)
	}
	if d.expire(t0.Add(time.Hour)) != nil || d.discovered != 0 || d.nameless != 0 {
		t.Fatalf("fixed peers aged, or counts wrong: %d %d", d.discovered, d.nameless)
	}
	if _, ok := d.peers[static]; !ok {
		t.Error("static peer forgotten")
	}
	if _, ok := d.peers[published]; !ok {
		t.Error("published peer forgotten")
	}
}

// TestDiscoveredMax: when every discovered peer answered, new ones are
// refused (none is evicted).
func TestDiscoveredMax(t *testing.T) {
	d := newDiscovery(nil, t0)
	now := t0
	for i := range discoveredMax {
		now = now.Add(admitEvery)
		nic := uint64(0x020000100000 + i)
		if v := twice(d, nic, now); v != annAdmitted {
			t.Fatalf("peer %d: verdict %d", i, v)
		}
		d.answer(nic, now)
	}
	now = now.Add(time.Minute)
	if v := twice(d, honestNIC, now); v != annFull {
		t.Fatalf("with %d answered peers: verdict %d", discoveredMax, v)
	}
	// One leaves: there is room again.
	d.forget(0x020000100000)
	if v := d.announce(honestNIC, honestNIC, 1, false, now); v != annAdmitted {
		t.Fatalf("after a departure: verdict %d", v)
	}
}

// TestSyncAndAdopt: nameless entries left in the published table are
// adopted as discovered and age; entries removed by another writer are
// forgotten; a name set by another writer counts as an answer.
func TestSyncAndAdopt(t *testing.T) {
	d := newDiscovery([]uint64{ownNIC}, t0)
	left, namedByOther := uint64(0x020000000201), uint64(0x020000000202)
	d.adopt([]node.Peer{{NICID: ownNIC, Hostname: "own:0"}, {NICID: left}, {NICID: 0x020000000203, Hostname: "x:0"}}, t0)
	if d.discovered != 1 {
		t.Fatalf("adopted %d", d.discovered)
	}
	twice(d, namedByOther, t0)
	d.sync([]node.Peer{{NICID: ownNIC, Hostname: "own:0"}, {NICID: namedByOther, Hostname: "n:0"}}, t0)
	if _, ok := d.peers[left]; ok || d.discovered != 1 || d.nameless != 0 {
		t.Fatalf("after sync: %v, %d discovered, %d nameless", d.peers, d.discovered, d.nameless)
	}
}

// testDaemon is a daemon with one board and no sockets, its node state
// directory in a temporary directory.
func testDaemon(t *testing.T, static []node.Peer, verbose bool) (*daemon, *board, *bytes.Buffer) {
	t.Helper()
	run := t.TempDir()
	cfg := compat.Config{RunDir: run, PeersFile: filepath.Join(run, "static-peers")}
	if static != nil {
		var s strings.Builder
		for _, p := range static {
			fmt.Fprintf(&s, "%s %s\n", node.FormatMAC(p.NICID), p.Hostname)
		}
		if err := os.WriteFile(cfg.PeersFile, []byte(s.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	d := newDaemon(cfg, log.New(&logs, "", 0), verbose)
	b := &board{
		d: d, b: compat.Board{Index: 0, IfName: "eth9", NICID: ownNIC, Hostname: "own:0"}, mac: wire.MACFromNICID(ownNIC),
		reverse: map[uint64]uint16{}, queries: map[uint64]querySent{}, queryNow: make(chan uint64, queriesPerPass),
	}
	b.readName()
	d.boards = []*board{b}
	d.disc = newDiscovery([]uint64{ownNIC}, time.Now())
	d.mu.Lock()
	d.loadStaticLocked()
	d.reloadLocked(time.Now())
	d.mu.Unlock()
	if err := d.publishLocal(b); err != nil {
		t.Fatal(err)
	}
	return d, b, &logs
}

func announcement(t *testing.T, src [6]byte, nic uint64) []byte {
	t.Helper()
	f := make([]byte, 64)
	if _, err := (&wire.Discovery{NICID: nic, Serial: 1}).Encode(f, wire.Head{Dst: wire.BroadcastMAC, Src: src}, wire.Mode{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func published(t *testing.T, d *daemon) map[uint64]string {
	t.Helper()
	peers, _, err := node.ReadPeerTable(d.cfg.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[uint64]string{}
	for _, p := range peers {
		m[p.NICID] = p.Hostname
	}
	return m
}

// TestAnnouncedPublishes: what board.announced does with the published
// table and the log.
func TestAnnouncedPublishes(t *testing.T) {
	d, b, logs := testDaemon(t, nil, false)
	now := time.Now()
	mac := wire.MACFromNICID(honestNIC)
	for i := range 1000 {
		if b.announced(announcement(t, wire.MACFromNICID(0x020000000e00+uint64(i)), honestNIC), now) {
			t.Fatal("a mismatched announcement starts a burst")
		}
	}
	if b.announced(announcement(t, mac, honestNIC), now) {
		t.Fatal("a first sighting starts a burst")
	}
	if !b.announced(announcement(t, mac, honestNIC), now.Add(time.Second)) {
		t.Fatal("an admission does not start a burst")
	}
	if got := published(t, d); len(got) != 2 || got[honestNIC] != "" || got[ownNIC] != "own:0" {
		t.Fatalf("published %v", got)
	}
	select {
	case nic := <-b.queryNow:
		if nic != honestNIC {
			t.Errorf("asked %x at once", nic)
		}
	default:
		t.Error("the new peer is not asked at once")
	}
	if d.stats.mismatch.Load() != 1000 {
		t.Errorf("mismatch count %d", d.stats.mismatch.Load())
	}
	if n := strings.Count(logs.String(), "the nic id is not the source address"); n != 1 {
		t.Errorf("%d log lines about mismatched announcements, want 1:\n%s", n, logs)
	}
	// Aging removes it from the published table.
	d.mu.Lock()
	gone := d.disc.expire(now.Add(unansweredTTL + time.Second))
	err := d.updateTableLocked(func(p []node.Peer) ([]node.Peer, error) { return without(p, gone), nil })
	d.mu.Unlock()
	if err != nil || len(gone) != 1 {
		t.Fatalf("aging: %v %x", err, gone)
	}
	if got := published(t, d); len(got) != 1 {
		t.Fatalf("published after aging %v", got)
	}
	st := d.stats.String()
	if !strings.Contains(st, "1000 with a nic id that is not their source") {
		t.Errorf("stats %q", st)
	}
}

func reply(t *testing.T, src uint64, magic uint32, name string) []byte {
	t.Helper()
	f := make([]byte, 200)
	rep := wire.HostReply{Magic: magic, Hostname: name}
	n, err := rep.Encode(f, wire.Head{Dst: wire.MACFromNICID(ownNIC), Src: wire.MACFromNICID(src)}, wire.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	return f[:n]
}

// TestHostReplyRules: host replies name a peer only when they answer one
// of our queries, with its magic, in time, and the peer has no name.
func TestHostReplyRules(t *testing.T) {
	static := uint64(0x020000000301)
	d, b, logs := testDaemon(t, []node.Peer{{NICID: static, Hostname: "static:0"}}, false)
	now := time.Now()
	named, nameless, late := uint64(0x020000000302), uint64(0x020000000303), uint64(0x020000000304)
	d.mu.Lock()
	err := d.updateTableLocked(func(p []node.Peer) ([]node.Peer, error) {
		return append(p, node.Peer{NICID: named, Hostname: "named:0"}, node.Peer{NICID: nameless}, node.Peer{NICID: late}, node.Peer{NICID: static}), nil
	})
	d.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	want := published(t, d)

	// Unsolicited: nobody asked these.
	b.hostReply(reply(t, named, wire.HostQueryMagic, "evil:0"), now)
	b.hostReply(reply(t, nameless, wire.HostQueryMagic, "evil:1"), now)
	b.hostReply(reply(t, 0x020000000399, wire.HostQueryMagic, "evil:2"), now)
	if d.stats.unsolicited.Load() != 3 {
		t.Errorf("unsolicited %d, want 3", d.stats.unsolicited.Load())
	}
	// Asked, wrong magic.
	m := b.recordQuery(nameless, now)
	b.hostReply(reply(t, nameless, m+1, "evil:3"), now)
	if d.stats.badMagic.Load() != 1 {
		t.Errorf("bad magic %d, want 1", d.stats.badMagic.Load())
	}
	// Asked, right magic, but too late.
	ml := b.recordQuery(late, now)
	b.hostReply(reply(t, late, ml, "evil:4"), now.Add(hostReplyWindow))
	// Asked (by mistake) a named peer and a static one: still not renamed.
	mn := b.recordQuery(named, now)
	b.hostReply(reply(t, named, mn, "evil:5"), now)
	ms := b.recordQuery(static, now)
	b.hostReply(reply(t, static, ms, "evil:6"), now)
	// An unusable name.
	b.hostReply(reply(t, nameless, m, "bad name"), now)
	if got := published(t, d); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("published table changed by refused replies: %v, want %v", got, want)
	}
	if d.stats.unsolicited.Load() != 6 || d.stats.badName.Load() != 1 {
		t.Errorf("unsolicited %d (want 6), bad name %d (want 1)", d.stats.unsolicited.Load(), d.stats.badName.Load())
	}
	if n := strings.Count(logs.String(), "dropped: we did not ask it"); n != 1 {
		t.Errorf("%d log lines about unsolicited replies, want 1 per %v:\n%s", n, logEvery, logs)
	}
	// The answer to our query, in time: named, once.
	m = b.recordQuery(nameless, now)
	b.hostReply(reply(t, nameless, m, "honest:0"), now.Add(time.Second))
	if got := published(t, d)[nameless]; got != "honest:0" {
		t.Fatalf("answer to our query: name %q", got)
	}
	b.hostReply(reply(t, nameless, m, "evil:7"), now.Add(time.Second))
	if got := published(t, d)[nameless]; got != "honest:0" {
		t.Fatalf("second reply renamed the peer: %q", got)
	}
}

// TestQueryRoundRobin: a pass asks at most queriesPerPass peers, the next
// pass the following ones; named and static peers are never asked.
func TestQueryRoundRobin(t *testing.T) {
	static := uint64(0x020000000401)
	d, b, _ := testDaemon(t, []node.Peer{{NICID: static, Hostname: "static:0"}}, false)
	d.mu.Lock()
	err := d.updateTableLocked(func(p []node.Peer) ([]node.Peer, error) {
		p = append(p, node.Peer{NICID: static}, node.Peer{NICID: 0x020000000402, Hostname: "n:0"})
		for i := range 100 {
			p = append(p, node.Peer{NICID: 0x020000010000 + uint64(i)})
		}
		return p, nil
	})
	d.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	asked := map[uint64]int{}
	for range 4 {
		for _, p := range b.nextQueries(time.Now()) {
			asked[p.nic]++
		}
	}
	d.mu.Lock()
	if n := len(d.namelessLocked()); n != 100 {
		t.Errorf("%d nameless peers to ask, want 100", n)
	}
	d.mu.Unlock()
	// 4 passes of 64 over 100 peers: 256 queries, each peer 2 or 3 times.
	total := 0
	for nic, n := range asked {
		total += n
		if n < 2 || n > 3 || nic == static {
			t.Errorf("peer %x asked %d times", nic, n)
		}
	}
	if total != 4*queriesPerPass || len(asked) != 100 {
		t.Errorf("%d queries to %d peers", total, len(asked))
	}
}

func TestRateLog(t *testing.T) {
	var buf bytes.Buffer
	rl := newRateLog(log.New(&buf, "", 0))
	for i := range 100 {
		rl.printf(t0, "mismatch", "line %d", i)
	}
	for i := range 30 {
		rl.printf(t0, "found", "found %d", i)
	}
	rl.flush(t0.Add(logEvery - time.Second))
	if got := buf.String(); strings.Count(got, "\n") != 1+logBurst["found"] || !strings.Contains(got, "line 0\n") {
		t.Fatalf("within one interval:\n%s", got)
	}
	buf.Reset()
	rl.printf(t0.Add(logEvery), "mismatch", "line %d", 100)
	if got := buf.String(); got != "line 100 (99 similar lines suppressed)\n" {
		t.Fatalf("next interval: %q", got)
	}
	buf.Reset()
	rl.flush(t0.Add(logEvery))
	if got := buf.String(); got != "10 more lines of kind \"found\" suppressed (at most 20 per 10s)\n" {
		t.Fatalf("flush: %q", got)
	}
}
