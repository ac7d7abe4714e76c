//go:build linux

package afpacket

import (
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// rxRing is a PACKET_RX_RING (TPACKET_V2) mapped into the process: the
// kernel fills frame slots in order and hands each to user space by setting
// TP_STATUS_USER; recv copies the frame out and gives the slot back.
type rxRing struct {
	mem       []byte
	frameSize int
	frames    int
	perBlock  int // slots per block (slots do not straddle blocks)
	blockSize int
	fd        int

	drops atomic.Uint64 // frames the kernel dropped (ring full)
	run   int           // slots read since the ring was last found empty (under mu)

	mu   sync.Mutex // guards next: concurrent Recv calls take turns
	next int        // index of the next slot to read
}

// newRxRing sets up a ring of about size bytes on fd for frames of up to
// maxFrame bytes. On error the socket is left without a ring (still in
// TPACKET_V2 mode, which only matters to rings).
func newRxRing(fd, maxFrame, size int) (*rxRing, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return nil, fmt.Errorf("PACKET_VERSION TPACKET_V2: %w", err)
	}
	// A slot holds the 32-byte header, the sockaddr_ll and alignment
	// (the frame starts at offset 66 for Ethernet), then the frame,
	// rounded to TPACKET_ALIGNMENT. Slots do not straddle blocks, so a
	// block holds as many whole slots as fit: about size/maxFrame slots
	// in all, whatever the MTU of the interface (maxFrame is the largest
	// frame of the wire mode, not the interface's MTU: on lo, MTU 65536,
	// slots sized from the MTU left 64 of them).
	frameSize := (maxFrame + 128 + 15) &^ 15
	blockSize := 64 << 10
	for blockSize < frameSize {
		blockSize <<= 1
	}
	perBlock := blockSize / frameSize
	blocks := max(size/blockSize, 1)
	req := unix.TpacketReq{
		Block_size: uint32(blockSize),
		Block_nr:   uint32(blocks),
		Frame_size: uint32(frameSize),
		Frame_nr:   uint32(blocks * perBlock),
	}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("PACKET_RX_RING of %d bytes: %w", blocks*blockSize, err)
	}
	mem, err := unix.Mmap(fd, 0, blocks*blockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		// Free the ring so the socket queues frames for recv again.
		_ = unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &unix.TpacketReq{})
		return nil, fmt.Errorf("mmap of the receive ring: %w", err)
	}
	return &rxRing{mem: mem, frameSize: frameSize, frames: int(req.Frame_nr), perBlock: perBlock, blockSize: blockSize, fd: fd}, nil
}

// recv copies the next frame into buf and returns its length, or 0 if the
// ring is empty.
func (r *rxRing) recv(buf []byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	off := r.offset(r.next)
	h := r.header(off)
	if st := loadStatus(h); st&tpStatusUser == 0 {
		r.empty()
		return 0
	} else if st&tpStatusLosing != 0 {
		r.losing()
	}
	r.run++
	start := off + int(h.Mac)
	end := min(start+int(h.Snaplen), off+r.frameSize)
	n := copy(buf, r.mem[start:end])
	releaseFrame(h)
	r.next++
	if r.next == r.frames {
		r.next = 0
	}
	return n
}

// ready reports whether a frame is waiting.
// borrow returns the next filled slot in place; ret hands it back to the
// kernel.
func (r *rxRing) borrow() ([]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	slot := r.next
	off := r.offset(slot)
	h := r.header(off)
	if st := loadStatus(h); st&tpStatusUser == 0 {
		r.empty()
		return nil, 0
	} else if st&tpStatusLosing != 0 {
		r.losing()
	}
	r.run++
	start := off + int(h.Mac)
	end := min(start+int(h.Snaplen), off+r.frameSize)
	r.next++
	if r.next == r.frames {
		r.next = 0
	}
	return r.mem[start:end:end], slot
}

func (r *rxRing) ret(slot int) {
	releaseFrame(r.header(r.offset(slot)))
}

func (r *rxRing) ready() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return loadStatus(r.header(r.offset(r.next)))&tpStatusUser != 0
}

// unmap releases the mapping; the ring must not be used afterwards.
func (r *rxRing) unmap() error {
	return unix.Munmap(r.mem)
}

// offset is where slot i starts in the mapping.
func (r *rxRing) offset(i int) int {
	return i/r.perBlock*r.blockSize + i%r.perBlock*r.frameSize
}

// losing handles a frame marked TP_STATUS_LOSING: the kernel dropped frames
// since the statistics were last read (the ring was full). Reading them
// counts the drops and clears the mark for the frames that follow.
func (r *rxRing) losing() { r.readDrops() }

// empty is called when the next slot is found empty: if every slot was
// read since the ring was last found empty, the ring was full, and frames
// that came meanwhile may have been dropped with no later frame to carry
// the TP_STATUS_LOSING mark (the end of a burst): the statistics tell.
func (r *rxRing) empty() {
	if r.run >= r.frames {
		r.readDrops()
	}
	r.run = 0
}

// readDrops reads (and resets) the socket's statistics and counts the
// frames dropped since the last read.
func (r *rxRing) readDrops() {
	if st, err := unix.GetsockoptTpacketStats(r.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		r.drops.Add(uint64(st.Drops))
	}
}
