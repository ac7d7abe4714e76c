/*
 * unexp.c: the unexpected queue, probe/iprobe masks and consumption by
 * irecv, through the Open-MX API (the omx_unexp_test scenario, extended).
 *
 * For each length (or only -l <len>):
 *   1. isend to the endpoint's own address with a NULL request, match 0x1;
 *      probe(0x1, ~0) finds it (status fields checked); iprobe(0x2, ~0)
 *      finds nothing; iprobe(0, ~1) finds it; irecv(0, ~1) with a NULL
 *      request consumes it (the buffer is still filled); iprobe(0, ~1) then
 *      finds nothing, and nothing ever reaches the done queue.
 *   2. three unexpected messages 0x10, 0x11, 0x12: probes see the oldest
 *      matching one, receives consume them in arrival order.
 * Then: probe with a timeout returns success + result 0 after the timeout;
 * bad masks give OMX_BAD_MATCH_MASK.  With OMX_CTXIDS set (e.g. 10,10) it
 * also checks that irecv masks must cover the context id bits and that
 * probes with any mask search every context.
 */
#include "omxutil.h"

#include <unistd.h>

#define GUARD_LEN 32

static int ctx_bits, ctx_shift; /* from OMX_CTXIDS, 0 when unset */

static void wait_payload(struct omxu_ep *e, const char *buf, size_t len, uint32_t seed)
{
	double end = now_ms() + OMXU_WAIT_MS;

	while (pattern_mismatch(buf, len, seed) >= 0) {
		if (now_ms() > end) {
			long bad = pattern_mismatch(buf, len, seed);
			FAILF("forgotten receive of %zu bytes never filled its buffer (first difference at %ld)",
			      len, bad);
		}
		CHECK_OK(omx_progress(e->ep));
	}
}

static void check_probe_status(const omx_status_t *st, const struct omxu_ep *e, uint64_t match, size_t len)
{
	CHECK_EQ(st->code, OMX_SUCCESS);
	CHECK_EQ(st->match_info, match);
	CHECK_EQ(st->msg_length, len);
	CHECK_EQ(st->xfer_length, len);
	CHECK_PTR_EQ(st->context, NULL);
	omxu_addr_is(st->addr, e, "probe status source");
}

static void nothing_done(struct omxu_ep *e)
{
	omx_status_t st;
	uint32_t result = 7;

	/* let any asynchronous part settle, then the done queue must be empty */
	for (int i = 0; i < 10; i++)
		CHECK_OK(omx_progress(e->ep));
	CHECK_OK(omx_test_any(e->ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);
}

static void scenario_single(struct omxu_ep *e, size_t len)
{
	char *sbuf = xmalloc(len), *rbuf = xmalloc(len + GUARD_LEN);
	uint32_t seed = (uint32_t)len * 3 + 11;
	omx_status_t st;
	uint32_t result;

	fill_pattern(sbuf, len, seed);
	memset(rbuf, GUARD, len + GUARD_LEN);

	CHECK_OK(omx_isend(e->ep, sbuf, len, e->addr, 0x1, NULL, NULL));

	memset(&st, 0xee, sizeof(st));
	result = 7;
	CHECK_OK(omx_probe(e->ep, 0x1, ~(uint64_t)0, &st, &result, OMXU_WAIT_MS));
	CHECK_MSG(result == 1, "probe(0x1, ~0) did not find the %zu-byte message", len);
	check_probe_status(&st, e, 0x1, len);

	result = 7;
	CHECK_OK(omx_iprobe(e->ep, 0x2, ~(uint64_t)0, &st, &result));
	CHECK_MSG(result == 0, "iprobe(0x2, ~0) found a message (len %zu)", len);

	memset(&st, 0xee, sizeof(st));
	result = 7;
	CHECK_OK(omx_iprobe(e->ep, 0, ~(uint64_t)1, &st, &result));
	CHECK_MSG(result == 1, "iprobe(0, ~1) did not find the message (len %zu)", len);
	check_probe_status(&st, e, 0x1, len);

	/* probing again still sees it: probes do not consume */
	result = 7;
	CHECK_OK(omx_iprobe(e->ep, 0x1, ~(uint64_t)0, &st, &result));
	CHECK_EQ(result, 1);

	CHECK_OK(omx_irecv(e->ep, rbuf, len, 0, ~(uint64_t)1, NULL, NULL));

	result = 7;
	CHECK_OK(omx_iprobe(e->ep, 0, ~(uint64_t)1, &st, &result));
	CHECK_MSG(result == 0, "iprobe(0, ~1) still finds the message after irecv consumed it (len %zu)", len);
	result = 7;
	CHECK_OK(omx_iprobe(e->ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);

	wait_payload(e, rbuf, len, seed);
	CHECK_BYTES(rbuf + len, GUARD_LEN, GUARD);
	nothing_done(e);
	free(sbuf);
	free(rbuf);
}

static void scenario_order(struct omxu_ep *e, size_t len)
{
	char *sbuf[3], *rbuf[3];
	omx_request_t sreq[3], rreq[3];
	omx_status_t st;
	uint32_t result;
	static char sctx[3], rctx[3];
	/* receive 0 uses (0x10, ~0xf); 1 and 2 use (0, ~0xff): oldest first */
	const uint64_t rmatch[3] = { 0x10, 0, 0 };
	const uint64_t rmask[3] = { ~(uint64_t)0xf, ~(uint64_t)0xff, ~(uint64_t)0xff };

	for (int i = 0; i < 3; i++) {
		sbuf[i] = xmalloc(len);
		rbuf[i] = xmalloc(len + GUARD_LEN);
		fill_pattern(sbuf[i], len, (uint32_t)(100 + i));
		memset(rbuf[i], GUARD, len + GUARD_LEN);
	}
	for (int i = 0; i < 3; i++)
		CHECK_OK(omx_isend(e->ep, sbuf[i], len, e->addr, 0x10 + (uint64_t)i, &sctx[i], &sreq[i]));

	result = 7;
	CHECK_OK(omx_probe(e->ep, 0x10, ~(uint64_t)0xf, &st, &result, OMXU_WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 0x10);
	/* all three arrive: wait until the last one is visible */
	result = 0;
	CHECK_OK(omx_probe(e->ep, 0x12, ~(uint64_t)0, &st, &result, OMXU_WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 0x12);
	check_probe_status(&st, e, 0x12, len);

	for (int i = 0; i < 3; i++) {
		CHECK_OK(omx_irecv(e->ep, rbuf[i], len, rmatch[i], rmask[i], &rctx[i], &rreq[i]));
		omxu_wait(e->ep, &rreq[i], &st, "ordered receive");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
		CHECK_EQ(st.match_info, 0x10 + (uint64_t)i);
		CHECK_PTR_EQ(st.context, &rctx[i]);
		omxu_addr_is(st.addr, e, "receive source");
		CHECK_PATTERN(rbuf[i], len, 100 + i);
		CHECK_BYTES(rbuf[i] + len, GUARD_LEN, GUARD);
		if (i < 2) {
			/* the oldest remaining message is now the next one */
			result = 7;
			CHECK_OK(omx_iprobe(e->ep, 0x10, ~(uint64_t)0xf, &st, &result));
			CHECK_EQ(result, 1);
			CHECK_EQ(st.match_info, 0x11 + (uint64_t)i);
		}
	}
	for (int i = 0; i < 3; i++) {
		omxu_wait(e->ep, &sreq[i], &st, "ordered send");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
		CHECK_EQ(st.match_info, 0x10 + (uint64_t)i);
		CHECK_PTR_EQ(st.context, &sctx[i]);
	}
	result = 7;
	CHECK_OK(omx_iprobe(e->ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);
	nothing_done(e);
	for (int i = 0; i < 3; i++) {
		free(sbuf[i]);
		free(rbuf[i]);
	}
}

static void scenario_ctxids(struct omxu_ep *e)
{
	uint64_t ctxmask = (((uint64_t)1 << ctx_bits) - 1) << ctx_shift;
	uint64_t m5 = ((uint64_t)5 << ctx_shift) | 0x3;
	char buf[16] = "context five";
	char rbuf[16];
	omx_request_t req;
	omx_status_t st;
	uint32_t result;

	/* an irecv mask must cover every context id bit */
	req = NULL;
	CHECK_RC(omx_irecv(e->ep, rbuf, sizeof(rbuf), 0, 0, NULL, &req),
		 OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK);
	CHECK_RC(omx_irecv(e->ep, rbuf, sizeof(rbuf), 0, ~ctxmask, NULL, &req),
		 OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK);

	/* probes with any mask see messages of every context */
	CHECK_OK(omx_isend(e->ep, buf, sizeof(buf), e->addr, m5, NULL, NULL));
	result = 0;
	CHECK_OK(omx_probe(e->ep, 0, 0, &st, &result, OMXU_WAIT_MS));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, m5);
	result = 0;
	CHECK_OK(omx_iprobe(e->ep, 0x3, 0xff, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, m5);

	memset(rbuf, 0, sizeof(rbuf));
	CHECK_OK(omx_irecv(e->ep, rbuf, sizeof(rbuf), m5, ~(uint64_t)0, NULL, &req));
	omxu_wait(e->ep, &req, &st, "context 5 receive");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, sizeof(buf), sizeof(buf));
	CHECK_EQ(st.match_info, m5);
	CHECK(memcmp(rbuf, buf, sizeof(buf)) == 0);
	nothing_done(e);
}

int main(int argc, char **argv)
{
	static const size_t lens[] = { 0, 1, 32, 129, 4097, 40000, 1048576 };
	struct omxu_ep e;
	omx_status_t st;
	uint32_t result;
	long only = -1;
	const char *ctxids = getenv("OMX_CTXIDS");
	double t0, dt;
	int c;

	while ((c = getopt(argc, argv, "l:")) != -1) {
		if (c == 'l')
			only = atol(optarg);
		else {
			fprintf(stderr, "usage: %s [-l len]\n", argv[0]);
			return 2;
		}
	}
	if (ctxids != NULL && strchr(ctxids, ',') != NULL) {
		ctx_bits = atoi(ctxids);
		ctx_shift = atoi(strchr(ctxids, ',') + 1);
	}

	CHECK_OK(omx_init());
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	omxu_open(&e);
	printf("unexp: endpoint %u, context ids %d bits at %d\n", e.eid, ctx_bits, ctx_shift);

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];
		if (only >= 0)
			len = (size_t)only;
		scenario_single(&e, len);
		scenario_order(&e, len);
		printf("length %zu: ok\n", len);
		if (only >= 0)
			break;
	}

	/* probe with a timeout on an empty queue: success, result 0 */
	t0 = now_ms();
	result = 7;
	CHECK_OK(omx_probe(e.ep, 0x99, ~(uint64_t)0, &st, &result, 200));
	dt = now_ms() - t0;
	CHECK_EQ(result, 0);
	CHECK_MSG(dt >= 150 && dt < 5000, "probe with a 200 ms timeout returned after %.0f ms", dt);

	/* bad masks */
	result = 7;
	CHECK_RC(omx_iprobe(e.ep, 0x3, 0x1, &st, &result), OMX_BAD_MATCH_MASK);
	CHECK_EQ(result, 0);
	result = 7;
	CHECK_RC(omx_probe(e.ep, 0x3, 0x1, &st, &result, 100), OMX_BAD_MATCH_MASK);
	CHECK_EQ(result, 0);
	{
		omx_request_t req = NULL;
		char b[4];
		CHECK_RC(omx_irecv(e.ep, b, sizeof(b), 0x3, 0x1, NULL, &req), OMX_BAD_MATCH_MASK);
	}

	if (ctx_bits > 0)
		scenario_ctxids(&e);

	CHECK_OK(omx_close_endpoint(e.ep));
	CHECK_OK(omx_finalize());
	printf("unexp: PASS\n");
	return 0;
}
