/*
 * bad_endpoint: bad endpoint handles and bad open/close arguments, Open-MX
 * and MX APIs.
 *
 * - every function taking an endpoint, given a NULL, closed (stale: its slot
 *   reopened since), garbage, or wrong-kind (a request) handle
 *   -> BAD_ENDPOINT through the global handler;
 * - open: NULL parameter list with a count, unknown parameter key, context-id
 *   bits > 16 or bits + shift > 64, missing board, board index >= board_max,
 *   endpoint index >= 32, an endpoint already open, NULL handle out.
 *
 * Table runner and conventions: badinput.h.
 */
#include "badinput.h"

/* Endpoint selectors: which bad handle a case passes. */
enum { E_NULL = 1, E_CLOSED, E_GARBAGE, E_REQ };

#define GARBAGE_HANDLE ((uintptr_t)0xdead0000beef0ULL)

/* Open-MX side: one live endpoint with a pending receive, one closed one. */
static omx_endpoint_t o_live, o_closed;
static omx_endpoint_addr_t o_addr;
static omx_request_t o_live_req;
static uint64_t o_nic;
static uint32_t o_eid, o_board;

/* MX side. */
static mx_endpoint_t m_live, m_closed;
static mx_endpoint_addr_t m_addr;
static mx_request_t m_live_req;
static uint64_t m_nic;
static uint32_t m_eid, m_board;

static uint8_t missing_board;
static char buf[64];

static omx_endpoint_t oe(long how)
{
	switch (how) {
	case E_CLOSED:
		return o_closed;
	case E_GARBAGE:
		return (omx_endpoint_t)GARBAGE_HANDLE;
	case E_REQ:
		return (omx_endpoint_t)(void *)o_live_req;
	default:
		return NULL;
	}
}

static mx_endpoint_t me(long how)
{
	switch (how) {
	case E_CLOSED:
		return m_closed;
	case E_GARBAGE:
		return (mx_endpoint_t)GARBAGE_HANDLE;
	case E_REQ:
		return (mx_endpoint_t)(void *)m_live_req;
	default:
		return NULL;
	}
}

/* A bad call given &r (r = the live request) must leave r alone. */
#define O_REQ_UNTOUCHED(r) BAD_CHECK((r) == o_live_req, "the request handle was overwritten")
#define M_REQ_UNTOUCHED(r) BAD_CHECK((r) == m_live_req, "the request handle was overwritten")
/* A failed posting call must not create a request. */
#define NO_NEW_REQ(rc, r) BAD_CHECK((rc) == 0 || (r) == NULL, "a failed call returned a request handle")

/* ---- Open-MX functions with an endpoint argument ---- */

static int x_omx_close_endpoint(long how) { return omx_close_endpoint(oe(how)); }
static int x_omx_wakeup(long how) { return omx_wakeup(oe(how)); }
static int x_omx_progress(long how) { return omx_progress(oe(how)); }
static int x_omx_disable_progression(long how) { return omx_disable_progression(oe(how)); }
static int x_omx_reenable_progression(long how) { return omx_reenable_progression(oe(how)); }
static int x_omx_set_request_timeout(long how) { return omx_set_request_timeout(oe(how), NULL, 1000); }
static int x_omx_register_unexp_handler(long how) { return omx_register_unexp_handler(oe(how), NULL, NULL); }
static int x_omx_disconnect(long how) { return omx_disconnect(oe(how), o_addr); }

static int x_omx_get_endpoint_addr(long how)
{
	omx_endpoint_addr_t a;
	return omx_get_endpoint_addr(oe(how), &a);
}

static int x_omx_connect(long how)
{
	omx_endpoint_addr_t a;
	return omx_connect(oe(how), o_nic, o_eid, BAD_KEY, BAD_SHORT_MS, &a);
}

static int x_omx_iconnect(long how)
{
	omx_request_t r = NULL;
	int rc = omx_iconnect(oe(how), o_nic, o_eid, BAD_KEY, 0x10, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_omx_isend(long how)
{
	omx_request_t r = NULL;
	int rc = omx_isend(oe(how), buf, 8, o_addr, 0x20, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_omx_issend(long how)
{
	omx_request_t r = NULL;
	int rc = omx_issend(oe(how), buf, 8, o_addr, 0x21, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_omx_isendv(long how)
{
	omx_seg_t seg = { buf, 8 };
	omx_request_t r = NULL;
	int rc = omx_isendv(oe(how), &seg, 1, o_addr, 0x22, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_omx_issendv(long how)
{
	omx_seg_t seg = { buf, 8 };
	omx_request_t r = NULL;
	int rc = omx_issendv(oe(how), &seg, 1, o_addr, 0x23, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_omx_irecv(long how)
{
	omx_request_t r = NULL;
	int rc = omx_irecv(oe(how), buf, sizeof(buf), 0x24, ~(uint64_t)0, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_omx_irecvv(long how)
{
	omx_seg_t seg = { buf, sizeof(buf) };
	omx_request_t r = NULL;
	int rc = omx_irecvv(oe(how), &seg, 1, 0x25, ~(uint64_t)0, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_omx_test(long how)
{
	omx_request_t r = o_live_req;
	omx_status_t st;
	uint32_t res;
	int rc = omx_test(oe(how), &r, &st, &res);
	O_REQ_UNTOUCHED(r);
	return rc;
}

static int x_omx_wait(long how)
{
	omx_request_t r = o_live_req;
	omx_status_t st;
	uint32_t res;
	int rc = omx_wait(oe(how), &r, &st, &res, BAD_SHORT_MS);
	O_REQ_UNTOUCHED(r);
	return rc;
}

static int x_omx_test_any(long how)
{
	omx_status_t st;
	uint32_t res;
	return omx_test_any(oe(how), 0, 0, &st, &res);
}

static int x_omx_wait_any(long how)
{
	omx_status_t st;
	uint32_t res;
	return omx_wait_any(oe(how), 0, 0, &st, &res, BAD_SHORT_MS);
}

static int x_omx_ipeek(long how)
{
	omx_request_t r = NULL;
	uint32_t res;
	return omx_ipeek(oe(how), &r, &res);
}

static int x_omx_peek(long how)
{
	omx_request_t r = NULL;
	uint32_t res;
	return omx_peek(oe(how), &r, &res, BAD_SHORT_MS);
}

static int x_omx_iprobe(long how)
{
	omx_status_t st;
	uint32_t res;
	return omx_iprobe(oe(how), 0, 0, &st, &res);
}

static int x_omx_probe(long how)
{
	omx_status_t st;
	uint32_t res;
	return omx_probe(oe(how), 0, 0, &st, &res, BAD_SHORT_MS);
}

static int x_omx_ibuffered(long how)
{
	omx_request_t r = o_live_req;
	uint32_t res;
	int rc = omx_ibuffered(oe(how), &r, &res);
	O_REQ_UNTOUCHED(r);
	return rc;
}

static int x_omx_cancel(long how)
{
	omx_request_t r = o_live_req;
	uint32_t res;
	int rc = omx_cancel(oe(how), &r, &res);
	O_REQ_UNTOUCHED(r);
	return rc;
}

static int x_omx_cancel_notest(long how)
{
	omx_request_t r = o_live_req;
	uint32_t res;
	int rc = omx_cancel_notest(oe(how), &r, &res);
	O_REQ_UNTOUCHED(r);
	return rc;
}

static int x_omx_forget(long how)
{
	omx_request_t r = o_live_req;
	int rc = omx_forget(oe(how), &r);
	O_REQ_UNTOUCHED(r);
	return rc;
}

static int x_omx_get_info(long how)
{
	uint32_t v;
	return omx_get_info(oe(how), OMX_INFO_BOARD_MAX, NULL, 0, &v, sizeof(v));
}

/* omx_set_error_handler cannot report an error: it must only survive. */
static int x_omx_set_error_handler(long how)
{
	omx_set_error_handler(oe(how), bad_omx_ep);
	return 0;
}

/* ---- MX functions with an endpoint argument ---- */

static int x_mx_close_endpoint(long how) { return mx_close_endpoint(me(how)); }
static int x_mx_wakeup(long how) { return mx_wakeup(me(how)); }
static int x_mx_progress(long how) { return mx_progress(me(how)); }
static int x_mx_disable_progression(long how) { return mx_disable_progression(me(how)); }
static int x_mx_reenable_progression(long how) { return mx_reenable_progression(me(how)); }
static int x_mx_set_request_timeout(long how) { return mx_set_request_timeout(me(how), NULL, 1000); }
static int x_mx_register_unexp_handler(long how) { return mx_register_unexp_handler(me(how), NULL, NULL); }
static int x_mx_disconnect(long how) { return mx_disconnect(me(how), m_addr); }

static int x_mx_get_endpoint_addr(long how)
{
	mx_endpoint_addr_t a;
	return mx_get_endpoint_addr(me(how), &a);
}

static int x_mx_connect(long how)
{
	mx_endpoint_addr_t a;
	return mx_connect(me(how), m_nic, m_eid, BAD_KEY, BAD_SHORT_MS, &a);
}

static int x_mx_iconnect(long how)
{
	mx_request_t r = NULL;
	int rc = mx_iconnect(me(how), m_nic, m_eid, BAD_KEY, 0x10, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_mx_isend(long how)
{
	mx_segment_t seg = { buf, 8 };
	mx_request_t r = NULL;
	int rc = mx_isend(me(how), &seg, 1, m_addr, 0x20, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_mx_issend(long how)
{
	mx_segment_t seg = { buf, 8 };
	mx_request_t r = NULL;
	int rc = mx_issend(me(how), &seg, 1, m_addr, 0x21, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_mx_irecv(long how)
{
	mx_segment_t seg = { buf, sizeof(buf) };
	mx_request_t r = NULL;
	int rc = mx_irecv(me(how), &seg, 1, 0x24, MX_MATCH_MASK_NONE, NULL, &r);
	NO_NEW_REQ(rc, r);
	return rc;
}

static int x_mx_test(long how)
{
	mx_request_t r = m_live_req;
	mx_status_t st;
	uint32_t res;
	int rc = mx_test(me(how), &r, &st, &res);
	M_REQ_UNTOUCHED(r);
	return rc;
}

static int x_mx_wait(long how)
{
	mx_request_t r = m_live_req;
	mx_status_t st;
	uint32_t res;
	int rc = mx_wait(me(how), &r, BAD_SHORT_MS, &st, &res);
	M_REQ_UNTOUCHED(r);
	return rc;
}

static int x_mx_test_any(long how)
{
	mx_status_t st;
	uint32_t res;
	return mx_test_any(me(how), 0, 0, &st, &res);
}

static int x_mx_wait_any(long how)
{
	mx_status_t st;
	uint32_t res;
	return mx_wait_any(me(how), BAD_SHORT_MS, 0, 0, &st, &res);
}

static int x_mx_ipeek(long how)
{
	mx_request_t r = NULL;
	uint32_t res;
	return mx_ipeek(me(how), &r, &res);
}

static int x_mx_peek(long how)
{
	mx_request_t r = NULL;
	uint32_t res;
	return mx_peek(me(how), BAD_SHORT_MS, &r, &res);
}

static int x_mx_iprobe(long how)
{
	mx_status_t st;
	uint32_t res;
	return mx_iprobe(me(how), 0, 0, &st, &res);
}

static int x_mx_probe(long how)
{
	mx_status_t st;
	uint32_t res;
	return mx_probe(me(how), BAD_SHORT_MS, 0, 0, &st, &res);
}

static int x_mx_ibuffered(long how)
{
	mx_request_t r = m_live_req;
	uint32_t res;
	int rc = mx_ibuffered(me(how), &r, &res);
	M_REQ_UNTOUCHED(r);
	return rc;
}

static int x_mx_cancel(long how)
{
	mx_request_t r = m_live_req;
	uint32_t res;
	int rc = mx_cancel(me(how), &r, &res);
	M_REQ_UNTOUCHED(r);
	return rc;
}

static int x_mx_forget(long how)
{
	mx_request_t r = m_live_req;
	int rc = mx_forget(me(how), &r);
	M_REQ_UNTOUCHED(r);
	return rc;
}

static int x_mx_get_info(long how)
{
	uint32_t v;
	return mx_get_info(me(how), MX_MAX_NATIVE_ENDPOINTS, NULL, 0, &v, sizeof(v));
}

/* ---- open: bad arguments ---- */

enum {
	OPEN_PARAMS_NULL = 1,
	OPEN_BAD_PARAM_KEY,
	OPEN_CTXID_BITS_17,
	OPEN_CTXID_SHIFT_OVERFLOW,
	OPEN_MISSING_BOARD,
	OPEN_BOARD_200,
	OPEN_ENDPOINT_32,
	OPEN_ENDPOINT_255,
	OPEN_ENDPOINT_256,
	OPEN_ANY_BOARD_ENDPOINT_32,
	OPEN_BUSY,
	OPEN_NULL_HANDLE_OUT
};

/* open_args fills the arguments of one bad open. params has room for 2. */
static void open_args(long how, uint32_t board, uint32_t eid, uint32_t *b, uint32_t *e, int *key, uint8_t *bits,
		      uint8_t *shift, int *nparams, int *null_params)
{
	*b = board;
	*e = OMX_ANY_ENDPOINT;
	*key = -1;
	*bits = 0;
	*shift = 0;
	*nparams = 0;
	*null_params = 0;
	switch (how) {
	case OPEN_PARAMS_NULL:
		*null_params = 1;
		*nparams = 1;
		break;
	case OPEN_BAD_PARAM_KEY:
		*key = 7;
		*nparams = 1;
		break;
	case OPEN_CTXID_BITS_17:
		*key = OMX_ENDPOINT_PARAM_CONTEXT_ID;
		*bits = 17;
		*nparams = 1;
		break;
	case OPEN_CTXID_SHIFT_OVERFLOW:
		*key = OMX_ENDPOINT_PARAM_CONTEXT_ID;
		*bits = 16;
		*shift = 49;
		*nparams = 1;
		break;
	case OPEN_MISSING_BOARD:
		*b = missing_board;
		break;
	case OPEN_BOARD_200:
		*b = 200;
		break;
	case OPEN_ENDPOINT_32:
		*e = 32;
		break;
	case OPEN_ENDPOINT_255:
		*e = 255;
		break;
	case OPEN_ENDPOINT_256:
		*e = 256; /* not truncated to 8 bits (that would be endpoint 0) */
		break;
	case OPEN_ANY_BOARD_ENDPOINT_32:
		*b = OMX_ANY_NIC;
		*e = 32;
		break;
	case OPEN_BUSY:
		*e = eid;
		break;
	}
}

static int x_omx_open_endpoint(long how)
{
	omx_endpoint_param_t params[2];
	omx_endpoint_t ep = NULL;
	uint32_t b, e;
	int key, n, null_params, rc;
	uint8_t bits, shift;

	open_args(how, o_board, o_eid, &b, &e, &key, &bits, &shift, &n, &null_params);
	memset(params, 0, sizeof(params));
	if (key >= 0) {
		params[0].key = (omx_endpoint_param_key_t)key;
		params[0].val.context_id.bits = bits;
		params[0].val.context_id.shift = shift;
	}
	rc = omx_open_endpoint(b, e, BAD_KEY, null_params ? NULL : params, (uint32_t)n,
			       how == OPEN_NULL_HANDLE_OUT ? NULL : &ep);
	if (rc == OMX_SUCCESS && ep != NULL) {
		/* Do not leave it open for the following cases. */
		bad_failf("opened an endpoint");
		omx_close_endpoint(ep);
	}
	return rc;
}

static int x_mx_open_endpoint(long how)
{
	mx_param_t params[2];
	mx_endpoint_t ep = NULL;
	uint32_t b, e;
	int key, n, null_params, rc;
	uint8_t bits, shift;

	open_args(how, m_board, m_eid, &b, &e, &key, &bits, &shift, &n, &null_params);
	memset(params, 0, sizeof(params));
	if (key >= 0) {
		params[0].key = (mx_param_key_t)key;
		params[0].val.context_id.bits = bits;
		params[0].val.context_id.shift = shift;
	}
	rc = mx_open_endpoint(b, e, BAD_KEY, null_params ? NULL : params, (uint32_t)n,
			      how == OPEN_NULL_HANDLE_OUT ? NULL : &ep);
	if (rc == MX_SUCCESS && ep != NULL) {
		bad_failf("opened an endpoint");
		mx_close_endpoint(ep);
	}
	return rc;
}

/* Closing the live endpoints twice is in the table (closed_endpoint); this
 * one closes a fresh endpoint, then closes it again. */
static int x_omx_close_twice(long how)
{
	omx_endpoint_t ep;

	(void)how;
	ep = bad_open_omx(0, 0);
	BAD_MUST(omx_close_endpoint(ep));
	bad_arm();
	return omx_close_endpoint(ep);
}

static int x_mx_close_twice(long how)
{
	mx_endpoint_t ep;

	(void)how;
	ep = bad_open_mx();
	BAD_MUST(mx_close_endpoint(ep));
	bad_arm();
	return mx_close_endpoint(ep);
}

/* Every function taking an endpoint, with each kind of bad handle. */
#define EP4(f, api, code)                                                        \
	CASE(#f ".null_endpoint", x_##f, E_NULL, api, code, VIA_GLOBAL),          \
	CASE(#f ".closed_endpoint", x_##f, E_CLOSED, api, code, VIA_GLOBAL),      \
	CASE(#f ".garbage_endpoint", x_##f, E_GARBAGE, api, code, VIA_GLOBAL),    \
	CASE(#f ".request_as_endpoint", x_##f, E_REQ, api, code, VIA_GLOBAL)
/* Same without NULL, for functions where a NULL endpoint is legal. */
#define EP3(f, api, code)                                                        \
	CASE(#f ".closed_endpoint", x_##f, E_CLOSED, api, code, VIA_GLOBAL),      \
	CASE(#f ".garbage_endpoint", x_##f, E_GARBAGE, api, code, VIA_GLOBAL),    \
	CASE(#f ".request_as_endpoint", x_##f, E_REQ, api, code, VIA_GLOBAL)

static const struct bad_case cases[] = {
	EP4(omx_close_endpoint, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_wakeup, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_progress, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_disable_progression, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_reenable_progression, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_set_request_timeout, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_register_unexp_handler, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_disconnect, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_get_endpoint_addr, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_connect, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_iconnect, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_isend, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_issend, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_isendv, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_issendv, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_irecv, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_irecvv, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_test, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_wait, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_test_any, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_wait_any, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_ipeek, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_peek, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_iprobe, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_probe, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_ibuffered, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_cancel, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_cancel_notest, API_OMX, OMX_BAD_ENDPOINT),
	EP4(omx_forget, API_OMX, OMX_BAD_ENDPOINT),
	EP3(omx_get_info, API_OMX, OMX_BAD_ENDPOINT),
	/* It returns a handler, not a code: it may report through the global handler or not. */
	CASE("omx_set_error_handler.closed_endpoint", x_omx_set_error_handler, E_CLOSED, API_OMX, 0, VIA_ANY),
	CASE("omx_set_error_handler.garbage_endpoint", x_omx_set_error_handler, E_GARBAGE, API_OMX, 0, VIA_ANY),
	CASE("omx_close_endpoint.twice", x_omx_close_twice, 0, API_OMX, OMX_BAD_ENDPOINT, VIA_GLOBAL),

	EP4(mx_close_endpoint, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_wakeup, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_progress, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_disable_progression, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_reenable_progression, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_set_request_timeout, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_register_unexp_handler, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_disconnect, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_get_endpoint_addr, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_connect, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_iconnect, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_isend, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_issend, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_irecv, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_test, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_wait, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_test_any, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_wait_any, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_ipeek, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_peek, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_iprobe, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_probe, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_ibuffered, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_cancel, API_MX, MX_BAD_ENDPOINT),
	EP4(mx_forget, API_MX, MX_BAD_ENDPOINT),
	EP3(mx_get_info, API_MX, MX_BAD_ENDPOINT),
	CASE("mx_close_endpoint.twice", x_mx_close_twice, 0, API_MX, MX_BAD_ENDPOINT, VIA_GLOBAL),

	CASE("omx_open_endpoint.params_null", x_omx_open_endpoint, OPEN_PARAMS_NULL, API_OMX, OMX_ENDPOINT_PARAMS_BAD_LIST, VIA_GLOBAL),
	CASE("omx_open_endpoint.bad_param_key", x_omx_open_endpoint, OPEN_BAD_PARAM_KEY, API_OMX, OMX_ENDPOINT_PARAM_BAD_KEY, VIA_GLOBAL),
	CASE("omx_open_endpoint.ctxid_bits_17", x_omx_open_endpoint, OPEN_CTXID_BITS_17, API_OMX, OMX_ENDPOINT_PARAM_BAD_VALUE, VIA_GLOBAL),
	CASE("omx_open_endpoint.ctxid_shift_overflow", x_omx_open_endpoint, OPEN_CTXID_SHIFT_OVERFLOW, API_OMX, OMX_ENDPOINT_PARAM_BAD_VALUE, VIA_GLOBAL),
	CASE("omx_open_endpoint.missing_board", x_omx_open_endpoint, OPEN_MISSING_BOARD, API_OMX, OMX_BOARD_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_open_endpoint.board_200", x_omx_open_endpoint, OPEN_BOARD_200, API_OMX, OMX_BOARD_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_open_endpoint.endpoint_32", x_omx_open_endpoint, OPEN_ENDPOINT_32, API_OMX, OMX_BAD_ENDPOINT, VIA_GLOBAL),
	CASE("omx_open_endpoint.endpoint_255", x_omx_open_endpoint, OPEN_ENDPOINT_255, API_OMX, OMX_BAD_ENDPOINT, VIA_GLOBAL),
	CASE("omx_open_endpoint.endpoint_256", x_omx_open_endpoint, OPEN_ENDPOINT_256, API_OMX, OMX_BAD_ENDPOINT, VIA_GLOBAL),
	CASE("omx_open_endpoint.any_board_endpoint_32", x_omx_open_endpoint, OPEN_ANY_BOARD_ENDPOINT_32, API_OMX, OMX_BAD_ENDPOINT, VIA_GLOBAL),
	CASE("omx_open_endpoint.busy", x_omx_open_endpoint, OPEN_BUSY, API_OMX, OMX_BUSY, VIA_GLOBAL),
	CASE("omx_open_endpoint.null_handle_out", x_omx_open_endpoint, OPEN_NULL_HANDLE_OUT, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),

	CASE("mx_open_endpoint.params_null", x_mx_open_endpoint, OPEN_PARAMS_NULL, API_MX, MX_BAD_PARAM_LIST, VIA_GLOBAL),
	CASE("mx_open_endpoint.bad_param_key", x_mx_open_endpoint, OPEN_BAD_PARAM_KEY, API_MX, MX_BAD_PARAM_NAME, VIA_GLOBAL),
	CASE("mx_open_endpoint.ctxid_bits_17", x_mx_open_endpoint, OPEN_CTXID_BITS_17, API_MX, MX_BAD_PARAM_VAL, VIA_GLOBAL),
	CASE("mx_open_endpoint.ctxid_shift_overflow", x_mx_open_endpoint, OPEN_CTXID_SHIFT_OVERFLOW, API_MX, MX_BAD_PARAM_VAL, VIA_GLOBAL),
	CASE("mx_open_endpoint.missing_board", x_mx_open_endpoint, OPEN_MISSING_BOARD, API_MX, MX_BOARD_UNKNOWN, VIA_GLOBAL),
	CASE("mx_open_endpoint.board_200", x_mx_open_endpoint, OPEN_BOARD_200, API_MX, MX_BOARD_UNKNOWN, VIA_GLOBAL),
	CASE("mx_open_endpoint.endpoint_32", x_mx_open_endpoint, OPEN_ENDPOINT_32, API_MX, MX_BAD_ENDPOINT, VIA_GLOBAL),
	CASE("mx_open_endpoint.endpoint_255", x_mx_open_endpoint, OPEN_ENDPOINT_255, API_MX, MX_BAD_ENDPOINT, VIA_GLOBAL),
	CASE("mx_open_endpoint.endpoint_256", x_mx_open_endpoint, OPEN_ENDPOINT_256, API_MX, MX_BAD_ENDPOINT, VIA_GLOBAL),
	CASE("mx_open_endpoint.any_board_endpoint_32", x_mx_open_endpoint, OPEN_ANY_BOARD_ENDPOINT_32, API_MX, MX_BAD_ENDPOINT, VIA_GLOBAL),
	CASE("mx_open_endpoint.busy", x_mx_open_endpoint, OPEN_BUSY, API_MX, MX_BUSY, VIA_GLOBAL),
	CASE("mx_open_endpoint.null_handle_out", x_mx_open_endpoint, OPEN_NULL_HANDLE_OUT, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
};

static void setup(void)
{
	uint64_t nic;
	uint32_t board;

	BAD_MUST(omx_init());
	BAD_MUST(mx_init());
	bad_board_info(&board, &nic, &missing_board);
	bad_phase_done();

	/* Open and close first, so the live endpoint can reuse the slot and
	 * the closed handle is stale rather than merely unused. */
	o_closed = bad_open_omx(0, 0);
	BAD_MUST(omx_close_endpoint(o_closed));
	o_live = bad_open_omx(0, 0);
	BAD_MUST(omx_get_endpoint_addr(o_live, &o_addr));
	BAD_MUST(omx_decompose_endpoint_addr(o_addr, &o_nic, &o_eid));
	BAD_MUST(omx_nic_id_to_board_number(o_nic, &o_board));
	BAD_MUST(omx_irecv(o_live, buf, sizeof(buf), 0xabc, ~(uint64_t)0, NULL, &o_live_req));

	m_closed = bad_open_mx();
	BAD_MUST(mx_close_endpoint(m_closed));
	m_live = bad_open_mx();
	BAD_MUST(mx_get_endpoint_addr(m_live, &m_addr));
	BAD_MUST(mx_decompose_endpoint_addr(m_addr, &m_nic, &m_eid));
	BAD_MUST(mx_nic_id_to_board_number(m_nic, &m_board));
	{
		mx_segment_t seg = { buf, sizeof(buf) };
		BAD_MUST(mx_irecv(m_live, &seg, 1, 0xabc, MX_MATCH_MASK_NONE, NULL, &m_live_req));
	}
}

static void teardown(void)
{
	uint32_t res = 0;

	/* The bad calls must not have touched the live endpoints' requests. */
	BAD_MUST(omx_cancel(o_live, &o_live_req, &res));
	BAD_CHECK(res == 1, "the live Open-MX receive could not be cancelled (result %u)", res);
	res = 0;
	BAD_MUST(mx_cancel(m_live, &m_live_req, &res));
	BAD_CHECK(res == 1, "the live MX receive could not be cancelled (result %u)", res);
	BAD_MUST(omx_close_endpoint(o_live));
	BAD_MUST(mx_close_endpoint(m_live));
	BAD_MUST(mx_finalize());
}

int main(int argc, char **argv)
{
	return bad_main(cases, sizeof(cases) / sizeof(cases[0]), setup, teardown, argc, argv);
}
