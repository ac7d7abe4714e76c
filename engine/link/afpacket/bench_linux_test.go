//go:build linux

package afpacket

import (
	"encoding/binary"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// The benchmarks mirror bench/PEERS.md's raw AF_PACKET runs: two network
// namespaces joined by a veth pair of MTU 9000, the ping side pinned to CPU
// 0 and the pong (or sink) side to CPU 1, both busy-polling Recv (or
// blocking in Wait for the "wait" variants).
//
//	go test -run '^$' -bench . -benchtime 2s ./engine/link/afpacket

// pin locks the goroutine to its thread and the thread to cpu; the
// returned function undoes both. With fewer than two CPUs it only locks.
func pin(b *testing.B, cpu int) func() {
	runtime.LockOSThread()
	var old unix.CPUSet
	if runtime.NumCPU() < 2 || unix.SchedGetaffinity(0, &old) != nil {
		return runtime.UnlockOSThread
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		b.Logf("cannot pin to CPU %d: %v", cpu, err)
	}
	return func() {
		unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}
}

// Frame ids used by the benchmarks (bytes 20..23).
const (
	idQuit = 0xffffffff
	idLast = 0x80000000 // flags the last frame of a stream train
)

// recvFrame polls l (or waits on it when block is set) until a frame
// arrives or the deadline passes; it returns the frame length, or 0.
func recvFrame(l link.Link, buf []byte, block bool, deadline time.Time) (int, error) {
	for spins := 0; ; spins++ {
		n, err := l.Recv(buf)
		if err != nil || n > 0 {
			return n, err
		}
		if block {
			if err := l.Wait(time.Until(deadline)); err != nil {
				return 0, err
			}
		}
		if (block || spins&1023 == 0) && time.Now().After(deadline) {
			return 0, nil
		}
	}
}

type benchMode struct {
	name  string
	rx    RxMode
	block bool
}

var benchModes = []benchMode{
	{"recv", RxRecv, false},
	{"ring", RxRing, false},
	{"recv-wait", RxRecv, true},
	{"ring-wait", RxRing, true},
}

// BenchmarkPingPong measures the round trip of a 60-byte frame; the
// half-rtt metric is what PEERS.md calls latency.
func BenchmarkPingPong(b *testing.B) {
	p := newPair(b, 9000)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			ping := openIn(b, p.nsA, Config{Interface: p.ifA, Endpoint: 1, Rx: m.rx})
			pong := openIn(b, p.nsB, Config{Interface: p.ifB, Endpoint: 1, Rx: m.rx})
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer pin(b, 1)()
				buf := make([]byte, 9100)
				for {
					n, err := recvFrame(pong, buf, m.block, time.Now().Add(time.Hour))
					if err != nil {
						b.Errorf("pong: %v", err)
						return
					}
					if n < 24 || binary.BigEndian.Uint32(buf[20:]) == idQuit {
						return
					}
					copy(buf[0:6], buf[6:12])
					copy(buf[6:12], pong.mac[:])
					if err := pong.Send(buf[:n]); err != nil {
						b.Errorf("pong Send: %v", err)
						return
					}
				}
			}()
			unpin := pin(b, 0)
			f := frame(pong.MAC(), ping.MAC(), 37, 1, 0, 60)
			buf := make([]byte, 9100)
			resent := 0
			b.ResetTimer()
			for i := range b.N {
				binary.BigEndian.PutUint32(f[20:], uint32(i))
				if err := ping.Send(f); err != nil {
					b.Fatal(err)
				}
				for {
					n, err := recvFrame(ping, buf, m.block, time.Now().Add(time.Second))
					if err != nil {
						b.Fatal(err)
					}
					if n >= 24 && binary.BigEndian.Uint32(buf[20:]) == uint32(i) {
						break
					}
					if n == 0 { // lost
						resent++
						if err := ping.Send(f); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.StopTimer()
			elapsed := b.Elapsed()
			unpin()
			binary.BigEndian.PutUint32(f[20:], idQuit)
			ping.Send(f)
			<-done
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/2, "ns/half-rtt")
			if resent > 0 {
				b.Logf("%d pings lost and resent", resent)
				logLoss(b, p, ping, pong)
			}
		})
	}
}

// BenchmarkStream measures one-way throughput of 9014-byte frames (9000
// bytes of payload on a 9000-MTU interface) sent in trains of 32, each
// train acknowledged by a 60-byte frame, like PEERS.md's raw trains.
func BenchmarkStream(b *testing.B) {
	const train = 32
	p := newPair(b, 9000)
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			src := openIn(b, p.nsA, Config{Interface: p.ifA, Endpoint: 1, Rx: m.rx})
			sink := openIn(b, p.nsB, Config{Interface: p.ifB, Endpoint: 1, Rx: m.rx})
			done := make(chan struct{})
			received := 0
			go func() {
				defer close(done)
				defer pin(b, 1)()
				buf := make([]byte, 9100)
				msg := make([]byte, train*9000) // the receiver copies payloads out, as a library would
				ack := frame(src.MAC(), sink.MAC(), 37, 1, 0, 60)
				for {
					n, err := recvFrame(sink, buf, m.block, time.Now().Add(time.Hour))
					if err != nil {
						b.Errorf("sink: %v", err)
						return
					}
					if n < 24 {
						return
					}
					id := binary.BigEndian.Uint32(buf[20:])
					if id == idQuit {
						return
					}
					received++
					copy(msg[int(id&0xff)%train*9000:], buf[14:n])
					if id&idLast != 0 {
						binary.BigEndian.PutUint32(ack[20:], id)
						if err := sink.Send(ack); err != nil {
							b.Errorf("ack Send: %v", err)
							return
						}
					}
				}
			}()
			unpin := pin(b, 0)
			f := frame(sink.MAC(), src.MAC(), 37, 1, 0, 9014)
			buf := make([]byte, 128)
			lost := 0
			b.SetBytes(9000)
			b.ResetTimer()
			for i := 0; i < b.N; {
				k := min(train, b.N-i)
				for j := range k {
					id := uint32(i + j)
					if j == k-1 {
						id |= idLast
					}
					binary.BigEndian.PutUint32(f[20:], id)
					if err := src.Send(f); err != nil {
						b.Fatal(err)
					}
				}
				i += k
				for {
					n, err := recvFrame(src, buf, m.block, time.Now().Add(time.Second))
					if err != nil {
						b.Fatal(err)
					}
					if n >= 24 && binary.BigEndian.Uint32(buf[20:]) == binary.BigEndian.Uint32(f[20:]) {
						break
					}
					if n == 0 { // the last frame or its ack was lost
						lost++
						if err := src.Send(f); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.StopTimer()
			unpin()
			binary.BigEndian.PutUint32(f[20:], idQuit)
			src.Send(f[:60])
			<-done
			if lost > 0 || received < b.N {
				b.Logf("%d trains timed out; %d of %d frames received", lost, received, b.N)
				logLoss(b, p, src, sink)
			}
			if s := src.Stats(); s.TxDropped > 0 || s.TxRetries > 0 {
				b.Logf("send stats: %+v", s)
			}
		})
	}
}

// BenchmarkRecvEmpty measures one busy-poll step on an empty link
// (PEERS.md: 156 ns for recv(MSG_DONTWAIT) from C).
func BenchmarkRecvEmpty(b *testing.B) {
	p := newPair(b, 9000)
	for _, m := range benchModes[:2] {
		b.Run(m.name, func(b *testing.B) {
			l := openIn(b, p.nsB, Config{Interface: p.ifB, Endpoint: 1, Rx: m.rx})
			buf := make([]byte, 9100)
			for b.Loop() {
				if n, err := l.Recv(buf); n != 0 || err != nil {
					b.Fatalf("Recv = %d, %v", n, err)
				}
			}
		})
	}
}

// BenchmarkSend measures Send of a 60-byte frame with a socket receiving it
// on the other side (PEERS.md: 1141 ns from C).
func BenchmarkSend(b *testing.B) {
	p := newPair(b, 9000)
	src := openIn(b, p.nsA, Config{Interface: p.ifA, Endpoint: 1})
	sink := openIn(b, p.nsB, Config{Interface: p.ifB, Endpoint: 1, Rx: RxRecv})
	f := frame(sink.MAC(), src.MAC(), 37, 1, 0, 60)
	buf := make([]byte, 100)
	i := 0
	for b.Loop() {
		if err := src.Send(f); err != nil {
			b.Fatal(err)
		}
		if i++; i%1024 == 0 { // keep the sink's queue short
			b.StopTimer()
			for n, _ := sink.Recv(buf); n > 0; n, _ = sink.Recv(buf) {
			}
			b.StartTimer()
		}
	}
}

// logLoss logs the kernel's view after frames were lost: the sockets'
// PACKET_STATISTICS and the veth counters.
func logLoss(b *testing.B, p pair, links ...*packetLink) {
	for _, l := range links {
		s, err := unix.GetsockoptTpacketStats(l.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		b.Logf("socket on %s: %+v %v", l.name, s, err)
	}
	for _, end := range [][2]string{{p.nsA, p.ifA}, {p.nsB, p.ifB}} {
		out, _ := exec.Command("ip", "-n", end[0], "-s", "link", "show", end[1]).CombinedOutput()
		b.Logf("%s", out)
	}
}
