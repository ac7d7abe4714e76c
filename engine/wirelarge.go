package engine

// Large messages over the wire: the puller (receiver) and the stateless
// replier (sender) of spec/wire.md §3.5.4–§3.5.6 and §4.9; mirrors
// driver/linux/omx_pull.c of Open-MX, which ran in the kernel.

import (
	"math/bits"
	"slices"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// pullSource is what an RNDV told us about the data to pull.
type pullSource struct {
	partner    *Partner
	rdmaID     uint8
	rdmaSeq    uint8
	rdmaOffset uint32
	length     uint32
	pid        uint32 // same-host sender that offered a direct read (0: none)
	addr       uint64
}

// pull is one large receive in progress. Its frames (pull replies) are
// numbered from 0; frame f holds bytes [frameStart(f), frameStart(f+1)) of
// the message. They are requested block by block as the partner's pull
// window allows (wirecc.go), and every request of a frame gets an order
// number: a frame is lost when replies to dupThresh later requests arrived,
// and only that frame is asked for again.
type pull struct {
	handle    uint32
	req       *Request
	src       *pullSource
	xfer      uint32
	remaining uint32 // bytes not requested yet
	nextFrame uint32 // first frame not requested yet
	missing   int    // frames requested, not received
	blocks    []pullBlock
	started   time.Time
	deadline  time.Time
	budget    uint32
}

// pullBlock is one PULL's worth of frames.
type pullBlock struct {
	frameIndex uint32
	frames     uint32
	length     uint32
	ffo        uint32
	missing    uint64                  // bit i: frame frameIndex+i not received
	resent     uint64                  // bit i: frame frameIndex+i was asked for again
	order      [pullBlockFrames]uint64 // order number of each frame's last request (pullOrder)
	req        [pullBlockFrames]uint64 // number of the PULL that last asked for each frame
	reqAt      time.Time               // first request (zero once timed or asked again)
}

// pullBlockFrames is the most frames one block holds: PER_BLOCK of every
// wire mode (32 native, 8 mx-wire).
const pullBlockFrames = 32

// startPullLocked begins fetching a matched large message into r.
func (ep *Endpoint) startPullLocked(r *Request, src *pullSource) {
	xfer := min(src.length, r.length)
	r.status.XferLength = xfer
	if xfer == 0 || ep.net == nil || src.partner.w == nil {
		ep.sendNotifyLocked(src, 0)
		st := StatusSuccess
		if xfer < src.length {
			st = StatusMessageTruncated
		}
		ep.completeLocked(r, st)
		return
	}
	if src.pid != 0 && src.rdmaOffset == 0 && ep.readProcess != nil && !ep.readFallback.Load() && ep.ownSenderLocked(src) {
		// Same host: one copy, straight from the sender's memory.
		if err := ep.readProcess(src.pid, src.addr, xfer, r.segs); err == nil {
			ep.counters.Inc(DMASharedLarge)
			ep.sendNotifyLocked(src, xfer)
			st := StatusSuccess
			if xfer < src.length {
				st = StatusMessageTruncated
			}
			ep.completeLocked(r, st)
			return
		}
		ep.readFallback.Store(true) // refused (ptrace rules): two copies from now on
	}
	n := ep.net
	n.pullSeq++
	if n.pullSeq == 0 {
		n.pullSeq = 1
	}
	now := ep.now()
	pl := &pull{handle: n.pullSeq, req: r, src: src, xfer: xfer, remaining: xfer, started: now,
		budget: ep.requestResends.Load()}
	if n.pullsByHandle == nil {
		n.pullsByHandle = make(map[uint32]*pull)
	}
	n.pullsByHandle[pl.handle] = pl
	r.wpull = pl
	r.pinned = true
	w := src.partner.w
	pl.deadline = now.Add(w.path.rto(ep.pullTimeout))
	w.path.pulls = append(w.path.pulls, pl)
	ep.fillPullsLocked(src.partner)
	if len(pl.blocks) > 1 {
		ep.counters.Inc(PullRequestNotOnlyFirstBlock)
	}
}

// ownSenderLocked reports whether the same-host extension of an RNDV names
// the process that owns the sending endpoint's inbox: the only memory a
// record may make this process read is its sender's (link.Origin).
func (ep *Endpoint) ownSenderLocked(src *pullSource) bool {
	o := ep.net.origin
	p := src.partner
	if o == nil || p == nil || p.nicID != ep.board.NICID || p.index > 255 {
		return false
	}
	pid, ok := o.OwnerPID(uint8(p.index))
	if !ok || pid != src.pid {
		ep.counters.Inc(DropBadPeerAddr)
		return false
	}
	return true
}

// frameStart is the message offset of frame f of a pull.
func (pl *pull) frameStart(f, R uint32) uint32 {
	if f == 0 {
		return 0
	}
	return min(uint64ToU32(uint64(f)*uint64(R)-uint64(pl.src.rdmaOffset%R)), pl.xfer)
}

func uint64ToU32(v uint64) uint32 {
	if v > 0xffffffff {
		return 0xffffffff
	}
	return uint32(v)
}

// fillPullsLocked requests more of the pulls from p while its pull window
// has room, oldest pull first. Requests come in chunks of at least a
// quarter window (or a block), not one frame per reply.
func (ep *Endpoint) fillPullsLocked(p *Partner) {
	w := p.w
	if w == nil || ep.net == nil {
		return
	}
	ps := &w.path
	inflight := 0
	for _, pl := range ps.pulls {
		inflight += pl.missing
	}
	chunk := max(1, min(ep.net.mode.PerBlock, ps.pwnd/4))
	for _, pl := range ps.pulls {
		for pl.remaining > 0 {
			room := ps.pwnd - inflight
			if room < chunk && inflight > 0 {
				return
			}
			k := ep.appendBlockLocked(pl, max(room, 1))
			if k == 0 {
				break // the pull's frame span is full
			}
			inflight += k
		}
	}
}

// appendBlockLocked requests the next block of a pull, of at most
// maxFrames frames, and returns how many it requested.
func (ep *Endpoint) appendBlockLocked(pl *pull, maxFrames int) int {
	R := uint32(ep.net.mode.ReplyMax)
	frames := uint32(min(maxFrames, ep.net.mode.PerBlock, pullBlockFrames))
	if len(pl.blocks) > 0 {
		// Replies name their frame modulo 256.
		used := pl.nextFrame - pl.blocks[0].frameIndex
		if used >= pullSpan {
			return 0
		}
		frames = min(frames, pullSpan-used)
	}
	f0 := pl.nextFrame
	length := pl.frameStart(f0+frames, R) - pl.frameStart(f0, R)
	ffo := uint32(0)
	if f0 == 0 {
		ffo = pl.src.rdmaOffset % R
	}
	frames = (ffo + length + R - 1) / R
	b := pullBlock{frameIndex: f0, frames: frames, length: length, ffo: ffo, missing: 1<<frames - 1, reqAt: ep.now()}
	po := &pl.src.partner.w.path.po
	po.reqs++
	for i := range frames {
		po.order++
		b.order[i], b.req[i] = po.order, po.reqs
	}
	pl.nextFrame += frames
	pl.remaining -= length
	pl.missing += int(frames)
	pl.blocks = append(pl.blocks, b)
	ep.sendPullLocked(pl, &b, 0, frames)
	return int(frames)
}

// sendPullLocked asks for frames [lo, lo+cnt) of block b.
func (ep *Endpoint) sendPullLocked(pl *pull, b *pullBlock, lo, cnt uint32) {
	p := pl.src.partner
	if p.w == nil {
		return
	}
	sess := p.w.backSess
	if sess == unknownSession {
		sess = p.w.trueSess
	}
	R := uint32(ep.net.mode.ReplyMax)
	f := b.frameIndex + lo
	ffo := uint32(0)
	if f == 0 {
		ffo = pl.src.rdmaOffset % R
	}
	length := pl.frameStart(f+cnt, R) - pl.frameStart(f, R)
	rq := wire.Pull{DstEP: uint8(p.index), SrcEP: uint8(ep.index), Session: sess, TotalLength: pl.xfer,
		RDMAID: uint32(pl.src.rdmaID), RDMASeq: pl.src.rdmaSeq, RDMAOffset: pl.src.rdmaOffset,
		Handle: pl.handle, Magic: uint32(ep.index) ^ link.PullMagic,
		FirstFrameOffset: ffo, BlockLength: length, FrameIndex: f}
	if k, err := rq.Encode(ep.net.tx, ep.headTo(p.w), ep.net.mode); err == nil {
		ep.sendFrameLocked(ep.net.tx[:k])
		ep.counters.Inc(SendPullRequest)
	}
}

// rerequestLocked asks again for the frames of lost (a mask of block b),
// in runs of consecutive frames, with new order numbers.
func (ep *Endpoint) rerequestLocked(pl *pull, b *pullBlock, lost uint64) {
	b.reqAt = time.Time{} // Karn: no round-trip sample from this block
	b.resent |= lost
	po := &pl.src.partner.w.path.po
	for i := uint32(0); i < b.frames; {
		if lost&(1<<i) == 0 {
			i++
			continue
		}
		j := i
		po.reqs++
		for j < b.frames && lost&(1<<j) != 0 {
			po.order++
			b.order[j], b.req[j] = po.order, po.reqs
			j++
		}
		ep.sendPullLocked(pl, b, i, j-i)
		ep.resends.Add(1)
		i = j
	}
}

// pullReplyLocked stores pulled data (§3.5.4).
func (ep *Endpoint) pullReplyLocked(frame []byte) {
	n := ep.net
	h, pr, err := wire.DecodePullReply(frame, n.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvPullReply)
	if pr.Magic != uint32(ep.index)^link.PullMagic {
		ep.counters.Inc(DropPullReplyBadMagicEndpoint)
		return
	}
	pl := n.pullsByHandle[pr.Handle]
	if pl == nil || len(pl.blocks) == 0 {
		ep.counters.Inc(DropPullReplyBadWireHandle)
		return
	}
	p := pl.src.partner
	if p.w == nil || h.Src != p.w.mac {
		// Only the sender of the message fills the buffer.
		ep.counters.Inc(DropPullReplyBadWireHandle)
		return
	}
	R := uint32(n.mode.ReplyMax)
	base := pl.blocks[0].frameIndex
	k := (uint32(pr.FrameSeq) - base%256 + 256) % 256
	f := base + k
	var b *pullBlock
	for i := range pl.blocks {
		if f >= pl.blocks[i].frameIndex && f < pl.blocks[i].frameIndex+pl.blocks[i].frames {
			b = &pl.blocks[i]
			break
		}
	}
	if b == nil {
		ep.counters.Inc(DropPullReplyBadSeqnum)
		return
	}
	if pr.MsgOffset != pl.frameStart(f, R) {
		ep.counters.Inc(DropPullReplyBadSeqnum)
		return
	}
	i := f - b.frameIndex
	bit := uint64(1) << i
	if b.missing&bit == 0 {
		ep.counters.Inc(DropPullReplyDuplicate)
		return
	}
	data := pr.Data
	if end := uint64(pr.MsgOffset) + uint64(len(data)); end > uint64(pl.xfer) {
		if pr.MsgOffset >= pl.xfer {
			data = nil
		} else {
			data = data[:pl.xfer-pr.MsgOffset]
		}
	}
	copyToSegments(pl.req.segs, pr.MsgOffset, data)
	b.missing &^= bit
	pl.missing--
	now := ep.now()
	ps := &p.w.path
	if !b.reqAt.IsZero() {
		ps.sample(now.Sub(b.reqAt))
		b.reqAt = time.Time{}
	}
	ps.backoff = 0
	grow(&ps.pwnd, &ps.pssthresh, &ps.pacc, 1, pullWndMax)
	pl.deadline = now.Add(ps.rto(ep.pullTimeout))
	// Only an arrival that names a newer PULL, or follows a gap in the
	// order of arrivals, can show a loss: the others skip the scan. A
	// frame asked for more than once shows nothing: which request it
	// answers is unknown (Karn's rule, for loss detection).
	if b.resent&bit == 0 {
		po := &ps.po
		req, o := b.req[i], b.order[i]
		if ps.pUndo.on && o <= ps.pUndo.order {
			// Requested before the timeout and come after it: the
			// path was slow, nothing was lost.
			ps.undo(false)
		}
		if o != po.lastOrder+1 {
			po.gapScans = dupThresh + 1
		}
		po.lastOrder = o
		if req > po.seenReq || po.gapScans > 0 {
			po.seenReq = max(po.seenReq, req)
			po.gapScans = max(po.gapScans-1, 0)
			ep.pullLossesLocked(p, now, req, o)
		}
	}
	for len(pl.blocks) > 0 && pl.blocks[0].missing == 0 {
		pl.blocks = pl.blocks[1:]
	}
	if len(pl.blocks) == 0 && pl.remaining == 0 {
		ep.endPullLocked(pl, StatusSuccess)
	}
	ep.fillPullsLocked(p)
}

// pullLossesLocked asks again for the frames of the pulls from p that a
// reply just received (to PULL number req, frame order o) shows lost. The
// partner answers PULLs in the order it gets them, whatever pull they
// belong to, so a frame is lost when a reply to a frame requested dupThresh
// frames after it by the same PULL came, or a reply to a PULL sent two or
// more PULLs after its own (two PULLs that the path swapped are not a
// loss).
func (ep *Endpoint) pullLossesLocked(p *Partner, now time.Time, req, o uint64) {
	ps := &p.w.path
	lostAny := false
	for _, pl := range ps.pulls {
		for bi := range pl.blocks {
			b := &pl.blocks[bi]
			if b.missing == 0 {
				continue
			}
			var lost uint64
			for m := b.missing; m != 0; m &= m - 1 {
				i := bits.TrailingZeros64(m)
				if b.req[i]+2 <= ps.po.seenReq || (b.req[i] == req && b.order[i]+dupThresh <= o) {
					lost |= 1 << i
				}
			}
			if lost != 0 {
				lostAny = true
				ep.recovery.pullRerequests.Add(uint64(bits.OnesCount64(lost)))
				if bi > 0 {
					ep.counters.Inc(PullNonFirstBlockDoneEarly)
				}
				ep.rerequestLocked(pl, b, lost)
			}
		}
	}
	if lostAny {
		ps.pUndo.on = false // a real loss
		ps.cut(now, false, false, 0)
	}
}

// endPullLocked completes a pull: the receive completes and the sender is
// notified of the bytes taken (0 after a failure).
func (ep *Endpoint) endPullLocked(pl *pull, st Status) {
	delete(ep.net.pullsByHandle, pl.handle)
	if w := pl.src.partner.w; w != nil {
		if i := slices.Index(w.path.pulls, pl); i >= 0 {
			w.path.pulls = slices.Delete(w.path.pulls, i, i+1)
		}
		defer ep.fillPullsLocked(pl.src.partner) // the window it held goes to the next pull
	}
	r := pl.req
	r.wpull = nil
	xfer := pl.xfer
	if st != StatusSuccess {
		xfer = 0
		r.status.XferLength = 0
	} else if pl.xfer < pl.src.length {
		st = StatusMessageTruncated
	}
	ep.sendNotifyLocked(pl.src, xfer)
	ep.completeLocked(r, st)
}

// nackMCPLocked fails the pull a NACK_MCP refers to.
func (ep *Endpoint) nackMCPLocked(frame []byte) {
	h, nk, err := wire.DecodeNackMCP(frame, ep.net.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvNackMCP)
	pl := ep.net.pullsByHandle[nk.Handle]
	st, ok := nackStatus(nk.Nack)
	if pl == nil || !ok || nk.Magic != uint32(ep.index)^link.PullMagic || pl.src.partner.w == nil || h.Src != pl.src.partner.w.mac {
		ep.counters.Inc(DropNackMCPBadWireHandle)
		return
	}
	ep.endPullLocked(pl, st)
}

// pullTimersLocked handles pulls that made no progress for a
// retransmission timeout: a few of the oldest missing frames are asked
// again (pullStalledLocked); when their replies come, every frame requested
// before them that has not come is lost by order (pullLossesLocked). A pull
// gives up after the request's retry budget (§4.9).
func (ep *Endpoint) pullTimersLocked(now time.Time) {
	if ep.net == nil {
		return
	}
	for _, pl := range ep.net.pullsByHandle {
		if now.Before(pl.deadline) {
			continue
		}
		if pl.budget != 0xffffffff && now.Sub(pl.started) > ep.resendDelay*time.Duration(pl.budget) {
			ep.counters.Inc(PullTimeoutAbort)
			ep.endPullLocked(pl, StatusRemoteEndpointUnreachable)
			continue
		}
		if pl.missing == 0 {
			// Nothing requested is missing: the pull waits for room in
			// the window, which its partner's other pulls hold.
			pl.deadline = now.Add(pl.src.partner.w.path.rto(ep.pullTimeout))
			continue
		}
		ep.pullStalledLocked(pl, now, true)
	}
}

// pullStalledLocked probes a pull that may have lost replies it cannot
// tell from the order of arrivals (the last ones of a burst): its
// dupThresh oldest missing frames are asked again. Replies requested
// earlier come back before theirs, so a slow path causes no duplicate
// bursts, and the probe's replies reveal every other loss. timeout says
// the retransmission timer fired (the timeout backs off and the window
// shrinks); otherwise our receive ring overflowed.
func (ep *Endpoint) pullStalledLocked(pl *pull, now time.Time, timeout bool) {
	w := pl.src.partner.w
	if w == nil {
		return
	}
	ps := &w.path
	if timeout {
		ep.recovery.pullTimeouts.Add(1)
		ps.backoff = min(ps.backoff+1, 10)
		ps.cut(now, false, true, ps.po.order)
	}
	budget := dupThresh
	for bi := range pl.blocks {
		b := &pl.blocks[bi]
		if b.missing == 0 || budget <= 0 {
			continue
		}
		lost := b.missing
		for bits.OnesCount64(lost) > budget {
			lost &^= 1 << (63 - bits.LeadingZeros64(lost))
		}
		budget -= bits.OnesCount64(lost)
		if bi == 0 {
			ep.counters.Inc(PullTimeoutFirstBlock)
		} else {
			ep.counters.Inc(PullTimeoutNonFirstBlock)
		}
		ep.rerequestLocked(pl, b, lost)
	}
	pl.deadline = now.Add(ps.rto(ep.pullTimeout))
}

// servePullLocked answers a PULL with the requested block (stateless
// replier, §3.5.5).
func (ep *Endpoint) servePullLocked(frame []byte) {
	n := ep.net
	h, rq, err := wire.DecodePull(frame, n.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvPullRequest)
	// Only a partner may pull, and only what was announced to it: PULLs
	// from unknown sources get no answer at all (not even a NACK, which
	// would go to a forgeable address).
	p := ep.wirePartnerFrom(h.Src, rq.SrcEP)
	if p == nil {
		ep.counters.Inc(DropBadPeerAddr)
		return
	}
	nack := func(why wire.Nack) {
		if !n.nacks.take(n.coarseNow) {
			return
		}
		nk := wire.NackMCP{SrcEP: rq.SrcEP, Nack: why, Handle: rq.Handle, Magic: rq.Magic}
		if k, err := nk.Encode(n.tx, wire.Head{Dst: p.w.mac, Src: n.mac, PeerIndex: p.w.reverse}, n.mode); err == nil {
			ep.sendFrameLocked(n.tx[:k])
			ep.counters.Inc(SendNackMCP)
		}
	}
	if rq.Session != ep.session {
		nack(wire.NackBadSession)
		return
	}
	R := uint32(n.mode.ReplyMax)
	replies := (rq.FirstFrameOffset + rq.BlockLength + R - 1) / R
	if replies > uint32(n.mode.PerBlock) || rq.FirstFrameOffset >= R {
		ep.counters.Inc(DropPullBadReplies)
		return
	}
	if rq.RDMAID > 255 || n.regions[rq.RDMAID] == nil {
		ep.counters.Inc(DropPullBadRegion)
		nack(wire.NackBadRDMAWin)
		return
	}
	wr := n.regions[rq.RDMAID]
	// A region answers only the partner its RNDV went to, for the use
	// the RNDV announced (the original does not check the seqnum).
	if wr.partner != p || rq.RDMASeq != wr.regSeq {
		ep.counters.Inc(DropPullBadRegion)
		return
	}
	off0 := int64(rq.RDMAOffset % R)
	start := int64(rq.FrameIndex)*int64(R) - off0 + int64(rq.FirstFrameOffset)
	if start < 0 || start+int64(rq.RDMAOffset)+int64(rq.BlockLength) > int64(wr.length) {
		ep.counters.Inc(DropPullBadOffsetLength)
		return
	}
	// Replies go to the partner's known address (equal to the frame's
	// source, by which it was found).
	head := wire.Head{Dst: p.w.mac, Src: n.mac, PeerIndex: p.w.reverse}
	left := rq.BlockLength
	off := uint32(start)
	for i := uint32(0); i < replies && left > 0; i++ {
		fl := R
		if i == 0 {
			fl = R - rq.FirstFrameOffset
		}
		fl = min(fl, left)
		data := segmentsRange(wr.segs, off+rq.RDMAOffset, fl, n.scratch)
		pr := wire.PullReply{FrameSeq: uint8(rq.FrameIndex + i), FrameLength: uint16(fl), MsgOffset: off,
			Handle: rq.Handle, Magic: rq.Magic, Data: data}
		if k, err := pr.Encode(n.tx, head, n.mode); err == nil {
			ep.sendFrameLocked(n.tx[:k])
			ep.counters.Inc(SendPullReply)
		}
		off += fl
		left -= fl
	}
}

// segmentsRange returns bytes [off, off+n) of the concatenated segments:
// a sub-slice when they lie in one segment, else a copy into scratch.
func segmentsRange(segs [][]byte, off, n uint32, scratch []byte) []byte {
	pos := uint32(0)
	for i, s := range segs {
		l := uint32(len(s))
		if off < pos+l {
			if off+n <= pos+l {
				return s[off-pos : off-pos+n]
			}
			out := scratch[:n]
			copySegments([][]byte{out}, [][]byte{s[off-pos:]}, n)
			k := l - (off - pos)
			if k < n {
				copySegments([][]byte{out[k:]}, segs[i+1:], n-k)
			}
			return out
		}
		pos += l
	}
	return nil
}

// copyToSegments writes data at offset off of the concatenated segments.
func copyToSegments(segs [][]byte, off uint32, data []byte) {
	pos := uint32(0)
	for _, s := range segs {
		l := uint32(len(s))
		if len(data) == 0 {
			return
		}
		if off < pos+l {
			k := copy(s[off-pos:], data)
			data = data[k:]
			off += uint32(k)
		}
		pos += l
	}
}

// pullsOf returns the pulls in progress from partner p.
func (ep *Endpoint) pullsOf(p *Partner) []*pull {
	if ep.net == nil {
		return nil
	}
	var pls []*pull
	for _, pl := range ep.net.pullsByHandle {
		if pl.src.partner == p {
			pls = append(pls, pl)
		}
	}
	return pls
}
