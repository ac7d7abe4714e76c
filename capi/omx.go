package main

// The Open-MX API (include/open-mx.h), in header order.

/*
#include <stdint.h>
#include <stdlib.h>
#include "open-mx.h"
typedef const char omx_const_char;
typedef const void omx_const_void;
*/
import "C"

import (
	"unsafe"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/engine"
)

func ret(c compat.Code) C.omx_return_t { return C.omx_return_t(c) }

//export omx__init_api
func omx__init_api(api C.int) C.omx_return_t { return ret(lib.Init(int(api))) }

//export omx_finalize
func omx_finalize() C.omx_return_t { return ret(lib.Finalize()) }

//export omx_strerror
func omx_strerror(code C.omx_return_t) *C.omx_const_char {
	return strerrorC(compat.Code(code), true)
}

//export omx_board_number_to_nic_id
func omx_board_number_to_nic_id(board C.uint32_t, nic *C.uint64_t) C.omx_return_t {
	return ret(coreBoardToNIC(uint32(board), nic))
}

//export omx_nic_id_to_board_number
func omx_nic_id_to_board_number(nic C.uint64_t, board *C.uint32_t) C.omx_return_t {
	return ret(coreNICToBoard(uint64(nic), board))
}

//export omx_set_error_handler
func omx_set_error_handler(ep C.omx_endpoint_t, h C.omx_error_handler_t) C.omx_error_handler_t {
	return C.omx_error_handler_t(coreSetHandler(unsafe.Pointer(ep), unsafe.Pointer(h), false))
}

//export omx_open_endpoint
func omx_open_endpoint(board, index, key C.uint32_t, params *C.omx_endpoint_param_t, count C.uint32_t, out *C.omx_endpoint_t) C.omx_return_t {
	return ret(coreOpen(uint32(board), uint32(index), uint32(key), unsafe.Pointer(params), uint32(count), unsafe.Pointer(out), false))
}

//export omx_close_endpoint
func omx_close_endpoint(ep C.omx_endpoint_t) C.omx_return_t {
	return ret(coreClose(unsafe.Pointer(ep)))
}

//export omx_wakeup
func omx_wakeup(ep C.omx_endpoint_t) C.omx_return_t {
	return ret(withEndpoint(unsafe.Pointer(ep), (*engine.Endpoint).Wakeup))
}

// withEndpoint runs one endpoint method and reports its error.
func withEndpoint(eph unsafe.Pointer, f func(*engine.Endpoint) error) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	return lib.Fail(ep, f(ep))
}

//export omx_get_endpoint_addr
func omx_get_endpoint_addr(ep C.omx_endpoint_t, addr *C.omx_endpoint_addr_t) C.omx_return_t {
	e, code := endpointOf(unsafe.Pointer(ep))
	if code != compat.Success {
		return ret(code)
	}
	if addr == nil {
		return ret(badRequest(e, "Getting the endpoint address into a NULL pointer"))
	}
	putAddr(addr, e.Address())
	return 0
}

//export omx_connect
func omx_connect(ep C.omx_endpoint_t, nic C.uint64_t, eid, key, timeout C.uint32_t, addr *C.omx_endpoint_addr_t) C.omx_return_t {
	return ret(coreConnect(unsafe.Pointer(ep), uint64(nic), uint32(eid), uint32(key), uint32(timeout), addr))
}

//export omx_iconnect
func omx_iconnect(ep C.omx_endpoint_t, nic C.uint64_t, eid, key C.uint32_t, match C.uint64_t, ctx unsafe.Pointer, req *C.omx_request_t) C.omx_return_t {
	return ret(coreIConnect(unsafe.Pointer(ep), uint64(nic), uint32(eid), uint32(key), uint64(match), ctx, unsafe.Pointer(req)))
}

//export omx_disconnect
func omx_disconnect(ep C.omx_endpoint_t, addr C.omx_endpoint_addr_t) C.omx_return_t {
	a := addrWords(&addr)
	return ret(withEndpoint(unsafe.Pointer(ep), func(e *engine.Endpoint) error { return e.Disconnect(a) }))
}

// decompose fills the optional outputs of omx_decompose_endpoint_addr*.
func decompose(addr *C.omx_endpoint_addr_t, nic *C.uint64_t, eid, session *C.uint32_t) compat.Code {
	if nic == nil || eid == nil {
		return lib.ReportGlobal(compat.BadRequest, "Decomposing an endpoint address into NULL pointers")
	}
	a := addrWords(addr)
	*nic, *eid = C.uint64_t(a.NICID), C.uint32_t(a.Endpoint)
	if session != nil {
		*session = C.uint32_t(a.Session)
	}
	return compat.Success
}

//export omx_decompose_endpoint_addr
func omx_decompose_endpoint_addr(addr C.omx_endpoint_addr_t, nic *C.uint64_t, eid *C.uint32_t) C.omx_return_t {
	return ret(decompose(&addr, nic, eid, nil))
}

//export omx_decompose_endpoint_addr_with_session
func omx_decompose_endpoint_addr_with_session(addr C.omx_endpoint_addr_t, nic *C.uint64_t, eid, session *C.uint32_t) C.omx_return_t {
	if session == nil {
		return ret(lib.ReportGlobal(compat.BadRequest, "Decomposing an endpoint address into NULL pointers"))
	}
	return ret(decompose(&addr, nic, eid, session))
}

func setAddrContext(addr *C.omx_endpoint_addr_t, ctx unsafe.Pointer) compat.Code {
	if eng := lib.EngineAny(); eng != nil {
		eng.SetAddrContext(addrWords(addr), uintptr(ctx))
	}
	return compat.Success
}

func getAddrContext(addr *C.omx_endpoint_addr_t, ctx *unsafe.Pointer) compat.Code {
	if ctx == nil {
		return lib.ReportGlobal(compat.BadRequest, "Getting an address context into a NULL pointer")
	}
	var c uintptr
	if eng := lib.EngineAny(); eng != nil {
		c = eng.AddrContext(addrWords(addr))
	}
	*(*uintptr)(unsafe.Pointer(ctx)) = c
	return compat.Success
}

//export omx_set_endpoint_addr_context
func omx_set_endpoint_addr_context(addr C.omx_endpoint_addr_t, ctx unsafe.Pointer) C.omx_return_t {
	return ret(setAddrContext(&addr, ctx))
}

//export omx_get_endpoint_addr_context
func omx_get_endpoint_addr_context(addr C.omx_endpoint_addr_t, ctx *unsafe.Pointer) C.omx_return_t {
	return ret(getAddrContext(&addr, ctx))
}

//export omx_isend
func omx_isend(ep C.omx_endpoint_t, buf unsafe.Pointer, n C.size_t, dest C.omx_endpoint_addr_t, match C.uint64_t, ctx unsafe.Pointer, req *C.omx_request_t) C.omx_return_t {
	segs, ok := bufOf(buf, n)
	return ret(coreSend(unsafe.Pointer(ep), segs, ok, &dest, uint64(match), ctx, unsafe.Pointer(req), false))
}

//export omx_isendv
func omx_isendv(ep C.omx_endpoint_t, segs *C.omx_seg_t, n C.uint32_t, dest C.omx_endpoint_addr_t, match C.uint64_t, ctx unsafe.Pointer, req *C.omx_request_t) C.omx_return_t {
	return ret(coreSendV(unsafe.Pointer(ep), unsafe.Pointer(segs), uint32(n), &dest, uint64(match), ctx, unsafe.Pointer(req), false))
}

//export omx_issend
func omx_issend(ep C.omx_endpoint_t, buf unsafe.Pointer, n C.size_t, dest C.omx_endpoint_addr_t, match C.uint64_t, ctx unsafe.Pointer, req *C.omx_request_t) C.omx_return_t {
	segs, ok := bufOf(buf, n)
	return ret(coreSend(unsafe.Pointer(ep), segs, ok, &dest, uint64(match), ctx, unsafe.Pointer(req), true))
}

//export omx_issendv
func omx_issendv(ep C.omx_endpoint_t, segs *C.omx_seg_t, n C.uint32_t, dest C.omx_endpoint_addr_t, match C.uint64_t, ctx unsafe.Pointer, req *C.omx_request_t) C.omx_return_t {
	return ret(coreSendV(unsafe.Pointer(ep), unsafe.Pointer(segs), uint32(n), &dest, uint64(match), ctx, unsafe.Pointer(req), true))
}

//export omx_irecv
func omx_irecv(ep C.omx_endpoint_t, buf unsafe.Pointer, n C.size_t, match, mask C.uint64_t, ctx unsafe.Pointer, req *C.omx_request_t) C.omx_return_t {
	segs, ok := bufOf(buf, n)
	return ret(coreRecv(unsafe.Pointer(ep), segs, ok, 1, uint64(match), uint64(mask), ctx, unsafe.Pointer(req)))
}

//export omx_irecvv
func omx_irecvv(ep C.omx_endpoint_t, segs *C.omx_seg_t, n C.uint32_t, match, mask C.uint64_t, ctx unsafe.Pointer, req *C.omx_request_t) C.omx_return_t {
	s, ok := segsOf(unsafe.Pointer(segs), uint32(n))
	return ret(coreRecv(unsafe.Pointer(ep), s, ok, uint32(n), uint64(match), uint64(mask), ctx, unsafe.Pointer(req)))
}

//export omx_context
func omx_context(req *C.omx_request_t, ctx *unsafe.Pointer) C.omx_return_t {
	return ret(coreContext(unsafe.Pointer(req), ctx))
}

func omxStatus(c *completion, code compat.Code, status *C.omx_status_t) C.omx_return_t {
	if code == compat.Success && c.found {
		putStatus(status, &c.st, uint32(c.st.Code))
	}
	return ret(code)
}

//export omx_test
func omx_test(ep C.omx_endpoint_t, req *C.omx_request_t, status *C.omx_status_t, result *C.uint32_t) C.omx_return_t {
	var c completion
	code := coreWait(unsafe.Pointer(ep), unsafe.Pointer(req), status, result, 0, &c)
	return omxStatus(&c, code, status)
}

//export omx_wait
func omx_wait(ep C.omx_endpoint_t, req *C.omx_request_t, status *C.omx_status_t, result *C.uint32_t, timeout C.uint32_t) C.omx_return_t {
	var c completion
	code := coreWait(unsafe.Pointer(ep), unsafe.Pointer(req), status, result, uint32(timeout), &c)
	return omxStatus(&c, code, status)
}

//export omx_test_any
func omx_test_any(ep C.omx_endpoint_t, match, mask C.uint64_t, status *C.omx_status_t, result *C.uint32_t) C.omx_return_t {
	var c completion
	code := coreWaitAny(unsafe.Pointer(ep), uint64(match), uint64(mask), status, result, 0, "test_any", &c)
	return omxStatus(&c, code, status)
}

//export omx_wait_any
func omx_wait_any(ep C.omx_endpoint_t, match, mask C.uint64_t, status *C.omx_status_t, result *C.uint32_t, timeout C.uint32_t) C.omx_return_t {
	var c completion
	code := coreWaitAny(unsafe.Pointer(ep), uint64(match), uint64(mask), status, result, uint32(timeout), "wait_any", &c)
	return omxStatus(&c, code, status)
}

//export omx_ipeek
func omx_ipeek(ep C.omx_endpoint_t, req *C.omx_request_t, result *C.uint32_t) C.omx_return_t {
	return ret(corePeek(unsafe.Pointer(ep), unsafe.Pointer(req), result, 0))
}

//export omx_peek
func omx_peek(ep C.omx_endpoint_t, req *C.omx_request_t, result *C.uint32_t, timeout C.uint32_t) C.omx_return_t {
	return ret(corePeek(unsafe.Pointer(ep), unsafe.Pointer(req), result, uint32(timeout)))
}

//export omx_iprobe
func omx_iprobe(ep C.omx_endpoint_t, match, mask C.uint64_t, status *C.omx_status_t, result *C.uint32_t) C.omx_return_t {
	var c completion
	code := coreWaitAny(unsafe.Pointer(ep), uint64(match), uint64(mask), status, result, 0, "iprobe", &c)
	return omxStatus(&c, code, status)
}

//export omx_probe
func omx_probe(ep C.omx_endpoint_t, match, mask C.uint64_t, status *C.omx_status_t, result *C.uint32_t, timeout C.uint32_t) C.omx_return_t {
	var c completion
	code := coreWaitAny(unsafe.Pointer(ep), uint64(match), uint64(mask), status, result, uint32(timeout), "probe", &c)
	return omxStatus(&c, code, status)
}

//export omx_ibuffered
func omx_ibuffered(ep C.omx_endpoint_t, req *C.omx_request_t, result *C.uint32_t) C.omx_return_t {
	return ret(coreIBuffered(unsafe.Pointer(ep), unsafe.Pointer(req), result))
}

//export omx_register_unexp_handler
func omx_register_unexp_handler(ep C.omx_endpoint_t, h C.omx_unexp_handler_t, ctx unsafe.Pointer) C.omx_return_t {
	fn := unexpHandler(unsafe.Pointer(h))
	return ret(withEndpoint(unsafe.Pointer(ep), func(e *engine.Endpoint) error {
		return e.RegisterUnexpHandler(fn, uintptr(ctx))
	}))
}

//export omx_cancel
func omx_cancel(ep C.omx_endpoint_t, req *C.omx_request_t, result *C.uint32_t) C.omx_return_t {
	return ret(coreCancel(unsafe.Pointer(ep), unsafe.Pointer(req), result, false))
}

//export omx_cancel_notest
func omx_cancel_notest(ep C.omx_endpoint_t, req *C.omx_request_t, result *C.uint32_t) C.omx_return_t {
	return ret(coreCancel(unsafe.Pointer(ep), unsafe.Pointer(req), result, true))
}

//export omx_forget
func omx_forget(ep C.omx_endpoint_t, req *C.omx_request_t) C.omx_return_t {
	return ret(coreForget(unsafe.Pointer(ep), unsafe.Pointer(req)))
}

//export omx_disable_progression
func omx_disable_progression(ep C.omx_endpoint_t) C.omx_return_t {
	return ret(withEndpoint(unsafe.Pointer(ep), (*engine.Endpoint).DisableProgression))
}

//export omx_reenable_progression
func omx_reenable_progression(ep C.omx_endpoint_t) C.omx_return_t {
	return ret(withEndpoint(unsafe.Pointer(ep), (*engine.Endpoint).ReenableProgression))
}

//export omx_progress
func omx_progress(ep C.omx_endpoint_t) C.omx_return_t {
	return ret(withEndpoint(unsafe.Pointer(ep), (*engine.Endpoint).Progress))
}

func setRequestTimeout(eph, req unsafe.Pointer, ms uint32) compat.Code {
	ep, code := endpointOf(eph)
	if code != compat.Success {
		return code
	}
	resends := compat.ResendsFromMillis(ms)
	if req == nil {
		ep.SetRequestTimeout(resends)
		return compat.Success
	}
	if !ep.OwnsRequest(handleOf(uint64(uintptr(req)), requestTag)) {
		return badRequest(ep, "Setting the timeout of an unknown request")
	}
	// In-process requests never time out; the budget matters on the wire.
	return compat.Success
}

//export omx_set_request_timeout
func omx_set_request_timeout(ep C.omx_endpoint_t, req C.omx_request_t, ms C.uint32_t) C.omx_return_t {
	return ret(setRequestTimeout(unsafe.Pointer(ep), unsafe.Pointer(req), uint32(ms)))
}

//export omx_get_info
func omx_get_info(ep C.omx_endpoint_t, key C.omx_info_key_t, in *C.omx_const_void, inLen C.uint32_t, out unsafe.Pointer, outLen C.uint32_t) C.omx_return_t {
	e, code := infoEndpoint(unsafe.Pointer(ep))
	if code != compat.Success {
		return ret(code)
	}
	i, o := infoSlices(unsafe.Pointer(in), uint32(inLen), out, uint32(outLen))
	return ret(lib.GetInfo(e, uint32(key), i, o))
}

//export omx_hostname_to_nic_id
func omx_hostname_to_nic_id(name *C.char, nic *C.uint64_t) C.omx_return_t {
	return ret(coreHostnameToNIC(name, nic))
}

//export omx_nic_id_to_hostname
func omx_nic_id_to_hostname(nic C.uint64_t, buf *C.char) C.omx_return_t {
	return ret(coreNICToHostname(uint64(nic), buf))
}
