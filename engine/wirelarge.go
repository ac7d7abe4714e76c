package engine

// Large messages over the wire: the puller (receiver) and the stateless
// replier (sender) of spec/wire.md §3.5.4–§3.5.6 and §4.9; mirrors
// driver/linux/omx_pull.c of Open-MX, which ran in the kernel.

import (
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

// pull is one large receive in progress.
type pull struct {
	handle    uint32
	req       *Request
	src       *pullSource
	xfer      uint32
	remaining uint32 // bytes not requested yet
	missing   uint32 // bytes requested, not received yet
	nextFrame uint32
	blocks    []pullBlock
	started   time.Time
	deadline  time.Time
	rerequest bool // earlier blocks were re-requested since the last timeout
	budget    uint32
}

type pullBlock struct {
	frameIndex uint32
	frames     uint32
	length     uint32
	ffo        uint32
	missing    uint64 // bit i: frame frameIndex+i not received
}

const pullBlocksMax = 4

// startPullLocked begins fetching a matched large message into r.
func (ep *Endpoint) startPullLocked(r *Request, src *pullSource) {
	xfer := min(src.length, r.length)
	r.status.XferLength = xfer
	if xfer == 0 || ep.net == nil {
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
		deadline: now.Add(ep.pullTimeout), budget: ep.requestResends.Load()}
	if n.pullsByHandle == nil {
		n.pullsByHandle = make(map[uint32]*pull)
	}
	n.pullsByHandle[pl.handle] = pl
	r.wpull = pl
	r.pinned = true
	off0 := src.rdmaOffset % uint32(n.mode.ReplyMax)
	ep.appendBlockLocked(pl, min(uint32(n.mode.BlockMax)-off0, pl.remaining), off0)
	for len(pl.blocks) < pullBlocksMax && pl.remaining > 0 {
		ep.appendBlockLocked(pl, min(uint32(n.mode.BlockMax), pl.remaining), 0)
	}
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

// appendBlockLocked requests the next block of a pull.
func (ep *Endpoint) appendBlockLocked(pl *pull, length, ffo uint32) {
	R := uint32(ep.net.mode.ReplyMax)
	frames := (ffo + length + R - 1) / R
	b := pullBlock{frameIndex: pl.nextFrame, frames: frames, length: length, ffo: ffo, missing: 1<<frames - 1}
	pl.nextFrame += frames
	pl.remaining -= length
	pl.missing += length
	pl.blocks = append(pl.blocks, b)
	ep.sendPullLocked(pl, &b)
}

func (ep *Endpoint) sendPullLocked(pl *pull, b *pullBlock) {
	p := pl.src.partner
	if p.w == nil {
		return
	}
	sess := p.w.backSess
	if sess == unknownSession {
		sess = p.w.trueSess
	}
	rq := wire.Pull{DstEP: uint8(p.index), SrcEP: uint8(ep.index), Session: sess, TotalLength: pl.xfer,
		RDMAID: uint32(pl.src.rdmaID), RDMASeq: pl.src.rdmaSeq, RDMAOffset: pl.src.rdmaOffset,
		Handle: pl.handle, Magic: uint32(ep.index) ^ link.PullMagic,
		FirstFrameOffset: b.ffo, BlockLength: b.length, FrameIndex: b.frameIndex}
	if k, err := rq.Encode(ep.net.tx, ep.headTo(p.w), ep.net.mode); err == nil {
		ep.sendFrameLocked(ep.net.tx[:k])
		ep.counters.Inc(SendPullRequest)
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
	if p := pl.src.partner; p.w == nil || h.Src != p.w.mac {
		// Only the sender of the message fills the buffer.
		ep.counters.Inc(DropPullReplyBadWireHandle)
		return
	}
	R := uint32(n.mode.ReplyMax)
	base := pl.blocks[0].frameIndex
	k := (uint32(pr.FrameSeq) - base%256 + 256) % 256
	f := base + k
	var b *pullBlock
	bi := 0
	for i := range pl.blocks {
		if f >= pl.blocks[i].frameIndex && f < pl.blocks[i].frameIndex+pl.blocks[i].frames {
			b, bi = &pl.blocks[i], i
			break
		}
	}
	if b == nil {
		ep.counters.Inc(DropPullReplyBadSeqnum)
		return
	}
	off0 := pl.src.rdmaOffset % R
	want := uint32(0)
	if f > 0 {
		want = f*R - off0
	}
	if pr.MsgOffset != want {
		ep.counters.Inc(DropPullReplyBadSeqnum)
		return
	}
	bit := uint64(1) << (f - b.frameIndex)
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
	pl.missing -= uint32(len(data))
	now := ep.now()
	pl.deadline = now.Add(ep.pullTimeout)
	if b.missing == 0 && bi > 0 && !pl.rerequest {
		ep.counters.Inc(PullNonFirstBlockDoneEarly)
		for i := 0; i < bi; i++ {
			if pl.blocks[i].missing != 0 {
				ep.sendPullLocked(pl, &pl.blocks[i])
			}
		}
		pl.rerequest = true
	}
	for len(pl.blocks) > 0 && pl.blocks[0].missing == 0 {
		pl.blocks = pl.blocks[1:]
		if pl.remaining > 0 {
			ep.appendBlockLocked(pl, min(uint32(n.mode.BlockMax), pl.remaining), 0)
		}
	}
	if len(pl.blocks) == 0 && pl.remaining == 0 {
		ep.endPullLocked(pl, StatusSuccess)
	}
}

// endPullLocked completes a pull: the receive completes and the sender is
// notified of the bytes taken (0 after a failure).
func (ep *Endpoint) endPullLocked(pl *pull, st Status) {
	delete(ep.net.pullsByHandle, pl.handle)
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

// pullTimersLocked re-requests stalled blocks and gives up after the
// request's retry budget (§4.9).
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
		for i := range pl.blocks {
			if pl.blocks[i].missing != 0 {
				if i == 0 {
					ep.counters.Inc(PullTimeoutFirstBlock)
				} else {
					ep.counters.Inc(PullTimeoutNonFirstBlock)
				}
				ep.sendPullLocked(pl, &pl.blocks[i])
				ep.resends.Add(1)
			}
		}
		pl.rerequest = false
		pl.deadline = now.Add(ep.pullTimeout)
	}
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
