//go:build linux

package shm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// twoViews maps one channel twice, as the service and an application do.
func twoViews(t *testing.T, capacity, mtu int) (prod, cons *Channel, memfd int) {
	t.Helper()
	memfd, bell, err := NewChannel("test", capacity, mtu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(memfd) })
	bell2, err := unix.Dup(bell)
	if err != nil {
		t.Fatal(err)
	}
	if prod, err = MapChannel(memfd, bell); err != nil {
		t.Fatal(err)
	}
	if cons, err = MapChannel(memfd, bell2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close(); cons.Close() })
	return prod, cons, memfd
}

func TestChannelExchange(t *testing.T) {
	prod, cons, _ := twoViews(t, 1<<16, 9014)
	buf := make([]byte, 9014)
	if n := cons.Pop(buf); n != 0 {
		t.Fatalf("empty channel gave %d bytes", n)
	}
	for i := 0; i < 1000; i++ {
		f := bytes.Repeat([]byte{byte(i)}, 60+i%9000)
		if !prod.Push(f) {
			t.Fatalf("push %d dropped", i)
		}
		if n := cons.Pop(buf); n != len(f) || !bytes.Equal(buf[:n], f) {
			t.Fatalf("frame %d: got %d bytes", i, n)
		}
	}
	// A full ring drops and counts.
	for prod.Push(make([]byte, 9000)) {
	}
	if prod.Dropped() == 0 {
		t.Fatal("no drop counted on a full ring")
	}
}

func TestChannelWaitWakes(t *testing.T) {
	prod, cons, _ := twoViews(t, 1<<16, 1514)
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		cons.Wait(5*time.Second, -1)
		done <- time.Since(start)
	}()
	time.Sleep(100 * time.Millisecond)
	prod.Push([]byte("0123456789abcdef"))
	if d := <-done; d < 50*time.Millisecond || d > 3*time.Second {
		t.Fatalf("woke after %v", d)
	}
	// Nothing pending: a wait times out; Wake ends it at once.
	cons.Pop(make([]byte, 100))
	start := time.Now()
	cons.Wait(50*time.Millisecond, -1)
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("wait on an empty channel returned after %v", d)
	}
	go func() { time.Sleep(50 * time.Millisecond); cons.Wake() }()
	start = time.Now()
	cons.Wait(5*time.Second, -1)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatal("Wake did not end the wait")
	}
}

// The other side is untrusted: a corrupted header is survived (the ring is
// reset), the memfd cannot be resized, and an unsealed one is refused.
func TestChannelHostileOtherSide(t *testing.T) {
	prod, cons, memfd := twoViews(t, 1<<16, 1514)
	prod.Push([]byte("hello, world, hello"))
	binary.LittleEndian.PutUint64(cons.mem[offTail:], 1<<40+3)
	if n := cons.Pop(make([]byte, 2000)); n != 0 || cons.Bad() == 0 {
		t.Fatalf("corrupt ring: got %d bytes, %d bad", n, cons.Bad())
	}
	if !prod.Push([]byte("after the reset, frames flow again")) || cons.Pop(make([]byte, 2000)) == 0 {
		t.Fatal("the channel did not recover")
	}
	if err := unix.Ftruncate(memfd, 4096); err == nil {
		t.Fatal("a sealed channel was shrunk")
	}
	fd, err := unix.MemfdCreate("plain", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	unix.Ftruncate(fd, hdrSize+1<<16)
	ev, _ := unix.Eventfd(0, unix.EFD_CLOEXEC)
	defer unix.Close(ev)
	if _, err := MapChannel(fd, ev); !errors.Is(err, ErrBadChannel) {
		t.Fatalf("unsealed memfd: %v", err)
	}
}
