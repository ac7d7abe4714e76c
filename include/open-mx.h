/*
 * open-mx.h - the native Open-MX API, as offered by open-mx-go
 * (libopen-mx.so).
 *
 * Binary-compatible with Open-MX 1.5: every type, enumeration value, macro
 * and structure layout below matches tests/testdata/abi/open-mx.json
 * (x86-64 Linux, LP64).
 *
 * Conventions used by every function, unless its comment says otherwise:
 *  - the return value is an omx_return_t, OMX_SUCCESS on success; any other
 *    code is first passed to the error handler (the endpoint's one if set,
 *    else the global one), whose return value is what the function returns;
 *    the default global handler prints the error and exits;
 *  - handles (omx_endpoint_t, omx_request_t) are opaque tokens owned by the
 *    library; never dereference them;
 *  - message buffers belong to the caller, who must keep them valid and
 *    untouched until the request that uses them completes;
 *  - timeouts are in milliseconds, OMX_TIMEOUT_INFINITE meaning forever.
 */

#ifndef __open_mx_h__
#define __open_mx_h__

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* API version checked by omx_init(). */
#define OMX_API 0x301

/* Return codes of every function, also used as completion status codes. */
typedef enum omx_return {
  OMX_SUCCESS = 0,
  OMX_BAD_ERROR = 1,
  OMX_ALREADY_INITIALIZED = 3,
  OMX_NOT_INITIALIZED = 4,
  OMX_NO_DEVICE_FILE = 5,
  OMX_NO_DRIVER = 6,
  OMX_ACCESS_DENIED = 7,
  OMX_BOARD_NOT_FOUND = 8,
  OMX_BAD_ENDPOINT = 9,
  OMX_SEGMENTS_BAD_COUNT = 12,
  OMX_BAD_REQUEST = 13,
  OMX_BAD_MATCH_MASK = 14,
  OMX_NO_RESOURCES = 15,
  OMX_BUSY = 20,
  OMX_BAD_INFO_KEY = 21,
  OMX_BAD_INFO_ADDRESS = 22,
  OMX_ENDPOINT_PARAMS_BAD_LIST = 24,
  OMX_ENDPOINT_PARAM_BAD_KEY = 25,
  OMX_ENDPOINT_PARAM_BAD_VALUE = 26,
  OMX_PEER_NOT_FOUND = 28,
  OMX_TIMEOUT = 30,
  OMX_REMOTE_ENDPOINT_BAD_ID = 32,
  OMX_REMOTE_ENDPOINT_CLOSED = 33,
  OMX_REMOTE_ENDPOINT_BAD_CONNECTION_KEY = 34,
  OMX_BAD_INFO_LENGTH = 35,
  OMX_NIC_ID_NOT_FOUND = 36,
  OMX_BAD_KERNEL_ABI = 37,
  OMX_BAD_LIB_ABI = 38,
  OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK = 42,
  OMX_CANCELLED = 90,
  OMX_REMOTE_RDMA_WINDOW_BAD_ID = 91,
  OMX_REMOTE_ENDPOINT_UNREACHABLE = 92,
  OMX_REMOTE_ENDPOINT_BAD_SESSION = 93,
  OMX_MESSAGE_ABORTED = 94,
  OMX_MESSAGE_TRUNCATED = 95,
  OMX_NOT_SUPPORTED_IN_HANDLER = 96,
  OMX_NO_SYSTEM_RESOURCES = 97,
  OMX_NOT_IMPLEMENTED = 99,
  OMX_RETURN_CODE_MAX = 100
} omx_return_t;

/* Library set-up and tear-down. omx_init() checks the API version compiled
 * in; a second call while initialized succeeds and changes nothing. */
omx_return_t omx__init_api(int api);

#if defined(__cplusplus) || (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
static inline omx_return_t
#else
/* C89 has no inline keyword; gcc spells it __inline__ there. */
static __inline__ omx_return_t
#endif
omx_init(void)
{
  return omx__init_api(OMX_API);
}

/* Always returns OMX_SUCCESS. */
omx_return_t omx_finalize(void);

/* Static string owned by the library; never free it. Never fails. */
const char *omx_strerror(omx_return_t ret);

/* Local boards only. Fail with OMX_BOARD_NOT_FOUND. */
omx_return_t omx_board_number_to_nic_id(uint32_t board_number,
                                        uint64_t *nic_id);
omx_return_t omx_nic_id_to_board_number(uint64_t nic_id,
                                        uint32_t *board_number);

/* Buffer size for a board address "xx:xx:xx:xx:xx:xx" and its NUL. */
#define OMX_BOARD_ADDR_STRLEN 18

/* An open endpoint. Opaque: created by omx_open_endpoint, released by
 * omx_close_endpoint. */
typedef struct omx_endpoint * omx_endpoint_t;

/* Wildcards for omx_open_endpoint. */
#define OMX_ANY_NIC 0xffffffffU
#define OMX_ANY_ENDPOINT 0xffffffffU

#define OMX_TIMEOUT_INFINITE ((uint32_t) -1)

/* Called with a message and the failing code; its return value is returned
 * by the failing function (OMX_SUCCESS hides the error). */
typedef omx_return_t (*omx_error_handler_t)(char *, omx_return_t);

/* Predefined error handlers (data symbols of the library). */
extern const omx_error_handler_t OMX_ERRORS_ARE_FATAL;
extern const omx_error_handler_t OMX_ERRORS_RETURN;

/* Keys of the endpoint parameters passed to omx_open_endpoint. */
typedef enum omx_endpoint_param_key {
  OMX_ENDPOINT_PARAM_ERROR_HANDLER = 0,
  OMX_ENDPOINT_PARAM_UNEXP_QUEUE_MAX = 1,
  OMX_ENDPOINT_PARAM_CONTEXT_ID = 2
} omx_endpoint_param_key_t;

#define OMX_ENDPOINT_CONTEXT_ID_BITS_MAX 16

typedef struct {
  omx_endpoint_param_key_t key;
  union {
    omx_error_handler_t error_handler;
    uint32_t unexp_queue_max;
    struct {
      uint8_t bits;
      uint8_t shift;
    } context_id;
  } val;
} omx_endpoint_param_t;

/* Opens endpoint endpoint_index (or OMX_ANY_ENDPOINT) of board board_index
 * (or OMX_ANY_NIC); *epp receives the handle. param_array is read during
 * the call only. */
omx_return_t omx_open_endpoint(uint32_t board_index, uint32_t endpoint_index,
                               uint32_t key,
                               omx_endpoint_param_t *param_array,
                               uint32_t param_count, omx_endpoint_t *epp);
/* OMX_NOT_SUPPORTED_IN_HANDLER from inside an unexpected handler. */
omx_return_t omx_close_endpoint(omx_endpoint_t ep);

/* Sets ep's handler (or the global one if ep is NULL) and returns the
 * previous one. Never fails. */
omx_error_handler_t omx_set_error_handler(omx_endpoint_t ep,
                                          omx_error_handler_t handler);

/* Wakes up the threads blocked in omx_wait/omx_peek/... on ep, which return
 * as on timeout. */
omx_return_t omx_wakeup(omx_endpoint_t ep);

/* The address of a remote endpoint, valid with the endpoint that made it
 * until that endpoint is closed or omx_disconnect is called. */
typedef struct omx_endpoint_addr {
  uint64_t data[2];
} omx_endpoint_addr_t;

#define OMX_SIZEOF_ADDR 16

omx_return_t omx_get_endpoint_addr(omx_endpoint_t endpoint,
                                   omx_endpoint_addr_t *endpoint_addr);

/* A pending communication. Opaque: created by the omx_i* calls, released
 * when omx_test/omx_wait/omx_forget/omx_cancel completes it. */
typedef union omx_request * omx_request_t;

/* Blocking connect: OMX_TIMEOUT, OMX_REMOTE_ENDPOINT_* on failure. */
omx_return_t omx_connect(omx_endpoint_t endpoint, uint64_t nic_id,
                         uint32_t endpoint_id, uint32_t key, uint32_t timeout,
                         omx_endpoint_addr_t *addr);
/* Non-blocking connect; the status addr holds the address on success. */
omx_return_t omx_iconnect(omx_endpoint_t ep, uint64_t nic_id,
                          uint32_t endpoint_id, uint32_t key,
                          uint64_t match_info, void *context,
                          omx_request_t *request);
/* Resets the partner: its pending requests fail. Always OMX_SUCCESS. */
omx_return_t omx_disconnect(omx_endpoint_t ep, omx_endpoint_addr_t addr);

/* Never fail. */
omx_return_t omx_decompose_endpoint_addr(omx_endpoint_addr_t endpoint_addr,
                                         uint64_t *nic_id,
                                         uint32_t *endpoint_id);
omx_return_t
omx_decompose_endpoint_addr_with_session(omx_endpoint_addr_t endpoint_addr,
                                         uint64_t *nic_id,
                                         uint32_t *endpoint_id,
                                         uint32_t *session_id);
/* A per-peer user pointer, stored and never dereferenced. Never fail. */
omx_return_t omx_set_endpoint_addr_context(omx_endpoint_addr_t endpoint_addr,
                                           void *context);
omx_return_t omx_get_endpoint_addr_context(omx_endpoint_addr_t endpoint_addr,
                                           void **context);

/* One piece of a message buffer; the memory stays owned by the caller. */
typedef void *omx_seg_ptr_t;

typedef struct omx_seg {
  omx_seg_ptr_t ptr;
  uint32_t len;
} omx_seg_t;

#define OMX_MAX_SEGMENTS 256

/* Sends and receives. request may be NULL (the request is then forgotten).
 * The segment arrays may be reused when the call returns; the memory they
 * point to may not until completion. More than OMX_MAX_SEGMENTS segments:
 * OMX_SEGMENTS_BAD_COUNT. */
omx_return_t omx_isend(omx_endpoint_t ep, void *buffer, size_t length,
                       omx_endpoint_addr_t dest_endpoint, uint64_t match_info,
                       void *context, omx_request_t *request);
omx_return_t omx_isendv(omx_endpoint_t ep, omx_seg_t *segs, uint32_t nseg,
                        omx_endpoint_addr_t dest_endpoint,
                        uint64_t match_info, void *context,
                        omx_request_t *request);
/* Synchronous sends: complete once the receiver got the data. */
omx_return_t omx_issend(omx_endpoint_t ep, void *buffer, size_t length,
                        omx_endpoint_addr_t dest_endpoint,
                        uint64_t match_info, void *context,
                        omx_request_t *request);
omx_return_t omx_issendv(omx_endpoint_t ep, omx_seg_t *segs, uint32_t nseg,
                         omx_endpoint_addr_t dest_endpoint,
                         uint64_t match_info, void *context,
                         omx_request_t *request);
/* OMX_BAD_MATCH_MASK when match_info has bits outside match_mask. */
omx_return_t omx_irecv(omx_endpoint_t ep, void *buffer, size_t length,
                       uint64_t match_info, uint64_t match_mask,
                       void *context, omx_request_t *request);
omx_return_t omx_irecvv(omx_endpoint_t ep, omx_seg_t *segs, uint32_t nseg,
                        uint64_t match_info, uint64_t match_mask,
                        void *context, omx_request_t *request);

/* Completion codes are omx_return_t values (OMX_MESSAGE_TRUNCATED, ...). */
typedef struct omx_status {
  enum omx_return code;
  omx_endpoint_addr_t addr;
  uint64_t match_info;
  uint32_t msg_length;
  uint32_t xfer_length;
  void *context;
} omx_status_t;

/* Never fails. */
omx_return_t omx_context(omx_request_t *request, void **context);

/* Completion. *result is 1 when a request completed (*status is filled,
 * the request freed and, for omx_test/omx_wait, *request set to NULL), 0
 * otherwise; a timeout or omx_wakeup gives OMX_SUCCESS with *result 0. */
omx_return_t omx_test(omx_endpoint_t ep, omx_request_t *request,
                      omx_status_t *status, uint32_t *result);
omx_return_t omx_wait(omx_endpoint_t ep, omx_request_t *request,
                      omx_status_t *status, uint32_t *result,
                      uint32_t timeout);
omx_return_t omx_test_any(omx_endpoint_t ep, uint64_t match_info,
                          uint64_t match_mask, omx_status_t *status,
                          uint32_t *result);
omx_return_t omx_wait_any(omx_endpoint_t ep, uint64_t match_info,
                          uint64_t match_mask, omx_status_t *status,
                          uint32_t *result, uint32_t timeout);
/* Returns the oldest done request in *request without completing it. */
omx_return_t omx_ipeek(omx_endpoint_t ep, omx_request_t *request,
                       uint32_t *result);
omx_return_t omx_peek(omx_endpoint_t ep, omx_request_t *request,
                      uint32_t *result, uint32_t timeout);
/* Looks for an unexpected message without receiving it. */
omx_return_t omx_iprobe(omx_endpoint_t ep, uint64_t match_info,
                        uint64_t match_mask, omx_status_t *status,
                        uint32_t *result);
omx_return_t omx_probe(omx_endpoint_t ep, uint64_t match_info,
                       uint64_t match_mask, omx_status_t *status,
                       uint32_t *result, uint32_t timeout);
/* *result is 1 when the send buffer may be reused; OMX_BAD_REQUEST
 * (returned directly) for a non-send request. */
omx_return_t omx_ibuffered(omx_endpoint_t ep, omx_request_t *request,
                           uint32_t *result);

/* What an unexpected-message handler tells the library. */
typedef enum omx_unexp_handler_action {
  OMX_UNEXP_HANDLER_RECV_CONTINUE = 0,
  OMX_UNEXP_HANDLER_RECV_FINISHED = 1
} omx_unexp_handler_action_t;

/* Called inside an API call on the endpoint, in the calling thread, for
 * each unexpected message: (context, source, match_info, msg_length,
 * data_if_available); data_if_available (or NULL) is valid during the call
 * only. RECV_FINISHED drops the message; RECV_CONTINUE matches it again
 * against the posted receives (the handler may have posted one). */
typedef omx_unexp_handler_action_t
(*omx_unexp_handler_t)(void *, omx_endpoint_addr_t, uint64_t, uint32_t,
                       void *);

/* NULL handler removes it. Always OMX_SUCCESS. */
omx_return_t omx_register_unexp_handler(omx_endpoint_t ep,
                                        omx_unexp_handler_t handler,
                                        void *context);

/* Cancels a receive or iconnect not matched yet (*result 1); a send gives
 * OMX_BAD_REQUEST. omx_cancel frees the request and sets *request to NULL;
 * omx_cancel_notest completes it with OMX_CANCELLED instead. */
omx_return_t omx_cancel(omx_endpoint_t ep, omx_request_t *request,
                        uint32_t *result);
omx_return_t omx_cancel_notest(omx_endpoint_t ep, omx_request_t *request,
                               uint32_t *result);
/* The request completes silently; *request is set to NULL. */
omx_return_t omx_forget(omx_endpoint_t ep, omx_request_t *request);

/* Progression control; always OMX_SUCCESS. */
omx_return_t omx_disable_progression(omx_endpoint_t ep);
omx_return_t omx_reenable_progression(omx_endpoint_t ep);
omx_return_t omx_progress(omx_endpoint_t ep);

/* Retransmission budget of request (or, if NULL, of later requests). */
omx_return_t omx_set_request_timeout(omx_endpoint_t endpoint,
                                     omx_request_t request,
                                     uint32_t milliseconds);

/* Keys of omx_get_info. */
typedef enum omx_info_key {
  OMX_INFO_BOARD_MAX = 0,
  OMX_INFO_ENDPOINT_MAX = 1,
  OMX_INFO_BOARD_COUNT = 2,
  OMX_INFO_BOARD_IDS = 3,
  OMX_INFO_BOARD_HOSTNAME = 4,
  OMX_INFO_BOARD_IFACENAME = 5,
  OMX_INFO_BOARD_NUMA_NODE = 6,
  OMX_INFO_COUNTER_MAX = 7,
  OMX_INFO_COUNTER_VALUES = 8,
  OMX_INFO_COUNTER_LABEL = 9
} omx_info_key_t;

/* ep may be NULL. in_val/out_val are caller buffers of in_len/out_len
 * bytes, read/written during the call only. */
omx_return_t omx_get_info(omx_endpoint_t ep, omx_info_key_t key,
                          const void *in_val, uint32_t in_len,
                          void *out_val, uint32_t out_len);

/* Host names, OMX_HOSTNAMELEN_MAX bytes with the NUL. Unknown peer:
 * OMX_PEER_NOT_FOUND. */
#define OMX_HOSTNAMELEN_MAX 80
omx_return_t omx_hostname_to_nic_id(char *hostname, uint64_t *board_addr);
omx_return_t omx_nic_id_to_hostname(uint64_t board_addr, char *hostname);

#ifdef __cplusplus
}
#endif

#endif /* __open_mx_h__ */
