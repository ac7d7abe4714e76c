/*
 * cancel.c: cancel and cancel_notest (the omx_cancel_test scenario adapted
 * to one process), through the Open-MX API, or the MX API with -m.
 *
 * Open-MX (default):
 *   - unmatched irecv / irecvv with 2 empty segments + omx_cancel -> result
 *     1, the handle becomes NULL, nothing reaches the done queue;
 *   - the same with omx_cancel_notest -> result 1, handle unchanged; then
 *     test_any(0, 0) twice returns both, oldest first, with OMX_CANCELLED,
 *     the posted match_info and context, lengths 0; a third finds nothing;
 *   - cancel_notest then omx_wait on the handle -> OMX_CANCELLED;
 *   - cancel of a receive that already matched (done) -> result 0, and the
 *     request then completes normally with its data;
 *   - cancel of a pending send -> OMX_BAD_REQUEST through the error handler
 *     (a counting handler that returns the code), the send is unaffected;
 *   - iconnect to the endpoint itself, or to another endpoint of this
 *     process, completes at once (no network round trip is needed inside a
 *     process), so cancelling it returns result 0 and the request completes
 *     with success and the connected address.
 * MX (-m): mx_cancel of an unmatched receive -> 1; of a done receive -> 0;
 * of a send -> MX_BAD_REQUEST (not MX_CANCEL_NOT_SUPPORTED) through the
 * MX handler.
 */
#include <myriexpress.h>
#include <mx_extensions.h>
#include <open-mx.h>

#include <unistd.h>

#define CHECK_CODE_NAME(c) omx_strerror((omx_return_t)(c))
#include "check.h"

#define KEY 0x12345678u
#define WAIT_MS 30000u


static void nothing_done(omx_endpoint_t ep)
{
	omx_status_t st;
	uint32_t result = 7;

	CHECK_OK(omx_test_any(ep, 0, 0, &st, &result));
	CHECK_MSG(result == 0, "unexpected completion in the done queue: code %d match 0x%" PRIx64, st.code,
		  st.match_info);
}

static void check_cancelled(const omx_status_t *st, uint64_t match, void *ctx)
{
	CHECK_EQ(st->code, OMX_CANCELLED);
	CHECK_EQ(st->match_info, match);
	CHECK_PTR_EQ(st->context, ctx);
	CHECK_EQ(st->msg_length, 0);
	CHECK_EQ(st->xfer_length, 0);
}

static void omx_part(void)
{
	omx_endpoint_t ep, ep2;
	omx_endpoint_addr_t self, addr;
	uint64_t nic, nic2;
	uint32_t eid, eid2;
	omx_request_t req, req2;
	omx_seg_t empty[2] = { { NULL, 0 }, { NULL, 0 } };
	omx_status_t st;
	uint32_t result;
	char buf[64], sbuf[64];
	static char ctx1, ctx2, ctx3;

	CHECK_OK(omx_init());
	omx_set_error_handler(NULL, counting_handler);
	CHECK_OK(omx_open_endpoint(0, OMX_ANY_ENDPOINT, KEY, NULL, 0, &ep));
	CHECK_OK(omx_get_endpoint_addr(ep, &self));
	CHECK_OK(omx_decompose_endpoint_addr(self, &nic, &eid));

	/* omx_cancel of unmatched receives */
	req = NULL;
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), 0x1111, ~(uint64_t)0, &ctx1, &req));
	CHECK(req != NULL);
	result = 7;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(req, NULL);

	req = NULL;
	CHECK_OK(omx_irecvv(ep, empty, 2, 0x2222, ~(uint64_t)0, &ctx2, &req));
	CHECK(req != NULL);
	result = 7;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(req, NULL);
	nothing_done(ep);

	/* a cancelled receive no longer matches: the message stays unexpected */
	CHECK_OK(omx_isend(ep, sbuf, 8, self, 0x1111, NULL, NULL));
	result = 0;
	CHECK_OK(omx_iprobe(ep, 0x1111, ~(uint64_t)0, &st, &result));
	CHECK_MSG(result == 1, "a message matching a cancelled receive is not in the unexpected queue");
	req = NULL;
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), 0x1111, ~(uint64_t)0, NULL, &req));
	{
		omx_status_t rst;
		result = 0;
		CHECK_OK(omx_wait(ep, &req, &rst, &result, WAIT_MS));
		CHECK_EQ(result, 1);
		CHECK_EQ(rst.code, OMX_SUCCESS);
	}

	/* omx_cancel_notest: both stay alive and complete CANCELLED, oldest first */
	req = req2 = NULL;
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), 0x3333, ~(uint64_t)0, &ctx1, &req));
	CHECK_OK(omx_irecvv(ep, empty, 2, 0x4444, ~(uint64_t)0, &ctx2, &req2));
	result = 7;
	CHECK_OK(omx_cancel_notest(ep, &req, &result));
	CHECK_EQ(result, 1);
	CHECK(req != NULL);
	result = 7;
	CHECK_OK(omx_cancel_notest(ep, &req2, &result));
	CHECK_EQ(result, 1);
	CHECK(req2 != NULL);
	memset(&st, 0xee, sizeof(st));
	result = 0;
	CHECK_OK(omx_test_any(ep, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	check_cancelled(&st, 0x3333, &ctx1);
	memset(&st, 0xee, sizeof(st));
	result = 0;
	CHECK_OK(omx_test_any(ep, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	check_cancelled(&st, 0x4444, &ctx2);
	nothing_done(ep);

	/* cancel_notest then wait on the handle itself */
	req = NULL;
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), 0x5555, ~(uint64_t)0, &ctx3, &req));
	result = 7;
	CHECK_OK(omx_cancel_notest(ep, &req, &result));
	CHECK_EQ(result, 1);
	result = 0;
	memset(&st, 0xee, sizeof(st));
	CHECK_OK(omx_wait(ep, &req, &st, &result, WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(req, NULL);
	check_cancelled(&st, 0x5555, &ctx3);
	nothing_done(ep);

	/* cancel of a receive that already matched (and completed): result 0 */
	req = NULL;
	memset(buf, 0, sizeof(buf));
	fill_pattern(sbuf, sizeof(sbuf), 42);
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), 0x6666, ~(uint64_t)0, &ctx1, &req));
	CHECK_OK(omx_isend(ep, sbuf, sizeof(sbuf), self, 0x6666, NULL, NULL));
	for (int i = 0; i < 5; i++)
		CHECK_OK(omx_progress(ep));
	result = 7;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_EQ(result, 0);
	CHECK(req != NULL);
	result = 7;
	CHECK_OK(omx_cancel_notest(ep, &req, &result));
	CHECK_EQ(result, 0);
	result = 0;
	CHECK_OK(omx_wait(ep, &req, &st, &result, WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.code, OMX_SUCCESS);
	CHECK_EQ(st.xfer_length, sizeof(sbuf));
	CHECK_PATTERN(buf, sizeof(sbuf), 42);
	nothing_done(ep);

	/* cancel of a send: OMX_BAD_REQUEST through the handler */
	req = NULL;
	CHECK_OK(omx_isend(ep, sbuf, sizeof(sbuf), self, 0x7777, &ctx2, &req));
	handler_calls = 0;
	result = 7;
	CHECK_RC(omx_cancel(ep, &req, &result), OMX_BAD_REQUEST);
	CHECK_MSG(handler_calls == 1 && handler_last_code == OMX_BAD_REQUEST,
		  "error handler calls %d, last code %d", handler_calls, handler_last_code);
	CHECK(req != NULL);
	handler_calls = 0;
	CHECK_RC(omx_cancel_notest(ep, &req, &result), OMX_BAD_REQUEST);
	CHECK_EQ(handler_calls, 1);
	CHECK(req != NULL);
	/* the send is unaffected: consume it */
	req2 = NULL;
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), 0x7777, ~(uint64_t)0, NULL, &req2));
	result = 0;
	CHECK_OK(omx_wait(ep, &req2, &st, &result, WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.code, OMX_SUCCESS);
	result = 0;
	CHECK_OK(omx_wait(ep, &req, &st, &result, WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.code, OMX_SUCCESS);
	CHECK_PTR_EQ(st.context, &ctx2);
	nothing_done(ep);

	/*
	 * iconnect to itself and to another local endpoint: completes at once
	 * (no remote round trip inside a process), so cancel finds it done.
	 */
	req = NULL;
	CHECK_OK(omx_iconnect(ep, nic, eid, KEY, 0xabcd, &ctx3, &req));
	result = 7;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_EQ(result, 0);
	result = 0;
	CHECK_OK(omx_wait(ep, &req, &st, &result, WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.code, OMX_SUCCESS);
	CHECK_EQ(st.match_info, 0xabcd);
	CHECK_PTR_EQ(st.context, &ctx3);
	CHECK_EQ(st.msg_length, 0);
	CHECK_EQ(st.xfer_length, 0);
	CHECK_OK(omx_decompose_endpoint_addr(st.addr, &nic2, &eid2));
	CHECK_EQ(nic2, nic);
	CHECK_EQ(eid2, eid);

	CHECK_OK(omx_open_endpoint(0, OMX_ANY_ENDPOINT, KEY, NULL, 0, &ep2));
	CHECK_OK(omx_get_endpoint_addr(ep2, &addr));
	CHECK_OK(omx_decompose_endpoint_addr(addr, &nic2, &eid2));
	req = NULL;
	CHECK_OK(omx_iconnect(ep, nic2, eid2, KEY, 0xbcde, &ctx1, &req));
	result = 7;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_MSG(result == 0, "cancel of an iconnect to a local endpoint returned result %u: it should "
		  "have completed at once", result);
	result = 0;
	CHECK_OK(omx_wait(ep, &req, &st, &result, WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.code, OMX_SUCCESS);
	CHECK_EQ(st.match_info, 0xbcde);
	CHECK_PTR_EQ(st.context, &ctx1);
	{
		uint64_t n;
		uint32_t e;
		CHECK_OK(omx_decompose_endpoint_addr(st.addr, &n, &e));
		CHECK_EQ(n, nic2);
		CHECK_EQ(e, eid2);
	}
	nothing_done(ep);

	CHECK_OK(omx_close_endpoint(ep2));
	CHECK_OK(omx_close_endpoint(ep));
	CHECK_OK(omx_finalize());
}

static void mx_part(void)
{
	mx_endpoint_t ep;
	mx_endpoint_addr_t self;
	mx_request_t req, req2;
	mx_segment_t seg;
	mx_status_t st;
	uint32_t result;
	char buf[32], sbuf[32];

	CHECK_OK(mx_init());
	mx_set_error_handler(mx_counting_handler);
	CHECK_OK(mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &ep));
	CHECK_OK(mx_get_endpoint_addr(ep, &self));

	/* unmatched receive -> 1 */
	seg.segment_ptr = buf;
	seg.segment_length = sizeof(buf);
	req = NULL;
	CHECK_OK(mx_irecv(ep, &seg, 1, 0x10, MX_MATCH_MASK_NONE, NULL, &req));
	result = 7;
	CHECK_OK(mx_cancel(ep, &req, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(req, NULL);
	result = 7;
	CHECK_OK(mx_test_any(ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);

	/* done receive -> 0 */
	req = NULL;
	CHECK_OK(mx_irecv(ep, &seg, 1, 0x20, MX_MATCH_MASK_NONE, NULL, &req));
	seg.segment_ptr = sbuf;
	CHECK_OK(mx_isend(ep, &seg, 1, self, 0x20, NULL, NULL));
	result = 7;
	CHECK_OK(mx_cancel(ep, &req, &result));
	CHECK_EQ(result, 0);
	result = 0;
	CHECK_OK(mx_wait(ep, &req, WAIT_MS, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);

	/* send -> MX_BAD_REQUEST through the MX handler */
	req = NULL;
	CHECK_OK(mx_isend(ep, &seg, 1, self, 0x30, NULL, &req));
	handler_calls = 0;
	result = 7;
	CHECK_RC(mx_cancel(ep, &req, &result), MX_BAD_REQUEST);
	CHECK_MSG(handler_calls == 1 && handler_last_code == MX_BAD_REQUEST,
		  "MX error handler calls %d, last code %d (message '%s')", handler_calls, handler_last_code,
		  handler_last_msg);
	seg.segment_ptr = buf;
	req2 = NULL;
	CHECK_OK(mx_irecv(ep, &seg, 1, 0x30, MX_MATCH_MASK_NONE, NULL, &req2));
	result = 0;
	CHECK_OK(mx_wait(ep, &req2, WAIT_MS, &st, &result));
	CHECK_EQ(result, 1);
	result = 0;
	CHECK_OK(mx_wait(ep, &req, WAIT_MS, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);

	CHECK_OK(mx_close_endpoint(ep));
	CHECK_OK(mx_finalize());
}

int main(int argc, char **argv)
{
	int use_mx = 0;
	int c;

	while ((c = getopt(argc, argv, "m")) != -1) {
		if (c == 'm')
			use_mx = 1;
		else {
			fprintf(stderr, "usage: %s [-m]\n", argv[0]);
			return 2;
		}
	}
	if (use_mx)
		mx_part();
	else
		omx_part();
	printf("cancel (%s API): PASS\n", use_mx ? "MX" : "Open-MX");
	return 0;
}
