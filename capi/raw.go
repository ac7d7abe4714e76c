package main

// The raw API of mx_raw.h (mapper programs) and the internal MX symbols
// that MPI builds look for. No raw endpoint can be opened until the raw
// Ethernet link exists: mx_raw_open_endpoint fails with MX_NO_DRIVER, and
// every call on a raw endpoint handle fails with MX_BAD_ENDPOINT.

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

func rawNoDriver() C.mx_return_t {
	return mxret(lib.ReportGlobal(compat.NoDriver, "Opening raw endpoint (raw Ethernet access is not available in this version)"))
}

func rawBadEndpoint(what string) C.mx_return_t {
	return mxret(lib.ReportGlobal(compat.BadEndpoint, what+" on an invalid raw endpoint"))
}

//export mx_raw_open_endpoint
func mx_raw_open_endpoint(board C.uint32_t, params *C.mx_param_t, count C.uint32_t, out *C.mx_raw_endpoint_t) C.mx_return_t {
	if out != nil {
		*out = nil
	}
	return rawNoDriver()
}

//export mx_raw_close_endpoint
func mx_raw_close_endpoint(ep C.mx_raw_endpoint_t) C.mx_return_t {
	return rawBadEndpoint("Closing")
}

//export mx_raw_handle
func mx_raw_handle(ep C.mx_raw_endpoint_t) C.mx_endpt_handle_t { return C.MX__INVALID_HANDLE }

//export mx_raw_send
func mx_raw_send(ep C.mx_raw_endpoint_t, port C.uint32_t, route unsafe.Pointer, routeLen C.uint32_t, buf unsafe.Pointer, n C.uint32_t, ctx unsafe.Pointer) C.mx_return_t {
	return rawBadEndpoint("Sending")
}

//export mx_raw_next_event
func mx_raw_next_event(ep C.mx_raw_endpoint_t, port *C.uint32_t, ctx *unsafe.Pointer, buf unsafe.Pointer, n *C.uint32_t, timeout C.uint32_t, status *C.mx_raw_status_t) C.mx_return_t {
	return rawBadEndpoint("Waiting for an event")
}

//export mx_raw_set_route_begin
func mx_raw_set_route_begin(ep C.mx_raw_endpoint_t) C.mx_return_t {
	return rawBadEndpoint("Setting routes")
}

//export mx_raw_set_route_end
func mx_raw_set_route_end(ep C.mx_raw_endpoint_t) C.mx_return_t {
	return rawBadEndpoint("Setting routes")
}

//export mx_raw_set_route
func mx_raw_set_route(ep C.mx_raw_endpoint_t, dest C.uint64_t, route unsafe.Pointer, n, in, out C.uint32_t, ht C.mx_host_type_t) C.mx_return_t {
	return rawBadEndpoint("Setting a route")
}

//export mx_raw_set_route_mag
func mx_raw_set_route_mag(ep C.mx_raw_endpoint_t, dest C.uint64_t, route unsafe.Pointer, n, in, out C.uint32_t, ht C.mx_host_type_t, mag C.uint32_t) C.mx_return_t {
	return rawBadEndpoint("Setting a route")
}

//export mx_raw_clear_routes
func mx_raw_clear_routes(ep C.mx_raw_endpoint_t, dest C.uint64_t, port C.uint32_t) C.mx_return_t {
	return rawBadEndpoint("Clearing routes")
}

//export mx_raw_remove_peer
func mx_raw_remove_peer(ep C.mx_raw_endpoint_t, dest C.uint64_t) C.mx_return_t {
	return rawBadEndpoint("Removing a peer")
}

//export mx_raw_set_map_version
func mx_raw_set_map_version(ep C.mx_raw_endpoint_t, port C.uint32_t, mapper C.uint64_t, version, nodes, complete C.uint32_t) C.mx_return_t {
	return rawBadEndpoint("Setting the map version")
}

//export mx_raw_num_ports
func mx_raw_num_ports(ep C.mx_raw_endpoint_t, n *C.uint32_t) C.mx_return_t {
	return rawBadEndpoint("Counting ports")
}

//export mx_raw_line_speed
func mx_raw_line_speed(ep C.mx_raw_endpoint_t, speed *C.mx_line_speed_t) C.mx_return_t {
	return rawBadEndpoint("Getting the line speed")
}

//export mx_raw_set_hostname
func mx_raw_set_hostname(ep C.mx_raw_endpoint_t, name *C.char) C.mx_return_t {
	return rawBadEndpoint("Setting the host name")
}

//export mx_raw_set_peer_name
func mx_raw_set_peer_name(ep C.mx_raw_endpoint_t, nic C.uint64_t, name *C.char) C.mx_return_t {
	return rawBadEndpoint("Setting a peer name")
}

//export mx_raw_set_nic_reply_info
func mx_raw_set_nic_reply_info(ep C.mx_raw_endpoint_t, blob unsafe.Pointer, n C.uint32_t) C.mx_return_t {
	return rawBadEndpoint("Setting the reply info")
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
