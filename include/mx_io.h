/*
 * mx_io.h - internal MX types some MX clients (mappers, Open MPI configure
 * checks) use: board handles, mapper state, NIC death reasons.
 *
 * Described together with mx_raw.h by tests/testdata/abi/mx_raw.json.
 * Divergence: the reference header relies on its includer for uint32_t;
 * this one includes <stdint.h> so that it compiles alone.
 */

#ifndef MX_IO_H
#define MX_IO_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A raw handle on a board (a file descriptor in MX). */
typedef int mx_endpt_handle_t;
#define MX__INVALID_HANDLE -1

/* The state of the fabric mapper, as seen by one board. */
typedef struct {
  uint32_t board_number;
  uint8_t mapper_mac[6];
  uint16_t iport;
  uint32_t map_version;
  uint32_t num_hosts;
  uint32_t network_configured;
  uint32_t routes_valid;
  uint32_t level;
  uint32_t flags;
} mx_mapper_state_t;

/* Why a NIC was declared dead. */
#define MX_DEAD_RECOVERABLE_SRAM_PARITY_ERROR 10
#define MX_DEAD_SRAM_PARITY_ERROR 11
#define MX_DEAD_WATCHDOG_TIMEOUT 12
#define MX_DEAD_COMMAND_TIMEOUT 13
#define MX_DEAD_ENDPOINT_CLOSE_TIMEOUT 14
#define MX_DEAD_ROUTE_UPDATE_TIMEOUT 15
#define MX_DEAD_PCI_PARITY_ERROR 16
#define MX_DEAD_PCI_MASTER_ABORT 17

#ifdef __cplusplus
}
#endif

#endif /* MX_IO_H */
