package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// forger holds the socket, the listener and the output of one command.
type forger struct {
	o    opts
	s    *rawSock
	l    *listener
	rng  *rand.Rand
	buf  []byte
	out  map[string]any
	cseq uint8
}

func (f *forger) head(src [6]byte) wire.Head {
	return wire.Head{Dst: f.o.dst, Src: src, PeerIndex: wire.UnknownPeerIndex}
}

// put sends the first n bytes of buf; an encoding error is a bug of the
// forger.
func (f *forger) put(n int, err error) []byte {
	if err != nil {
		panic(err)
	}
	f.s.send(f.buf[:n])
	return f.buf[:n]
}

// session returns a random requester session (never 0 or all ones).
func (f *forger) randSession() uint32 {
	for {
		if s := f.rng.Uint32(); s != 0 && s != 0xffffffff && uint64(s) != f.o.session {
			return s
		}
	}
}

func (f *forger) sendConnect(src [6]byte, srcEP uint8, key, session uint32, cseq uint8) {
	c := wire.Connect{DstEP: uint8(f.o.dstEP), SrcEP: srcEP, SrcSession: session, AppKey: key,
		TargetRecvSeqStart: uint16(f.o.seqStart), ConnectSeq: cseq}
	f.put(c.Encode(f.buf, f.head(src), f.o.mode))
}

// connectWait sends a CONNECT from (src, srcEP) with key and waits for its
// reply (resending every 300 ms) until -timeout.
func (f *forger) connectWait(src [6]byte, srcEP uint8, key uint32) (wire.Connect, bool) {
	f.cseq++
	cseq := f.cseq
	sess := f.randSession()
	deadline := time.Now().Add(f.o.timeout)
	for time.Now().Before(deadline) {
		f.sendConnect(src, srcEP, key, sess, cseq)
		resend := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(resend) && time.Now().Before(deadline) {
			if c, ok := f.l.reply(replyKey{src, srcEP, cseq}); ok {
				return c, true
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	return wire.Connect{}, false
}

// learnSession returns -session, or the target session of a CONNECT with
// -key from the interface's MAC.
func (f *forger) learnSession(srcEP uint8) (uint32, error) {
	if f.o.session != 0 {
		return uint32(f.o.session), nil
	}
	c, ok := f.connectWait(f.s.mac, srcEP, uint32(f.o.key))
	if !ok {
		return 0, fmt.Errorf("no CONNECT reply from %s endpoint %d within %v", formatMAC(f.o.dst), f.o.dstEP, f.o.timeout)
	}
	f.out["learn_status"] = c.Status
	if c.Status != 0 || c.TargetSession == 0 {
		return 0, fmt.Errorf("CONNECT with key %#x: status %d, target session %#x: no session learned", f.o.key, c.Status, c.TargetSession)
	}
	f.out["session"] = c.TargetSession
	return c.TargetSession, nil
}

func cmdConnect(f *forger) error {
	c, ok := f.connectWait(f.o.src, uint8(f.o.srcEP), uint32(f.o.key))
	f.out["replied"] = ok
	if !ok {
		return nil
	}
	f.out["status"] = c.Status
	f.out["target_session"] = c.TargetSession
	f.out["recv_seq_start"] = c.TargetRecvSeqStart
	f.out["src_session"] = c.SrcSession
	return nil
}

// seqBases are the first seqnums of the four seqnum sessions (sesnums).
var seqBases = []wire.Seq{0x0001, 0x4001, 0x8001, 0xC001}

func cmdRndvLocal(f *forger) error {
	sess, err := f.learnSession(uint8(f.o.srcEP) + 1)
	if err != nil {
		return err
	}
	src, ep := f.o.src, uint8(f.o.srcEP)
	f.out["src"] = formatMAC(src)
	// The partner (src, ep): its answer goes to src, which may not be us.
	reqSess := f.randSession()
	for i := 0; i < 3; i++ {
		f.sendConnect(src, ep, uint32(f.o.key), reqSess, uint8(100+i))
		time.Sleep(30 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	rndvs := 0
	for round := 0; round < 3; round++ {
		for _, base := range seqBases {
			r := wire.Rndv{DstEP: uint8(f.o.dstEP), SrcEP: ep, Seq: uint16(base), Piggyack: uint16(f.o.seqStart),
				Match: 0x5ec7e7, Session: sess, MsgLength: uint32(f.o.length), RDMAID: 0, RDMASeq: 0x17}
			n, err := r.Encode(f.buf, f.head(src), f.o.mode)
			if err != nil {
				return err
			}
			wire.PutRndvLocal(f.buf[:n], uint32(f.o.pid), f.o.addr)
			f.s.send(f.buf[:n])
			rndvs++
		}
		time.Sleep(200 * time.Millisecond)
	}
	f.out["rndvs"] = rndvs
	return nil
}

// payload is the data of forged MEDIUM fragments.
func (f *forger) payload() []byte {
	p := make([]byte, f.o.mode.FragMax)
	for i := range p {
		p[i] = byte(f.rng.Uint32())
	}
	return p
}

// medium sends fragment frag of a MediumMax-byte message.
func (f *forger) medium(src [6]byte, dstEP, srcEP uint8, seq, piggy wire.Seq, sess uint32, match uint64, frag int, data []byte) {
	m := f.o.mode
	length := m.MediumMax
	off := frag * m.FragMax
	fl := min(m.FragMax, length-off)
	md := wire.Medium{DstEP: dstEP, SrcEP: srcEP, Length: uint32(length), Seq: uint16(seq), Piggyack: uint16(piggy),
		Match: match, Session: sess, FragLength: uint16(fl), FragSeq: uint8(frag), Data: data[:fl]}
	f.put(md.Encode(f.buf, wire.Head{Dst: f.o.dst, Src: src, PeerIndex: wire.UnknownPeerIndex}, m))
}

// sequenced sends one random sequenced frame (TINY, SMALL, MEDIUM, RNDV or
// NOTIFY) with session sess and random everything else.
func (f *forger) sequenced(sess uint32, dstEP uint8, data []byte, notify bool, fromEP int) string {
	r := f.rng
	src := f.s.mac
	seq, piggy, srcEP := wire.Seq(r.Uint32()), wire.Seq(r.Uint32()), uint8(r.Uint32())
	if fromEP >= 0 {
		srcEP = uint8(fromEP)
	}
	k := r.IntN(9)
	if !notify && k == 8 {
		k = 2
	}
	switch {
	case k == 0:
		l := r.IntN(wire.TinyMax + 1)
		m := wire.Msg{Type: wire.TypeTiny, DstEP: dstEP, SrcEP: srcEP, Length: uint16(l), Seq: uint16(seq), Piggyack: uint16(piggy),
			Match: r.Uint64(), Session: sess, Data: data[:l]}
		f.put(m.Encode(f.buf, f.head(src), f.o.mode))
		return "tiny"
	case k == 1:
		l := r.IntN(wire.SmallMax + 1)
		m := wire.Msg{Type: wire.TypeSmall, DstEP: dstEP, SrcEP: srcEP, Length: uint16(l), Seq: uint16(seq), Piggyack: uint16(piggy),
			Match: r.Uint64(), Session: sess, Data: data[:l]}
		f.put(m.Encode(f.buf, f.head(src), f.o.mode))
		return "small"
	case k < 7:
		f.medium(src, dstEP, srcEP, seq, piggy, sess, r.Uint64(), r.IntN(f.o.mode.FragsMax), data)
		return "medium"
	case k == 7:
		rv := wire.Rndv{DstEP: dstEP, SrcEP: srcEP, Seq: uint16(seq), Piggyack: uint16(piggy), Match: r.Uint64(), Session: sess,
			MsgLength: r.Uint32(), RDMAID: uint8(r.Uint32()), RDMASeq: uint8(r.Uint32())}
		f.put(rv.Encode(f.buf, f.head(src), f.o.mode))
		return "rndv"
	default:
		nt := wire.Notify{DstEP: dstEP, SrcEP: srcEP, Session: sess, TotalLength: r.Uint32(), RDMAID: uint8(r.Uint32()),
			RDMASeq: uint8(r.Uint32()), Seq: uint16(seq), Piggyack: uint16(piggy)}
		f.put(nt.Encode(f.buf, f.head(src), f.o.mode))
		return "notify"
	}
}

func cmdFloodNoSession(f *forger) error {
	var sess uint32
	if f.o.valid > 0 {
		// Some frames carry the true session, half of those from the
		// partner the learning CONNECT made, with random seqnums.
		var err error
		if sess, err = f.learnSession(uint8(f.o.srcEP)); err != nil {
			return err
		}
	}
	data := f.payload()
	p := newPacer(f.o.rate)
	end := time.Now().Add(f.o.duration)
	kinds := map[string]int64{}
	valid := int64(0)
	for time.Now().Before(end) {
		s, from := f.randSession(), -1
		if f.o.valid > 0 && f.rng.Float64() < f.o.valid {
			s = sess
			valid++
			if f.rng.IntN(2) == 0 {
				from = int(f.o.srcEP)
			}
		}
		kinds[f.sequenced(s, uint8(f.o.dstEP), data, false, from)]++
		p.wait()
	}
	f.out["kinds"] = kinds
	f.out["true_session_frames"] = valid
	return nil
}

// partner is one (interface MAC, source endpoint) the forger connected as.
type partner struct {
	ep      uint8
	start   wire.Seq // the victim's receive seqnum start for us
	next    wire.Seq // next seqnum to send
	base    wire.Seq // first seqnum not acked
	moved   time.Time
	msgs    int64
	rewinds int64
}

// setupPartners connects from -partners source endpoints with -key and
// returns the session to use (-session, else the learned one) and the
// partners. A partner whose CONNECT was refused or not answered is tried
// at every seqnum session.
func (f *forger) setupPartners() (uint32, []*partner, error) {
	sess := uint32(f.o.session)
	var ps []*partner
	statuses := map[string]int{}
	for i := uint(0); i < max(f.o.partners, 1); i++ {
		ep := uint8(f.o.srcEP + i)
		c, ok := f.connectWait(f.s.mac, ep, uint32(f.o.key))
		switch {
		case !ok:
			statuses["none"]++
		default:
			statuses[strconv.Itoa(int(c.Status))]++
		}
		if ok && c.Status == 0 {
			if sess == 0 {
				sess = c.TargetSession
			}
			s := wire.Seq(c.TargetRecvSeqStart)
			ps = append(ps, &partner{ep: ep, start: s, next: s, base: s, moved: time.Now()})
			continue
		}
		for _, b := range seqBases {
			ps = append(ps, &partner{ep: ep, start: b, next: b, base: b, moved: time.Now()})
		}
	}
	f.out["connect_status"] = statuses
	if sess == 0 {
		return 0, nil, fmt.Errorf("no session: no CONNECT with key %#x succeeded (%v) and no -session", f.o.key, statuses)
	}
	f.out["session"] = sess
	return sess, ps, nil
}

func cmdFloodEarly(f *forger) error {
	sess, ps, err := f.setupPartners()
	if err != nil {
		return err
	}
	data := f.payload()
	p := newPacer(f.o.rate)
	end := time.Now().Add(f.o.duration)
	piggy := wire.Seq(f.o.seqStart)
	frames := int64(0)
	for time.Now().Before(end) {
		for d := uint16(1); d <= 255 && time.Now().Before(end); d++ {
			for frag := 0; frag < f.o.mode.FragsMax && time.Now().Before(end); frag++ {
				for _, pt := range ps {
					seq := pt.start.Add(d)
					f.medium(f.s.mac, uint8(f.o.dstEP), pt.ep, seq, piggy, sess, uint64(d)<<32|uint64(pt.ep), frag, data)
					frames++
					p.wait()
				}
			}
		}
	}
	f.out["partners"] = len(ps)
	f.out["early_frames"] = frames
	return nil
}

func cmdFloodUnexp(f *forger) error {
	sess, ps, err := f.setupPartners()
	if err != nil {
		return err
	}
	data := f.payload()
	p := newPacer(f.o.rate)
	end := time.Now().Add(f.o.duration)
	piggy := wire.Seq(f.o.seqStart)
	window := uint16(min(max(f.o.window, 1), 255))
	msgs, mediums, acked := int64(0), int64(0), int64(0)
	r := f.rng
	for time.Now().Before(end) {
		progress := false
		for _, pt := range ps {
			now := time.Now()
			if a, ok := f.l.ack(ackKey{f.s.mac, pt.ep}); ok && a.seq.Session() == pt.base.Session() {
				if d := a.seq.Sub(pt.base); d > 0 && d <= pt.next.Sub(pt.base) {
					acked += int64(d)
					pt.base = a.seq
					pt.moved = now
				}
			}
			if pt.next.Sub(pt.base) >= window {
				if now.Sub(pt.moved) > 200*time.Millisecond {
					pt.next = pt.base // go back: something was lost (or refused)
					pt.moved = now
					pt.rewinds++
				}
				continue
			}
			progress = true
			seq := pt.next
			if pt.msgs%33 == 0 {
				match := r.Uint64()
				for frag := 0; frag < f.o.mode.FragsMax; frag++ {
					f.medium(f.s.mac, uint8(f.o.dstEP), pt.ep, seq, piggy, sess, match, frag, data)
					p.wait()
				}
				mediums++
			} else {
				l := r.IntN(wire.TinyMax + 1)
				m := wire.Msg{Type: wire.TypeTiny, DstEP: uint8(f.o.dstEP), SrcEP: pt.ep, Length: uint16(l), Seq: uint16(seq),
					Piggyack: uint16(piggy), Match: r.Uint64(), Session: sess, Data: data[:l]}
				f.put(m.Encode(f.buf, f.head(f.s.mac), f.o.mode))
				p.wait()
			}
			pt.msgs++
			msgs++
			pt.next = seq.Next()
		}
		if !progress {
			time.Sleep(200 * time.Microsecond)
		}
	}
	rewinds := int64(0)
	for _, pt := range ps {
		rewinds += pt.rewinds
	}
	f.out["partners"] = len(ps)
	f.out["messages"] = msgs
	f.out["mediums"] = mediums
	f.out["acked"] = acked
	f.out["rewinds"] = rewinds
	return nil
}

func cmdFloodPartners(f *forger) error {
	if f.o.macs == "" {
		return fmt.Errorf("flood-partners needs -macs")
	}
	macs, err := readMACs(f.o.macs)
	if err != nil {
		return err
	}
	p := newPacer(f.o.rate)
	end := time.Now().Add(f.o.duration)
	pairs := int64(0)
	sess := map[[7]byte]uint32{}
	for pass := uint(0); pass < max(f.o.passes, 1); pass++ {
		for e := uint(0); e < f.o.eps; e++ {
			for _, m := range macs {
				if !time.Now().Before(end) {
					goto done
				}
				k := [7]byte{m[0], m[1], m[2], m[3], m[4], m[5], byte(e)}
				s, ok := sess[k]
				if !ok {
					s = f.randSession()
					sess[k] = s
				}
				f.sendConnect(m, uint8(e), uint32(f.o.key), s, uint8(pass))
				pairs++
				p.wait()
			}
		}
	}
done:
	f.out["pairs"] = pairs
	f.out["macs"] = len(macs)
	return nil
}

func cmdPull(f *forger) error {
	sess, err := f.learnSession(uint8(f.o.srcEP))
	if err != nil {
		return err
	}
	var srcs [][6]byte
	for _, s := range strings.Split(f.o.srcs, ",") {
		if s == "own" || s == "" {
			srcs = append(srcs, f.s.mac)
			continue
		}
		m, err := parseMAC(s)
		if err != nil {
			return err
		}
		srcs = append(srcs, m)
	}
	var seqs []uint8
	if f.o.seqs == "all" {
		for i := 0; i < 256; i++ {
			seqs = append(seqs, uint8(i))
		}
	} else {
		for _, s := range strings.Split(f.o.seqs, ",") {
			v, err := strconv.ParseUint(s, 0, 8)
			if err != nil {
				return fmt.Errorf("bad -seqs: %v", err)
			}
			seqs = append(seqs, uint8(v))
		}
	}
	m := f.o.mode
	var blocks []uint32
	for _, s := range strings.Split(f.o.blocks, ",") {
		if s == "max" {
			blocks = append(blocks, uint32(m.BlockMax))
			continue
		}
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil || v == 0 || v > uint64(m.BlockMax) {
			return fmt.Errorf("bad -blocks %q", s)
		}
		blocks = append(blocks, uint32(v))
	}
	p := newPacer(f.o.rate)
	end := time.Now().Add(f.o.duration)
	pulls, rounds := int64(0), 0
	for time.Now().Before(end) {
		for id := uint32(0); id < uint32(f.o.regions) && time.Now().Before(end); id++ {
			for _, sq := range seqs {
				for _, src := range srcs {
					for _, bl := range blocks {
						rq := wire.Pull{DstEP: uint8(f.o.dstEP), SrcEP: uint8(f.o.srcEP), Session: sess, TotalLength: bl,
							RDMAID: id, RDMASeq: sq, Handle: f.rng.Uint32(), Magic: uint32(f.o.srcEP) ^ wire.PullMagic,
							BlockLength: bl}
						f.put(rq.Encode(f.buf, f.head(src), m))
						pulls++
						p.wait()
					}
				}
			}
		}
		rounds++
	}
	time.Sleep(300 * time.Millisecond) // late replies
	f.out["pulls"] = pulls
	f.out["rounds"] = rounds
	f.out["pull_replies"] = f.l.count(wire.TypePullReply)
	f.out["nack_mcp"] = f.l.count(wire.TypeNackMCP)
	return nil
}

// garbage kinds and their weights.
var garbageKinds = []struct {
	name   string
	weight int
}{
	{"random", 20}, {"truncated", 15}, {"absurd", 15}, {"session", 20},
	{"connect", 10}, {"discovery", 10}, {"host", 5}, {"misc", 5},
}

func cmdGarbage(f *forger) error {
	targets := []uint8{uint8(f.o.dstEP)}
	if f.o.targets != "" {
		targets = nil
		for _, s := range strings.Split(f.o.targets, ",") {
			v, err := strconv.ParseUint(s, 0, 8)
			if err != nil {
				return fmt.Errorf("bad -targets: %v", err)
			}
			targets = append(targets, uint8(v))
		}
	}
	var fakes [][6]byte
	if f.o.macs != "" {
		var err error
		if fakes, err = readMACs(f.o.macs); err != nil {
			return err
		}
	}
	total := 0
	for _, k := range garbageKinds {
		total += k.weight
	}
	data := f.payload()
	p := newPacer(f.o.rate)
	end := time.Now().Add(f.o.duration)
	kinds := map[string]int64{}
	r := f.rng
	for time.Now().Before(end) {
		w := r.IntN(total)
		kind := ""
		for _, k := range garbageKinds {
			if w < k.weight {
				kind = k.name
				break
			}
			w -= k.weight
		}
		ep := targets[r.IntN(len(targets))]
		switch kind {
		case "random":
			f.garbageRandom()
		case "truncated":
			n := f.validFrame(ep, data)
			cut := 14 + r.IntN(max(n-14, 1))
			f.s.send(f.buf[:cut])
		case "absurd":
			f.garbageAbsurd(ep, data)
		case "session":
			f.sequenced(f.randSession(), ep, data, true, -1)
		case "connect":
			src := f.s.mac
			switch r.IntN(3) {
			case 0:
				if len(fakes) > 0 {
					src = fakes[r.IntN(len(fakes))]
				}
			case 1:
				src = randomMAC(r)
			}
			f.sendConnect(src, uint8(r.Uint32()), r.Uint32(), f.randSession(), uint8(r.Uint32()))
		case "discovery":
			src := f.s.mac
			if r.IntN(2) == 0 {
				src = randomMAC(r)
			}
			d := wire.Discovery{NICID: r.Uint64() & (1<<48 - 1), Serial: r.Uint32()}
			f.put(wire.EncodeDiscovery(f.buf, src, d))
		case "host":
			if r.IntN(2) == 0 {
				q := wire.HostQuery{SrcDstPeerIndex: uint16(r.Uint32()), Magic: r.Uint32()}
				f.put(q.Encode(f.buf, f.head(f.s.mac), f.o.mode))
			} else {
				h := wire.HostReply{SrcDstPeerIndex: uint16(r.Uint32()), Magic: r.Uint32(), Hostname: fmt.Sprintf("evil-%d:0", r.IntN(1000))}
				f.put(h.Encode(f.buf, f.head(f.s.mac), f.o.mode))
			}
		case "misc":
			f.garbageMisc(ep)
		}
		kinds[kind]++
		p.wait()
	}
	f.out["kinds"] = kinds
	return nil
}

func randomMAC(r *rand.Rand) [6]byte {
	var m [6]byte
	v := r.Uint64()
	for i := range m {
		m[i] = byte(v >> (8 * i))
	}
	m[0] = m[0]&^1 | 2 // unicast, locally administered
	return m
}

// garbageRandom sends random bytes addressed to the victim, most of them
// with the Open-MX EtherType and a packet type byte.
func (f *forger) garbageRandom() {
	r := f.rng
	n := 14 + r.IntN(f.o.mode.MTU+1-14)
	b := f.buf[:n]
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	copy(b[0:6], f.o.dst[:])
	copy(b[6:12], f.s.mac[:])
	if r.IntN(4) != 0 {
		binary.BigEndian.PutUint16(b[12:], wire.EtherType)
		if n > 16 && r.IntN(2) == 0 {
			b[16] = byte(32 + r.IntN(14)) // a library packet type
		}
	}
	f.s.send(b)
}

// validFrame encodes a valid frame of a random type into buf and returns
// its length.
func (f *forger) validFrame(ep uint8, data []byte) int {
	r := f.rng
	h := f.head(f.s.mac)
	m := f.o.mode
	var n int
	var err error
	switch r.IntN(9) {
	case 0:
		c := wire.Connect{DstEP: ep, SrcEP: uint8(r.Uint32()), SrcSession: r.Uint32(), AppKey: r.Uint32()}
		n, err = c.Encode(f.buf, h, m)
	case 1:
		l := r.IntN(wire.SmallMax + 1)
		msg := wire.Msg{Type: wire.TypeSmall, DstEP: ep, Length: uint16(l), Session: r.Uint32(), Data: data[:l]}
		n, err = msg.Encode(f.buf, h, m)
	case 2:
		md := wire.Medium{DstEP: ep, Length: uint32(m.FragMax), Session: r.Uint32(), FragLength: uint16(m.FragMax), Data: data[:m.FragMax]}
		n, err = md.Encode(f.buf, h, m)
	case 3:
		rv := wire.Rndv{DstEP: ep, Session: r.Uint32(), MsgLength: r.Uint32()}
		n, err = rv.Encode(f.buf, h, m)
	case 4:
		pl := wire.Pull{DstEP: ep, Session: r.Uint32(), BlockLength: uint32(m.ReplyMax)}
		n, err = pl.Encode(f.buf, h, m)
	case 5:
		pr := wire.PullReply{FrameLength: uint16(min(m.ReplyMax, len(data))), Handle: r.Uint32(), Magic: r.Uint32(), Data: data[:min(m.ReplyMax, len(data))]}
		n, err = pr.Encode(f.buf, h, m)
	case 6:
		t := wire.Truc{DstEP: ep, Session: r.Uint32(), AckSeq: uint16(r.Uint32()), AckNum: r.Uint32()}
		n, err = t.Encode(f.buf, h, m)
	case 7:
		hr := wire.HostReply{Magic: r.Uint32(), Hostname: "truncated-name-of-some-length"}
		n, err = hr.Encode(f.buf, h, m)
	default:
		nk := wire.NackLib{SrcEP: ep, Nack: wire.NackBadSession, Seq: uint16(r.Uint32())}
		n, err = nk.Encode(f.buf, h, m)
	}
	if err != nil {
		panic(err)
	}
	return n
}

// garbageAbsurd sends a well-formed head whose length fields are extreme.
func (f *forger) garbageAbsurd(ep uint8, data []byte) {
	r := f.rng
	h := f.head(f.s.mac)
	m := f.o.mode
	b := f.buf
	be16 := binary.BigEndian.PutUint16
	be32 := binary.BigEndian.PutUint32
	var n int
	var err error
	switch r.IntN(8) {
	case 0: // TINY/SMALL length beyond its limit and the frame
		msg := wire.Msg{Type: wire.TypeTiny, DstEP: ep, Length: 8, Session: r.Uint32(), Data: data[:8]}
		n, err = msg.Encode(b, h, m)
		be16(b[20:], 0xffff)
	case 1: // MEDIUM total length, fragment length and number out of range
		md := wire.Medium{DstEP: ep, Length: uint32(m.FragMax), Session: r.Uint32(), FragLength: uint16(m.FragMax), Data: data[:m.FragMax]}
		n, err = md.Encode(b, h, m)
		switch r.IntN(3) {
		case 0:
			be32(b[20:], 0xffffffff)
		case 1:
			be16(b[40:], 0xffff)
		default:
			b[42] = 0xff
		}
	case 2: // RNDV of 4 GiB
		rv := wire.Rndv{DstEP: ep, Session: r.Uint32(), MsgLength: 0xffffffff, RDMAID: 0xff}
		n, err = rv.Encode(b, h, m)
		be16(b[20:], 0xffff)
	case 3: // PULL with every geometry field at its maximum
		pl := wire.Pull{DstEP: ep, Session: r.Uint32(), BlockLength: uint32(m.ReplyMax)}
		n, err = pl.Encode(b, h, m)
		be32(b[28:], 0xffffffff) // rdma id
		be32(b[36:], 0xffffffff) // rdma offset
		be32(b[48:], 0xfffffff0) // first frame offset
		be32(b[52:], 0xffffffff) // block length
		be32(b[56:], 0xffffffff) // frame index
	case 4: // PULL_REPLY longer than the frame
		pr := wire.PullReply{FrameLength: 16, Handle: r.Uint32(), Magic: r.Uint32(), Data: data[:16]}
		n, err = pr.Encode(b, h, m)
		be16(b[18:], 0xffff)
		be32(b[20:], 0xfffffff0)
	case 5: // HOST_REPLY name length 255
		hr := wire.HostReply{Magic: r.Uint32(), Hostname: "x"}
		n, err = hr.Encode(b, h, m)
		b[17] = 0xff
	case 6: // CONNECT and TRUC data lengths 0 and 255
		c := wire.Connect{DstEP: ep, SrcEP: uint8(r.Uint32()), SrcSession: r.Uint32(), AppKey: r.Uint32()}
		n, err = c.Encode(b, h, m)
		b[20] = byte(r.IntN(2) * 0xff)
	default: // RAW larger than RawMax
		n = m.MTU
		clear(b[:n])
		wire.PutHead(b, h)
		b[16] = byte(wire.TypeRaw)
	}
	if err != nil {
		panic(err)
	}
	f.s.send(b[:n])
}

// garbageMisc sends TRUC, NACK_LIB, NACK_MCP, PULL and NOTIFY frames with
// random fields.
func (f *forger) garbageMisc(ep uint8) {
	r := f.rng
	h := f.head(f.s.mac)
	m := f.o.mode
	switch r.IntN(4) {
	case 0:
		t := wire.Truc{DstEP: ep, SrcEP: uint8(r.Uint32()), Session: r.Uint32(), AckSeq: uint16(r.Uint32()), AckNum: r.Uint32()}
		f.put(t.Encode(f.buf, h, m))
	case 1:
		nk := wire.NackLib{SrcEP: ep, Nack: wire.Nack(1 + r.IntN(3)), DstEP: uint8(r.Uint32()), PeerIndex: uint16(r.Uint32()), Seq: uint16(r.Uint32())}
		f.put(nk.Encode(f.buf, h, m))
	case 2:
		nk := wire.NackMCP{SrcEP: ep, Nack: wire.Nack(1 + r.IntN(4)), Handle: r.Uint32(), Magic: r.Uint32()}
		f.put(nk.Encode(f.buf, h, m))
	default:
		pl := wire.Pull{DstEP: ep, SrcEP: uint8(r.Uint32()), Session: r.Uint32(), RDMAID: uint32(r.IntN(256)),
			Handle: r.Uint32(), Magic: r.Uint32(), BlockLength: uint32(m.ReplyMax)}
		f.put(pl.Encode(f.buf, h, m))
	}
}
