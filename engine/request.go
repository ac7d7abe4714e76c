package engine

import "time"

// RequestKind tells what a request does.
type RequestKind uint8

const (
	KindSend RequestKind = iota + 1
	KindRecv
	KindConnect
)

// Request life cycle (spec/api.md §2.4):
//
//	pending ──complete──> done (in the done queue) ──test/wait──> freed
//	   │                    │
//	   └──forget──> forgotten: freed silently when it completes
const (
	reqPending   = iota
	reqReporting // completed with an error, waiting for the error handler
	reqDone      // in the done queue
	reqFreed
)

// send classes (spec/api.md §7.1).
const (
	classSelf     = iota // in-library copy when a receive matches
	classEager           // data copied at posting time, done early
	classRndv            // receiver copies from the sender's buffer
	classWireRndv        // receiver pulls from a remote sender
)

// ReqStatus is a completed request's status (omx_status_t).
type ReqStatus struct {
	Code       Status
	Addr       Address
	MatchInfo  uint64
	MsgLength  uint32
	XferLength uint32
	Context    uintptr
}

// Request is one send, receive or connect. Guarded by its endpoint's lock.
type Request struct {
	ep        *Endpoint
	handle    uint64
	kind      RequestKind
	state     int
	forgotten bool
	status    ReqStatus
	partner   *Partner // destination (send, connect) or source (matched recv)

	segs   [][]byte // the application's buffers, held until completion
	length uint32   // total length of segs
	// segBuf holds segs when there are few: the caller's list is copied,
	// so that it may live on the caller's stack.
	segBuf [inlineSegments][]byte

	// send
	class   int
	sync    bool
	matched bool       // recv: a message was taken (cannot be cancelled)
	large   *largeSend // rndv sends: shared with the receiver
	posted  bool       // recv: in the posted list

	// recv
	matchMask uint64

	// wire
	wrndv         *wireRndv
	wpull         *pull
	connKey       uint32
	connSeq       uint8
	connSends     uint32
	connBudget    uint32
	connLast      time.Time
	connRecvStart uint16 // receive seqnum announced by the last request
	internal      bool   // created by a blocking call, never seen by the application

	// Reuse of the object once freed (newRequestLocked): byHandle, the
	// caller kept only the handle; pinned, a message, rendezvous or pull
	// refers to the request for good; unacked, a wire packet still refers
	// to it (until acked or failed).
	byHandle, pinned, unacked bool

	doneNext, donePrev *Request // done queue links
	postNext, postPrev *Request // posted-receive list links
}

// Handle returns the request's handle (never 0).
func (r *Request) Handle() uint64 { return r.handle }

// Kind returns what the request does.
func (r *Request) Kind() RequestKind { return r.kind }

// reqList is an intrusive doubly-linked list of requests; which links it
// uses is chosen by the accessor pair.
type reqList struct {
	head, tail *Request
	n          int
	done       bool // true: done links, false: posted links
}

func (l *reqList) links(r *Request) (next, prev **Request) {
	if l.done {
		return &r.doneNext, &r.donePrev
	}
	return &r.postNext, &r.postPrev
}

func (l *reqList) pushBack(r *Request) {
	next, prev := l.links(r)
	*next, *prev = nil, l.tail
	if l.tail != nil {
		tn, _ := l.links(l.tail)
		*tn = r
	} else {
		l.head = r
	}
	l.tail = r
	l.n++
}

func (l *reqList) remove(r *Request) {
	next, prev := l.links(r)
	if *prev != nil {
		pn, _ := l.links(*prev)
		*pn = *next
	} else {
		l.head = *next
	}
	if *next != nil {
		_, np := l.links(*next)
		*np = *prev
	} else {
		l.tail = *prev
	}
	*next, *prev = nil, nil
	l.n--
}

func (l *reqList) nextOf(r *Request) *Request {
	next, _ := l.links(r)
	return *next
}

// inlineSegments is how many segments a request holds without allocating.
const inlineSegments = 4

// setSegs records the application's buffers: a copy of the list (which
// does not escape), not the list itself.
func (r *Request) setSegs(segs [][]byte) {
	switch {
	case len(segs) == 0:
		r.segs = nil
	case len(segs) <= inlineSegments:
		r.segs = r.segBuf[:copy(r.segBuf[:], segs)]
	default:
		r.segs = append([][]byte(nil), segs...)
	}
	r.length = segmentsLength(segs)
}

// segmentsLength sums the segment lengths.
func segmentsLength(segs [][]byte) uint32 {
	var n uint64
	for _, s := range segs {
		n += uint64(len(s))
	}
	return uint32(n)
}

// copySegments copies from src segments into dst segments, at most n bytes,
// and returns the number copied.
func copySegments(dst, src [][]byte, n uint32) uint32 {
	var copied uint32
	di, doff := 0, 0
	for _, s := range src {
		for len(s) > 0 && copied < n {
			for di < len(dst) && doff == len(dst[di]) {
				di, doff = di+1, 0
			}
			if di == len(dst) {
				return copied
			}
			chunk := s
			if rem := n - copied; uint32(len(chunk)) > rem {
				chunk = chunk[:rem]
			}
			k := copy(dst[di][doff:], chunk)
			doff += k
			copied += uint32(k)
			s = s[k:]
		}
	}
	return copied
}

// flatten returns the segments' content as one slice (a copy unless there
// is a single segment).
func flatten(segs [][]byte, length uint32) []byte {
	if len(segs) == 1 {
		return segs[0]
	}
	b := make([]byte, length)
	copySegments([][]byte{b}, segs, length)
	return b
}
