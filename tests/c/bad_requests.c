/*
 * bad_requests: bad request handles, NULL output pointers, bad masks and too
 * many segments on live endpoints, Open-MX and MX APIs.
 *
 * - a NULL request pointer, a NULL handle, or a stale (completed, freed by
 *   forget or cancel), foreign (another endpoint's), garbage or wrong-kind
 *   (an endpoint) handle where a request is required -> BAD_REQUEST through
 *   the endpoint's handler (the global one for omx_context/mx_context);
 *   ibuffered on a receive or a connect -> BAD_REQUEST directly;
 *   cancelling a send -> BAD_REQUEST through the endpoint's handler;
 * - NULL status/result/address/context outputs -> BAD_REQUEST (endpoint
 *   handler when there is an endpoint, else global); a NULL request out
 *   pointer in a posting function is legal (the request is forgotten);
 * - match_info outside the mask -> BAD_MATCH_MASK; a receive mask not
 *   covering the context-id bits -> BAD_MATCHING_FOR_CONTEXT_ID_MASK;
 * - more than 256 segments -> SEGMENTS_BAD_COUNT / MX_BAD_SEG_CNT;
 * - connecting to an unknown nic_id -> NIC_ID_NOT_FOUND, handler called once.
 *
 * Table runner and conventions: badinput.h.
 */
#include "badinput.h"

/* Which argument of the call is bad. */
enum {
	R_NULLPTR = 1,    /* NULL request pointer */
	R_NULL,           /* pointer to a NULL handle */
	R_STALE,          /* completed by wait: freed */
	R_FORGOT_DONE,    /* done, then forgotten: freed */
	R_FORGOT_PENDING, /* pending, then forgotten: invisible to the application */
	R_CANCELLED,      /* cancelled by cancel: freed */
	R_FOREIGN,        /* pending receive of another endpoint */
	R_FOREIGN_SEND,   /* pending send of another endpoint (for ibuffered) */
	R_GARBAGE,        /* never a handle */
	R_EPKIND,         /* an endpoint handle */
	R_SEND,           /* a pending send (self send nobody receives) */
	R_RECV,           /* a pending receive (legal handle) */
	R_CONN,           /* a done iconnect (legal handle) */
	P_NULL_STATUS,    /* legal request, NULL status */
	P_NULL_RESULT,    /* legal request, NULL result */
	P_NULL_CTX,       /* NULL context out */
	P_NULL_ADDR,      /* NULL address out */
	P_NULL_NIC,       /* decompose: NULL nic_id out */
	P_NULL_EID,       /* decompose: NULL endpoint id out */
	P_NULL_SESSION,   /* decompose with session: NULL session out */
	P_NULL_REQ_OUT,   /* posting function with a NULL request out: legal */
	M_BAD_MASK,       /* match_info has bits outside the mask */
	M_CTXID_MASK,     /* receive mask does not cover the context-id bits */
	S_257,            /* 257 segments */
	S_HUGE,           /* 0xffffffff segments */
	N_UNKNOWN_NIC     /* connect to a nic_id not in the peer table */
};

#define GARBAGE_HANDLE ((uintptr_t)0xdead0000beef0ULL)
#define UNKNOWN_NIC 0x0000123456789abcULL
#define NSEGS 300

static char buf[256];
static char segbuf[NSEGS];
static omx_seg_t osegs[NSEGS];
static mx_segment_t msegs[NSEGS];

/* Open-MX side. oep has the counting endpoint handler; octx has context ids
 * (4 bits at shift 56); oep2 owns the foreign request. */
static omx_endpoint_t oep, oep2, octx;
static omx_endpoint_addr_t oaddr;
static uint64_t onic;
static uint32_t oeid;
static omx_request_t o_recv, o_foreign, o_foreign_send, o_send, o_conn;
static omx_request_t o_stale, o_forgot_done, o_forgot_pending, o_cancelled;

/* MX side, same layout (no context-id endpoint). */
static mx_endpoint_t mep, mep2;
static mx_endpoint_addr_t maddr;
static uint64_t mnic;
static uint32_t meid;
static mx_request_t m_recv, m_foreign, m_foreign_send, m_send, m_conn;
static mx_request_t m_stale, m_forgot_done, m_forgot_pending, m_cancelled;

static omx_request_t oreq(long how)
{
	switch (how) {
	case R_STALE:
		return o_stale;
	case R_FORGOT_DONE:
		return o_forgot_done;
	case R_FORGOT_PENDING:
		return o_forgot_pending;
	case R_CANCELLED:
		return o_cancelled;
	case R_FOREIGN:
		return o_foreign;
	case R_FOREIGN_SEND:
		return o_foreign_send;
	case R_GARBAGE:
		return (omx_request_t)GARBAGE_HANDLE;
	case R_EPKIND:
		return (omx_request_t)(void *)oep;
	case R_SEND:
		return o_send;
	case R_CONN:
		return o_conn;
	case R_NULL:
	case R_NULLPTR:
		return NULL;
	default:
		return o_recv;
	}
}

static mx_request_t mreq(long how)
{
	switch (how) {
	case R_STALE:
		return m_stale;
	case R_FORGOT_DONE:
		return m_forgot_done;
	case R_FORGOT_PENDING:
		return m_forgot_pending;
	case R_CANCELLED:
		return m_cancelled;
	case R_FOREIGN:
		return m_foreign;
	case R_FOREIGN_SEND:
		return m_foreign_send;
	case R_GARBAGE:
		return (mx_request_t)GARBAGE_HANDLE;
	case R_EPKIND:
		return (mx_request_t)(void *)mep;
	case R_SEND:
		return m_send;
	case R_CONN:
		return m_conn;
	case R_NULL:
	case R_NULLPTR:
		return NULL;
	default:
		return m_recv;
	}
}

/* A call that failed on a legal request must leave the caller's handle alone. */
#define KEPT(how, r, orig) \
	BAD_CHECK((how) < P_NULL_STATUS || (r) == (orig), "the request handle was overwritten")
#define ZERO_RESULT(res) BAD_CHECK((res) == 0, "*result is %u, not 0", (res))

/* ---- Open-MX completion and request functions ---- */

static int o_test(long how)
{
	omx_request_t r = oreq(how);
	omx_status_t st;
	uint32_t res;
	int rc = omx_test(oep, how == R_NULLPTR ? NULL : &r, how == P_NULL_STATUS ? NULL : &st,
			  how == P_NULL_RESULT ? NULL : &res);
	KEPT(how, r, o_recv);
	return rc;
}

static int o_wait(long how)
{
	omx_request_t r = oreq(how);
	omx_status_t st;
	uint32_t res;
	int rc = omx_wait(oep, how == R_NULLPTR ? NULL : &r, how == P_NULL_STATUS ? NULL : &st,
			  how == P_NULL_RESULT ? NULL : &res, BAD_SHORT_MS);
	KEPT(how, r, o_recv);
	return rc;
}

static int o_cancel(long how)
{
	omx_request_t r = oreq(how);
	uint32_t res;
	int rc = omx_cancel(oep, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res);
	KEPT(how, r, o_recv);
	return rc;
}

static int o_cancel_notest(long how)
{
	omx_request_t r = oreq(how);
	uint32_t res;
	int rc = omx_cancel_notest(oep, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res);
	KEPT(how, r, o_recv);
	return rc;
}

static int o_forget(long how)
{
	omx_request_t r = oreq(how);
	return omx_forget(oep, how == R_NULLPTR ? NULL : &r);
}

static int o_ibuffered(long how)
{
	omx_request_t r = oreq(how);
	uint32_t res = 7;
	int rc = omx_ibuffered(oep, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res);
	if (how == R_RECV || how == R_CONN)
		ZERO_RESULT(res);
	return rc;
}

static int o_ipeek(long how)
{
	omx_request_t r = NULL;
	uint32_t res;
	return omx_ipeek(oep, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res);
}

static int o_peek(long how)
{
	omx_request_t r = NULL;
	uint32_t res;
	return omx_peek(oep, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res, BAD_SHORT_MS);
}

static int o_context(long how)
{
	omx_request_t r = oreq(how);
	void *ctx;
	return omx_context(how == R_NULLPTR ? NULL : &r, how == P_NULL_CTX ? NULL : &ctx);
}

static int o_set_request_timeout(long how)
{
	return omx_set_request_timeout(oep, oreq(how), 1000);
}

/* match: 0xff with mask 0x0f is a bad mask; 0 with mask 0 matches anything
 * (nothing is done or unexpected with these infos, so legal calls find none). */
static uint64_t minfo(long how) { return how == M_BAD_MASK ? 0xff : 0x5150; }
static uint64_t mmask(long how) { return how == M_BAD_MASK ? 0x0f : ~(uint64_t)0; }

static int o_test_any(long how)
{
	omx_status_t st;
	uint32_t res = 7;
	int rc = omx_test_any(oep, minfo(how), mmask(how), how == P_NULL_STATUS ? NULL : &st,
			      how == P_NULL_RESULT ? NULL : &res);
	if (how == M_BAD_MASK)
		ZERO_RESULT(res);
	return rc;
}

static int o_wait_any(long how)
{
	omx_status_t st;
	uint32_t res = 7;
	int rc = omx_wait_any(oep, minfo(how), mmask(how), how == P_NULL_STATUS ? NULL : &st,
			      how == P_NULL_RESULT ? NULL : &res, BAD_SHORT_MS);
	if (how == M_BAD_MASK)
		ZERO_RESULT(res);
	return rc;
}

static int o_iprobe(long how)
{
	omx_status_t st;
	uint32_t res = 7;
	int rc = omx_iprobe(oep, minfo(how), mmask(how), how == P_NULL_STATUS ? NULL : &st,
			    how == P_NULL_RESULT ? NULL : &res);
	if (how == M_BAD_MASK)
		ZERO_RESULT(res);
	return rc;
}

static int o_probe(long how)
{
	omx_status_t st;
	uint32_t res = 7;
	int rc = omx_probe(oep, minfo(how), mmask(how), how == P_NULL_STATUS ? NULL : &st,
			   how == P_NULL_RESULT ? NULL : &res, BAD_SHORT_MS);
	if (how == M_BAD_MASK)
		ZERO_RESULT(res);
	return rc;
}

/* ---- Open-MX posting functions ---- */

static uint32_t nsegs(long how) { return how == S_257 ? 257 : how == S_HUGE ? 0xffffffffU : 1; }

/* A receive on the context-id endpoint whose mask misses the context bits. */
static int o_irecv(long how)
{
	omx_request_t r = NULL;
	omx_endpoint_t ep = how == M_CTXID_MASK ? octx : oep;
	uint64_t info = how == M_CTXID_MASK ? 0x42 : 0x6000 + (uint64_t)how;
	uint64_t mask = how == M_CTXID_MASK ? 0xff : mmask(how);
	int rc;

	if (how == M_BAD_MASK)
		info = minfo(how);
	rc = omx_irecv(ep, buf, sizeof(buf), info, mask, NULL, how == P_NULL_REQ_OUT ? NULL : &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed irecv returned a request handle");
	return rc;
}

static int o_irecvv(long how)
{
	omx_request_t r = NULL;
	omx_endpoint_t ep = how == M_CTXID_MASK ? octx : oep;
	uint64_t info = how == M_CTXID_MASK ? 0x42 : 0x7000 + (uint64_t)how;
	uint64_t mask = how == M_CTXID_MASK ? 0xff : mmask(how);
	int rc;

	if (how == M_BAD_MASK)
		info = minfo(how);
	rc = omx_irecvv(ep, osegs, nsegs(how), info, mask, NULL, &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed irecvv returned a request handle");
	return rc;
}

/* Sends with a NULL request out go to a receive posted with a NULL request
 * out by the preceding case (same match info): both vanish. */
#define FORGOTTEN_MATCH (0x6000 + P_NULL_REQ_OUT)

static int o_isend(long how)
{
	(void)how;
	return omx_isend(oep, buf, 16, oaddr, FORGOTTEN_MATCH, NULL, NULL);
}

static int o_isendv(long how)
{
	omx_request_t r = NULL;
	int rc = omx_isendv(oep, osegs, nsegs(how), oaddr, 0x8000, NULL, &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed isendv returned a request handle");
	return rc;
}

static int o_issendv(long how)
{
	omx_request_t r = NULL;
	int rc = omx_issendv(oep, osegs, nsegs(how), oaddr, 0x8001, NULL, &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed issendv returned a request handle");
	return rc;
}

static int o_connect(long how)
{
	omx_endpoint_addr_t a;
	return omx_connect(oep, how == N_UNKNOWN_NIC ? UNKNOWN_NIC : onic, oeid, BAD_KEY, BAD_SHORT_MS,
			   how == P_NULL_ADDR ? NULL : &a);
}

static int o_iconnect(long how)
{
	omx_request_t r = NULL;
	int rc = omx_iconnect(oep, how == N_UNKNOWN_NIC ? UNKNOWN_NIC : onic, oeid, BAD_KEY, 0x9000, NULL,
			      how == P_NULL_REQ_OUT ? NULL : &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed iconnect returned a request handle");
	return rc;
}

/* ---- Open-MX address functions ---- */

static int o_get_endpoint_addr(long how)
{
	omx_endpoint_addr_t a;
	return omx_get_endpoint_addr(oep, how == P_NULL_ADDR ? NULL : &a);
}

static int o_decompose(long how)
{
	uint64_t nic;
	uint32_t eid;
	return omx_decompose_endpoint_addr(oaddr, how == P_NULL_NIC ? NULL : &nic, how == P_NULL_EID ? NULL : &eid);
}

static int o_decompose_session(long how)
{
	uint64_t nic;
	uint32_t eid, sid;
	return omx_decompose_endpoint_addr_with_session(oaddr, how == P_NULL_NIC ? NULL : &nic,
							how == P_NULL_EID ? NULL : &eid,
							how == P_NULL_SESSION ? NULL : &sid);
}

static int o_get_addr_context(long how)
{
	(void)how;
	return omx_get_endpoint_addr_context(oaddr, NULL);
}

/* ---- MX equivalents ---- */

static int m_test(long how)
{
	mx_request_t r = mreq(how);
	mx_status_t st;
	uint32_t res;
	int rc = mx_test(mep, how == R_NULLPTR ? NULL : &r, how == P_NULL_STATUS ? NULL : &st,
			 how == P_NULL_RESULT ? NULL : &res);
	KEPT(how, r, m_recv);
	return rc;
}

static int m_wait(long how)
{
	mx_request_t r = mreq(how);
	mx_status_t st;
	uint32_t res;
	int rc = mx_wait(mep, how == R_NULLPTR ? NULL : &r, BAD_SHORT_MS, how == P_NULL_STATUS ? NULL : &st,
			 how == P_NULL_RESULT ? NULL : &res);
	KEPT(how, r, m_recv);
	return rc;
}

static int m_cancel(long how)
{
	mx_request_t r = mreq(how);
	uint32_t res;
	int rc = mx_cancel(mep, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res);
	KEPT(how, r, m_recv);
	return rc;
}

static int m_forget(long how)
{
	mx_request_t r = mreq(how);
	return mx_forget(mep, how == R_NULLPTR ? NULL : &r);
}

static int m_ibuffered(long how)
{
	mx_request_t r = mreq(how);
	uint32_t res = 7;
	int rc = mx_ibuffered(mep, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res);
	if (how == R_RECV || how == R_CONN)
		ZERO_RESULT(res);
	return rc;
}

static int m_ipeek(long how)
{
	mx_request_t r = NULL;
	uint32_t res;
	return mx_ipeek(mep, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res);
}

static int m_peek(long how)
{
	mx_request_t r = NULL;
	uint32_t res;
	return mx_peek(mep, BAD_SHORT_MS, how == R_NULLPTR ? NULL : &r, how == P_NULL_RESULT ? NULL : &res);
}

static int m_context(long how)
{
	mx_request_t r = mreq(how);
	void *ctx;
	return mx_context(how == R_NULLPTR ? NULL : &r, how == P_NULL_CTX ? NULL : &ctx);
}

static int m_set_request_timeout(long how)
{
	return mx_set_request_timeout(mep, mreq(how), 1000);
}

static int m_test_any(long how)
{
	mx_status_t st;
	uint32_t res = 7;
	int rc = mx_test_any(mep, minfo(how), mmask(how), how == P_NULL_STATUS ? NULL : &st,
			     how == P_NULL_RESULT ? NULL : &res);
	if (how == M_BAD_MASK)
		ZERO_RESULT(res);
	return rc;
}

static int m_wait_any(long how)
{
	mx_status_t st;
	uint32_t res = 7;
	int rc = mx_wait_any(mep, BAD_SHORT_MS, minfo(how), mmask(how), how == P_NULL_STATUS ? NULL : &st,
			     how == P_NULL_RESULT ? NULL : &res);
	if (how == M_BAD_MASK)
		ZERO_RESULT(res);
	return rc;
}

static int m_iprobe(long how)
{
	mx_status_t st;
	uint32_t res = 7;
	int rc = mx_iprobe(mep, minfo(how), mmask(how), how == P_NULL_STATUS ? NULL : &st,
			   how == P_NULL_RESULT ? NULL : &res);
	if (how == M_BAD_MASK)
		ZERO_RESULT(res);
	return rc;
}

static int m_probe(long how)
{
	mx_status_t st;
	uint32_t res = 7;
	int rc = mx_probe(mep, BAD_SHORT_MS, minfo(how), mmask(how), how == P_NULL_STATUS ? NULL : &st,
			  how == P_NULL_RESULT ? NULL : &res);
	if (how == M_BAD_MASK)
		ZERO_RESULT(res);
	return rc;
}

static int m_irecv(long how)
{
	mx_request_t r = NULL;
	uint64_t info = how == M_BAD_MASK ? minfo(how) : 0x6000 + (uint64_t)how;
	int rc = mx_irecv(mep, msegs, nsegs(how), info, mmask(how), NULL, how == P_NULL_REQ_OUT ? NULL : &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed mx_irecv returned a request handle");
	return rc;
}

static int m_isend(long how)
{
	mx_request_t r = NULL;
	int rc;

	if (how == P_NULL_REQ_OUT)
		return mx_isend(mep, msegs, 1, maddr, FORGOTTEN_MATCH, NULL, NULL);
	rc = mx_isend(mep, msegs, nsegs(how), maddr, 0x8000, NULL, &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed mx_isend returned a request handle");
	return rc;
}

static int m_issend(long how)
{
	mx_request_t r = NULL;
	int rc = mx_issend(mep, msegs, nsegs(how), maddr, 0x8001, NULL, &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed mx_issend returned a request handle");
	return rc;
}

static int m_connect(long how)
{
	mx_endpoint_addr_t a;
	return mx_connect(mep, how == N_UNKNOWN_NIC ? UNKNOWN_NIC : mnic, meid, BAD_KEY, BAD_SHORT_MS,
			  how == P_NULL_ADDR ? NULL : &a);
}

static int m_iconnect(long how)
{
	mx_request_t r = NULL;
	int rc = mx_iconnect(mep, how == N_UNKNOWN_NIC ? UNKNOWN_NIC : mnic, meid, BAD_KEY, 0x9000, NULL,
			     how == P_NULL_REQ_OUT ? NULL : &r);
	BAD_CHECK(rc == 0 || r == NULL, "a failed mx_iconnect returned a request handle");
	return rc;
}

static int m_get_endpoint_addr(long how)
{
	mx_endpoint_addr_t a;
	return mx_get_endpoint_addr(mep, how == P_NULL_ADDR ? NULL : &a);
}

static int m_decompose(long how)
{
	uint64_t nic;
	uint32_t eid;
	return mx_decompose_endpoint_addr(maddr, how == P_NULL_NIC ? NULL : &nic, how == P_NULL_EID ? NULL : &eid);
}

static int m_decompose2(long how)
{
	uint64_t nic;
	uint32_t eid, sid;
	return mx_decompose_endpoint_addr2(maddr, how == P_NULL_NIC ? NULL : &nic, how == P_NULL_EID ? NULL : &eid,
					   how == P_NULL_SESSION ? NULL : &sid);
}

static int m_get_addr_context(long how)
{
	(void)how;
	return mx_get_endpoint_addr_context(maddr, NULL);
}

/* The request kinds every function requiring an existing request rejects. */
#define REQ_STALE(name, fn, api, code, via)                                        \
	CASE(name ".null_request", fn, R_NULLPTR, api, code, via),                  \
	CASE(name ".null_handle", fn, R_NULL, api, code, via),                      \
	CASE(name ".completed", fn, R_STALE, api, code, via),                       \
	CASE(name ".forgotten_done", fn, R_FORGOT_DONE, api, code, via),            \
	CASE(name ".cancelled", fn, R_CANCELLED, api, code, via),                   \
	CASE(name ".garbage", fn, R_GARBAGE, api, code, via),                       \
	CASE(name ".endpoint_as_request", fn, R_EPKIND, api, code, via)
/* ... plus those only meaningful with an endpoint argument. */
#define REQ_BAD(name, fn, api, code)                                                \
	REQ_STALE(name, fn, api, code, VIA_EP),                                     \
	CASE(name ".forgotten_pending", fn, R_FORGOT_PENDING, api, code, VIA_EP),   \
	CASE(name ".foreign", fn, R_FOREIGN, api, code, VIA_EP)

static const struct bad_case cases[] = {
	/* Open-MX: request handles. */
	REQ_BAD("omx_test", o_test, API_OMX, OMX_BAD_REQUEST),
	CASE("omx_test.null_status", o_test, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_test.null_result", o_test, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	REQ_BAD("omx_wait", o_wait, API_OMX, OMX_BAD_REQUEST),
	CASE("omx_wait.null_status", o_wait, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_wait.null_result", o_wait, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	REQ_BAD("omx_cancel", o_cancel, API_OMX, OMX_BAD_REQUEST),
	CASE("omx_cancel.null_result", o_cancel, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_cancel.send", o_cancel, R_SEND, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	REQ_BAD("omx_cancel_notest", o_cancel_notest, API_OMX, OMX_BAD_REQUEST),
	CASE("omx_cancel_notest.null_result", o_cancel_notest, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_cancel_notest.send", o_cancel_notest, R_SEND, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	REQ_STALE("omx_forget", o_forget, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_forget.foreign", o_forget, R_FOREIGN, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	/* ibuffered: the foreign request is a send, so only its owner is wrong. */
	REQ_STALE("omx_ibuffered", o_ibuffered, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_ibuffered.foreign_send", o_ibuffered, R_FOREIGN_SEND, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_ibuffered.null_result", o_ibuffered, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_ibuffered.receive", o_ibuffered, R_RECV, API_OMX, OMX_BAD_REQUEST, VIA_NONE),
	CASE("omx_ibuffered.connect", o_ibuffered, R_CONN, API_OMX, OMX_BAD_REQUEST, VIA_NONE),
	REQ_STALE("omx_context", o_context, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_context.null_context", o_context, P_NULL_CTX, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_set_request_timeout.completed", o_set_request_timeout, R_STALE, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_set_request_timeout.garbage", o_set_request_timeout, R_GARBAGE, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_set_request_timeout.foreign", o_set_request_timeout, R_FOREIGN, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_ipeek.null_request", o_ipeek, R_NULLPTR, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_ipeek.null_result", o_ipeek, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_peek.null_request", o_peek, R_NULLPTR, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_peek.null_result", o_peek, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	/* The handler's reply is what the call returns. */
	CASE_REPLY("omx_test.null_status.handler_returns_success", o_test, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP, OMX_SUCCESS),
	CASE_REPLY("omx_test.null_status.handler_returns_busy", o_test, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP, OMX_BUSY),

	/* Open-MX: masks, statuses, results. */
	CASE("omx_test_any.bad_mask", o_test_any, M_BAD_MASK, API_OMX, OMX_BAD_MATCH_MASK, VIA_EP),
	CASE("omx_test_any.null_status", o_test_any, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_test_any.null_result", o_test_any, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_wait_any.bad_mask", o_wait_any, M_BAD_MASK, API_OMX, OMX_BAD_MATCH_MASK, VIA_EP),
	CASE("omx_wait_any.null_status", o_wait_any, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_wait_any.null_result", o_wait_any, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_iprobe.bad_mask", o_iprobe, M_BAD_MASK, API_OMX, OMX_BAD_MATCH_MASK, VIA_EP),
	CASE("omx_iprobe.null_status", o_iprobe, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_iprobe.null_result", o_iprobe, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_probe.bad_mask", o_probe, M_BAD_MASK, API_OMX, OMX_BAD_MATCH_MASK, VIA_EP),
	CASE("omx_probe.null_status", o_probe, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_probe.null_result", o_probe, P_NULL_RESULT, API_OMX, OMX_BAD_REQUEST, VIA_EP),

	/* Open-MX: posting. */
	CASE("omx_irecv.bad_mask", o_irecv, M_BAD_MASK, API_OMX, OMX_BAD_MATCH_MASK, VIA_EP),
	CASE("omx_irecv.ctxid_mask", o_irecv, M_CTXID_MASK, API_OMX, OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK, VIA_EP),
	CASE("omx_irecvv.bad_mask", o_irecvv, M_BAD_MASK, API_OMX, OMX_BAD_MATCH_MASK, VIA_EP),
	CASE("omx_irecvv.ctxid_mask", o_irecvv, M_CTXID_MASK, API_OMX, OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK, VIA_EP),
	CASE("omx_irecvv.257_segments", o_irecvv, S_257, API_OMX, OMX_SEGMENTS_BAD_COUNT, VIA_EP),
	CASE("omx_irecvv.0xffffffff_segments", o_irecvv, S_HUGE, API_OMX, OMX_SEGMENTS_BAD_COUNT, VIA_EP),
	CASE("omx_isendv.257_segments", o_isendv, S_257, API_OMX, OMX_SEGMENTS_BAD_COUNT, VIA_EP),
	CASE("omx_isendv.0xffffffff_segments", o_isendv, S_HUGE, API_OMX, OMX_SEGMENTS_BAD_COUNT, VIA_EP),
	CASE("omx_issendv.257_segments", o_issendv, S_257, API_OMX, OMX_SEGMENTS_BAD_COUNT, VIA_EP),
	CASE("omx_irecv.null_request_out_is_legal", o_irecv, P_NULL_REQ_OUT, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("omx_isend.null_request_out_is_legal", o_isend, P_NULL_REQ_OUT, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("omx_iconnect.null_request_out_is_legal", o_iconnect, P_NULL_REQ_OUT, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("omx_iconnect.unknown_nic", o_iconnect, N_UNKNOWN_NIC, API_OMX, OMX_NIC_ID_NOT_FOUND, VIA_EP),
	CASE("omx_connect.unknown_nic", o_connect, N_UNKNOWN_NIC, API_OMX, OMX_NIC_ID_NOT_FOUND, VIA_EP),
	CASE("omx_connect.null_addr", o_connect, P_NULL_ADDR, API_OMX, OMX_BAD_REQUEST, VIA_EP),

	/* Open-MX: addresses. */
	CASE("omx_get_endpoint_addr.null_addr", o_get_endpoint_addr, P_NULL_ADDR, API_OMX, OMX_BAD_REQUEST, VIA_EP),
	CASE("omx_decompose_endpoint_addr.null_nic_id", o_decompose, P_NULL_NIC, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_decompose_endpoint_addr.null_endpoint_id", o_decompose, P_NULL_EID, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_decompose_endpoint_addr_with_session.null_nic_id", o_decompose_session, P_NULL_NIC, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_decompose_endpoint_addr_with_session.null_session", o_decompose_session, P_NULL_SESSION, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_get_endpoint_addr_context.null_context", o_get_addr_context, P_NULL_CTX, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),

	/* MX: request handles. */
	REQ_BAD("mx_test", m_test, API_MX, MX_BAD_REQUEST),
	CASE("mx_test.null_status", m_test, P_NULL_STATUS, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_test.null_result", m_test, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	REQ_BAD("mx_wait", m_wait, API_MX, MX_BAD_REQUEST),
	CASE("mx_wait.null_status", m_wait, P_NULL_STATUS, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_wait.null_result", m_wait, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	REQ_BAD("mx_cancel", m_cancel, API_MX, MX_BAD_REQUEST),
	CASE("mx_cancel.null_result", m_cancel, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_cancel.send", m_cancel, R_SEND, API_MX, MX_BAD_REQUEST, VIA_EP),
	REQ_STALE("mx_forget", m_forget, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_forget.foreign", m_forget, R_FOREIGN, API_MX, MX_BAD_REQUEST, VIA_EP),
	REQ_STALE("mx_ibuffered", m_ibuffered, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_ibuffered.foreign_send", m_ibuffered, R_FOREIGN_SEND, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_ibuffered.null_result", m_ibuffered, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_ibuffered.receive", m_ibuffered, R_RECV, API_MX, MX_BAD_REQUEST, VIA_NONE),
	CASE("mx_ibuffered.connect", m_ibuffered, R_CONN, API_MX, MX_BAD_REQUEST, VIA_NONE),
	REQ_STALE("mx_context", m_context, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_context.null_context", m_context, P_NULL_CTX, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_set_request_timeout.completed", m_set_request_timeout, R_STALE, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_set_request_timeout.garbage", m_set_request_timeout, R_GARBAGE, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_set_request_timeout.foreign", m_set_request_timeout, R_FOREIGN, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_ipeek.null_request", m_ipeek, R_NULLPTR, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_ipeek.null_result", m_ipeek, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_peek.null_request", m_peek, R_NULLPTR, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_peek.null_result", m_peek, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE_REPLY("mx_test.null_status.handler_returns_success", m_test, P_NULL_STATUS, API_MX, MX_BAD_REQUEST, VIA_EP, MX_SUCCESS),
	CASE_REPLY("mx_test.null_status.handler_returns_busy", m_test, P_NULL_STATUS, API_MX, MX_BAD_REQUEST, VIA_EP, MX_BUSY),

	/* MX: masks, statuses, results. */
	CASE("mx_test_any.bad_mask", m_test_any, M_BAD_MASK, API_MX, MX_BAD_MATCH_MASK, VIA_EP),
	CASE("mx_test_any.null_status", m_test_any, P_NULL_STATUS, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_test_any.null_result", m_test_any, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_wait_any.bad_mask", m_wait_any, M_BAD_MASK, API_MX, MX_BAD_MATCH_MASK, VIA_EP),
	CASE("mx_wait_any.null_status", m_wait_any, P_NULL_STATUS, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_wait_any.null_result", m_wait_any, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_iprobe.bad_mask", m_iprobe, M_BAD_MASK, API_MX, MX_BAD_MATCH_MASK, VIA_EP),
	CASE("mx_iprobe.null_status", m_iprobe, P_NULL_STATUS, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_iprobe.null_result", m_iprobe, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_probe.bad_mask", m_probe, M_BAD_MASK, API_MX, MX_BAD_MATCH_MASK, VIA_EP),
	CASE("mx_probe.null_status", m_probe, P_NULL_STATUS, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_probe.null_result", m_probe, P_NULL_RESULT, API_MX, MX_BAD_REQUEST, VIA_EP),

	/* MX: posting. */
	CASE("mx_irecv.bad_mask", m_irecv, M_BAD_MASK, API_MX, MX_BAD_MATCH_MASK, VIA_EP),
	CASE("mx_irecv.257_segments", m_irecv, S_257, API_MX, MX_BAD_SEG_CNT, VIA_EP),
	CASE("mx_irecv.0xffffffff_segments", m_irecv, S_HUGE, API_MX, MX_BAD_SEG_CNT, VIA_EP),
	CASE("mx_isend.257_segments", m_isend, S_257, API_MX, MX_BAD_SEG_CNT, VIA_EP),
	CASE("mx_isend.0xffffffff_segments", m_isend, S_HUGE, API_MX, MX_BAD_SEG_CNT, VIA_EP),
	CASE("mx_issend.257_segments", m_issend, S_257, API_MX, MX_BAD_SEG_CNT, VIA_EP),
	CASE("mx_irecv.null_request_out_is_legal", m_irecv, P_NULL_REQ_OUT, API_MX, MX_SUCCESS, VIA_NONE),
	CASE("mx_isend.null_request_out_is_legal", m_isend, P_NULL_REQ_OUT, API_MX, MX_SUCCESS, VIA_NONE),
	CASE("mx_iconnect.null_request_out_is_legal", m_iconnect, P_NULL_REQ_OUT, API_MX, MX_SUCCESS, VIA_NONE),
	CASE("mx_iconnect.unknown_nic", m_iconnect, N_UNKNOWN_NIC, API_MX, MX_NIC_NOT_FOUND, VIA_EP),
	CASE("mx_connect.unknown_nic", m_connect, N_UNKNOWN_NIC, API_MX, MX_NIC_NOT_FOUND, VIA_EP),
	CASE("mx_connect.null_addr", m_connect, P_NULL_ADDR, API_MX, MX_BAD_REQUEST, VIA_EP),

	/* MX: addresses. */
	CASE("mx_get_endpoint_addr.null_addr", m_get_endpoint_addr, P_NULL_ADDR, API_MX, MX_BAD_REQUEST, VIA_EP),
	CASE("mx_decompose_endpoint_addr.null_nic_id", m_decompose, P_NULL_NIC, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_decompose_endpoint_addr.null_endpoint_id", m_decompose, P_NULL_EID, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_decompose_endpoint_addr2.null_nic_id", m_decompose2, P_NULL_NIC, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_decompose_endpoint_addr2.null_session", m_decompose2, P_NULL_SESSION, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_get_endpoint_addr_context.null_context", m_get_addr_context, P_NULL_CTX, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
};

/* Prepare the Open-MX requests of every kind oreq hands out. */
static void setup_omx(void)
{
	omx_request_t s, r;
	uint32_t res = 0, i;

	oep = bad_open_omx(0, 0);
	oep2 = bad_open_omx(0, 0);
	octx = bad_open_omx(4, 56);
	bad_phase_done();
	BAD_MUST(omx_get_endpoint_addr(oep, &oaddr));
	BAD_MUST(omx_decompose_endpoint_addr(oaddr, &onic, &oeid));

	/* completed: a self message received, both sides waited for. */
	BAD_MUST(omx_irecv(oep, buf, sizeof(buf), 0x100, ~(uint64_t)0, NULL, &r));
	BAD_MUST(omx_isend(oep, buf, 8, oaddr, 0x100, NULL, &s));
	o_stale = r;
	bad_wait_omx(oep, &r);
	bad_wait_omx(oep, &s);

	/* forgotten when done. */
	BAD_MUST(omx_irecv(oep, buf, sizeof(buf), 0x101, ~(uint64_t)0, NULL, &r));
	BAD_MUST(omx_isend(oep, buf, 8, oaddr, 0x101, NULL, &s));
	bad_wait_omx(oep, &s);
	o_forgot_done = r;
	BAD_MUST(omx_forget(oep, &r));
	BAD_CHECK(r == NULL, "omx_forget did not clear the handle");

	/* forgotten while pending (a receive nothing will match). */
	BAD_MUST(omx_irecv(oep, buf, sizeof(buf), 0x102, ~(uint64_t)0, NULL, &r));
	o_forgot_pending = r;
	BAD_MUST(omx_forget(oep, &r));

	/* cancelled. */
	BAD_MUST(omx_irecv(oep, buf, sizeof(buf), 0x103, ~(uint64_t)0, NULL, &r));
	o_cancelled = r;
	BAD_MUST(omx_cancel(oep, &r, &res));
	BAD_CHECK(res == 1, "omx_cancel of a posted receive gave result %u", res);

	/* live ones. */
	BAD_MUST(omx_irecv(oep, buf, sizeof(buf), 0x104, ~(uint64_t)0, NULL, &o_recv));
	BAD_MUST(omx_irecv(oep2, buf, sizeof(buf), 0x105, ~(uint64_t)0, NULL, &o_foreign));
	{
		omx_endpoint_addr_t a2;
		BAD_MUST(omx_get_endpoint_addr(oep2, &a2));
		BAD_MUST(omx_isend(oep2, buf, 8, a2, 0x108, NULL, &o_foreign_send));
	}
	BAD_MUST(omx_isend(oep, buf, 8, oaddr, 0x106, NULL, &o_send));
	BAD_MUST(omx_iconnect(oep, onic, oeid, BAD_KEY, 0x107, NULL, &o_conn));

	for (i = 0; i < NSEGS; i++) {
		osegs[i].ptr = &segbuf[i];
		osegs[i].len = 1;
	}
}

static void setup_mx(void)
{
	mx_request_t s, r;
	mx_segment_t seg = { buf, sizeof(buf) };
	mx_segment_t small = { buf, 8 };
	uint32_t res = 0, i;

	mep = bad_open_mx();
	mep2 = bad_open_mx();
	bad_phase_done();
	BAD_MUST(mx_get_endpoint_addr(mep, &maddr));
	BAD_MUST(mx_decompose_endpoint_addr(maddr, &mnic, &meid));

	BAD_MUST(mx_irecv(mep, &seg, 1, 0x100, MX_MATCH_MASK_NONE, NULL, &r));
	BAD_MUST(mx_isend(mep, &small, 1, maddr, 0x100, NULL, &s));
	m_stale = r;
	bad_wait_mx(mep, &r);
	bad_wait_mx(mep, &s);

	BAD_MUST(mx_irecv(mep, &seg, 1, 0x101, MX_MATCH_MASK_NONE, NULL, &r));
	BAD_MUST(mx_isend(mep, &small, 1, maddr, 0x101, NULL, &s));
	bad_wait_mx(mep, &s);
	m_forgot_done = r;
	BAD_MUST(mx_forget(mep, &r));

	BAD_MUST(mx_irecv(mep, &seg, 1, 0x102, MX_MATCH_MASK_NONE, NULL, &r));
	m_forgot_pending = r;
	BAD_MUST(mx_forget(mep, &r));

	BAD_MUST(mx_irecv(mep, &seg, 1, 0x103, MX_MATCH_MASK_NONE, NULL, &r));
	m_cancelled = r;
	BAD_MUST(mx_cancel(mep, &r, &res));
	BAD_CHECK(res == 1, "mx_cancel of a posted receive gave result %u", res);

	BAD_MUST(mx_irecv(mep, &seg, 1, 0x104, MX_MATCH_MASK_NONE, NULL, &m_recv));
	BAD_MUST(mx_irecv(mep2, &seg, 1, 0x105, MX_MATCH_MASK_NONE, NULL, &m_foreign));
	{
		mx_endpoint_addr_t a2;
		BAD_MUST(mx_get_endpoint_addr(mep2, &a2));
		BAD_MUST(mx_isend(mep2, &small, 1, a2, 0x108, NULL, &m_foreign_send));
	}
	BAD_MUST(mx_isend(mep, &small, 1, maddr, 0x106, NULL, &m_send));
	BAD_MUST(mx_iconnect(mep, mnic, meid, BAD_KEY, 0x107, NULL, &m_conn));

	for (i = 0; i < NSEGS; i++) {
		msegs[i].segment_ptr = &segbuf[i];
		msegs[i].segment_length = 1;
	}
}

static void setup(void)
{
	BAD_MUST(omx_init());
	BAD_MUST(mx_init());
	bad_phase_done();
	{
		uint32_t board;
		uint64_t nic;
		uint8_t missing;
		bad_board_info(&board, &nic, &missing);
	}
	bad_phase_done();
	setup_omx();
	bad_phase_done();
	setup_mx();
}

static void teardown(void)
{
	uint32_t res = 0;

	/* The bad calls must not have disturbed the legal requests. */
	BAD_MUST(omx_cancel(oep, &o_recv, &res));
	BAD_CHECK(res == 1, "the live Open-MX receive could not be cancelled (result %u)", res);
	res = 0;
	BAD_MUST(omx_cancel(oep2, &o_foreign, &res));
	BAD_CHECK(res == 1, "the foreign Open-MX receive could not be cancelled (result %u)", res);
	bad_wait_omx(oep, &o_conn);
	res = 0;
	BAD_MUST(mx_cancel(mep, &m_recv, &res));
	BAD_CHECK(res == 1, "the live MX receive could not be cancelled (result %u)", res);
	res = 0;
	BAD_MUST(mx_cancel(mep2, &m_foreign, &res));
	BAD_CHECK(res == 1, "the foreign MX receive could not be cancelled (result %u)", res);
	bad_wait_mx(mep, &m_conn);

	/* The pending self sends are destroyed with their endpoints. */
	BAD_MUST(omx_close_endpoint(oep));
	BAD_MUST(omx_close_endpoint(oep2));
	BAD_MUST(omx_close_endpoint(octx));
	BAD_MUST(mx_close_endpoint(mep));
	BAD_MUST(mx_close_endpoint(mep2));
	BAD_MUST(omx_finalize());
}

int main(int argc, char **argv)
{
	return bad_main(cases, sizeof(cases) / sizeof(cases[0]), setup, teardown, argc, argv);
}
