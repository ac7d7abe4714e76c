package main

// The Open-MX semantics of every call, shared by the omx_* and mx_*
// exports. Handles and out pointers arrive as unsafe.Pointer; results are
// Open-MX codes (the value the error handler returned, when one ran).

/*
#include <stdint.h>
#include <string.h>
#include "open-mx.h"
#include "myriexpress.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/engine"
)

func badRequest(ep *engine.Endpoint, what string) compat.Code {
	return lib.Report(ep, compat.BadRequest, what)
}

func coreSend(eph unsafe.Pointer, segs [][]byte, ok bool, dest *C.omx_endpoint_addr_t, match uint64, ctx unsafe.Pointer, req unsafe.Pointer, sync bool) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	if !ok {
		if len(segs) > engine.MaxSegments {
			return lib.Report(ep, compat.SegmentsBadCount, fmt.Sprintf("Allocating %d-vectorial isend request segment array", len(segs)))
		}
		return badRequest(ep, "Sending from a NULL buffer")
	}
	h, err := ep.SendHandle(segs, addrWords(dest), match, uintptr(ctx), sync, req == nil)
	if err != nil {
		return lib.Fail(ep, err)
	}
	if req != nil {
		putHandle(req, h, requestTag)
	}
	return compat.Success
}

func coreSendV(eph unsafe.Pointer, segp unsafe.Pointer, n uint32, dest *C.omx_endpoint_addr_t, match uint64, ctx unsafe.Pointer, req unsafe.Pointer, sync bool) compat.Code {
	if n > engine.MaxSegments {
		ep, code := endpointOf(eph)
		if code != compat.Success {
			return code
		}
		return lib.Report(ep, compat.SegmentsBadCount, fmt.Sprintf("Allocating %d-vectorial isend request segment array", n))
	}
	segs, ok := segsOf(segp, n)
	return coreSend(eph, segs, ok, dest, match, ctx, req, sync)
}

func coreRecv(eph unsafe.Pointer, segs [][]byte, ok bool, n uint32, match, mask uint64, ctx unsafe.Pointer, req unsafe.Pointer) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	if err := engine.CheckMask(match, mask); err != nil {
		return lib.Report(ep, compat.BadMatchMask, fmt.Sprintf("irecv with match info %#x mask %#x", match, mask))
	}
	if n > engine.MaxSegments {
		return lib.Report(ep, compat.SegmentsBadCount, fmt.Sprintf("Allocating %d-vectorial receive request segment array", n))
	}
	if !ok {
		return badRequest(ep, "Receiving into a NULL buffer")
	}
	h, err := ep.RecvHandle(segs, match, mask, uintptr(ctx), req == nil)
	if err != nil {
		return lib.Fail(ep, err)
	}
	if req != nil {
		putHandle(req, h, requestTag)
	}
	return compat.Success
}

// completion is what test/wait/test_any/wait_any/probe give back.
type completion struct {
	st    engine.ReqStatus
	found bool
}

// reqOf reads the request handle behind a C request pointer.
func reqOf(ep *engine.Endpoint, req unsafe.Pointer) (uint64, compat.Code) {
	if req == nil || *(*uint64)(req) == 0 {
		return 0, badRequest(ep, "Using a NULL request")
	}
	h := handleOf(*(*uint64)(req), requestTag)
	if h == 0 {
		return 0, badRequest(ep, "Using an invalid request")
	}
	return h, compat.Success
}

// coreWait fills c (the caller's, zero) when the request is done. Results
// go through a pointer: this is the polling loop's call, and copying the
// status structure through every layer costs more than the rest.
func coreWait(eph, req unsafe.Pointer, status *C.omx_status_t, result *C.uint32_t, timeout uint32, c *completion) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	if status == nil || result == nil {
		return badRequest(ep, "Testing with a NULL status or result pointer")
	}
	*result = 0
	h, code := reqOf(ep, req)
	if code != compat.Success {
		return code
	}
	done, err := ep.WaitStatus(h, timeout, &c.st)
	if err != nil {
		return lib.Fail(ep, err)
	}
	if done {
		*(*uint64)(req) = 0
		*result = 1
		c.found = true
	}
	return compat.Success
}

// coreWaitAny fills c (the caller's, zero) when a request or message is
// found.
func coreWaitAny(eph unsafe.Pointer, match, mask uint64, status *C.omx_status_t, result *C.uint32_t, timeout uint32, what string, c *completion) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	if status == nil || result == nil {
		return badRequest(ep, "Testing with a NULL status or result pointer")
	}
	*result = 0
	if err := engine.CheckMask(match, mask); err != nil {
		return lib.Report(ep, compat.BadMatchMask, fmt.Sprintf("%s with match info %#x mask %#x", what, match, mask))
	}
	var err error
	if what == "iprobe" || what == "probe" {
		c.st, c.found, err = ep.Probe(match, mask, timeout)
	} else {
		c.st, c.found, err = ep.WaitAny(match, mask, timeout)
	}
	if err != nil {
		c.found = false
		return lib.Fail(ep, err)
	}
	*result = boolU32(c.found)
	return compat.Success
}

func corePeek(eph, req unsafe.Pointer, result *C.uint32_t, timeout uint32) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	if req == nil || result == nil {
		return badRequest(ep, "Peeking with a NULL request or result pointer")
	}
	*result = 0
	h, found, err := ep.Peek(timeout)
	if err != nil {
		return lib.Fail(ep, err)
	}
	if found {
		putHandle(req, h, requestTag)
		*result = 1
	}
	return compat.Success
}

func coreCancel(eph, req unsafe.Pointer, result *C.uint32_t, notest bool) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	h, code := reqOf(ep, req)
	if code != compat.Success {
		return code
	}
	if result == nil {
		return badRequest(ep, "Cancelling with a NULL result pointer")
	}
	done, err := ep.Cancel(h, notest)
	if err != nil {
		return lib.Fail(ep, err)
	}
	*result = boolU32(done)
	if done && !notest {
		*(*uint64)(req) = 0
	}
	return compat.Success
}

func coreForget(eph, req unsafe.Pointer) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	h, code := reqOf(ep, req)
	if code != compat.Success {
		return code
	}
	if err := ep.Forget(h); err != nil {
		return lib.Fail(ep, err)
	}
	*(*uint64)(req) = 0
	return compat.Success
}

func coreIBuffered(eph, req unsafe.Pointer, result *C.uint32_t) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	if result == nil {
		return badRequest(ep, "Testing with a NULL result pointer")
	}
	*result = 0
	h, code := reqOf(ep, req)
	if code != compat.Success {
		return code
	}
	ok, err := ep.IBuffered(h)
	if err != nil {
		if compat.CodeOf(err) == compat.BadRequest {
			if r, live := lib.EngineAny().Request(h); live && r.Kind() != engine.KindSend && ep.OwnsRequest(h) {
				return compat.BadRequest // spec/api.md §5.19: direct, no handler
			}
		}
		return lib.Fail(ep, err)
	}
	*result = boolU32(ok)
	return compat.Success
}

func coreContext(req unsafe.Pointer, ctx *unsafe.Pointer) compat.Code {
	if req == nil || ctx == nil || *(*uint64)(req) == 0 {
		return lib.ReportGlobal(compat.BadRequest, "Getting the context of a NULL request")
	}
	eng := lib.EngineAny()
	if eng == nil {
		return lib.ReportGlobal(compat.BadRequest, "Getting the context of an unknown request")
	}
	c, ok := eng.RequestContext(handleOf(*(*uint64)(req), requestTag))
	if !ok {
		return lib.ReportGlobal(compat.BadRequest, "Getting the context of an unknown request")
	}
	*(*uintptr)(unsafe.Pointer(ctx)) = c
	return compat.Success
}

func coreOpen(board, index, key uint32, params unsafe.Pointer, count uint32, out unsafe.Pointer, mx bool) compat.Code {
	if out == nil {
		return lib.ReportGlobal(compat.BadRequest, "Opening endpoint with a NULL endpoint pointer")
	}
	if count > 0 && params == nil {
		return lib.ReportGlobal(compat.EndpointParamsBadList, fmt.Sprintf("Endpoint parameter list at NULL with %d elements", count))
	}
	ps := make([]compat.Param, count)
	for i := range ps {
		// omx_endpoint_param_t / mx_param_t: key (4 bytes) @0, union @8.
		p := unsafe.Add(params, 16*i)
		ps[i].Key = *(*uint32)(p)
		val := unsafe.Add(p, 8)
		switch ps[i].Key {
		case compat.ParamErrorHandler:
			ps[i].Handler = handlerOf(*(*unsafe.Pointer)(val), mx)
		case compat.ParamUnexpQueueMax:
			ps[i].UnexpQueueMax = *(*uint32)(val)
		case compat.ParamContextID:
			ps[i].Bits, ps[i].Shift = *(*uint8)(val), *(*uint8)(unsafe.Add(val, 1))
		}
	}
	ep, code := lib.OpenEndpoint(board, index, key, ps)
	if code != compat.Success {
		return code
	}
	putHandle(out, ep.Handle(), endpointTag)
	return compat.Success
}

func coreClose(eph unsafe.Pointer) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	return lib.CloseEndpoint(ep)
}

func coreConnect(eph unsafe.Pointer, nic uint64, eid, key, timeout uint32, addr *C.omx_endpoint_addr_t) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	if addr == nil {
		return badRequest(ep, "Connecting with a NULL address pointer")
	}
	a, err := ep.Connect(nic, eid, key, timeout)
	if err != nil {
		return lib.Fail(ep, err)
	}
	putAddr(addr, a)
	return compat.Success
}

func coreIConnect(eph unsafe.Pointer, nic uint64, eid, key uint32, match uint64, ctx, req unsafe.Pointer) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	r, err := ep.IConnect(nic, eid, key, match, uintptr(ctx), req == nil)
	if err != nil {
		return lib.Fail(ep, err)
	}
	if req != nil {
		putHandle(req, r.Handle(), requestTag)
	}
	return compat.Success
}

func coreSetHandler(eph unsafe.Pointer, fn unsafe.Pointer, mx bool) unsafe.Pointer {
	h := handlerOf(fn, mx)
	if eph == nil {
		return handlerPointer(lib.SetGlobalHandler(h), mx)
	}
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return nil
	}
	prev, _ := ep.SetErrorHandler(h).(compat.Handler)
	return handlerPointer(prev, mx)
}

// handlerPointer is the C pointer of a previous handler: the one the
// application gave, or the predefined handler of the asking API that the
// library installed by default.
func handlerPointer(h compat.Handler, mx bool) unsafe.Pointer {
	if h.Fn != nil {
		return h.Fn
	}
	switch {
	case h.Kind == compat.HandlerFatal && mx:
		return unsafe.Pointer(C.MX_ERRORS_ARE_FATAL)
	case h.Kind == compat.HandlerFatal:
		return unsafe.Pointer(C.OMX_ERRORS_ARE_FATAL)
	case h.Kind == compat.HandlerReturn && mx:
		return unsafe.Pointer(C.MX_ERRORS_RETURN)
	case h.Kind == compat.HandlerReturn:
		return unsafe.Pointer(C.OMX_ERRORS_RETURN)
	}
	return nil
}

func coreBoardToNIC(board uint32, nic *C.uint64_t) compat.Code {
	eng, err := lib.Engine()
	if err != nil {
		return lib.ReportGlobal(compat.NotInitialized, fmt.Sprintf("board_number_to_nic_id %d", board))
	}
	if nic == nil {
		return lib.ReportGlobal(compat.BadRequest, "board_number_to_nic_id with a NULL nic id pointer")
	}
	b, ok := eng.Board(board)
	if !ok {
		return lib.ReportGlobal(compat.BoardNotFound, fmt.Sprintf("board_number_to_nic_id %d", board))
	}
	*nic = C.uint64_t(b.NICID)
	return compat.Success
}

func coreNICToBoard(nic uint64, board *C.uint32_t) compat.Code {
	eng, err := lib.Engine()
	if err != nil {
		return lib.ReportGlobal(compat.NotInitialized, fmt.Sprintf("nic_id_to_board_number %016x", nic))
	}
	if board == nil {
		return lib.ReportGlobal(compat.BadRequest, "nic_id_to_board_number with a NULL board pointer")
	}
	b, ok := eng.BoardByNIC(nic)
	if !ok {
		return lib.ReportGlobal(compat.BoardNotFound, fmt.Sprintf("nic_id_to_board_number %016x", nic))
	}
	*board = C.uint32_t(b.Index)
	return compat.Success
}

func coreHostnameToNIC(name *C.char, nic *C.uint64_t) compat.Code {
	eng, err := lib.Engine()
	if err != nil {
		return lib.ReportGlobal(compat.NotInitialized, "hostname_to_nic_id")
	}
	if nic == nil {
		return lib.ReportGlobal(compat.BadRequest, "hostname_to_nic_id with a NULL nic id pointer")
	}
	if name == nil {
		return lib.ReportGlobal(compat.PeerNotFound, "hostname_to_nic_id (NULL)")
	}
	// Read up to the NUL only: a short string may end just before an
	// unmapped page.
	k := C.strnlen(name, 80)
	if k >= 80 {
		return lib.ReportGlobal(compat.PeerNotFound, "hostname_to_nic_id with a name longer than 79 characters")
	}
	s := C.GoStringN(name, C.int(k))
	id, err := eng.HostnameToNICID(s)
	if err != nil {
		return lib.ReportGlobal(compat.PeerNotFound, "hostname_to_nic_id "+s)
	}
	*nic = C.uint64_t(id)
	return compat.Success
}

func coreNICToHostname(nic uint64, buf *C.char) compat.Code {
	eng, err := lib.Engine()
	if err != nil {
		return lib.ReportGlobal(compat.NotInitialized, fmt.Sprintf("nic_id_to_hostname %016x", nic))
	}
	if buf == nil {
		return lib.ReportGlobal(compat.BadRequest, "nic_id_to_hostname with a NULL buffer")
	}
	name, err := eng.NICIDToHostname(nic)
	if err != nil {
		return lib.ReportGlobal(compat.PeerNotFound, fmt.Sprintf("nic_id_to_hostname %016x", nic))
	}
	out := unsafe.Slice((*byte)(unsafe.Pointer(buf)), 80)
	n := copy(out[:79], name)
	out[n] = 0
	return compat.Success
}

// infoSlices views get_info's buffers (nil for NULL pointers).
func infoSlices(in unsafe.Pointer, inLen uint32, out unsafe.Pointer, outLen uint32) ([]byte, []byte) {
	var i, o []byte
	if in != nil {
		i = unsafe.Slice((*byte)(in), inLen)
		if i == nil {
			i = []byte{}
		}
	}
	if out != nil {
		o = unsafe.Slice((*byte)(out), outLen)
		if o == nil {
			o = []byte{}
		}
	}
	return i, o
}

// infoEndpoint resolves get_info's optional endpoint.
func infoEndpoint(eph unsafe.Pointer) (*engine.Endpoint, compat.Code) {
	if eph == nil {
		return nil, compat.Success
	}
	return endpointOf(eph)
}
