//go:build linux

package shm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

var mac = [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}

const (
	ptTiny      = 37
	ptPullReply = 42
	ptNackLib   = 44
	testMTU     = 9014
)

// frame builds an Open-MX frame of type pt for endpoint ep (at byte 17)
// of n bytes, carrying id at bytes 20..23 and an id-dependent payload.
func frame(pt, ep uint8, id uint32, n int) []byte {
	b := make([]byte, n)
	copy(b, mac[:])
	b[6] = 0x02
	b[12], b[13], b[16] = 0x86, 0xdf, pt
	if n > 17 {
		b[17] = ep
	}
	if n >= 24 {
		binary.BigEndian.PutUint32(b[20:], id)
	}
	for i := 24; i < n; i++ {
		b[i] = byte(uint32(i)*7 + id)
	}
	return b
}

// idOf returns the id a frame built by frame carries.
func idOf(b []byte) uint32 { return binary.BigEndian.Uint32(b[20:]) }

func cfgFor(dir string, ep uint8) Config {
	return Config{Dir: dir, Namespace: "t", Board: "eth9", MAC: mac, Endpoint: ep, MTU: testMTU}
}

func mustOpen(t *testing.T, cfg Config) *Link {
	t.Helper()
	l, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open(ep %d): %v", cfg.Endpoint, err)
	}
	t.Cleanup(func() { l.Close() })
	return l.(*Link)
}

// recvOne waits up to 5 s for a frame on l.
func recvOne(t *testing.T, l *Link, buf []byte) []byte {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := l.Recv(buf)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if n > 0 {
			return buf[:n]
		}
		if time.Now().After(deadline) {
			t.Fatal("no frame within 5 s")
		}
		if err := l.Wait(100 * time.Millisecond); err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}
}

// expectEmpty fails if l has a frame pending.
func expectEmpty(t *testing.T, l *Link) {
	t.Helper()
	if n, err := l.Recv(make([]byte, testMTU)); n != 0 || err != nil {
		t.Fatalf("Recv = %d, %v; want nothing", n, err)
	}
}

func TestExchangeEverySize(t *testing.T) {
	dir := t.TempDir()
	a, b := mustOpen(t, cfgFor(dir, 1)), mustOpen(t, cfgFor(dir, 2))
	buf := make([]byte, testMTU+100)
	for n := 18; n <= testMTU; n++ {
		for _, pair := range [][2]*Link{{a, b}, {b, a}} {
			src, dst := pair[0], pair[1]
			f := frame(ptTiny, dst.cfg.Endpoint, uint32(n), n)
			if err := src.Send(f); err != nil {
				t.Fatalf("Send(%d bytes): %v", n, err)
			}
			f[0] = 0 // the frame must have been copied
			f[0] = mac[0]
			got := recvOne(t, dst, buf)
			want := f
			if n < link.MinFrame {
				want = append(bytes.Clone(f), make([]byte, link.MinFrame-n)...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%d bytes ep %d -> %d: got %d bytes, differ", n, src.cfg.Endpoint, dst.cfg.Endpoint, len(got))
			}
		}
	}
	expectEmpty(t, a)
	expectEmpty(t, b)
	if s := a.Stats(); s != (Stats{}) {
		t.Errorf("stats of a: %+v", s)
	}
}

func TestRecvTruncates(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, cfgFor(dir, 1))
	f := frame(ptTiny, 1, 9, 1000)
	if err := a.Send(f); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if n, err := a.Recv(buf); n != 100 || err != nil || !bytes.Equal(buf, f[:100]) {
		t.Fatalf("Recv = %d, %v", n, err)
	}
	expectEmpty(t, a)
}

func TestRouting(t *testing.T) {
	dir := t.TempDir()
	a, b := mustOpen(t, cfgFor(dir, 1)), mustOpen(t, cfgFor(dir, 2))
	buf := make([]byte, testMTU)

	pr := frame(ptPullReply, 0, 0, 64)
	binary.BigEndian.PutUint32(pr[28:], 2^link.PullMagic)
	nack := frame(ptNackLib, 0, 0, 64)
	nack[25] = 2
	for _, f := range [][]byte{pr, nack} {
		if err := a.Send(f); err != nil {
			t.Fatal(err)
		}
		if got := recvOne(t, b, buf); !bytes.Equal(got, f) {
			t.Fatalf("ptype %d not delivered to ep 2 intact", f[16])
		}
		if !(link.Filter{MAC: mac, Endpoint: 2}).Accept(f) {
			t.Fatalf("test frame of ptype %d not accepted by the reference filter", f[16])
		}
	}

	// Frames no endpoint takes by index are dropped silently.
	badMagic := frame(ptPullReply, 0, 0, 64)
	binary.BigEndian.PutUint32(badMagic[28:], 0x1234^link.PullMagic)
	notOMX := frame(ptTiny, 2, 0, 64)
	notOMX[12] = 0x08
	unroutable := [][]byte{frame(3, 2, 0, 64), frame(4, 2, 0, 64), frame(0, 2, 0, 64), frame(50, 2, 0, 64), badMagic, notOMX, frame(ptTiny, 2, 0, 17)}
	for _, f := range unroutable {
		if err := a.Send(f); err != nil {
			t.Fatalf("Send(ptype %d): %v", f[16], err)
		}
	}
	expectEmpty(t, a)
	expectEmpty(t, b)
	if got := a.Stats().Unroutable; got != uint64(len(unroutable)) {
		t.Errorf("Unroutable = %d, want %d", got, len(unroutable))
	}

	// Another MAC is refused; so are runts and oversized frames.
	other := frame(ptTiny, 2, 0, 64)
	other[5] ^= 1
	if err := a.Send(other); !errors.Is(err, ErrNotLocal) {
		t.Errorf("Send to another MAC: %v, want ErrNotLocal", err)
	}
	if err := a.Send(mac[:]); err == nil {
		t.Error("Send of a 6-byte frame succeeded")
	}
	if err := a.Send(frame(ptTiny, 2, 0, testMTU+1)); err == nil {
		t.Error("Send above the MTU succeeded")
	}
	expectEmpty(t, b)

	// A missing endpoint: dropped and counted.
	if err := a.Send(frame(ptTiny, 77, 0, 64)); err != nil {
		t.Fatal(err)
	}
	if got := a.Stats().DroppedNoPeer; got != 1 {
		t.Errorf("DroppedNoPeer = %d, want 1", got)
	}
}

func TestFullAndWraparound(t *testing.T) {
	dir := t.TempDir()
	cfg := cfgFor(dir, 1)
	cfg.MTU, cfg.RingBytes = 1514, 8192
	a := mustOpen(t, cfg)
	cfg.Endpoint = 2
	b := mustOpen(t, cfg)
	buf := make([]byte, 2000)

	// Fill without receiving: the ring accepts what fits, then drops.
	sent := 0
	for b.Stats().DroppedFull == 0 {
		if err := b.Send(frame(ptTiny, 1, uint32(sent), 1000)); err != nil {
			t.Fatal(err)
		}
		sent++
		if sent > 100 {
			t.Fatal("an 8 KiB ring never filled")
		}
	}
	if a.Stats().DroppedFull != 0 {
		t.Fatalf("drop counted on the receiver: %+v", a.Stats())
	}
	if got := b.Stats().DroppedFull; got != 1 {
		t.Fatalf("DroppedFull = %d", got)
	}
	for i := range sent - 1 {
		got := recvOne(t, a, buf)
		if len(got) != 1000 || idOf(got) != uint32(i) {
			t.Fatalf("frame %d: %d bytes, id %d", i, len(got), idOf(got))
		}
	}
	expectEmpty(t, a)

	// Many frames of random sizes in batches: order, content and the
	// wrap markers must hold.
	rng := rand.New(rand.NewPCG(3, 4))
	id := uint32(0)
	next := uint32(0)
	for range 3000 {
		for range 1 + rng.IntN(5) {
			n := 24 + rng.IntN(1514-24+1)
			before := b.Stats().DroppedFull
			f := frame(ptTiny, 1, id, n)
			if err := b.Send(f); err != nil {
				t.Fatal(err)
			}
			if b.Stats().DroppedFull != before {
				break
			}
			id++
		}
		for {
			n, err := a.Recv(buf)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if idOf(buf) != next {
				t.Fatalf("got id %d, want %d", idOf(buf), next)
			}
			want := frame(ptTiny, 1, next, n)
			if n > link.MinFrame && !bytes.Equal(buf[:n], want) {
				t.Fatalf("frame %d (%d bytes) corrupted", next, n)
			}
			next++
		}
	}
	if next != id || next < 5000 {
		t.Fatalf("received %d of %d frames", next, id)
	}
	if s := a.Stats(); s.BadRecords != 0 {
		t.Fatalf("bad records: %+v", s)
	}
}

func TestConcurrentProducers(t *testing.T) {
	dir := t.TempDir()
	rx := mustOpen(t, cfgFor(dir, 1))
	const senders, perSender = 4, 3000
	var links []*Link
	for i := range senders {
		links = append(links, mustOpen(t, cfgFor(dir, uint8(10+i))))
	}
	var wg sync.WaitGroup
	for i, l := range links {
		for g := range 2 { // two goroutines per link, ids interleaved
			wg.Go(func() {
				for k := g; k < perSender; k += 2 {
					if err := l.Send(frame(ptTiny, 1, uint32(i<<16|k), 60+k%700)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	counts := make([]int, senders)
	last := make([][2]int, senders)
	for i := range last {
		last[i] = [2]int{-2, -1}
	}
	buf := make([]byte, testMTU)
	received := 0
	finished := false
	for {
		n, err := rx.Recv(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if finished {
				break
			}
			select {
			case <-done:
				finished = true
			default:
				rx.Wait(time.Millisecond)
			}
			continue
		}
		id := idOf(buf)
		s, k := int(id>>16), int(id&0xffff)
		if s >= senders || n != 60+k%700 || !bytes.Equal(buf[:n], frame(ptTiny, 1, id, n)) {
			t.Fatalf("bad frame id %#x, %d bytes", id, n)
		}
		if k <= last[s][k%2] {
			t.Fatalf("sender %d goroutine %d: id %d after %d", s, k%2, k, last[s][k%2])
		}
		last[s][k%2] = k
		counts[s]++
		received++
	}
	var dropped uint64
	for _, l := range links {
		st := l.Stats()
		dropped += st.DroppedFull + st.DroppedBusy
	}
	if uint64(received)+dropped != senders*perSender {
		t.Fatalf("received %d + dropped %d != sent %d", received, dropped, senders*perSender)
	}
	if received < senders*perSender/2 {
		t.Errorf("only %d of %d frames received", received, senders*perSender)
	}
	t.Logf("received %d, dropped %d, per sender %v", received, dropped, counts)
}

func TestCloseRemovesFile(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, cfgFor(dir, 3))
	path := filepath.Join(dir, "omx-t-eth9-3")
	if l.Path() != path {
		t.Fatalf("Path = %q, want %q", l.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("inbox mode %v, want 0600", fi.Mode().Perm())
	}
	if want := int64(hdrSize + DefaultRingBytes); fi.Size() != want {
		t.Errorf("inbox size %d, want %d", fi.Size(), want)
	}
	// A second owner of the same endpoint is refused while this one lives.
	if _, err := Open(cfgFor(dir, 3)); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v, want ErrBusy", err)
	}
	waitErr := make(chan error)
	go func() { waitErr <- l.Wait(-1) }()
	time.Sleep(5 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waitErr:
		if !errors.Is(err, link.ErrClosed) {
			t.Errorf("Wait after Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Wait did not return on Close")
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("inbox still there after Close: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("files left in %s: %v", dir, ents)
	}
	if _, err := l.Recv(make([]byte, 100)); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
	if err := l.Send(frame(ptTiny, 3, 0, 60)); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
}

func TestWaitAndWake(t *testing.T) {
	dir := t.TempDir()
	a, b := mustOpen(t, cfgFor(dir, 1)), mustOpen(t, cfgFor(dir, 2))
	start := time.Now()
	if err := a.Wait(30 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > 2*time.Second {
		t.Errorf("Wait(30ms) took %v", d)
	}
	a.Wake()
	start = time.Now()
	if err := a.Wait(-1); err != nil || time.Since(start) > time.Second {
		t.Fatalf("Wait after Wake: %v after %v", err, time.Since(start))
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		a.Wake()
	}()
	if err := a.Wait(-1); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		b.Send(frame(ptTiny, 1, 5, 100))
	}()
	start = time.Now()
	if err := a.Wait(5 * time.Second); err != nil || time.Since(start) > 4*time.Second {
		t.Fatalf("Wait for a frame: %v after %v", err, time.Since(start))
	}
	if got := recvOne(t, a, make([]byte, 200)); idOf(got) != 5 {
		t.Fatalf("got id %d", idOf(got))
	}
}

// TestBellAcrossProcesses: an owner sleeping in Wait (several threads at
// once) is woken by the bell when another process sends, long before the
// timeout; the sender says it rang.
func TestBellAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	rx := mustOpen(t, cfgFor(dir, 1))
	cmd := runChild(t, "late", dir, 2, 300)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	took := make([]time.Duration, 3)
	for i := range took {
		wg.Go(func() {
			if err := rx.Wait(20 * time.Second); err != nil {
				t.Error(err)
			}
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	for i, d := range took {
		if d < 300*time.Millisecond || d > 10*time.Second {
			t.Errorf("waiter %d returned after %v; the frame was sent after 300 ms", i, d)
		}
	}
	if got := recvOne(t, rx, make([]byte, 100)); idOf(got) != 77 {
		t.Fatalf("got id %d", idOf(got))
	}
	if s := rx.Stats(); s.Sleeps == 0 {
		t.Errorf("the owner never slept on its bell: %+v", s)
	}
	if rings := strings.TrimSpace(out.String()); rings != "1" {
		t.Errorf("sender rang %q times, want 1", rings)
	}
	if u32At(rx.own.mem, offSleepers).Load() != 0 {
		t.Error("sleeper count not back to 0")
	}
	// Nobody sleeps now: a send does not ring.
	tx := mustOpen(t, cfgFor(dir, 3))
	if err := tx.Send(frame(ptTiny, 1, 78, 60)); err != nil {
		t.Fatal(err)
	}
	if s := tx.Stats(); s.Rings != 0 {
		t.Errorf("a send to an owner that is not sleeping rang: %+v", s)
	}
}

func TestPeerReopen(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, cfgFor(dir, 1))
	buf := make([]byte, testMTU)
	id := uint32(0)
	for round := range 3 {
		b, err := Open(cfgFor(dir, 2))
		if err != nil {
			t.Fatal(err)
		}
		bl := b.(*Link)
		for range 600 { // crosses statEvery
			if err := a.Send(frame(ptTiny, 2, id, 80)); err != nil {
				t.Fatal(err)
			}
			if got := recvOne(t, bl, buf); idOf(got) != id {
				t.Fatalf("round %d: id %d, want %d", round, idOf(got), id)
			}
			id++
		}
		b.Close()
		if err := a.Send(frame(ptTiny, 2, id, 80)); err != nil {
			t.Fatal(err)
		}
	}
	if s := a.Stats(); s.DroppedNoPeer != 3 {
		t.Errorf("stats %+v, want 3 no-peer drops", s)
	}
}

func TestCorruptInbox(t *testing.T) {
	dir := t.TempDir()
	a, b := mustOpen(t, cfgFor(dir, 1)), mustOpen(t, cfgFor(dir, 2))
	buf := make([]byte, testMTU)
	rng := rand.New(rand.NewPCG(5, 6))
	mem := a.own.mem
	for round := range 200 {
		for k := range 3 {
			if err := b.Send(frame(ptTiny, 1, uint32(k), 100+k)); err != nil {
				t.Fatal(err)
			}
		}
		switch round % 5 {
		case 0: // garbage over the first record
			for i := range 64 {
				mem[hdrSize+i] = byte(rng.Uint32())
			}
		case 1: // a huge length with a valid tag
			binary.LittleEndian.PutUint32(mem[hdrSize:], 1<<30)
			binary.LittleEndian.PutUint32(mem[hdrSize+4:], 1<<30^lenTag)
		case 2: // garbage head and tail
			u64At(mem, offTail).Store(rng.Uint64())
			u64At(mem, offHead).Store(rng.Uint64())
		case 3: // the whole header, lock word included
			for i := range hdrSize {
				mem[i] = byte(rng.Uint32())
			}
			u64At(mem, offLock).Store(1<<40 + 1) // no such pid
		case 4: // everything
			for i := range 4096 {
				mem[i] = byte(rng.Uint32())
			}
			u64At(mem, offLock).Store(0)
		}
		for range 10 {
			if _, err := a.Recv(buf); err != nil {
				t.Fatal(err)
			}
		}
		// The inbox works again.
		for range 5 { // let a stolen-lock resync happen
			f := frame(ptTiny, 1, 999, 200)
			if err := b.Send(f); err != nil {
				t.Fatal(err)
			}
			n, err := a.Recv(buf)
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				for n > 0 && idOf(buf) != 999 { // a frame queued before
					n, _ = a.Recv(buf)
				}
				if !bytes.Equal(buf[:n], f) {
					t.Fatalf("round %d: got %d bytes after recovery", round, n)
				}
				break
			}
			time.Sleep(3 * time.Millisecond)
		}
		for n, _ := a.Recv(buf); n > 0; n, _ = a.Recv(buf) {
		}
	}
	if s := a.Stats(); s.BadRecords == 0 || s.Resyncs == 0 {
		t.Errorf("no bad record counted: %+v", s)
	}
	t.Logf("receiver %+v, sender %+v", a.Stats(), b.Stats())
}

func TestInvalidPeerFile(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, cfgFor(dir, 1))
	for i, content := range [][]byte{
		nil,
		bytes.Repeat([]byte{0xee}, 5000),
		func() []byte { // a valid header claiming more than the file holds
			b := make([]byte, hdrSize+4096)
			initHeader(b, 1<<20, testMTU, os.Getpid())
			return b
		}(),
	} {
		ep := uint8(100 + i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("omx-t-eth9-%d", ep)), content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := a.Send(frame(ptTiny, ep, 0, 64)); err != nil {
			t.Fatal(err)
		}
	}
	if s := a.Stats(); s.BadPeers != 3 {
		t.Errorf("stats %+v, want 3 bad peers", s)
	}
	// A garbage file left at an endpoint's name is replaced by Open.
	l := mustOpen(t, cfgFor(dir, 101))
	if err := a.Send(frame(ptTiny, 101, 7, 64)); err != nil {
		t.Fatal(err)
	}
	if got := recvOne(t, l, make([]byte, 100)); idOf(got) != 7 {
		t.Fatal("frame not delivered after the garbage file was replaced")
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	for _, cfg := range []Config{
		{Dir: dir, Board: "", MTU: 1514},
		{Dir: dir, Board: "a/b", MTU: 1514},
		{Dir: dir, Board: "e", Namespace: "x/y", MTU: 1514},
		{Dir: dir, Board: "e", MTU: 10},
		{Dir: dir, Board: "e", MTU: 9014, RingBytes: 10000},
		{Dir: filepath.Join(dir, "missing"), Board: "e", MTU: 1514},
	} {
		if l, err := Open(cfg); err == nil {
			l.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files left: %v", ents)
	}
}

// Cross-process tests: the test binary re-executes itself as a child.

const childEnv = "OMX_SHM_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode, os.Args[len(os.Args)-3:]))
	}
	os.Exit(m.Run())
}

// child runs one child role: args are dir, own endpoint, count.
func child(mode string, args []string) int {
	dir := args[0]
	ep, _ := strconv.Atoi(args[1])
	count, _ := strconv.Atoi(args[2])
	l, err := Open(cfgFor(dir, uint8(ep)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	sl := l.(*Link)
	switch mode {
	case "send": // send count frames to endpoint 1, then close
		for k := range count {
			if err := l.Send(frame(ptTiny, 1, uint32(ep<<16|k), 60+k%1500)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
		}
		s := sl.Stats()
		fmt.Println(s.DroppedFull + s.DroppedBusy)
		l.Close()
	case "lock": // take endpoint 1's producer lock and die holding it
		p, err := openPeer(filepath.Join(dir, "omx-t-eth9-1"))
		if err != nil || !u64At(p.r.mem, offLock).CompareAndSwap(0, sl.me) {
			return 4
		}
	case "hang": // keep the inbox open until killed
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "crash": // die without closing
	case "late": // send one frame to endpoint 1 after count ms, then close
		time.Sleep(time.Duration(count) * time.Millisecond)
		if err := l.Send(frame(ptTiny, 1, 77, 60)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		fmt.Println(sl.Stats().Rings)
		l.Close()
	}
	return 0
}

func runChild(t *testing.T, mode, dir string, ep, count int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", dir, strconv.Itoa(ep), strconv.Itoa(count))
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "GORACE=atexit_sleep_ms=0")
	return cmd
}

func TestCrossProcess(t *testing.T) {
	dir := t.TempDir()
	rx := mustOpen(t, cfgFor(dir, 1))
	const children, count = 3, 5000
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for i := range children {
		cmd := runChild(t, "send", dir, 20+i, count)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	exited := make(chan error, children)
	for _, c := range cmds {
		go func() { exited <- c.Wait() }()
	}
	next := make([]int, children)
	received, finished := 0, 0
	buf := make([]byte, testMTU)
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := rx.Recv(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			id := idOf(buf)
			c, k := int(id>>16)-20, int(id&0xffff)
			if c < 0 || c >= children || k < next[c] || n != 60+k%1500 || !bytes.Equal(buf[:n], frame(ptTiny, 1, id, n)) {
				t.Fatalf("bad frame id %#x (%d bytes)", id, n)
			}
			next[c] = k + 1
			received++
			continue
		}
		if finished == children {
			break
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("child: %v", err)
			}
			finished++
		default:
			rx.Wait(time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatal("children did not finish")
		}
	}
	dropped := 0
	for _, o := range outs {
		d, err := strconv.Atoi(string(bytes.TrimSpace(o.Bytes())))
		if err != nil {
			t.Fatalf("child output %q", o)
		}
		dropped += d
	}
	if received+dropped != children*count || received < children*count/2 {
		t.Fatalf("received %d, dropped %d, sent %d", received, dropped, children*count)
	}
	// Only rx's inbox and bell remain.
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("files left by the children: %v", ents)
	}
}

func TestDeadLockHolder(t *testing.T) {
	dir := t.TempDir()
	rx := mustOpen(t, cfgFor(dir, 1))
	if out, err := runChild(t, "lock", dir, 30, 0).CombinedOutput(); err != nil {
		t.Fatalf("child: %v %s", err, out)
	}
	if u64At(rx.own.mem, offLock).Load() == 0 {
		t.Fatal("child did not leave the lock held")
	}
	tx := mustOpen(t, cfgFor(dir, 2))
	start := time.Now()
	if err := tx.Send(frame(ptTiny, 1, 42, 60)); err != nil {
		t.Fatal(err)
	}
	if got := recvOne(t, rx, make([]byte, 100)); idOf(got) != 42 {
		t.Fatal("frame not delivered after stealing the lock")
	}
	if s := tx.Stats(); s.LocksStolen != 1 || time.Since(start) > staleHolderAge {
		t.Errorf("stats %+v after %v", s, time.Since(start))
	}
}

func TestPeerCrashAndRestart(t *testing.T) {
	dir := t.TempDir()
	tx := mustOpen(t, cfgFor(dir, 1))
	if out, err := runChild(t, "crash", dir, 2, 0).CombinedOutput(); err != nil {
		t.Fatalf("child: %v %s", err, out)
	}
	// The dead child's inbox is still there: frames go into it.
	if err := tx.Send(frame(ptTiny, 2, 1, 60)); err != nil {
		t.Fatal(err)
	}
	if tx.Stats().DroppedNoPeer != 0 {
		t.Fatal("the crashed child's inbox was not used")
	}
	// A new owner replaces it; the sender follows at once.
	rx := mustOpen(t, cfgFor(dir, 2))
	if err := tx.Send(frame(ptTiny, 2, 2, 60)); err != nil {
		t.Fatal(err)
	}
	if got := recvOne(t, rx, make([]byte, 100)); idOf(got) != 2 {
		t.Fatalf("got id %d, want 2", idOf(got))
	}
	expectEmpty(t, rx)
	if s := tx.Stats(); s.PeersReopened != 1 {
		t.Errorf("stats %+v", s)
	}
}

// An inbox planted by another user (a valid one, of a live process) is
// never written to, and its owner pid never believed (link.Origin): the
// same-host rendezvous extension cannot name a process through it.
func TestForeignUserInbox(t *testing.T) {
	if os.Geteuid() != 0 {
		testlib.Skip(t, "needs root to create a file of another user")
	}
	dir := t.TempDir()
	a := mustOpen(t, cfgFor(dir, 1))
	b := mustOpen(t, cfgFor(dir, 2))
	if pid, ok := a.OwnerPID(2); !ok || pid != uint32(os.Getpid()) {
		t.Fatalf("owner of an inbox of this user: %d %v", pid, ok)
	}
	path := filepath.Join(dir, "omx-t-eth9-3")
	mem := make([]byte, hdrSize+1<<16)
	initHeader(mem, 1<<16, testMTU, 1) // "owned" by init, alive
	if err := os.WriteFile(path, mem, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if pid, ok := a.OwnerPID(3); ok {
		t.Fatalf("owner pid %d believed from another user's inbox", pid)
	}
	if err := a.Send(frame(ptTiny, 3, 9, 64)); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.BadPeers == 0 {
		t.Errorf("stats %+v: the foreign inbox was not refused", s)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, mem) {
		t.Error("a frame was written into another user's inbox")
	}
	_ = b
}

// A process killed and not reaped yet (a zombie) holds nothing: its inbox
// counts as closed, so the next process that takes its endpoint index is
// reachable at once.
func TestZombieOwnerIsDead(t *testing.T) {
	dir := t.TempDir()
	cmd := runChild(t, "hang", dir, 0, 0)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("child: %q %v", buf, err)
	}
	if !Alive(cfgFor(dir, 0), 0) {
		t.Fatal("a live owner is not alive")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	// Not reaped: the child is a zombie until Wait.
	deadline := time.Now().Add(5 * time.Second)
	for !zombie(cmd.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("the killed child never became a zombie")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if Alive(cfgFor(dir, 0), 0) {
		t.Fatal("a zombie owner counts as alive")
	}
	// Its index is free: a new process's inbox replaces it.
	l := mustOpen(t, cfgFor(dir, 0))
	if pid, ok := l.OwnerPID(0); !ok || pid != uint32(os.Getpid()) {
		t.Fatalf("owner after the zombie: %d %v", pid, ok)
	}
	cmd.Wait()
}

// TestOpenRefusesUnsafeDir: an inbox directory another user could change
// (writable by others, even sticky like /dev/shm; a symbolic link; a
// directory of another user) is refused, so nobody can take an endpoint's
// inbox name first; nothing is created in it.
func TestOpenRefusesUnsafeDir(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	dirs := map[string]string{
		"sticky": mk("sticky", 0o777|os.ModeSticky),
		"group":  mk("group", 0o770),
	}
	ok := mk("ok", 0o700)
	dirs["link"] = filepath.Join(base, "link")
	if err := os.Symlink(ok, dirs["link"]); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		dirs["foreign"] = mk("foreign", 0o700)
		if err := os.Chown(dirs["foreign"], 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	for name, dir := range dirs {
		l, err := Open(cfgFor(dir, 1))
		if err == nil {
			l.Close()
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		if !errors.Is(err, ErrUnsafeDir) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: %v, want ErrUnsafeDir naming %s", name, err, dir)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s: %d files created in a refused directory", name, len(ents))
		}
	}
	mustOpen(t, cfgFor(ok, 1)).Close()
}
