//go:build linux

package shm

// Channels: one direction of an endpoint served by the node service (the
// backend, link/backend). A channel is the inbox ring format in a memfd
// that the service creates, sizes once and seals (no process can shrink or
// grow it, so a mapping can never fault), plus an eventfd that wakes its
// consumer. Both sides map the same memfd; each side treats what the other
// wrote as untrusted, as the inbox code already does (every index and
// record is checked).

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Channel is a mapped channel. Push and Pop may run concurrently with each
// other (one producer, one consumer); Close must not.
type Channel struct {
	mu     sync.RWMutex // read-held while the mapping is used, write-held to unmap it
	r      ring
	mem    []byte
	me     uint64 // producer lock value
	bell   int    // eventfd
	woken  atomic.Bool
	closed atomic.Bool
	rxLock lockState
	bad    atomic.Uint64 // invalid records found by Pop
	full   atomic.Uint64 // frames Push dropped: ring full, or busy
	rings  atomic.Uint64 // times Push woke the consumer
	sleeps atomic.Uint64 // times Wait slept
}

// ErrBadChannel is returned by MapChannel for a memfd that is not a
// sealed, valid channel.
var ErrBadChannel = errors.New("shm: invalid channel")

const channelSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// NewChannel creates the memfd and eventfd of a channel of capacity bytes
// for frames of at most mtu bytes; owner is recorded in the header. The
// caller passes both descriptors to the other side and maps its own view
// with MapChannel.
func NewChannel(name string, capacity, mtu int) (memfd, bell int, err error) {
	capacity = int(pad8(uint64(capacity)))
	if mtu < 14 || capacity < 2*int(recordSize(mtu)) {
		return -1, -1, fmt.Errorf("shm: channel of %d bytes for frames of %d: %w", capacity, mtu, ErrBadChannel)
	}
	memfd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, -1, fmt.Errorf("shm: memfd_create: %w", err)
	}
	fail := func(op string, e error) (int, int, error) {
		unix.Close(memfd)
		return -1, -1, fmt.Errorf("shm: channel %s: %w", op, e)
	}
	size := hdrSize + capacity
	if err := unix.Ftruncate(memfd, int64(size)); err != nil {
		return fail("truncate", err)
	}
	if _, err := unix.FcntlInt(uintptr(memfd), unix.F_ADD_SEALS, channelSeals); err != nil {
		return fail("seal", err)
	}
	mem, err := unix.Mmap(memfd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap", err)
	}
	initHeader(mem, uint64(capacity), mtu, unix.Getpid())
	unix.Munmap(mem)
	bell, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fail("eventfd", err)
	}
	return memfd, bell, nil
}

// MapChannel maps a channel received from the other side: the memfd must
// carry the seals (so its size is fixed) and a valid header; bell must be
// an eventfd. The Channel owns neither descriptor after an error; after
// success it owns bell (closed by Close) and not memfd.
func MapChannel(memfd, bell int) (*Channel, error) {
	seals, err := unix.FcntlInt(uintptr(memfd), unix.F_GET_SEALS, 0)
	if err != nil || seals&(unix.F_SEAL_SHRINK|unix.F_SEAL_GROW) != unix.F_SEAL_SHRINK|unix.F_SEAL_GROW {
		return nil, fmt.Errorf("shm: channel not sealed: %w", ErrBadChannel)
	}
	var st unix.Stat_t
	if err := unix.Fstat(memfd, &st); err != nil {
		return nil, err
	}
	if st.Size < hdrSize || st.Size > hdrSize+1<<30 {
		return nil, fmt.Errorf("shm: channel of %d bytes: %w", st.Size, ErrBadChannel)
	}
	mem, err := unix.Mmap(memfd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shm: channel mmap: %w", err)
	}
	capacity, mtu, ok := parseHeader(mem, st.Size)
	if !ok {
		unix.Munmap(mem)
		return nil, fmt.Errorf("shm: channel header: %w", ErrBadChannel)
	}
	var bst unix.Stat_t
	if err := unix.Fstat(bell, &bst); err != nil {
		unix.Munmap(mem)
		return nil, err
	}
	return &Channel{r: ring{mem: mem, capacity: capacity, mtu: mtu}, mem: mem, me: uint64(unix.Getpid()), bell: bell}, nil
}

// MTU returns the largest frame of the channel.
func (c *Channel) MTU() int { return c.r.mtu }

// Bell returns the eventfd that wakes the consumer.
func (c *Channel) Bell() int { return c.bell }

// Push appends a frame (the producer side) and wakes the consumer if it
// sleeps. It reports false when the frame was dropped (full ring, or a
// header the other side made invalid).
func (c *Channel) Push(frame []byte) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed.Load() {
		return false
	}
	ok, _ := c.r.lock(c.me)
	if !ok {
		c.full.Add(1)
		return false
	}
	res := c.r.push(frame, len(frame))
	c.r.unlock(c.me)
	if res != pushed {
		c.full.Add(1)
		return false
	}
	if c.r.mustRing() {
		c.rings.Add(1)
		c.ring()
	}
	return true
}

func (c *Channel) ring() {
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(c.bell, one[:])
}

// Pop copies the next frame into buf (the consumer side); 0 when there is
// none. A ring the other side corrupted is reset (what it held is lost,
// and counted).
func (c *Channel) Pop(buf []byte) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed.Load() {
		return 0
	}
	n, bad := c.r.pop(buf)
	if !bad {
		return n
	}
	c.bad.Add(1)
	if ok, _ := c.r.tryLock(c.me, &c.rxLock, time.Now()); ok {
		c.rxLock = lockState{}
		c.r.reset()
		c.r.unlock(c.me)
	}
	return 0
}

// Pending reports whether something waits in the ring.
func (c *Channel) Pending() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.pendingLocked()
}

func (c *Channel) pendingLocked() bool { return !c.closed.Load() && c.r.pending() }

// Bad returns how many invalid records Pop found; Dropped how many frames
// Push could not store.
func (c *Channel) Bad() uint64     { return c.bad.Load() }
func (c *Channel) Dropped() uint64 { return c.full.Load() }

// Wake makes the consumer's current or next Wait return at once.
func (c *Channel) Wake() {
	c.woken.Store(true)
	c.ring()
}

// Wait blocks the consumer until a frame is pending, Wake is called or
// the timeout (negative: none) elapses. extra, when >= 0, is one more
// descriptor to watch (readable: return). It may return early; callers
// look at the ring afterwards.
func (c *Channel) Wait(timeout time.Duration, extra int) error {
	return c.WaitWith(timeout, func(bell int, d time.Duration) error { return pollFDs(bell, extra, d) })
}

// WaitWith is Wait sleeping through sleep, given the channel's eventfd
// (for example the wait of a link that watches one more descriptor). The
// consumer announces itself in the header's sleeper count before its last
// look, and the producer stores the frame before it reads the count, so
// no frame is slept on.
func (c *Channel) WaitWith(timeout time.Duration, sleep func(bell int, timeout time.Duration) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	ready := func() bool { return c.woken.Swap(false) || c.pendingLocked() }
	for i := 0; i < 64; i++ {
		if c.closed.Load() {
			return nil
		}
		if ready() || (timeout >= 0 && !time.Now().Before(deadline)) {
			return nil
		}
		yieldThread()
	}
	sl := u32At(c.mem, offSleepers)
	sl.Add(1)
	defer sl.Add(^uint32(0))
	c.drain()
	if ready() {
		return nil
	}
	d := time.Duration(-1)
	if timeout >= 0 {
		if d = time.Until(deadline); d <= 0 {
			return nil
		}
	}
	c.sleeps.Add(1)
	return sleep(c.bell, d)
}

// yieldThread gives the processor to other threads of the host for a
// moment: a waiter's spin must let the other side (often another process,
// such as the node service's pump) run. It is sched_yield(2) and not
// runtime.Gosched: a goroutine locked to its thread (every call from C into
// the library runs on one) cannot be rescheduled on its own thread, so
// each Gosched handed the thread's P to another thread and back (two
// futex wake-ups and two context switches), and the 64 of a wait kept both
// CPUs of a small host busy for about a millisecond, starving the service.
func yieldThread() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// Counts returns how many times Push rang the consumer and Wait slept.
func (c *Channel) Counts() (rings, sleeps uint64) { return c.rings.Load(), c.sleeps.Load() }

// drain empties the eventfd (rings of the producer and wake-ups), so
// that the next sleep blocks until the next one.
func (c *Channel) drain() {
	u32At(c.mem, offRung).Store(0)
	var b [8]byte
	_, _ = unix.Read(c.bell, b[:])
}

// Close wakes a waiting consumer, then unmaps the channel and closes its
// bell.
func (c *Channel) Close() {
	if c.closed.Swap(true) {
		return
	}
	c.ring()
	c.mu.Lock()
	defer c.mu.Unlock()
	unix.Munmap(c.mem)
	unix.Close(c.bell)
}
