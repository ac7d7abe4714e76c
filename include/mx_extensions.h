/*
 * mx_extensions.h - MX API extensions (MX 1.2 era) offered by open-mx-go.
 *
 * ABI-identical to tests/testdata/abi/mx_extensions.json. Same conventions as
 * myriexpress.h: mx_return_t codes, errors go through the error handler.
 */

#ifndef MX_EXTENSIONS_H
#define MX_EXTENSIONS_H

#include "myriexpress.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Non-blocking connect. Completes like a send request; on success the
 * status source holds the new address. */
#define MX_HAS_ICONNECT_V2 1
mx_return_t mx_iconnect(mx_endpoint_t ep, uint64_t nic_id, uint32_t eid,
                        uint32_t key, uint64_t match_info, void *context,
                        mx_request_t *request);

/* Forgets a connection: pending requests towards addr fail. */
mx_return_t mx_disconnect(mx_endpoint_t ep, mx_endpoint_addr_t addr);

/* Like mx_decompose_endpoint_addr, plus the remote session id. */
mx_return_t mx_decompose_endpoint_addr2(mx_endpoint_addr_t endpoint_addr,
                                        uint64_t *nic_id,
                                        uint32_t *endpoint_id,
                                        uint32_t *session_id);

/* A per-peer user pointer, stored by the library and never dereferenced. */
mx_return_t mx_set_endpoint_addr_context(mx_endpoint_addr_t endpoint_addr,
                                         void *context);
mx_return_t mx_get_endpoint_addr_context(mx_endpoint_addr_t endpoint_addr,
                                         void **context);

/* What an unexpected-message handler tells the library. */
typedef enum mx_unexp_handler_action {
  MX_RECV_CONTINUE = 0,
  MX_RECV_FINISHED = 1
} mx_unexp_handler_action_t;

/* Called inside an API call on the endpoint, in the calling thread, for
 * each unexpected message: (context, source, match_info, msg_length,
 * data_if_available); data_if_available (or NULL) is valid during the call
 * only. MX_RECV_FINISHED drops the message; MX_RECV_CONTINUE matches it
 * again against the posted receives (the handler may have posted one). */
typedef mx_unexp_handler_action_t
(*mx_unexp_handler_t)(void *, mx_endpoint_addr_t, uint64_t, uint32_t, void *);

mx_return_t mx_register_unexp_handler(mx_endpoint_t ep,
                                      mx_unexp_handler_t handler,
                                      void *context);

/* Drops the handle of a pending request: it completes silently. */
mx_return_t mx_forget(mx_endpoint_t endpoint, mx_request_t *request);

/* Makes progress on ep without waiting. */
mx_return_t mx_progress(mx_endpoint_t ep);

/* Retransmission timeout of request, in milliseconds (0 means 0); with a
 * NULL request, the default of the requests created later. */
mx_return_t mx_set_request_timeout(mx_endpoint_t endpoint,
                                   mx_request_t request,
                                   uint32_t milli_seconds);

#ifdef __cplusplus
}
#endif

#endif /* MX_EXTENSIONS_H */
