// Command faultbridge forwards Ethernet frames between two interfaces and
// injects faults on the way: drop, duplication, reordering, corruption and
// delay. The test kernels have no netem, so network tests put this program in
// a middle network namespace between two hosts (see tests/nettest):
//
//	host0 veth0 <-> a [faultbridge] b <-> veth0 host1
//
// Usage:
//
//	faultbridge -a <if> -b <if> [-drop p] [-dup p] [-reorder p] [-corrupt p]
//	            [-corrupt-from n | -corrupt-head] [-reorder-flush d] [-delay d]
//	            [-seed n] [-ethertype 0x86DF] [-stats file]
//
// Each direction (a to b, b to a) is one goroutine on its own OS thread with
// two AF_PACKET sockets: it reads a frame from the input interface (frames
// this program sent are ignored via PACKET_IGNORE_OUTGOING), applies the
// faults with a random generator seeded from -seed and the direction, and
// writes it to the output interface. Without -ethertype every frame is
// forwarded; with it, only frames of that EtherType (others are not
// forwarded at all).
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
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	bufSize  = 65536   // larger than any veth frame
	rcvBuf   = 8 << 20 // socket buffers: absorb bursts of jumbo frames
	sndBuf   = 4 << 20
	delayCap = 4096 // frames queued by -delay before the reader blocks
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
	delay     time.Duration
	seed      int64
	ethertype uint16 // 0: every frame
	stats     string
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
	fs.DurationVar(&cfg.delay, "delay", 0, "delay every frame by this long")
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
	for name, p := range map[string]float64{"drop": cfg.faults.Drop, "dup": cfg.faults.Dup, "reorder": cfg.faults.Reorder, "corrupt": cfg.faults.Corrupt} {
		if !(p >= 0 && p <= 1) {
			return cfg, fmt.Errorf("-%s %v: not a probability in [0, 1]", name, p)
		}
	}
	if *head {
		cfg.faults.CorruptFrom = 14
	}
	if cfg.faults.CorruptFrom < 0 {
		return cfg, fmt.Errorf("-corrupt-from %d: negative", cfg.faults.CorruptFrom)
	}
	if cfg.faults.ReorderFlush <= 0 || cfg.delay < 0 {
		return cfg, errors.New("-reorder-flush must be positive and -delay not negative")
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
	fdA, err := openSocket(cfg.a, proto)
	if err != nil {
		return err
	}
	fdB, err := openSocket(cfg.b, proto)
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
// in promiscuous mode, that does not see the frames it sends.
func openSocket(ifname string, proto uint16) (int, error) {
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
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
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

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// forward runs one direction until a socket fails. It keeps its OS thread so
// the frames of a direction leave in the order they were read.
func forward(d *direction, cfg config, dir uint64, errc chan<- error) {
	runtime.LockOSThread()
	send := d.writer(cfg.delay)
	p := newPipe(cfg.faults, newRand(cfg.seed, dir), &d.c, bufSize, send)
	buf := make([]byte, bufSize)
	pfd := []unix.PollFd{{Fd: int32(d.in), Events: unix.POLLIN}}
	for {
		if deadline, ok := p.flushDeadline(); ok {
			wait := time.Until(deadline)
			if wait <= 0 {
				p.flush()
				continue
			}
			ms := int((wait + time.Millisecond - 1) / time.Millisecond)
			n, err := unix.Poll(pfd, ms)
			if err != nil && err != unix.EINTR {
				errc <- fmt.Errorf("poll: %w", err)
				return
			}
			if n <= 0 {
				continue // the deadline check above flushes
			}
		}
		n, err := unix.Read(d.in, buf)
		if err != nil {
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			errc <- fmt.Errorf("read: %w", err)
			return
		}
		var now time.Time
		if cfg.faults.Reorder > 0 {
			now = time.Now()
		}
		buf = p.frame(buf, n, now)
	}
}

// writer returns the send function of d: a direct write, or a queue that
// writes each frame delay after it was handed over.
func (d *direction) writer(delay time.Duration) func([]byte) {
	write := func(frame []byte) {
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
	if delay == 0 {
		return write
	}
	type item struct {
		due   time.Time
		frame []byte
	}
	pool := sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}
	q := make(chan item, delayCap)
	var started atomic.Bool
	return func(frame []byte) {
		if !started.Swap(true) {
			go func() {
				runtime.LockOSThread()
				for it := range q {
					if w := time.Until(it.due); w > 0 {
						time.Sleep(w)
					}
					write(it.frame)
					b := it.frame[:cap(it.frame)]
					pool.Put(&b)
				}
			}()
		}
		bp := pool.Get().(*[]byte)
		b := (*bp)[:len(frame)]
		copy(b, frame)
		q <- item{due: time.Now().Add(delay), frame: b}
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
