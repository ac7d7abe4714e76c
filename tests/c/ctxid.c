/*
 * ctxid.c: context ids (OMX_ENDPOINT_PARAM_CONTEXT_ID) through the Open-MX
 * API.
 *
 *   - open with bits > 16, or bits + shift > 64 -> OMX_ENDPOINT_PARAM_BAD_VALUE
 *     (global handler, here OMX_ERRORS_RETURN); bits 16 + shift 48 and
 *     bits 0 are fine;
 *   - with bits=4 shift=8 (context id mask 0xf00): irecv/irecvv whose mask
 *     does not cover every context bit -> OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK
 *     (a bad match/mask pair is reported first as OMX_BAD_MATCH_MASK);
 *     sends are unconstrained;
 *   - matching inside each context: receives posted in contexts 0..3 get the
 *     messages of their context whatever the send order, in expected and in
 *     unexpected order; a receive masking the low bits only takes messages of
 *     its own context;
 *   - test_any / iprobe / ipeek with masks that ignore the context bits see
 *     every context, oldest first.
 */
#include "omxutil.h"

#define SHIFT 8
#define CTX(c, low) (((uint64_t)(c) << SHIFT) | (uint64_t)(low))

static void open_ctx(struct omxu_ep *e, uint8_t bits, uint8_t shift)
{
	omx_endpoint_param_t p;

	memset(&p, 0, sizeof(p));
	p.key = OMX_ENDPOINT_PARAM_CONTEXT_ID;
	p.val.context_id.bits = bits;
	p.val.context_id.shift = shift;
	omxu_open_params(e, &p, 1);
}

static void bad_open(uint8_t bits, uint8_t shift)
{
	omx_endpoint_param_t p;
	omx_endpoint_t ep = NULL;

	memset(&p, 0, sizeof(p));
	p.key = OMX_ENDPOINT_PARAM_CONTEXT_ID;
	p.val.context_id.bits = bits;
	p.val.context_id.shift = shift;
	if (omx_open_endpoint(0, OMX_ANY_ENDPOINT, OMXU_KEY, &p, 1, &ep) != OMX_ENDPOINT_PARAM_BAD_VALUE)
		FAILF("open with %u context id bits at shift %u did not return OMX_ENDPOINT_PARAM_BAD_VALUE",
		      bits, shift);
}

static void send_self(struct omxu_ep *e, const void *buf, size_t len, uint64_t match)
{
	CHECK_OK(omx_isend(e->ep, (void *)buf, len, e->addr, match, NULL, NULL));
}

int main(void)
{
	struct omxu_ep e, e2;
	omx_request_t req[4], peeked;
	omx_status_t st;
	omx_seg_t seg;
	uint32_t result;
	char rbuf[4][8], sbuf[4][8], small[8];

	CHECK_OK(omx_init());
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);

	/* parameter validation at open */
	bad_open(17, 0);
	bad_open(16, 49);
	bad_open(1, 64);
	open_ctx(&e2, 16, 48);
	CHECK_OK(omx_close_endpoint(e2.ep));
	open_ctx(&e2, 0, 60);
	{
		/* bits 0: no context ids, any mask is fine */
		req[0] = NULL;
		CHECK_OK(omx_irecv(e2.ep, small, sizeof(small), 0, 0, NULL, &req[0]));
		result = 0;
		CHECK_OK(omx_cancel(e2.ep, &req[0], &result));
		CHECK_EQ(result, 1);
	}
	CHECK_OK(omx_close_endpoint(e2.ep));
	printf("open parameter checks: ok\n");

	open_ctx(&e, 4, SHIFT);

	/* receive masks must cover 0xf00 */
	req[0] = NULL;
	CHECK_RC(omx_irecv(e.ep, small, sizeof(small), 0, 0, NULL, &req[0]), OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK);
	CHECK_RC(omx_irecv(e.ep, small, sizeof(small), 0, 0xff, NULL, &req[0]), OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK);
	CHECK_RC(omx_irecv(e.ep, small, sizeof(small), 0, ~(uint64_t)0x100, NULL, &req[0]),
		 OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK);
	seg.ptr = small;
	seg.len = sizeof(small);
	CHECK_RC(omx_irecvv(e.ep, &seg, 1, 0, 0x0ff, NULL, &req[0]), OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK);
	/* a match bit outside the mask is reported first */
	CHECK_RC(omx_irecv(e.ep, small, sizeof(small), 0x1, 0x0, NULL, &req[0]), OMX_BAD_MATCH_MASK);
	CHECK_PTR_EQ(req[0], NULL);
	/* a mask covering the context bits works */
	CHECK_OK(omx_irecv(e.ep, small, sizeof(small), CTX(2, 0), 0xf00, NULL, &req[0]));
	result = 0;
	CHECK_OK(omx_cancel(e.ep, &req[0], &result));
	CHECK_EQ(result, 1);
	printf("mask checks: ok\n");

	/* expected path: receives in contexts 0..3 (low bits 0x5), sends 3,1,0,2 */
	memset(rbuf, 0, sizeof(rbuf));
	for (int c = 0; c < 4; c++) {
		snprintf(sbuf[c], sizeof(sbuf[c]), "ctx%d", c);
		CHECK_OK(omx_irecv(e.ep, rbuf[c], sizeof(rbuf[c]), CTX(c, 0), ~(uint64_t)0xff, NULL, &req[c]));
	}
	{
		static const int order[4] = { 3, 1, 0, 2 };
		for (int k = 0; k < 4; k++)
			send_self(&e, sbuf[order[k]], sizeof(sbuf[0]), CTX(order[k], 0x5));
	}
	for (int c = 0; c < 4; c++) {
		omxu_wait(e.ep, &req[c], &st, "context receive");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, sizeof(sbuf[0]), sizeof(sbuf[0]));
		CHECK_EQ(st.match_info, CTX(c, 0x5));
		CHECK_STR_EQ(rbuf[c], sbuf[c]);
	}
	printf("expected matching per context: ok\n");

	/* unexpected path: messages in contexts 2, 0, 2, 1 */
	send_self(&e, "A", 2, CTX(2, 0x1));
	send_self(&e, "B", 2, CTX(0, 0x2));
	send_self(&e, "C", 2, CTX(2, 0x3));
	send_self(&e, "D", 2, CTX(1, 0x4));
	/* probes ignoring the context bits see every context, oldest first */
	result = 0;
	CHECK_OK(omx_probe(e.ep, CTX(1, 0x4), ~(uint64_t)0, &st, &result, OMXU_WAIT_MS));
	CHECK_EQ(result, 1);
	result = 0;
	CHECK_OK(omx_iprobe(e.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, CTX(2, 0x1));
	result = 0;
	CHECK_OK(omx_iprobe(e.ep, 0x2, 0xff, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, CTX(0, 0x2));
	/* a receive in context 2 takes context 2's messages, in order */
	memset(rbuf, 0, sizeof(rbuf));
	CHECK_OK(omx_irecv(e.ep, rbuf[0], sizeof(rbuf[0]), CTX(2, 0), ~(uint64_t)0xff, NULL, &req[0]));
	omxu_wait(e.ep, &req[0], &st, "context 2 receive");
	CHECK_EQ(st.match_info, CTX(2, 0x1));
	CHECK_STR_EQ(rbuf[0], "A");
	CHECK_OK(omx_irecv(e.ep, rbuf[1], sizeof(rbuf[1]), CTX(2, 0), ~(uint64_t)0xff, NULL, &req[1]));
	omxu_wait(e.ep, &req[1], &st, "context 2 receive");
	CHECK_EQ(st.match_info, CTX(2, 0x3));
	CHECK_STR_EQ(rbuf[1], "C");
	/* context 3 has nothing: the receive stays pending */
	req[2] = NULL;
	CHECK_OK(omx_irecv(e.ep, rbuf[2], sizeof(rbuf[2]), CTX(3, 0), ~(uint64_t)0xff, NULL, &req[2]));
	result = 7;
	CHECK_OK(omx_test(e.ep, &req[2], &st, &result));
	CHECK_EQ(result, 0);
	result = 0;
	CHECK_OK(omx_cancel(e.ep, &req[2], &result));
	CHECK_EQ(result, 1);
	/* a mask ignoring the low bits: context 1 then context 0 */
	CHECK_OK(omx_irecv(e.ep, rbuf[2], sizeof(rbuf[2]), CTX(1, 0), 0xf00, NULL, &req[2]));
	CHECK_OK(omx_irecv(e.ep, rbuf[3], sizeof(rbuf[3]), CTX(0, 0), 0xf00, NULL, &req[3]));

	/* the done queue: ipeek/test_any with masks ignoring context bits */
	for (int k = 0; k < 2; k++) {
		double end = now_ms() + OMXU_WAIT_MS;
		while (rbuf[2 + k][0] == 0) {
			CHECK_MSG(now_ms() < end, "receive %d never completed", 2 + k);
			CHECK_OK(omx_progress(e.ep));
		}
	}
	for (int p = 0; p < 3; p++)
		CHECK_OK(omx_progress(e.ep));
	result = 0;
	CHECK_OK(omx_ipeek(e.ep, &peeked, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(peeked, req[2]);
	result = 0;
	CHECK_OK(omx_test_any(e.ep, 0x0, 0x0, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, CTX(1, 0x4));
	CHECK_STR_EQ(rbuf[2], "D");
	result = 0;
	CHECK_OK(omx_test_any(e.ep, 0x2, 0xff, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, CTX(0, 0x2));
	CHECK_STR_EQ(rbuf[3], "B");
	result = 7;
	CHECK_OK(omx_test_any(e.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);
	result = 7;
	CHECK_OK(omx_iprobe(e.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);
	printf("unexpected matching per context, any-context probes: ok\n");

	CHECK_OK(omx_close_endpoint(e.ep));
	CHECK_OK(omx_finalize());
	printf("ctxid: PASS\n");
	return 0;
}
