/*
 * misc_api.c: the rest of the API surface, MX API by default, Open-MX API
 * with -o.
 *
 * MX (default):
 *   init twice; mx_set_error_handler returns the previous handler;
 *   mx_get_info of every key (board count, 0-terminated NIC ids, counters
 *   count 85 and labels at i*128, product code "N/A (Open-MX)", PIO/copy
 *   send max, net type, line speed...) and its errors; mx_strerror /
 *   mx_strstatus texts; board number / nic id / hostname round trips and
 *   errors; endpoint address contexts (own address, connect address, source
 *   address of a received message all share the partner's context; other
 *   endpoints are independent); decompose_endpoint_addr2 sessions;
 *   disconnect (a pending send completes ENDPOINT_UNREACHABLE) then
 *   reconnect (context reset to NULL, traffic works); forget on pending and
 *   done requests; ibuffered; a 0-byte synchronous send completes only once
 *   matched; mx_set_request_timeout; connect errors (wrong key, unknown
 *   nic) reported once; finalize then NOT_INITIALIZED, then re-init works
 *   and keeps the application's handler.
 * Open-MX (-o):
 *   calls before init -> OMX_NOT_INITIALIZED through a handler installed
 *   before init (get_info BOARD_COUNT: directly); the handler survives
 *   init; omx_get_info of every key and its errors; omx_strerror texts;
 *   endpoint error handlers (set/return previous, used instead of the
 *   global one); omx_context; decompose with session; finalize + re-init.
 */
#include <myriexpress.h>
#include <mx_extensions.h>
#include <open-mx.h>

#include <unistd.h>

static int use_omx;
static const char *code_name(int c)
{
	return use_omx ? omx_strerror((omx_return_t)c) : mx_strerror((mx_return_t)c);
}
#define CHECK_CODE_NAME(c) code_name(c)
#include "check.h"

#define KEY 0x12345678u
#define WAIT_MS 30000u


static int ep_hcalls;
static omx_return_t omx_ep_counting(char *msg, omx_return_t code)
{
	(void)msg;
	ep_hcalls++;
	return code;
}

/* EXPECT_HANDLED: the call returns code and the handler saw it once */
#define EXPECT_HANDLED(call, code)                                                       \
	do {                                                                             \
		handler_calls = 0;                                                              \
		CHECK_RC(call, code);                                                    \
		CHECK_MSG(handler_calls == 1 && handler_last_code == (int)(code),                           \
			  "error handler: %d calls, last code %d, want one call with %d", \
			  handler_calls, handler_last_code, (int)(code));                                   \
	} while (0)

/* EXPECT_DIRECT: the call returns code without calling the handler */
#define EXPECT_DIRECT(call, code)                                                        \
	do {                                                                             \
		handler_calls = 0;                                                              \
		CHECK_RC(call, code);                                                    \
		CHECK_MSG(handler_calls == 0, "error handler called %d times (code %d), want 0", \
			  handler_calls, handler_last_code);                                                \
	} while (0)

/* ------------------------------------------------------------------ MX */

struct ep {
	mx_endpoint_t ep;
	mx_endpoint_addr_t addr;
	uint64_t nic;
	uint32_t eid;
	uint32_t session;
};

static void mx_open(struct ep *e)
{
	uint64_t nic;
	uint32_t eid;

	CHECK_OK(mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &e->ep));
	CHECK_OK(mx_get_endpoint_addr(e->ep, &e->addr));
	CHECK_OK(mx_decompose_endpoint_addr(e->addr, &e->nic, &e->eid));
	CHECK_OK(mx_decompose_endpoint_addr2(e->addr, &nic, &eid, &e->session));
	CHECK_EQ(nic, e->nic);
	CHECK_EQ(eid, e->eid);
}

static mx_segment_t seg(void *p, size_t l)
{
	mx_segment_t s;
	s.segment_ptr = p;
	s.segment_length = (uint32_t)l;
	return s;
}

static void mx_wait_ok(mx_endpoint_t ep, mx_request_t *req, mx_status_t *st, const char *what)
{
	uint32_t result = 0;

	CHECK_OK(mx_wait(ep, req, WAIT_MS, st, &result));
	if (!result)
		FAILF("mx_wait(%s) did not complete", what);
}

static void mx_info(void)
{
	uint32_t count = 0, v;
	uint64_t ids[40], nic0;
	char *labels;
	char str[MX_MAX_STR_LEN];
	uint8_t board = 0;
	uint32_t values[85];

	CHECK_OK(mx_board_number_to_nic_id(0, &nic0));
	CHECK_OK(mx_get_info(NULL, MX_NIC_COUNT, NULL, 0, &count, sizeof(count)));
	CHECK_MSG(count >= 1 && count <= 32, "MX_NIC_COUNT = %u", count);

	/* NIC ids: count entries then a 0; board 0's nic may itself be 0 (loopback) */
	memset(ids, 0xff, sizeof(ids));
	CHECK_OK(mx_get_info(NULL, MX_NIC_IDS, NULL, 0, ids, (uint32_t)((count + 1) * sizeof(uint64_t))));
	CHECK_EQ(ids[count], 0);
	CHECK_EQ(ids[0], nic0);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t b = 999;
		uint64_t back = 1;
		CHECK_OK(mx_nic_id_to_board_number(ids[i], &b));
		CHECK_OK(mx_board_number_to_nic_id(b, &back));
		CHECK_EQ(back, ids[i]);
	}
	CHECK_EQ(ids[count + 1], ~(uint64_t)0); /* nothing written past the terminator */
	EXPECT_HANDLED(mx_get_info(NULL, MX_NIC_IDS, NULL, 0, ids, (uint32_t)(count * sizeof(uint64_t))),
		       MX_BAD_INFO_LENGTH);

	CHECK_OK(mx_get_info(NULL, MX_MAX_NATIVE_ENDPOINTS, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 32);
	CHECK_OK(mx_get_info(NULL, MX_NATIVE_REQUESTS, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 0xffffffffu);
	CHECK_OK(mx_get_info(NULL, MX_COUNTERS_COUNT, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 85);

	labels = calloc(85, 128);
	CHECK(labels != NULL);
	CHECK_OK(mx_get_info(NULL, MX_COUNTERS_LABELS, NULL, 0, labels, 85 * 128));
	CHECK_STR_EQ(labels + 0 * 128, "Send Tiny");
	CHECK_STR_EQ(labels + 16 * 128, "Recv Tiny");
	CHECK_STR_EQ(labels + 72 * 128, "Shared Tiny");
	CHECK_STR_EQ(labels + 84 * 128, "DMA Shared Large only Partial");
	EXPECT_HANDLED(mx_get_info(NULL, MX_COUNTERS_LABELS, NULL, 0, labels, 85 * 128 - 1), MX_BAD_INFO_LENGTH);
	free(labels);

	CHECK_OK(mx_get_info(NULL, MX_COUNTERS_VALUES, &board, sizeof(board), values, sizeof(values)));

	memset(str, 'x', sizeof(str));
	CHECK_OK(mx_get_info(NULL, MX_PRODUCT_CODE, NULL, 0, str, sizeof(str)));
	CHECK_STR_EQ(str, "N/A (Open-MX)");
	CHECK_OK(mx_get_info(NULL, MX_PART_NUMBER, NULL, 0, str, sizeof(str)));
	CHECK_STR_EQ(str, "N/A (Open-MX)");
	CHECK_OK(mx_get_info(NULL, MX_SERIAL_NUMBER, NULL, 0, str, sizeof(str)));
	CHECK_STR_EQ(str, "N/A (Open-MX)");
	memset(str, 'x', sizeof(str));
	CHECK_OK(mx_get_info(NULL, MX_PRODUCT_CODE, NULL, 0, str, 5));
	CHECK_STR_EQ(str, "N/A ");
	CHECK_EQ((unsigned char)str[5], 'x');

	CHECK_OK(mx_get_info(NULL, MX_PORT_COUNT, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 1);
	CHECK_OK(mx_get_info(NULL, MX_PIO_SEND_MAX, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 128);
	CHECK_OK(mx_get_info(NULL, MX_COPY_SEND_MAX, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 32768);
	CHECK_OK(mx_get_info(NULL, MX_NUMA_NODE, &board, sizeof(board), &v, sizeof(v)));
	CHECK_OK(mx_get_info(NULL, MX_NET_TYPE, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, MX_NET_ETHER);
	CHECK_OK(mx_get_info(NULL, MX_LINE_SPEED, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, MX_SPEED_OPEN_MX);
	EXPECT_HANDLED(mx_get_info(NULL, (mx_get_info_key_t)99, NULL, 0, &v, sizeof(v)), MX_BAD_INFO_KEY);
	printf("mx_get_info: ok (%u boards, board 0 nic 0x%012" PRIx64 ")\n", count, nic0);
}

static void mx_strings(void)
{
	CHECK_STR_EQ(mx_strerror(MX_SUCCESS), "Success");
	CHECK_STR_EQ(mx_strerror(MX_BAD_ENDPOINT), "Bad Endpoint");
	CHECK_STR_EQ(mx_strerror(MX_BAD_REQUEST), "This Function cannot be applied to this Request");
	CHECK_STR_EQ(mx_strerror(MX_CONNECTION_FAILED), "Remote Endpoint is Closed");
	CHECK_STR_EQ(mx_strerror(MX_BAD_CONNECTION_KEY), "Connection Key to Remote Endpoint is Invalid");
	CHECK_STR_EQ(mx_strerror(MX_NOT_INITIALIZED), "Not initialized");
	CHECK_STR_EQ(mx_strerror(MX_BAD_SEG_CNT), "Multiple Segments Count Invalid");
	CHECK_STR_EQ(mx_strerror(MX_CLOSE_IN_HANDLER), "Operation not supported in the handler");
	CHECK_STR_EQ(mx_strstatus(MX_STATUS_SUCCESS), "Success");
	CHECK_STR_EQ(mx_strstatus(MX_STATUS_TRUNCATED), "Message Truncated");
	CHECK_STR_EQ(mx_strstatus(MX_STATUS_CANCELLED), "Cancelled");
	CHECK_STR_EQ(mx_strstatus(MX_STATUS_ENDPOINT_CLOSED), "Remote Endpoint is Closed");
	CHECK_STR_EQ(mx_strstatus(MX_STATUS_ENDPOINT_UNREACHABLE), "Remote Endpoint Unreachable");
	CHECK_STR_EQ(mx_strstatus(MX_STATUS_BAD_KEY), "Connection Key to Remote Endpoint is Invalid");
	printf("mx_strerror / mx_strstatus: ok\n");
}

static void mx_names(void)
{
	uint64_t nic0, nic;
	uint32_t b;
	char name[MX_MAX_HOSTNAME_LEN];

	CHECK_OK(mx_board_number_to_nic_id(0, &nic0));
	b = 99;
	CHECK_OK(mx_nic_id_to_board_number(nic0, &b));
	CHECK_EQ(b, 0);
	EXPECT_HANDLED(mx_board_number_to_nic_id(200, &nic), MX_BOARD_UNKNOWN);
	EXPECT_HANDLED(mx_nic_id_to_board_number(0x0000fedcba987655ull, &b), MX_BOARD_UNKNOWN);

	memset(name, 0, sizeof(name));
	CHECK_OK(mx_nic_id_to_hostname(nic0, name));
	CHECK_MSG(name[0] != '\0', "board 0 has an empty host name");
	CHECK(strlen(name) < MX_MAX_HOSTNAME_LEN);
	nic = 1;
	CHECK_OK(mx_hostname_to_nic_id(name, &nic));
	CHECK_EQ(nic, nic0);
	{
		char bad[] = "no-such-host.invalid:7";
		EXPECT_HANDLED(mx_hostname_to_nic_id(bad, &nic), MX_HOST_NOT_FOUND);
	}
	EXPECT_HANDLED(mx_nic_id_to_hostname(0x0000fedcba987655ull, name), MX_HOST_NOT_FOUND);
	printf("board/nic/hostname conversions: ok (board 0 is '%s')\n", name);
}

static void mx_endpoints(void)
{
	struct ep a, b;
	mx_endpoint_addr_t ab, ba, ab2, tmp;
	mx_request_t sreq, rreq;
	mx_status_t st;
	mx_segment_t s;
	uint32_t result, session;
	uint64_t nic;
	uint32_t eid;
	void *ctx;
	static char own_ctx, ab_ctx, ba_ctx, rctx, sctx;
	char buf[64], rbuf[64];

	mx_open(&a);
	mx_open(&b);
	CHECK_NE(a.eid, b.eid);

	/* own address context */
	ctx = &ctx;
	CHECK_OK(mx_get_endpoint_addr_context(a.addr, &ctx));
	CHECK_PTR_EQ(ctx, NULL);
	CHECK_OK(mx_set_endpoint_addr_context(a.addr, &own_ctx));
	CHECK_OK(mx_get_endpoint_addr(a.ep, &tmp));
	CHECK_OK(mx_get_endpoint_addr_context(tmp, &ctx));
	CHECK_PTR_EQ(ctx, &own_ctx);
	ctx = &ctx;
	CHECK_OK(mx_get_endpoint_addr_context(b.addr, &ctx));
	CHECK_PTR_EQ(ctx, NULL);

	/* connect addresses: fresh partner, NULL context, session of the peer */
	CHECK_OK(mx_connect(a.ep, b.nic, b.eid, KEY, 10000, &ab));
	CHECK_OK(mx_connect(b.ep, a.nic, a.eid, KEY, 10000, &ba));
	CHECK_OK(mx_decompose_endpoint_addr2(ab, &nic, &eid, &session));
	CHECK_EQ(nic, b.nic);
	CHECK_EQ(eid, b.eid);
	CHECK_EQ(session, b.session);
	CHECK_OK(mx_decompose_endpoint_addr2(ba, &nic, &eid, &session));
	CHECK_EQ(eid, a.eid);
	CHECK_EQ(session, a.session);
	ctx = &ctx;
	CHECK_OK(mx_get_endpoint_addr_context(ab, &ctx));
	CHECK_PTR_EQ(ctx, NULL);
	CHECK_OK(mx_set_endpoint_addr_context(ab, &ab_ctx));
	ctx = &ctx;
	CHECK_OK(mx_get_endpoint_addr_context(ba, &ctx));
	CHECK_PTR_EQ(ctx, NULL);
	CHECK_OK(mx_set_endpoint_addr_context(ba, &ba_ctx));
	/* connecting again gives an address of the same partner */
	CHECK_OK(mx_connect(a.ep, b.nic, b.eid, KEY, 10000, &tmp));
	CHECK_OK(mx_get_endpoint_addr_context(tmp, &ctx));
	CHECK_PTR_EQ(ctx, &ab_ctx);

	/* a message from B: its source address shares A's context for B */
	s = seg(rbuf, sizeof(rbuf));
	CHECK_OK(mx_irecv(a.ep, &s, 1, 0x77, MX_MATCH_MASK_NONE, &rctx, &rreq));
	CHECK_OK(mx_context(&rreq, &ctx));
	CHECK_PTR_EQ(ctx, &rctx);
	s = seg(NULL, 0);
	CHECK_OK(mx_issend(b.ep, &s, 1, ba, 0x77, &sctx, &sreq));
	mx_wait_ok(a.ep, &rreq, &st, "receive from B");
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	CHECK_PTR_EQ(st.context, &rctx);
	CHECK_OK(mx_decompose_endpoint_addr(st.source, &nic, &eid));
	CHECK_EQ(eid, b.eid);
	CHECK_OK(mx_get_endpoint_addr_context(st.source, &ctx));
	CHECK_PTR_EQ(ctx, &ab_ctx);
	mx_wait_ok(b.ep, &sreq, &st, "0-byte issend to A");
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	CHECK_PTR_EQ(st.context, &sctx);
	CHECK_OK(mx_get_endpoint_addr_context(st.source, &ctx));
	CHECK_PTR_EQ(ctx, &ba_ctx);
	/* own context untouched by all this */
	CHECK_OK(mx_get_endpoint_addr_context(a.addr, &ctx));
	CHECK_PTR_EQ(ctx, &own_ctx);
	printf("endpoint address contexts: ok\n");

	/* a 0-byte synchronous send completes only once matched */
	s = seg(NULL, 0);
	CHECK_OK(mx_issend(a.ep, &s, 1, ab, 0x88, NULL, &sreq));
	for (int i = 0; i < 5; i++) {
		result = 7;
		CHECK_OK(mx_test(a.ep, &sreq, &st, &result));
		CHECK_MSG(result == 0, "0-byte issend completed before being matched");
		sleep_ms(10);
	}
	result = 7;
	CHECK_OK(mx_ibuffered(a.ep, &sreq, &result));
	CHECK_EQ(result, 0); /* synchronous sends are never buffered */
	s = seg(NULL, 0);
	CHECK_OK(mx_irecv(b.ep, &s, 1, 0x88, MX_MATCH_MASK_NONE, NULL, &rreq));
	mx_wait_ok(b.ep, &rreq, &st, "receive of the 0-byte issend");
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	mx_wait_ok(a.ep, &sreq, &st, "0-byte issend");
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	CHECK_EQ(st.msg_length, 0);
	CHECK_EQ(st.xfer_length, 0);
	printf("0-byte issend: ok\n");

	/* forget a pending receive: it still consumes (and fills) */
	s = seg(rbuf, sizeof(rbuf));
	memset(rbuf, 0, sizeof(rbuf));
	CHECK_OK(mx_irecv(a.ep, &s, 1, 0x51, MX_MATCH_MASK_NONE, &rctx, &rreq));
	CHECK_OK(mx_forget(a.ep, &rreq));
	CHECK_PTR_EQ(rreq, NULL);
	fill_pattern(buf, sizeof(buf), 51);
	s = seg(buf, sizeof(buf));
	CHECK_OK(mx_isend(a.ep, &s, 1, a.addr, 0x51, &sctx, &sreq));
	mx_wait_ok(a.ep, &sreq, &st, "send to a forgotten receive");
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	{
		double end = now_ms() + WAIT_MS;
		while (pattern_mismatch(rbuf, sizeof(rbuf), 51) >= 0) {
			CHECK_MSG(now_ms() < end, "forgotten receive never filled its buffer");
			CHECK_OK(mx_progress(a.ep));
		}
	}
	result = 7;
	CHECK_OK(mx_test_any(a.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);

	/* forget a done send: only the receive shows up */
	s = seg(rbuf, sizeof(rbuf));
	CHECK_OK(mx_irecv(a.ep, &s, 1, 0x52, MX_MATCH_MASK_NONE, &rctx, &rreq));
	s = seg(buf, sizeof(buf));
	CHECK_OK(mx_isend(a.ep, &s, 1, a.addr, 0x52, &sctx, &sreq));
	{
		double end = now_ms() + WAIT_MS;
		mx_request_t peeked = NULL;
		result = 0;
		while (!result) {
			CHECK_MSG(now_ms() < end, "self send never completed");
			CHECK_OK(mx_ipeek(a.ep, &peeked, &result));
		}
	}
	CHECK_OK(mx_forget(a.ep, &sreq));
	CHECK_PTR_EQ(sreq, NULL);
	result = 0;
	CHECK_OK(mx_wait_any(a.ep, WAIT_MS, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 0x52);
	CHECK_PTR_EQ(st.context, &rctx);
	result = 7;
	CHECK_OK(mx_test_any(a.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);
	printf("forget: ok\n");

	/* ibuffered: a self send is buffered; a receive is not a send */
	s = seg(buf, sizeof(buf));
	CHECK_OK(mx_isend(a.ep, &s, 1, a.addr, 0x53, NULL, &sreq));
	result = 7;
	CHECK_OK(mx_ibuffered(a.ep, &sreq, &result));
	CHECK_EQ(result, 1);
	s = seg(rbuf, sizeof(rbuf));
	CHECK_OK(mx_irecv(a.ep, &s, 1, 0x54, MX_MATCH_MASK_NONE, NULL, &rreq));
	result = 7;
	EXPECT_DIRECT(mx_ibuffered(a.ep, &rreq, &result), MX_BAD_REQUEST);
	CHECK_EQ(result, 0);
	/* request timeouts are accepted */
	CHECK_OK(mx_set_request_timeout(a.ep, NULL, 1000));
	CHECK_OK(mx_set_request_timeout(a.ep, rreq, 5000));
	CHECK_OK(mx_set_request_timeout(a.ep, NULL, 0xffffffffu));
	result = 0;
	CHECK_OK(mx_cancel(a.ep, &rreq, &result));
	CHECK_EQ(result, 1);
	s = seg(rbuf, sizeof(rbuf));
	CHECK_OK(mx_irecv(a.ep, &s, 1, 0x53, MX_MATCH_MASK_NONE, NULL, &rreq));
	mx_wait_ok(a.ep, &rreq, &st, "receive of the buffered send");
	mx_wait_ok(a.ep, &sreq, &st, "buffered send");
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	printf("ibuffered, set_request_timeout: ok\n");

	/* connect errors are reported once */
	EXPECT_HANDLED(mx_connect(a.ep, b.nic, b.eid, KEY + 1, 5000, &tmp), MX_BAD_CONNECTION_KEY);
	EXPECT_HANDLED(mx_connect(a.ep, 0x0000fedcba987655ull, 0, KEY, 1000, &tmp), MX_NIC_NOT_FOUND);
	/* iconnect with a wrong key completes with MX_STATUS_BAD_KEY */
	handler_calls = 0;
	CHECK_OK(mx_iconnect(a.ep, b.nic, b.eid, KEY + 1, 0x99, &sctx, &sreq));
	mx_wait_ok(a.ep, &sreq, &st, "iconnect with a wrong key");
	CHECK_EQ(st.code, MX_STATUS_BAD_KEY);
	CHECK_EQ(st.match_info, 0x99);
	CHECK_PTR_EQ(st.context, &sctx);
	CHECK_EQ(handler_calls, 1);
	printf("connect errors: ok\n");

	/* disconnect: a pending send to B fails; the context is dropped */
	s = seg(NULL, 0);
	CHECK_OK(mx_issend(a.ep, &s, 1, ab, 0xdead, NULL, &sreq));
	handler_calls = 0;
	CHECK_OK(mx_disconnect(a.ep, ab));
	mx_wait_ok(a.ep, &sreq, &st, "send pending at disconnect");
	CHECK_EQ(st.code, MX_STATUS_ENDPOINT_UNREACHABLE);
	CHECK_MSG(handler_calls == 1, "the failed send went %d times through the error handler, want 1", handler_calls);
	CHECK_OK(mx_connect(a.ep, b.nic, b.eid, KEY, 10000, &ab2));
	ctx = &ctx;
	CHECK_OK(mx_get_endpoint_addr_context(ab2, &ctx));
	CHECK_PTR_EQ(ctx, NULL);
	CHECK_OK(mx_decompose_endpoint_addr2(ab2, &nic, &eid, &session));
	CHECK_EQ(eid, b.eid);
	CHECK_EQ(session, b.session);
	/* traffic A -> B works again */
	fill_pattern(buf, sizeof(buf), 4242);
	memset(rbuf, 0, sizeof(rbuf));
	s = seg(rbuf, sizeof(rbuf));
	CHECK_OK(mx_irecv(b.ep, &s, 1, 0x4242, MX_MATCH_MASK_NONE, NULL, &rreq));
	s = seg(buf, sizeof(buf));
	CHECK_OK(mx_isend(a.ep, &s, 1, ab2, 0x4242, NULL, &sreq));
	mx_wait_ok(b.ep, &rreq, &st, "receive after reconnect");
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	CHECK_EQ(st.xfer_length, sizeof(buf));
	CHECK_PATTERN(rbuf, sizeof(rbuf), 4242);
	mx_wait_ok(a.ep, &sreq, &st, "send after reconnect");
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	printf("disconnect and reconnect: ok\n");

	CHECK_OK(mx_close_endpoint(b.ep));
	CHECK_OK(mx_close_endpoint(a.ep));
}

static void mx_main(void)
{
	mx_error_handler_t prev;
	mx_endpoint_t ep;
	uint64_t nic;

	CHECK_OK(mx_init());
	CHECK_OK(mx_init()); /* double init: success, nothing reset */
	prev = mx_set_error_handler(MX_ERRORS_RETURN);
	/* spec 6.1: the previous global handler as an MX pointer */
	CHECK_SOFT(prev == MX_ERRORS_ARE_FATAL, "first mx_set_error_handler returned %p, want MX_ERRORS_ARE_FATAL (%p)",
		   (void *)prev, (void *)MX_ERRORS_ARE_FATAL);
	prev = mx_set_error_handler(mx_counting_handler);
	CHECK_PTR_EQ(prev, MX_ERRORS_RETURN);
	prev = mx_set_error_handler(mx_counting_handler);
	CHECK_PTR_EQ(prev, mx_counting_handler);

	mx_info();
	mx_strings();
	mx_names();
	mx_endpoints();

	/* finalize, then the library is not initialized; re-init works */
	CHECK_OK(mx_finalize());
	EXPECT_HANDLED(mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &ep), MX_NOT_INITIALIZED);
	EXPECT_HANDLED(mx_board_number_to_nic_id(0, &nic), MX_NOT_INITIALIZED);
	CHECK_OK(mx_init());
	/* the application's handler survived finalize and init */
	EXPECT_HANDLED(mx_board_number_to_nic_id(200, &nic), MX_BOARD_UNKNOWN);
	CHECK_OK(mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &ep));
	CHECK_OK(mx_close_endpoint(ep));
	CHECK_OK(mx_finalize());
	printf("finalize / re-init: ok\n");
}

/* -------------------------------------------------------------- Open-MX */

static void omx_info(omx_endpoint_t ep, uint64_t nic0)
{
	uint32_t v, count = 0;
	uint64_t ids[40];
	char name[OMX_HOSTNAMELEN_MAX], name2[OMX_HOSTNAMELEN_MAX], iface[64], label[128];
	uint8_t board = 0, bad_board = 99, idx;
	uint32_t values[86];

	CHECK_OK(omx_get_info(NULL, OMX_INFO_BOARD_MAX, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 32);
	CHECK_OK(omx_get_info(NULL, OMX_INFO_ENDPOINT_MAX, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 32);
	CHECK_OK(omx_get_info(NULL, OMX_INFO_BOARD_COUNT, NULL, 0, &count, sizeof(count)));
	CHECK_MSG(count >= 1 && count <= 32, "BOARD_COUNT = %u", count);
	memset(ids, 0xff, sizeof(ids));
	CHECK_OK(omx_get_info(NULL, OMX_INFO_BOARD_IDS, NULL, 0, ids, (uint32_t)((count + 1) * sizeof(uint64_t))));
	CHECK_EQ(ids[0], nic0);
	CHECK_EQ(ids[count], 0);
	CHECK_EQ(ids[count + 1], ~(uint64_t)0);
	EXPECT_HANDLED(omx_get_info(NULL, OMX_INFO_BOARD_IDS, NULL, 0, ids, (uint32_t)(count * sizeof(uint64_t))),
		       OMX_BAD_INFO_LENGTH);

	memset(name, 0, sizeof(name));
	CHECK_OK(omx_get_info(NULL, OMX_INFO_BOARD_HOSTNAME, &board, sizeof(board), name, sizeof(name)));
	CHECK_MSG(name[0] != '\0', "board 0 has an empty host name");
	CHECK_OK(omx_nic_id_to_hostname(nic0, name2));
	CHECK_STR_EQ(name, name2);
	memset(name2, 0, sizeof(name2));
	CHECK_OK(omx_get_info(ep, OMX_INFO_BOARD_HOSTNAME, NULL, 0, name2, sizeof(name2)));
	CHECK_STR_EQ(name2, name);
	/* truncated to out_len - 1 and terminated */
	memset(name2, 'x', sizeof(name2));
	CHECK_OK(omx_get_info(NULL, OMX_INFO_BOARD_HOSTNAME, &board, sizeof(board), name2, 4));
	CHECK_EQ(name2[3], '\0');
	CHECK(strncmp(name2, name, 3) == 0);
	{
		uint64_t nic = 1;
		CHECK_OK(omx_hostname_to_nic_id(name, &nic));
		CHECK_EQ(nic, nic0);
	}
	memset(iface, 0, sizeof(iface));
	CHECK_OK(omx_get_info(NULL, OMX_INFO_BOARD_IFACENAME, &board, sizeof(board), iface, sizeof(iface)));
	CHECK_MSG(iface[0] != '\0', "board 0 has an empty interface name");
	CHECK_OK(omx_get_info(NULL, OMX_INFO_BOARD_NUMA_NODE, &board, sizeof(board), &v, sizeof(v)));
	EXPECT_HANDLED(omx_get_info(NULL, OMX_INFO_BOARD_HOSTNAME, &bad_board, sizeof(bad_board), name2,
				    sizeof(name2)), OMX_BOARD_NOT_FOUND);
	EXPECT_HANDLED(omx_get_info(NULL, OMX_INFO_BOARD_HOSTNAME, NULL, 1, name2, sizeof(name2)),
		       OMX_BAD_INFO_ADDRESS);
	EXPECT_HANDLED(omx_get_info(NULL, OMX_INFO_BOARD_HOSTNAME, &board, 0, name2, sizeof(name2)),
		       OMX_BAD_INFO_LENGTH);

	CHECK_OK(omx_get_info(NULL, OMX_INFO_COUNTER_MAX, NULL, 0, &v, sizeof(v)));
	CHECK_EQ(v, 85);
	idx = 0;
	CHECK_OK(omx_get_info(NULL, OMX_INFO_COUNTER_LABEL, &idx, sizeof(idx), label, sizeof(label)));
	CHECK_STR_EQ(label, "Send Tiny");
	idx = 84;
	CHECK_OK(omx_get_info(NULL, OMX_INFO_COUNTER_LABEL, &idx, sizeof(idx), label, sizeof(label)));
	CHECK_STR_EQ(label, "DMA Shared Large only Partial");
	idx = 200;
	CHECK_OK(omx_get_info(NULL, OMX_INFO_COUNTER_LABEL, &idx, sizeof(idx), label, sizeof(label)));
	CHECK_STR_EQ(label, "** Unknown **");
	idx = 0;
	EXPECT_HANDLED(omx_get_info(NULL, OMX_INFO_COUNTER_LABEL, &idx, sizeof(idx), label, 5), OMX_BAD_INFO_LENGTH);
	CHECK_OK(omx_get_info(NULL, OMX_INFO_COUNTER_VALUES, &board, sizeof(board), values, 340));
	CHECK_OK(omx_get_info(ep, OMX_INFO_COUNTER_VALUES, NULL, 0, values, 340));
	EXPECT_HANDLED(omx_get_info(NULL, OMX_INFO_COUNTER_VALUES, &board, sizeof(board), values, 339),
		       OMX_BAD_INFO_LENGTH);

	EXPECT_HANDLED(omx_get_info(NULL, OMX_INFO_BOARD_COUNT, NULL, 0, NULL, 4), OMX_BAD_INFO_ADDRESS);
	EXPECT_HANDLED(omx_get_info(NULL, OMX_INFO_BOARD_COUNT, NULL, 0, &v, 2), OMX_BAD_INFO_LENGTH);
	EXPECT_HANDLED(omx_get_info(NULL, (omx_info_key_t)77, NULL, 0, &v, sizeof(v)), OMX_BAD_INFO_KEY);
	printf("omx_get_info: ok (board 0 '%s' iface '%s')\n", name, iface);
}

static void omx_strings(void)
{
	CHECK_STR_EQ(omx_strerror(OMX_SUCCESS), "Success");
	CHECK_STR_EQ(omx_strerror(OMX_BAD_ENDPOINT), "Bad Endpoint");
	CHECK_STR_EQ(omx_strerror(OMX_BAD_MATCH_MASK), "Bad match mask.");
	CHECK_STR_EQ(omx_strerror(OMX_BOARD_NOT_FOUND), "Board Not Found");
	CHECK_STR_EQ(omx_strerror(OMX_MESSAGE_TRUNCATED), "Message Truncated");
	CHECK_STR_EQ(omx_strerror(OMX_CANCELLED), "Cancelled");
	CHECK_STR_EQ(omx_strerror(OMX_REMOTE_ENDPOINT_CLOSED), "Remote Endpoint is Closed");
	CHECK_STR_EQ(omx_strerror(OMX_NO_DRIVER), "Unusable device file (driver loaded?)");
	CHECK_STR_EQ(omx_strerror(OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK),
		     "Matching info does not respect context id mask");
	CHECK_STR_EQ(omx_strerror(OMX_RETURN_CODE_MAX), "Maximum return code");
	CHECK_STR_EQ(omx_strerror((omx_return_t)1234), "Unknown Return Code");
	printf("omx_strerror: ok\n");
}

static void omx_main(void)
{
	omx_error_handler_t prev;
	omx_endpoint_t ep;
	omx_endpoint_addr_t addr;
	omx_request_t req;
	uint64_t nic, nic0;
	uint32_t eid, session, v, result;
	void *ctx;
	static char rctx;
	char buf[8];

	/* before init: the handler can be installed, calls report NOT_INITIALIZED */
	omx_set_error_handler(NULL, counting_handler);
	EXPECT_HANDLED(omx_board_number_to_nic_id(0, &nic), OMX_NOT_INITIALIZED);
	EXPECT_HANDLED(omx_open_endpoint(0, OMX_ANY_ENDPOINT, KEY, NULL, 0, &ep), OMX_NOT_INITIALIZED);
	{
		char h[] = "localhost";
		EXPECT_HANDLED(omx_hostname_to_nic_id(h, &nic), OMX_NOT_INITIALIZED);
	}
	/* spec 5.27: BOARD_COUNT before init returns NOT_INITIALIZED directly */
	handler_calls = 0;
	CHECK_RC(omx_get_info(NULL, OMX_INFO_BOARD_COUNT, NULL, 0, &v, sizeof(v)), OMX_NOT_INITIALIZED);
	CHECK_SOFT(handler_calls == 0, "omx_get_info(BOARD_COUNT) before init called the error handler %d times, want 0",
		   handler_calls);

	CHECK_OK(omx_init());
	CHECK_OK(omx_init());
	/* the handler installed before init is kept */
	EXPECT_HANDLED(omx_board_number_to_nic_id(200, &nic), OMX_BOARD_NOT_FOUND);
	prev = omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	CHECK_PTR_EQ(prev, counting_handler);
	prev = omx_set_error_handler(NULL, counting_handler);
	CHECK_PTR_EQ(prev, OMX_ERRORS_RETURN);

	CHECK_OK(omx_board_number_to_nic_id(0, &nic0));
	CHECK_OK(omx_open_endpoint(0, OMX_ANY_ENDPOINT, KEY, NULL, 0, &ep));
	omx_info(ep, nic0);
	omx_strings();

	/* endpoint handler: replaces the global one for this endpoint */
	prev = omx_set_error_handler(ep, omx_ep_counting);
	CHECK_PTR_EQ(prev, NULL);
	prev = omx_set_error_handler(ep, omx_ep_counting);
	CHECK_PTR_EQ(prev, omx_ep_counting);
	handler_calls = ep_hcalls = 0;
	CHECK_RC(omx_irecv(ep, buf, sizeof(buf), 0x3, 0x1, NULL, &req), OMX_BAD_MATCH_MASK);
	CHECK_EQ(ep_hcalls, 1);
	CHECK_EQ(handler_calls, 0);
	prev = omx_set_error_handler(ep, NULL);
	CHECK_PTR_EQ(prev, omx_ep_counting);
	EXPECT_HANDLED(omx_irecv(ep, buf, sizeof(buf), 0x3, 0x1, NULL, &req), OMX_BAD_MATCH_MASK);
	CHECK_EQ(ep_hcalls, 1);

	/* decompose with session, context of a pending request */
	CHECK_OK(omx_get_endpoint_addr(ep, &addr));
	CHECK_OK(omx_decompose_endpoint_addr_with_session(addr, &nic, &eid, &session));
	CHECK_EQ(nic, nic0);
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), 0x5, ~(uint64_t)0, &rctx, &req));
	ctx = NULL;
	CHECK_OK(omx_context(&req, &ctx));
	CHECK_PTR_EQ(ctx, &rctx);
	CHECK_OK(omx_progress(ep));
	result = 0;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_EQ(result, 1);
	CHECK_OK(omx_close_endpoint(ep));

	CHECK_OK(omx_finalize());
	EXPECT_HANDLED(omx_open_endpoint(0, OMX_ANY_ENDPOINT, KEY, NULL, 0, &ep), OMX_NOT_INITIALIZED);
	CHECK_OK(omx_init());
	CHECK_OK(omx_open_endpoint(0, OMX_ANY_ENDPOINT, KEY, NULL, 0, &ep));
	CHECK_OK(omx_close_endpoint(ep));
	CHECK_OK(omx_finalize());
	CHECK_OK(omx_finalize()); /* finalize always succeeds */
	printf("Open-MX init/finalize, handlers: ok\n");
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "o")) != -1) {
		if (c == 'o')
			use_omx = 1;
		else {
			fprintf(stderr, "usage: %s [-o]\n", argv[0]);
			return 2;
		}
	}
	if (use_omx)
		omx_main();
	else
		mx_main();
	CHECK_SOFT_DONE();
	printf("misc_api (%s): PASS\n", use_omx ? "Open-MX" : "MX");
	return 0;
}
