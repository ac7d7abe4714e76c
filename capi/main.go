// Command capi is the C face of the library, built with
// `go build -buildmode=c-shared` into libopen-mx.so.0. It is the only
// package that imports "C". Every export has the same shape: check the
// arguments, look the handle up, one call into compat or the engine,
// convert the result (STYLE.md §4).
//
// Handles given to C (endpoints, requests) are engine handles with the top
// bit set: never Go pointers, and never values the Go garbage collector
// could mistake for one of its own.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -Wall
#include <stdint.h>
#include <stdlib.h>
#include "open-mx.h"
#include "myriexpress.h"

uint32_t omx__call_error_handler(void *fn, char *msg, uint32_t code);
int omx__call_unexp_handler(void *fn, uintptr_t ctx, uint64_t a0, uint64_t a1,
                            uint64_t match_info, uint32_t length, void *data,
                            int avail);
void omx__exit(int status);
void omx__abort(void);
char *omx__getenv(const char *name);
*/
import "C"

import (
	"os"
	"syscall"
	"unsafe"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/engine"
)

func main() {}

func init() {
	compat.CallHandler = func(fn unsafe.Pointer, msg string, code uint32) uint32 {
		cs := C.CString(msg)
		defer C.free(unsafe.Pointer(cs))
		return uint32(C.omx__call_error_handler(fn, cs, C.uint32_t(code)))
	}
	compat.Exit = func(status int) { C.omx__exit(C.int(status)) }
	compat.Abort = func() { C.omx__abort() }
	compat.Getenv = func(name string) string {
		cs := C.CString(name)
		defer C.free(unsafe.Pointer(cs))
		v := C.omx__getenv(cs)
		if v == nil {
			return ""
		}
		return C.GoString(v)
	}
	compat.ThreadID = func() int64 { return int64(syscall.Gettid()) }
	compat.Stderr = func(s string) { os.Stderr.WriteString(s) }
}

var lib = compat.Lib

// Handles given to C carry a kind tag in their top two bits (engine handles
// keep them clear): a request handle used as an endpoint, or the reverse,
// is rejected like a stale one.
const (
	tagMask     = 3 << 62
	endpointTag = 2 << 62
	requestTag  = 3 << 62
)

// handleOf reads the engine handle out of a C handle value of the given
// kind (0 when the tag does not match).
func handleOf(v uint64, tag uint64) uint64 {
	if v&tagMask != tag {
		return 0
	}
	return v &^ tagMask
}

// putHandle stores engine handle h, tagged, into the C handle variable at
// out.
func putHandle(out unsafe.Pointer, h uint64, tag uint64) {
	if h == 0 {
		*(*uint64)(out) = 0
		return
	}
	*(*uint64)(out) = h | tag
}

// endpointOf returns the endpoint of a C handle, or reports BAD_ENDPOINT
// through the global handler.
func endpointOf(p unsafe.Pointer) (*engine.Endpoint, compat.Code) {
	if eng := lib.EngineAny(); eng != nil && p != nil {
		if ep, ok := eng.Endpoint(handleOf(uint64(uintptr(p)), endpointTag)); ok {
			return ep, compat.Success
		}
	}
	return nil, lib.ReportGlobal(compat.BadEndpoint, "Using an invalid or closed endpoint")
}

// addrWords reads an omx_endpoint_addr_t / mx_endpoint_addr_t.
func addrWords(a *C.omx_endpoint_addr_t) engine.Address {
	return engine.AddressFromWords([2]uint64{uint64(a.data[0]), uint64(a.data[1])})
}

func putAddr(out *C.omx_endpoint_addr_t, a engine.Address) {
	w := a.Words()
	out.data[0], out.data[1] = C.uint64_t(w[0]), C.uint64_t(w[1])
}

// putStatus fills an omx_status_t (mx_status_t has the same layout; the
// caller converts the code for MX).
func putStatus(out *C.omx_status_t, st *engine.ReqStatus, code uint32) {
	out.code = C.enum_omx_return(code)
	putAddr(&out.addr, st.Addr)
	out.match_info = C.uint64_t(st.MatchInfo)
	out.msg_length = C.uint32_t(st.MsgLength)
	out.xfer_length = C.uint32_t(st.XferLength)
	*(*uintptr)(unsafe.Pointer(&out.context)) = st.Context
}

// segsOf views a C segment array (omx_seg_t and mx_segment_t have the same
// layout) as Go slices over the application's memory.
func segsOf(p unsafe.Pointer, n uint32) ([][]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if p == nil || n > engine.MaxSegments {
		return nil, n <= engine.MaxSegments && p != nil
	}
	cs := unsafe.Slice((*C.omx_seg_t)(p), n)
	segs := make([][]byte, n)
	for i := range cs {
		if cs[i].len == 0 {
			continue
		}
		if cs[i].ptr == nil {
			return nil, false
		}
		segs[i] = unsafe.Slice((*byte)(cs[i].ptr), cs[i].len)
	}
	return segs, true
}

// bufOf views one contiguous buffer.
func bufOf(p unsafe.Pointer, n C.size_t) ([][]byte, bool) {
	if n == 0 {
		return [][]byte{nil}, true
	}
	if p == nil {
		return nil, false
	}
	return [][]byte{unsafe.Slice((*byte)(p), uint32(n))}, true
}

func boolU32(b bool) C.uint32_t {
	if b {
		return 1
	}
	return 0
}

// handlerOf turns a C error handler pointer into a compat.Handler,
// recognizing the predefined ones.
func handlerOf(fn unsafe.Pointer, mx bool) compat.Handler {
	switch fn {
	case nil:
		return compat.Handler{}
	case unsafe.Pointer(C.OMX_ERRORS_ARE_FATAL), unsafe.Pointer(C.MX_ERRORS_ARE_FATAL):
		return compat.Handler{Kind: compat.HandlerFatal, Fn: fn, MX: mx}
	case unsafe.Pointer(C.OMX_ERRORS_RETURN), unsafe.Pointer(C.MX_ERRORS_RETURN):
		return compat.Handler{Kind: compat.HandlerReturn, Fn: fn, MX: mx}
	}
	return compat.Handler{Kind: compat.HandlerApp, Fn: fn, MX: mx}
}

// unexpHandler wraps a C unexpected handler for the engine.
func unexpHandler(fn unsafe.Pointer) engine.UnexpHandler {
	if fn == nil {
		return nil
	}
	return func(ctx uintptr, src engine.Address, matchInfo uint64, length uint32, data []byte, avail bool) int {
		w := src.Words()
		var p unsafe.Pointer
		if len(data) > 0 {
			p = unsafe.Pointer(&data[0])
		}
		a := C.int(0)
		if avail {
			a = 1
		}
		return int(C.omx__call_unexp_handler(fn, C.uintptr_t(ctx), C.uint64_t(w[0]), C.uint64_t(w[1]),
			C.uint64_t(matchInfo), C.uint32_t(length), p, a))
	}
}
