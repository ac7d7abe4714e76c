// Command faultbridge forwards Ethernet frames between two interfaces and
// injects faults on the way: drop, burst loss, duplication, reordering,
// corruption, and a switch output port (a queue with tail drop, a rate limit,
// a delay). The test kernels have no netem, so network tests put this
// program in a middle network namespace between two hosts (see
// tests/nettest):
//
//	host0 veth0 <-> a [faultbridge] b <-> veth0 host1
//
// Usage:
//
//	faultbridge -a <if> -b <if> [-drop p] [-dup p] [-reorder p] [-corrupt p]
//	            [-corrupt-from n | -corrupt-head] [-reorder-flush d]
//	            [-ge-p p -ge-r p [-ge-loss-bad p] [-ge-loss-good p]]
//	            [-rate bits/s] [-queue-frames n] [-queue-bytes n] [-delay d]
//	            [-rcvbuf bytes] [-seed n] [-ethertype 0x86DF] [-stats file]
//
// Every knob applies to each direction independently:
//
//   - -drop, -dup, -reorder, -corrupt: per-frame probabilities (faults.go).
//   - -ge-p, -ge-r, -ge-loss-bad (default 1), -ge-loss-good (default 0):
//     burst loss, a Gilbert-Elliott channel stepped once per frame: -ge-p is
//     the probability of going from the good state to the bad one, -ge-r
//     back, and a frame is lost with the loss probability of the state. Mean
//     loss rate p/(p+r)*loss-bad (with loss-good 0), mean burst 1/r frames.
//     Counted as burst_drops, apart from dropped.
//   - -rate: the output port sends at most this many bits per second
//     (1e9, 1G, 100M, 64k). A frame of n bytes occupies the port for
//     (n+24)*8/rate seconds: the 24 bytes are the Ethernet preamble, FCS and
//     inter-frame gap that the socket does not see. Frames wait in the output
//     queue until their departure, computed in virtual time as
//     max(arrival, previous departure) + serialization, so a thread woken
//     late sends what is due in a burst and loses no rate.
//   - -queue-frames, -queue-bytes: the output queue's capacity (0: no
//     limit); a frame arriving when the queue already holds that many frames
//     or would exceed that many bytes is dropped (tail drop, queue_drops).
//     The queue holds the frames accepted and not departed; queue_peak is the
//     most it held. Without -rate the queue never holds anything.
//   - -delay: every frame is written this long after its departure (order
//     is kept).
//   - -rcvbuf: the receive buffer of the input sockets (default 8 MiB, set
//     with SO_RCVBUFFORCE; 0 leaves the kernel default, about 200 KB), to
//     reproduce a forwarding element with a small buffer. Frames lost there
//     are counted as kernel_drops.
//
// Each direction (a to b, b to a) is one goroutine on its own OS thread with
// two AF_PACKET sockets: it reads a frame from the input interface (frames
// this program sent are ignored via PACKET_IGNORE_OUTGOING), applies the
// faults with random generators seeded from -seed and the direction, passes
// it through the output port and writes it to the output interface. Between
// frames it waits in read, or, while frames are pending, in ppoll until the
// input is readable or the next frame is due (its timer slack is 1µs; it
// never spins). The output port stores at
// most 64 MiB or 65536 frames per direction; beyond that (no queue limit and
// a slow rate, or a long delay) it stops reading and the input socket's
// buffer takes the excess. Without -ethertype every frame is forwarded; with
// it, only frames of that EtherType (others are not forwarded at all).
//
// Output: the line "ready" on stdout once both sockets are bound (frames sent
// before are lost). SIGUSR1 prints the statistics as one JSON line on stdout
// and writes them to the -stats file (replaced atomically); SIGTERM or SIGINT
// does the same with "final": true and exits 0. Errors go to stderr, exit 1;
// bad usage exits 2.
//
// This is a test tool: it is not installed, and it must only ever run inside
// a network namespace made by the tests.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	bufSize       = 65536   // larger than any veth frame
	defaultRcvBuf = 8 << 20 // socket buffers: absorb bursts of jumbo frames
	sndBuf        = 4 << 20
	portStore     = 64 << 20 // bytes of frames the output port may hold
	portFrames    = 65536    // frames the output port may hold
	timerSlack    = 1000     // ns, of the forwarding threads (default 50µs)
)

// Stats is the JSON document printed on SIGUSR1 and at exit.
type Stats struct {
	Seq   uint64   `json:"seq"`   // 1 for the first dump, then +1
	Final bool     `json:"final"` // written at exit
	A     string   `json:"a"`
	B     string   `json:"b"`
	Seed  int64    `json:"seed"`
	AToB  DirStats `json:"a_to_b"`
	BToA  DirStats `json:"b_to_a"`
}

type config struct {
	a, b      string
	faults    Faults
	port      Port
	rcvbuf    int // 0: the kernel default
	seed      int64
	ethertype uint16 // 0: every frame
	stats     string
}

// rateValue is the flag.Value of -rate: bits per second, a number with an
// optional SI suffix k, M, G or T (case-insensitive).
type rateValue struct{ p *float64 }

func (r rateValue) String() string {
	if r.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*r.p, 'g', -1, 64)
}

func (r rateValue) Set(s string) error {
	v, err := parseRate(s)
	if err != nil {
		return err
	}
	*r.p = v
	return nil
}

func parseRate(s string) (float64, error) {
	mult := 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult = 1e3
		case 'm', 'M':
			mult = 1e6
		case 'g', 'G':
			mult = 1e9
		case 't', 'T':
			mult = 1e12
		}
		if mult != 1 {
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(v >= 0) || math.IsInf(v*mult, 0) {
		return 0, fmt.Errorf("want bits per second such as 1e9, 1G or 100M")
	}
	return v * mult, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "faultbridge: %v\n", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "faultbridge: %v\n", err)
		os.Exit(1)
	}
}

// parseFlags parses the command line; usage text goes to usage.
func parseFlags(args []string, usage io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("faultbridge", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&cfg.a, "a", "", "first interface (required)")
	fs.StringVar(&cfg.b, "b", "", "second interface (required)")
	fs.Float64Var(&cfg.faults.Drop, "drop", 0, "probability of dropping a frame")
	fs.Float64Var(&cfg.faults.Dup, "dup", 0, "probability of sending a frame twice")
	fs.Float64Var(&cfg.faults.Reorder, "reorder", 0, "probability of holding a frame and sending it after the next one")
	fs.Float64Var(&cfg.faults.Corrupt, "corrupt", 0, "probability of flipping one bit of a frame")
	fs.IntVar(&cfg.faults.CorruptFrom, "corrupt-from", DefaultCorruptFrom, "first frame offset corruption may hit (16: Open-MX body; 14: also the peer index)")
	head := fs.Bool("corrupt-head", false, "let corruption hit the Open-MX peer index too (same as -corrupt-from 14)")
	fs.DurationVar(&cfg.faults.ReorderFlush, "reorder-flush", 5*time.Millisecond, "send a held frame after this long if nothing follows it")
	fs.Float64Var(&cfg.faults.GEP, "ge-p", 0, "burst loss: probability per frame of going from the good state to the bad one")
	fs.Float64Var(&cfg.faults.GER, "ge-r", 0, "burst loss: probability per frame of going from the bad state to the good one")
	fs.Float64Var(&cfg.faults.GELossBad, "ge-loss-bad", 1, "burst loss: loss probability in the bad state")
	fs.Float64Var(&cfg.faults.GELossGood, "ge-loss-good", 0, "burst loss: loss probability in the good state")
	fs.Var(rateValue{&cfg.port.Rate}, "rate", "output rate in bits per second (1e9, 1G, 100M; each frame counts 24 more bytes); 0: unlimited")
	fs.IntVar(&cfg.port.QueueFrames, "queue-frames", 0, "output queue capacity in frames (tail drop); 0: unlimited")
	fs.IntVar(&cfg.port.QueueBytes, "queue-bytes", 0, "output queue capacity in bytes (tail drop); 0: unlimited")
	fs.DurationVar(&cfg.port.Delay, "delay", 0, "delay every frame by this long after its departure")
	fs.IntVar(&cfg.rcvbuf, "rcvbuf", defaultRcvBuf, "receive buffer of the input sockets in bytes; 0: the kernel default")
	fs.Int64Var(&cfg.seed, "seed", 1, "random seed (each direction derives its own generator)")
	et := fs.String("ethertype", "", "forward only this EtherType (e.g. 0x86DF); default: every frame")
	fs.StringVar(&cfg.stats, "stats", "", "file the statistics are written to on SIGUSR1 and at exit")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() != 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.a == "" || cfg.b == "" || cfg.a == cfg.b {
		return cfg, errors.New("-a and -b must name two different interfaces")
	}
	if err := cfg.faults.check(); err != nil {
		return cfg, err
	}
	if *head {
		cfg.faults.CorruptFrom = 14
	}
	if cfg.faults.CorruptFrom < 0 {
		return cfg, fmt.Errorf("-corrupt-from %d: negative", cfg.faults.CorruptFrom)
	}
	if cfg.faults.ReorderFlush <= 0 || cfg.port.Delay < 0 {
		return cfg, errors.New("-reorder-flush must be positive and -delay not negative")
	}
	if cfg.port.QueueFrames < 0 || cfg.port.QueueBytes < 0 || cfg.rcvbuf < 0 {
		return cfg, errors.New("-queue-frames, -queue-bytes and -rcvbuf must not be negative")
	}
	if *et != "" {
		v, err := strconv.ParseUint(*et, 0, 16)
		if err != nil || v == 0 {
			return cfg, fmt.Errorf("-ethertype %q: want a non-zero 16-bit number such as 0x86DF", *et)
		}
		cfg.ethertype = uint16(v)
	}
	return cfg, nil
}

// direction is one forwarding path and its sockets.
type direction struct {
	in, out int
	c       Counters
}

func run(cfg config) error {
	proto := uint16(unix.ETH_P_ALL)
	if cfg.ethertype != 0 {
		proto = cfg.ethertype
	}
	fdA, err := openSocket(cfg.a, proto, cfg.rcvbuf)
	if err != nil {
		return err
	}
	fdB, err := openSocket(cfg.b, proto, cfg.rcvbuf)
	if err != nil {
		return err
	}
	ab := &direction{in: fdA, out: fdB}
	ba := &direction{in: fdB, out: fdA}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGINT)

	errc := make(chan error, 2)
	go forward(ab, cfg, 0, errc)
	go forward(ba, cfg, 1, errc)
	fmt.Println("ready")

	var seq uint64
	dump := func(final bool) error {
		seq++
		st := Stats{Seq: seq, Final: final, A: cfg.a, B: cfg.b, Seed: cfg.seed}
		st.AToB, st.BToA = ab.snapshot(), ba.snapshot()
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if _, err := os.Stdout.Write(b); err != nil {
			return err
		}
		if cfg.stats != "" {
			return writeFileAtomic(cfg.stats, b)
		}
		return nil
	}
	for {
		select {
		case err := <-errc:
			_ = dump(true)
			return err
		case sig := <-sigs:
			final := sig != syscall.SIGUSR1
			if err := dump(final); err != nil {
				return err
			}
			if final {
				return nil
			}
		}
	}
}

// snapshot reads the counters, adding the input socket's kernel drops.
func (d *direction) snapshot() DirStats {
	// PACKET_STATISTICS resets on read: accumulate. Only the dumper reads it.
	if st, err := unix.GetsockoptTpacketStats(d.in, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		d.c.KernelDrops.Add(uint64(st.Drops))
	}
	return d.c.Snapshot()
}

// openSocket returns a blocking AF_PACKET socket bound to ifname for proto,
// in promiscuous mode, that does not see the frames it sends, with a receive
// buffer of rcvbuf bytes (0: the kernel default).
func openSocket(ifname string, proto uint16, rcvbuf int) (int, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return -1, fmt.Errorf("interface %q: %w", ifname, err)
	}
	// Protocol 0 receives nothing until bind, so no frame of another
	// interface slips in between socket and bind.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %w (needs CAP_NET_RAW)", err)
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s %s: %w", ifname, what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
		return fail("PACKET_IGNORE_OUTGOING", err)
	}
	if rcvbuf > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf); err != nil {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sndBuf); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, sndBuf)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	mreq := &unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq); err != nil {
		return fail("promiscuous mode", err)
	}
	return fd, nil
}

// recvNonblock reads one frame from fd without waiting (MSG_DONTWAIT: the
// socket stays blocking for the writes of the other direction) and without
// allocating.
func recvNonblock(fd int, buf []byte) (int, error) {
	n, _, e := unix.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// forward runs one direction until a socket fails. It keeps its OS thread,
// so the frames of a direction leave in the order they were read. With
// nothing pending it waits for input in read; otherwise it reads without
// waiting and sleeps in ppoll until the input is readable or the deadline
// (the next frame of the output port due, or the flush of a held frame).
func forward(d *direction, cfg config, dir uint64, errc chan<- error) {
	runtime.LockOSThread() // for good: the slack below is this thread's
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, timerSlack, 0, 0, 0)
	var (
		port *outPort
		now  time.Time // arrival of the frame in the pipeline
	)
	send := d.write
	if cfg.port.active() {
		port = newOutPort(cfg.port, &d.c, portStore, portFrames, bufSize)
		send = func(frame []byte) { port.push(frame, now) }
	}
	clock := port != nil || cfg.faults.Reorder > 0
	p := newPipe(cfg.faults, cfg.seed, dir, &d.c, bufSize, send)
	buf := make([]byte, bufSize)
	pfd := []unix.PollFd{{Fd: int32(d.in), Events: unix.POLLIN}}
	for {
		if clock {
			now = time.Now()
		}
		// The next deadline; wait only for it while the port is full.
		var deadline time.Time
		has, full := false, false
		if port != nil {
			port.writeDue(now, d.write)
			deadline, has = port.nextDue()
			full = port.full()
		}
		if flush, held := p.flushDeadline(); held && !full {
			if !flush.After(now) {
				p.flush()
				continue
			}
			if !has || flush.Before(deadline) {
				deadline, has = flush, true
			}
		}
		if !full {
			// Nothing to do before the next frame: wait for it in read.
			read := recvNonblock
			if !has {
				read = unix.Read
			}
			n, err := read(d.in, buf)
			if err == nil {
				if clock {
					now = time.Now()
				}
				buf = p.frame(buf, n, now)
				continue
			}
			if err == unix.EINTR {
				continue
			}
			if err != unix.EAGAIN {
				errc <- fmt.Errorf("read: %w", err)
				return
			}
		}
		var ts *unix.Timespec
		if has {
			t := unix.NsecToTimespec(max(int64(deadline.Sub(now)), 0))
			ts = &t
		}
		fds := pfd
		if full {
			fds = nil // a sleep until the next frame is due
		}
		if _, err := unix.Ppoll(fds, ts, nil); err != nil && err != unix.EINTR {
			errc <- fmt.Errorf("ppoll: %w", err)
			return
		}
	}
}

// write writes one frame to the output interface and counts it.
func (d *direction) write(frame []byte) {
	for {
		_, err := unix.Write(d.out, frame)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			d.c.SendErrors.Add(1)
		} else {
			d.c.Forwarded.Add(1)
		}
		return
	}
}

// writeFileAtomic replaces path with data, so a reader never sees half a
// document.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
