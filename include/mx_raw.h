/*
 * mx_raw.h - the MX raw API used by fabric mappers: raw frames on a board
 * port, routes and peer names.
 *
 * ABI-identical to tests/testdata/abi/mx_raw.json (with mx_io.h).
 * Divergence: the reference header relies on its includer for the MX types;
 * this one includes myriexpress.h and mx_io.h so that it compiles alone.
 * Functions return mx_return_t codes, like the rest of the MX API.
 */

#ifndef MX_RAW_H
#define MX_RAW_H

#include "myriexpress.h"
#include "mx_io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A raw endpoint on a board. Opaque: created by mx_raw_open_endpoint,
 * released by mx_raw_close_endpoint. */
typedef struct omx_raw_endpoint * mx_raw_endpoint_t;

/* What mx_raw_next_event reports in *status. */
typedef int mx_raw_status_t;
#define MX_RAW_NO_EVENT 0
#define MX_RAW_SEND_COMPLETE 1
#define MX_RAW_RECV_COMPLETE 2

/* Kinds of hosts a route may lead to. */
typedef enum {
  MX_HOST_GM = 1,
  MX_HOST_XM = 2,
  MX_HOST_MX = 3,
  MX_HOST_MXvM = 4
} mx_host_type_t;

/* Feature flags of this raw API. */
#define MX_RAW_POLL_SUPPORTED 1
#define MX_SET_ROUTE_TAKES_MAGID 1
#define MX_HAS_RAW_LINE_SPEED 1
#define MX_HAS_RAW_SET_NIC_REPLY_INFO 1

mx_return_t mx_raw_open_endpoint(uint32_t board_number,
                                 mx_param_t *params_array,
                                 uint32_t params_count,
                                 mx_raw_endpoint_t *endpoint);
mx_return_t mx_raw_close_endpoint(mx_raw_endpoint_t endpoint);

/* Sends the raw frame in send_buffer (buffer_length bytes); context comes
 * back from mx_raw_next_event with MX_RAW_SEND_COMPLETE. */
mx_return_t mx_raw_send(mx_raw_endpoint_t endpoint, uint32_t physical_port,
                        void *route_pointer, uint32_t route_length,
                        void *send_buffer, uint32_t buffer_length,
                        void *context);

/* Waits up to timeout_ms for an event (MX_RAW_NO_EVENT on timeout). On
 * MX_RAW_RECV_COMPLETE the frame is copied into recv_buffer and its length
 * stored in *recv_bytes. */
mx_return_t mx_raw_next_event(mx_raw_endpoint_t endpoint,
                              uint32_t *incoming_port, void **context,
                              void *recv_buffer, uint32_t *recv_bytes,
                              uint32_t timeout_ms, mx_raw_status_t *status);

mx_return_t mx_raw_num_ports(mx_raw_endpoint_t endpoint, uint32_t *num_ports);
mx_return_t mx_raw_line_speed(mx_raw_endpoint_t endpoint,
                              mx_line_speed_t *speed);

/* Route table updates, bracketed by begin/end. */
mx_return_t mx_raw_set_route_begin(mx_raw_endpoint_t endpoint);
mx_return_t mx_raw_set_route_end(mx_raw_endpoint_t endpoint);
mx_return_t mx_raw_set_route(mx_raw_endpoint_t endpoint,
                             uint64_t destination_id, void *route,
                             uint32_t route_length, uint32_t input_port,
                             uint32_t output_port, mx_host_type_t host_type);
mx_return_t mx_raw_set_route_mag(mx_raw_endpoint_t endpoint,
                                 uint64_t destination_id, void *route,
                                 uint32_t route_length, uint32_t input_port,
                                 uint32_t output_port,
                                 mx_host_type_t host_type, uint32_t mag_id);
mx_return_t mx_raw_clear_routes(mx_raw_endpoint_t endpoint,
                                uint64_t destination_id, uint32_t port);
mx_return_t mx_raw_remove_peer(mx_raw_endpoint_t endpoint,
                               uint64_t destination_id);

mx_return_t mx_raw_set_map_version(mx_raw_endpoint_t endpoint,
                                   uint32_t physical_port,
                                   uint64_t mapper_id, uint32_t map_version,
                                   uint32_t num_nodes,
                                   uint32_t mapping_complete);

/* Names: hostname is a NUL-terminated string, copied by the library. */
mx_return_t mx_raw_set_peer_name(mx_raw_endpoint_t endpoint, uint64_t nic_id,
                                 char *hostname);
mx_return_t mx_raw_set_hostname(mx_raw_endpoint_t endpoint, char *hostname);

/* Opaque reply data for NIC queries (size bytes). */
mx_return_t mx_raw_set_nic_reply_info(mx_raw_endpoint_t ep, void *blob,
                                      uint32_t size);

/* The board handle behind a raw endpoint. */
mx_endpt_handle_t mx_raw_handle(mx_raw_endpoint_t ep);

#ifdef __cplusplus
}
#endif

#endif /* MX_RAW_H */
