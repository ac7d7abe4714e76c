package main

// The MX API (include/myriexpress.h, mx_extensions.h): thin wrappers over
// the Open-MX semantics with the argument orders, timeouts and codes of MX
// (spec/api.md §6, abi/mx-compat-codes.json).

/*
#include <stdint.h>
#include <stdlib.h>
#include "myriexpress.h"
#include "mx_extensions.h"
#include "open-mx.h"
typedef const char omx_const_char;
*/
import "C"

import (
	"unsafe"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/engine"
)

func mxret(c compat.Code) C.mx_return_t { return C.mx_return_t(compat.ReturnToMX(c)) }

// mxStatus writes an MX status only when the call succeeded and found
// something (spec/api.md §6.3).
func mxStatus(c *completion, code compat.Code, status *C.mx_status_t) C.mx_return_t {
	if code == compat.Success && c.found {
		putStatus((*C.omx_status_t)(unsafe.Pointer(status)), &c.st, compat.StatusToMX(compat.Code(c.st.Code)))
	}
	return mxret(code)
}

func omxAddr(a *C.mx_endpoint_addr_t) *C.omx_endpoint_addr_t {
	return (*C.omx_endpoint_addr_t)(unsafe.Pointer(a))
}

//export mx__init_api
func mx__init_api(api C.int) C.mx_return_t { return mxret(lib.Init(int(api))) }

//export mx_finalize
func mx_finalize() C.mx_return_t { return mxret(lib.Finalize()) }

//export mx_set_error_handler
func mx_set_error_handler(h C.mx_error_handler_t) C.mx_error_handler_t {
	return C.mx_error_handler_t(coreSetHandler(nil, unsafe.Pointer(h), true))
}

//export mx_open_endpoint
func mx_open_endpoint(board, eid, key C.uint32_t, params *C.mx_param_t, count C.uint32_t, out *C.mx_endpoint_t) C.mx_return_t {
	return mxret(coreOpen(uint32(board), uint32(eid), uint32(key), unsafe.Pointer(params), uint32(count), unsafe.Pointer(out), true))
}

//export mx_close_endpoint
func mx_close_endpoint(ep C.mx_endpoint_t) C.mx_return_t { return mxret(coreClose(unsafe.Pointer(ep))) }

//export mx_wakeup
func mx_wakeup(ep C.mx_endpoint_t) C.mx_return_t {
	return mxret(withEndpoint(unsafe.Pointer(ep), (*engine.Endpoint).Wakeup))
}

//export mx_connect
func mx_connect(ep C.mx_endpoint_t, nic C.uint64_t, eid, key, timeout C.uint32_t, addr *C.mx_endpoint_addr_t) C.mx_return_t {
	return mxret(coreConnect(unsafe.Pointer(ep), uint64(nic), uint32(eid), uint32(key), compat.TimeoutFromMX(uint32(timeout)), omxAddr(addr)))
}

//export mx_iconnect
func mx_iconnect(ep C.mx_endpoint_t, nic C.uint64_t, eid, key C.uint32_t, match C.uint64_t, ctx unsafe.Pointer, req *C.mx_request_t) C.mx_return_t {
	return mxret(coreIConnect(unsafe.Pointer(ep), uint64(nic), uint32(eid), uint32(key), uint64(match), ctx, unsafe.Pointer(req)))
}

//export mx_disconnect
func mx_disconnect(ep C.mx_endpoint_t, addr C.mx_endpoint_addr_t) C.mx_return_t {
	a := addrWords(omxAddr(&addr))
	return mxret(withEndpoint(unsafe.Pointer(ep), func(e *engine.Endpoint) error { return e.Disconnect(a) }))
}

//export mx_get_endpoint_addr
func mx_get_endpoint_addr(ep C.mx_endpoint_t, addr *C.mx_endpoint_addr_t) C.mx_return_t {
	e, code := endpointOf(unsafe.Pointer(ep))
	if code != compat.Success {
		return mxret(code)
	}
	if addr == nil {
		return mxret(badRequest(e, "Getting the endpoint address into a NULL pointer"))
	}
	putAddr(omxAddr(addr), e.Address())
	return 0
}

//export mx_decompose_endpoint_addr
func mx_decompose_endpoint_addr(addr C.mx_endpoint_addr_t, nic *C.uint64_t, eid *C.uint32_t) C.mx_return_t {
	return mxret(decompose(omxAddr(&addr), nic, eid, nil))
}

//export mx_decompose_endpoint_addr2
func mx_decompose_endpoint_addr2(addr C.mx_endpoint_addr_t, nic *C.uint64_t, eid, session *C.uint32_t) C.mx_return_t {
	if session == nil {
		return mxret(lib.ReportGlobal(compat.BadRequest, "Decomposing an endpoint address into NULL pointers"))
	}
	return mxret(decompose(omxAddr(&addr), nic, eid, session))
}

//export mx_set_endpoint_addr_context
func mx_set_endpoint_addr_context(addr C.mx_endpoint_addr_t, ctx unsafe.Pointer) C.mx_return_t {
	return mxret(setAddrContext(omxAddr(&addr), ctx))
}

//export mx_get_endpoint_addr_context
func mx_get_endpoint_addr_context(addr C.mx_endpoint_addr_t, ctx *unsafe.Pointer) C.mx_return_t {
	return mxret(getAddrContext(omxAddr(&addr), ctx))
}

//export mx_isend
func mx_isend(ep C.mx_endpoint_t, segs *C.mx_segment_t, n C.uint32_t, dest C.mx_endpoint_addr_t, match C.uint64_t, ctx unsafe.Pointer, req *C.mx_request_t) C.mx_return_t {
	return mxret(coreSendV(unsafe.Pointer(ep), unsafe.Pointer(segs), uint32(n), omxAddr(&dest), uint64(match), ctx, unsafe.Pointer(req), false))
}

//export mx_issend
func mx_issend(ep C.mx_endpoint_t, segs *C.mx_segment_t, n C.uint32_t, dest C.mx_endpoint_addr_t, match C.uint64_t, ctx unsafe.Pointer, req *C.mx_request_t) C.mx_return_t {
	return mxret(coreSendV(unsafe.Pointer(ep), unsafe.Pointer(segs), uint32(n), omxAddr(&dest), uint64(match), ctx, unsafe.Pointer(req), true))
}

//export mx_irecv
func mx_irecv(ep C.mx_endpoint_t, segs *C.mx_segment_t, n C.uint32_t, match, mask C.uint64_t, ctx unsafe.Pointer, req *C.mx_request_t) C.mx_return_t {
	s, ok := segsOf(unsafe.Pointer(segs), uint32(n))
	return mxret(coreRecv(unsafe.Pointer(ep), s, ok, uint32(n), uint64(match), uint64(mask), ctx, unsafe.Pointer(req)))
}

//export mx_cancel
func mx_cancel(ep C.mx_endpoint_t, req *C.mx_request_t, result *C.uint32_t) C.mx_return_t {
	return mxret(coreCancel(unsafe.Pointer(ep), unsafe.Pointer(req), result, false))
}

//export mx_forget
func mx_forget(ep C.mx_endpoint_t, req *C.mx_request_t) C.mx_return_t {
	return mxret(coreForget(unsafe.Pointer(ep), unsafe.Pointer(req)))
}

func mxStatusPtr(s *C.mx_status_t) *C.omx_status_t { return (*C.omx_status_t)(unsafe.Pointer(s)) }

//export mx_test
func mx_test(ep C.mx_endpoint_t, req *C.mx_request_t, status *C.mx_status_t, result *C.uint32_t) C.mx_return_t {
	var c completion
	code := coreWait(unsafe.Pointer(ep), unsafe.Pointer(req), mxStatusPtr(status), result, 0, &c)
	return mxStatus(&c, code, status)
}

//export mx_wait
func mx_wait(ep C.mx_endpoint_t, req *C.mx_request_t, timeout C.uint32_t, status *C.mx_status_t, result *C.uint32_t) C.mx_return_t {
	var c completion
	code := coreWait(unsafe.Pointer(ep), unsafe.Pointer(req), mxStatusPtr(status), result, compat.TimeoutFromMX(uint32(timeout)), &c)
	return mxStatus(&c, code, status)
}

//export mx_test_any
func mx_test_any(ep C.mx_endpoint_t, match, mask C.uint64_t, status *C.mx_status_t, result *C.uint32_t) C.mx_return_t {
	var c completion
	code := coreWaitAny(unsafe.Pointer(ep), uint64(match), uint64(mask), mxStatusPtr(status), result, 0, "test_any", &c)
	return mxStatus(&c, code, status)
}

//export mx_wait_any
func mx_wait_any(ep C.mx_endpoint_t, timeout C.uint32_t, match, mask C.uint64_t, status *C.mx_status_t, result *C.uint32_t) C.mx_return_t {
	var c completion
	code := coreWaitAny(unsafe.Pointer(ep), uint64(match), uint64(mask), mxStatusPtr(status), result, compat.TimeoutFromMX(uint32(timeout)), "wait_any", &c)
	return mxStatus(&c, code, status)
}

//export mx_ipeek
func mx_ipeek(ep C.mx_endpoint_t, req *C.mx_request_t, result *C.uint32_t) C.mx_return_t {
	return mxret(corePeek(unsafe.Pointer(ep), unsafe.Pointer(req), result, 0))
}

//export mx_peek
func mx_peek(ep C.mx_endpoint_t, timeout C.uint32_t, req *C.mx_request_t, result *C.uint32_t) C.mx_return_t {
	return mxret(corePeek(unsafe.Pointer(ep), unsafe.Pointer(req), result, compat.TimeoutFromMX(uint32(timeout))))
}

//export mx_iprobe
func mx_iprobe(ep C.mx_endpoint_t, match, mask C.uint64_t, status *C.mx_status_t, result *C.uint32_t) C.mx_return_t {
	var c completion
	code := coreWaitAny(unsafe.Pointer(ep), uint64(match), uint64(mask), mxStatusPtr(status), result, 0, "iprobe", &c)
	return mxStatus(&c, code, status)
}

//export mx_probe
func mx_probe(ep C.mx_endpoint_t, timeout C.uint32_t, match, mask C.uint64_t, status *C.mx_status_t, result *C.uint32_t) C.mx_return_t {
	var c completion
	code := coreWaitAny(unsafe.Pointer(ep), uint64(match), uint64(mask), mxStatusPtr(status), result, compat.TimeoutFromMX(uint32(timeout)), "probe", &c)
	return mxStatus(&c, code, status)
}

//export mx_ibuffered
func mx_ibuffered(ep C.mx_endpoint_t, req *C.mx_request_t, result *C.uint32_t) C.mx_return_t {
	return mxret(coreIBuffered(unsafe.Pointer(ep), unsafe.Pointer(req), result))
}

//export mx_context
func mx_context(req *C.mx_request_t, ctx *unsafe.Pointer) C.mx_return_t {
	return mxret(coreContext(unsafe.Pointer(req), ctx))
}

//export mx_strerror
func mx_strerror(code C.mx_return_t) *C.omx_const_char {
	return cstring(compat.MXStrerror(uint32(code)))
}

//export mx_strstatus
func mx_strstatus(code C.mx_status_code_t) *C.omx_const_char {
	return cstring(compat.MXStrstatus(uint32(code)))
}

//export mx_board_number_to_nic_id
func mx_board_number_to_nic_id(board C.uint32_t, nic *C.uint64_t) C.mx_return_t {
	return mxret(coreBoardToNIC(uint32(board), nic))
}

//export mx_nic_id_to_board_number
func mx_nic_id_to_board_number(nic C.uint64_t, board *C.uint32_t) C.mx_return_t {
	return mxret(coreNICToBoard(uint64(nic), board))
}

//export mx_hostname_to_nic_id
func mx_hostname_to_nic_id(name *C.char, nic *C.uint64_t) C.mx_return_t {
	return mxret(coreHostnameToNIC(name, nic))
}

//export mx_nic_id_to_hostname
func mx_nic_id_to_hostname(nic C.uint64_t, buf *C.char) C.mx_return_t {
	return mxret(coreNICToHostname(uint64(nic), buf))
}

//export mx_get_info
func mx_get_info(ep C.mx_endpoint_t, key C.mx_get_info_key_t, in unsafe.Pointer, inLen C.uint32_t, out unsafe.Pointer, outLen C.uint32_t) C.mx_return_t {
	e, code := infoEndpoint(unsafe.Pointer(ep))
	if code != compat.Success {
		return mxret(code)
	}
	i, o := infoSlices(in, uint32(inLen), out, uint32(outLen))
	return mxret(lib.MXGetInfo(e, uint32(key), i, o))
}

//export mx_register_unexp_handler
func mx_register_unexp_handler(ep C.mx_endpoint_t, h C.mx_unexp_handler_t, ctx unsafe.Pointer) C.mx_return_t {
	fn := unexpHandler(unsafe.Pointer(h))
	return mxret(withEndpoint(unsafe.Pointer(ep), func(e *engine.Endpoint) error {
		return e.RegisterUnexpHandler(fn, uintptr(ctx))
	}))
}

//export mx_disable_progression
func mx_disable_progression(ep C.mx_endpoint_t) C.mx_return_t {
	return mxret(withEndpoint(unsafe.Pointer(ep), (*engine.Endpoint).DisableProgression))
}

//export mx_reenable_progression
func mx_reenable_progression(ep C.mx_endpoint_t) C.mx_return_t {
	return mxret(withEndpoint(unsafe.Pointer(ep), (*engine.Endpoint).ReenableProgression))
}

//export mx_progress
func mx_progress(ep C.mx_endpoint_t) C.mx_return_t {
	return mxret(withEndpoint(unsafe.Pointer(ep), (*engine.Endpoint).Progress))
}

//export mx_set_request_timeout
func mx_set_request_timeout(ep C.mx_endpoint_t, req C.mx_request_t, ms C.uint32_t) C.mx_return_t {
	return mxret(setRequestTimeout(unsafe.Pointer(ep), unsafe.Pointer(req), uint32(ms)))
}

// notImplemented aborts, as Open-MX does for these MX functions (spec/api.md
// §6.5).
func notImplemented(text string) {
	lib.FatalError(text)
}

//export mx_register_unexp_callback
func mx_register_unexp_callback(ep C.mx_endpoint_t, cb C.mx_matching_callback_t, ctx unsafe.Pointer) C.mx_return_t {
	notImplemented("mx_register_unexp_callback not implemented since it's deprecated by mx_register_unexp_handler")
	return mxret(compat.NotImplemented)
}

//export mx_iput
func mx_iput(ep C.mx_endpoint_t, local unsafe.Pointer, n C.uint32_t, dest C.mx_endpoint_addr_t, remote C.uint64_t, ctx unsafe.Pointer, req *C.mx_request_t) C.mx_return_t {
	notImplemented("mx_iput not implemented")
	return mxret(compat.NotImplemented)
}

//export mx_iget
func mx_iget(ep C.mx_endpoint_t, local unsafe.Pointer, n C.uint32_t, dest C.mx_endpoint_addr_t, remote C.uint64_t, ctx unsafe.Pointer, req *C.mx_request_t) C.mx_return_t {
	notImplemented("mx_iget not implemented")
	return mxret(compat.NotImplemented)
}

//export mx_buffered
func mx_buffered(ep C.mx_endpoint_t, req *C.mx_request_t, timeout C.uint32_t, result *C.uint32_t) C.mx_return_t {
	notImplemented("mx_buffered not implemented since it is not in MX either")
	return mxret(compat.NotImplemented)
}
