package main

// The raw API of mx_raw.h (spec/api.md Appendix A), used by the discovery
// daemon and fabric mappers, and the internal MX symbols that MPI builds
// look for. The semantics are in compat/raw.go; what each call does here:
//
//   - mx_raw_open_endpoint: one raw endpoint per board on the host (the
//     registry slot "<board>.raw" of the run directory). Codes:
//     MX_NOT_INITIALIZED before mx_init, MX_BOARD_UNKNOWN for a missing
//     board, MX_NO_DRIVER for the loopback board (it has no raw Ethernet
//     access; also on systems without AF_PACKET), MX_BUSY when the raw
//     endpoint of the board is open (in this or another process),
//     MX_NO_PERM without CAP_NET_RAW, MX_BAD_REQUEST for a NULL result
//     pointer. The parameter array is ignored.
//   - mx_raw_send: the buffer is sent as one whole Ethernet frame (the
//     caller writes the MACs, EtherType 0x86DF and ptype 1), padded to 60
//     bytes; 14 to 1024 bytes, else MX_BAD_REQUEST. The port and route are
//     ignored. The send is complete on return: a send-complete event with
//     the context is queued.
//   - mx_raw_next_event: send completions first (oldest first, one per
//     call), then received RAW frames (ptype 1, for the board MAC or
//     broadcast, at most 1024 bytes) in arrival order. On
//     MX_RAW_RECV_COMPLETE the frame is copied into recv_buffer, cut to
//     *recv_bytes, *recv_bytes becomes the number of bytes copied and
//     *incoming_port 0; on MX_RAW_SEND_COMPLETE *context is the send's
//     context; incoming_port and context may be NULL. timeout_ms 0 polls
//     once; MX_RAW_NO_EVENT when nothing came before the timeout.
//   - mx_raw_handle: the descriptor of the endpoint's socket, which polls
//     readable while a frame is pending (not for send completions); do not
//     read or close it. MX__INVALID_HANDLE for an invalid endpoint (no
//     error handler call: the function has no return code).
//   - mx_raw_num_ports: 1. mx_raw_line_speed: MX_SPEED_10G.
//   - mx_raw_set_route_begin/_end, mx_raw_clear_routes,
//     mx_raw_set_nic_reply_info: accepted, no effect.
//   - mx_raw_set_route/_mag: the destination nic id joins the peer table
//     published in the run directory (and this process's) without a host
//     name; MX_BAD_REQUEST for an id wider than 48 bits.
//   - mx_raw_set_peer_name: the nic id joins the published peer table with
//     that host name, or is renamed (names cut to 79 bytes; names with
//     blanks or control characters: MX_BAD_REQUEST).
//   - mx_raw_set_hostname: renames the endpoint's board, recorded in
//     <run dir>/hostname.<interface> (compat.BoardHostnameFile) for the
//     libraries started afterwards.
//   - mx_raw_set_map_version: the mapper state is kept with the endpoint.
//   - mx_raw_remove_peer: Open-MX aborts; here it fails with
//     OMX_NOT_IMPLEMENTED (99, passed through to MX unchanged), since peer
//     indexes cannot be reused.
//
// Every call on a NULL, closed or foreign handle fails with
// MX_BAD_ENDPOINT, NULL out pointers with MX_BAD_REQUEST; errors go
// through the global error handler.

/*
#include <stdint.h>
#include <stdlib.h>
#include "myriexpress.h"
#include "mx_raw.h"
#include "mx_io.h"
*/
import "C"

import (
	"unsafe"

	"github.com/open-mx-go/open-mx-go/compat"
)

// rawTag is the kind tag of raw endpoint handles (kind bits 01).
const rawTag = 1 << 62

// rawOf returns the raw endpoint of a C handle, or reports BAD_ENDPOINT
// ("<what> on an invalid or closed raw endpoint").
func rawOf(ep C.mx_raw_endpoint_t, what string) (*compat.RawEndpoint, compat.Code) {
	return lib.Raw(handleOf(uint64(uintptr(unsafe.Pointer(ep))), rawTag), what)
}

func rawBadRequest(what string) C.mx_return_t {
	return mxret(lib.ReportGlobal(compat.BadRequest, what))
}

//export mx_raw_open_endpoint
func mx_raw_open_endpoint(board C.uint32_t, params *C.mx_param_t, count C.uint32_t, out *C.mx_raw_endpoint_t) C.mx_return_t {
	if out == nil {
		return rawBadRequest("Opening raw endpoint with a NULL endpoint pointer")
	}
	*out = nil
	r, code := lib.OpenRaw(uint32(board))
	if code != compat.Success {
		return mxret(code)
	}
	putHandle(unsafe.Pointer(out), r.Handle(), rawTag)
	return C.MX_SUCCESS
}

//export mx_raw_close_endpoint
func mx_raw_close_endpoint(ep C.mx_raw_endpoint_t) C.mx_return_t {
	r, code := rawOf(ep, "Closing")
	if code != compat.Success {
		return mxret(code)
	}
	return mxret(lib.CloseRaw(r))
}

//export mx_raw_handle
func mx_raw_handle(ep C.mx_raw_endpoint_t) C.mx_endpt_handle_t {
	r, ok := compat.RawByHandle(handleOf(uint64(uintptr(unsafe.Pointer(ep))), rawTag))
	if !ok {
		return C.MX__INVALID_HANDLE
	}
	return C.mx_endpt_handle_t(r.PollFd())
}

//export mx_raw_send
func mx_raw_send(ep C.mx_raw_endpoint_t, port C.uint32_t, route unsafe.Pointer, routeLen C.uint32_t, buf unsafe.Pointer, n C.uint32_t, ctx unsafe.Pointer) C.mx_return_t {
	r, code := rawOf(ep, "Sending")
	if code != compat.Success {
		return mxret(code)
	}
	if buf == nil {
		return rawBadRequest("Sending a raw frame from a NULL buffer")
	}
	// RawSend checks the length before it reads anything.
	return mxret(lib.RawSend(r, unsafe.Slice((*byte)(buf), uint32(n)), uintptr(ctx)))
}

//export mx_raw_next_event
func mx_raw_next_event(ep C.mx_raw_endpoint_t, port *C.uint32_t, ctx *unsafe.Pointer, buf unsafe.Pointer, n *C.uint32_t, timeout C.uint32_t, status *C.mx_raw_status_t) C.mx_return_t {
	r, code := rawOf(ep, "Waiting for an event")
	if code != compat.Success {
		return mxret(code)
	}
	if status == nil || n == nil || (buf == nil && *n != 0) {
		return rawBadRequest("Waiting for a raw event with a NULL status, length or buffer pointer")
	}
	var dst []byte
	if *n != 0 {
		dst = unsafe.Slice((*byte)(buf), min(uint32(*n), compat.RawMaxFrame))
	}
	ev, code := lib.RawNextEvent(r, dst, uint32(timeout))
	if code != compat.Success {
		return mxret(code)
	}
	*status = C.mx_raw_status_t(ev.Status)
	switch ev.Status {
	case compat.RawSendComplete:
		if ctx != nil {
			*(*uintptr)(unsafe.Pointer(ctx)) = ev.Context
		}
	case compat.RawRecvComplete:
		*n = C.uint32_t(ev.Length)
		if port != nil {
			*port = 0
		}
	}
	return C.MX_SUCCESS
}

//export mx_raw_set_route_begin
func mx_raw_set_route_begin(ep C.mx_raw_endpoint_t) C.mx_return_t {
	_, code := rawOf(ep, "Setting routes")
	return mxret(code)
}

//export mx_raw_set_route_end
func mx_raw_set_route_end(ep C.mx_raw_endpoint_t) C.mx_return_t {
	_, code := rawOf(ep, "Setting routes")
	return mxret(code)
}

//export mx_raw_set_route
func mx_raw_set_route(ep C.mx_raw_endpoint_t, dest C.uint64_t, route unsafe.Pointer, n, in, out C.uint32_t, ht C.mx_host_type_t) C.mx_return_t {
	r, code := rawOf(ep, "Setting a route")
	if code != compat.Success {
		return mxret(code)
	}
	return mxret(lib.RawSetRoute(r, uint64(dest)))
}

//export mx_raw_set_route_mag
func mx_raw_set_route_mag(ep C.mx_raw_endpoint_t, dest C.uint64_t, route unsafe.Pointer, n, in, out C.uint32_t, ht C.mx_host_type_t, mag C.uint32_t) C.mx_return_t {
	r, code := rawOf(ep, "Setting a route")
	if code != compat.Success {
		return mxret(code)
	}
	return mxret(lib.RawSetRoute(r, uint64(dest)))
}

//export mx_raw_clear_routes
func mx_raw_clear_routes(ep C.mx_raw_endpoint_t, dest C.uint64_t, port C.uint32_t) C.mx_return_t {
	_, code := rawOf(ep, "Clearing routes")
	return mxret(code)
}

//export mx_raw_remove_peer
func mx_raw_remove_peer(ep C.mx_raw_endpoint_t, dest C.uint64_t) C.mx_return_t {
	r, code := rawOf(ep, "Removing a peer")
	if code != compat.Success {
		return mxret(code)
	}
	return mxret(lib.RawRemovePeer(r, uint64(dest)))
}

//export mx_raw_set_map_version
func mx_raw_set_map_version(ep C.mx_raw_endpoint_t, port C.uint32_t, mapper C.uint64_t, version, nodes, complete C.uint32_t) C.mx_return_t {
	r, code := rawOf(ep, "Setting the map version")
	if code != compat.Success {
		return mxret(code)
	}
	r.SetMapState(compat.RawMapState{Port: uint32(port), MapperID: uint64(mapper), Version: uint32(version),
		Nodes: uint32(nodes), Configured: complete != 0})
	return C.MX_SUCCESS
}

//export mx_raw_num_ports
func mx_raw_num_ports(ep C.mx_raw_endpoint_t, n *C.uint32_t) C.mx_return_t {
	if _, code := rawOf(ep, "Counting ports"); code != compat.Success {
		return mxret(code)
	}
	if n == nil {
		return rawBadRequest("Counting raw ports with a NULL result pointer")
	}
	*n = 1
	return C.MX_SUCCESS
}

//export mx_raw_line_speed
func mx_raw_line_speed(ep C.mx_raw_endpoint_t, speed *C.mx_line_speed_t) C.mx_return_t {
	if _, code := rawOf(ep, "Getting the line speed"); code != compat.Success {
		return mxret(code)
	}
	if speed == nil {
		return rawBadRequest("Getting the raw line speed with a NULL result pointer")
	}
	*speed = C.MX_SPEED_10G
	return C.MX_SUCCESS
}

//export mx_raw_set_hostname
func mx_raw_set_hostname(ep C.mx_raw_endpoint_t, name *C.char) C.mx_return_t {
	r, code := rawOf(ep, "Setting the host name")
	if code != compat.Success {
		return mxret(code)
	}
	if name == nil {
		return rawBadRequest("Setting the board host name to NULL")
	}
	return mxret(lib.RawSetHostname(r, C.GoString(name)))
}

//export mx_raw_set_peer_name
func mx_raw_set_peer_name(ep C.mx_raw_endpoint_t, nic C.uint64_t, name *C.char) C.mx_return_t {
	r, code := rawOf(ep, "Setting a peer name")
	if code != compat.Success {
		return mxret(code)
	}
	if name == nil {
		return rawBadRequest("Setting a peer host name to NULL")
	}
	return mxret(lib.RawSetPeerName(r, uint64(nic), C.GoString(name)))
}

//export mx_raw_set_nic_reply_info
func mx_raw_set_nic_reply_info(ep C.mx_raw_endpoint_t, blob unsafe.Pointer, n C.uint32_t) C.mx_return_t {
	_, code := rawOf(ep, "Setting the reply info")
	return mxret(code)
}

// Internal MX symbols (spec/api.md §6.6), not declared in any header.

//export mx_open_board
func mx_open_board(i C.int, h *C.mx_endpt_handle_t) C.mx_return_t { return C.MX_SUCCESS }

//export mx__get_mapper_state
func mx__get_mapper_state(h C.mx_endpt_handle_t, p *C.mx_mapper_state_t) C.mx_return_t {
	if p == nil {
		return C.mx_return_t(compat.BadRequest)
	}
	// The peer table has no mapper yet: version 0, mapper id 0.
	p.map_version = 0
	for i := range p.mapper_mac {
		p.mapper_mac[i] = 0
	}
	return C.MX_SUCCESS
}

//export mx__regcache_clean
func mx__regcache_clean(ptr unsafe.Pointer, n C.size_t) C.int { return 0 }
