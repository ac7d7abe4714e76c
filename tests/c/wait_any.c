/*
 * wait_any.c: the done queue through the MX API: test_any / wait_any /
 * ipeek return the OLDEST eligible completion, masks select, context ids
 * do not hide anything, timeouts and bad masks behave.
 *
 * 1. Ordering (self path, one endpoint): four receives (match 0x20..0x23)
 *    complete in the order 0x22, 0x20, 0x23, 0x21 (forgotten sends);
 *    ipeek shows the oldest without completing it; test_any(1, 1) returns
 *    0x23 (oldest odd one), test_any(0, 0) 0x22, test_any(0x20, ~0) 0x20,
 *    wait_any(0, 0) 0x21, then nothing.
 * 2. Context ids, bits=1 shift=41 (MX_PARAM_CONTEXT_ID), the MX wait_any
 *    test adapted to one process: endpoint A ("client") sends 0, 64, 4096
 *    and 131072 bytes to B with the "sender side" bit 41 set, and receives 4
 *    messages from B (side bit clear) in exact-match receives; then A
 *    alternately waits for a send completion (match = mask = side bit) and a
 *    receive completion (match 0, mask = side bit) with a 1000 ms timeout,
 *    tolerating result 0 (bounded).  Each side comes back in completion
 *    order and only with its own side bit; every status is a success.
 * 3. wait_any with a 1000 ms timeout on an idle endpoint returns
 *    MX_SUCCESS + result 0 after about 1000 ms; MX_INFINITE (0) waits until
 *    a completion arrives (a thread sends after 300 ms).
 * 4. Bad masks (match bits outside the mask) -> MX_BAD_MATCH_MASK, result 0.
 */
#include "mxutil.h"

#include <pthread.h>

#define SIDE_BIT ((uint64_t)1 << 41)

static void ordering(void)
{
	struct mxu_ep e;
	char rbuf[4][16];
	char sbuf[4][16];
	mx_request_t rreq[4], peeked;
	mx_segment_t seg;
	mx_status_t st;
	uint32_t result;
	static char ctx[4];
	static const int order[4] = { 2, 0, 3, 1 };

	mxu_open(&e);
	memset(rbuf, 0, sizeof(rbuf));
	for (int i = 0; i < 4; i++) {
		seg = mxu_seg(rbuf[i], sizeof(rbuf[i]));
		CHECK_OK(mx_irecv(e.ep, &seg, 1, 0x20 + (uint64_t)i, MX_MATCH_MASK_NONE, &ctx[i], &rreq[i]));
	}
	/* nothing done yet */
	result = 7;
	CHECK_OK(mx_test_any(e.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);
	result = 7;
	CHECK_OK(mx_ipeek(e.ep, &peeked, &result));
	CHECK_EQ(result, 0);

	for (int k = 0; k < 4; k++) {
		int i = order[k];
		mx_request_t sreq = NULL;
		double end = now_ms() + MXU_WAIT_MS;

		memset(sbuf[i], 'a' + i, sizeof(sbuf[i]));
		seg = mxu_seg(sbuf[i], sizeof(sbuf[i]));
		if (k % 2 == 0) {
			/* forgotten at post time */
			CHECK_OK(mx_isend(e.ep, &seg, 1, e.addr, 0x20 + (uint64_t)i, NULL, NULL));
		} else {
			/* forgotten after posting (pending or done) */
			CHECK_OK(mx_isend(e.ep, &seg, 1, e.addr, 0x20 + (uint64_t)i, NULL, &sreq));
			CHECK_OK(mx_forget(e.ep, &sreq));
			CHECK_PTR_EQ(sreq, NULL);
		}
		/* make sure this receive is done before the next message is sent */
		while (rbuf[i][sizeof(rbuf[i]) - 1] != 'a' + i) {
			CHECK_MSG(now_ms() < end, "receive 0x%x never completed", 0x20 + i);
			CHECK_OK(mx_progress(e.ep));
		}
		/* let the completion be queued */
		for (int p = 0; p < 3; p++)
			CHECK_OK(mx_progress(e.ep));
	}

	/* ipeek: the oldest done request (0x22), not completed by peeking */
	result = 0;
	CHECK_OK(mx_ipeek(e.ep, &peeked, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(peeked, rreq[2]);
	result = 0;
	CHECK_OK(mx_ipeek(e.ep, &peeked, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(peeked, rreq[2]);

	/* oldest odd one: 0x23 */
	memset(&st, 0, sizeof(st));
	result = 0;
	CHECK_OK(mx_test_any(e.ep, 1, 1, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 0x23);
	CHECK_PTR_EQ(st.context, &ctx[3]);
	MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, 16, 16);
	mxu_addr_is(st.source, &e, "receive source");

	/* oldest overall: 0x22 */
	result = 0;
	CHECK_OK(mx_test_any(e.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 0x22);
	CHECK_PTR_EQ(st.context, &ctx[2]);

	/* exact: 0x20 */
	result = 0;
	CHECK_OK(mx_test_any(e.ep, 0x20, MX_MATCH_MASK_NONE, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 0x20);

	/* an exact mask for something already taken finds nothing */
	result = 7;
	CHECK_OK(mx_test_any(e.ep, 0x20, MX_MATCH_MASK_NONE, &st, &result));
	CHECK_EQ(result, 0);

	/* what is left: 0x21, through wait_any and through ipeek first */
	result = 0;
	CHECK_OK(mx_ipeek(e.ep, &peeked, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(peeked, rreq[1]);
	result = 0;
	CHECK_OK(mx_wait_any(e.ep, 1000, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 0x21);
	CHECK_PTR_EQ(st.context, &ctx[1]);

	result = 7;
	CHECK_OK(mx_test_any(e.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);
	for (int i = 0; i < 4; i++)
		for (size_t j = 0; j < sizeof(rbuf[i]); j++)
			CHECK_EQ((unsigned char)rbuf[i][j], 'a' + i);
	CHECK_OK(mx_close_endpoint(e.ep));
	printf("ordering: ok\n");
}

static void context_ids(void)
{
	static const uint32_t lens[4] = { 0, 64, 4096, 131072 };
	mx_param_t param;
	struct mxu_ep a, b;
	mx_endpoint_addr_t a_to_b, b_to_a;
	mx_request_t a_rreq[4], a_sreq[4], b_rreq[4], b_sreq[4];
	char *a_sbuf[4], *a_rbuf[4], *b_sbuf[4], *b_rbuf[4];
	mx_segment_t seg;
	mx_status_t st;
	uint32_t result;
	int sends_seen = 0, recvs_seen = 0, timeouts = 0;

	memset(&param, 0, sizeof(param));
	param.key = MX_PARAM_CONTEXT_ID;
	param.val.context_id.bits = 1;
	param.val.context_id.shift = 41;
	mxu_open_params(&a, &param, 1);
	mxu_open_params(&b, &param, 1);
	mxu_connect(&a, &b, &a_to_b);
	mxu_connect(&b, &a, &b_to_a);

	for (int i = 0; i < 4; i++) {
		a_sbuf[i] = xmalloc(lens[i]);
		a_rbuf[i] = xmalloc(lens[i]);
		b_sbuf[i] = xmalloc(lens[i]);
		b_rbuf[i] = xmalloc(lens[i]);
		fill_pattern(a_sbuf[i], lens[i], (uint32_t)(10 + i));
		fill_pattern(b_sbuf[i], lens[i], (uint32_t)(20 + i));
	}
	/* A: 4 exact-match receives, contexts 1..4, side bit clear */
	for (int i = 0; i < 4; i++) {
		seg = mxu_seg(a_rbuf[i], lens[i]);
		CHECK_OK(mx_irecv(a.ep, &seg, 1, (uint64_t)(i + 1), MX_MATCH_MASK_NONE, NULL, &a_rreq[i]));
	}
	/* B: receives for A's messages, side bit set */
	for (int i = 0; i < 4; i++) {
		seg = mxu_seg(b_rbuf[i], lens[i]);
		CHECK_OK(mx_irecv(b.ep, &seg, 1, SIDE_BIT | (uint64_t)(10 * (i + 1)), MX_MATCH_MASK_NONE, NULL,
				  &b_rreq[i]));
	}
	/* A sends 0, 64, 4096, 131072 bytes (contexts 10..40, side bit set) */
	for (int i = 0; i < 4; i++) {
		seg = mxu_seg(a_sbuf[i], lens[i]);
		CHECK_OK(mx_isend(a.ep, &seg, 1, a_to_b, SIDE_BIT | (uint64_t)(10 * (i + 1)), NULL, &a_sreq[i]));
	}
	/* B sends 4 messages back (contexts 1..4, side bit clear) */
	for (int i = 0; i < 4; i++) {
		seg = mxu_seg(b_sbuf[i], lens[i]);
		CHECK_OK(mx_isend(b.ep, &seg, 1, b_to_a, (uint64_t)(i + 1), NULL, &b_sreq[i]));
	}
	/* B receives A's 4 messages */
	for (int i = 0; i < 4; i++) {
		mxu_wait(b.ep, &b_rreq[i], &st, "B receive");
		MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, lens[i], lens[i]);
		CHECK_PATTERN(b_rbuf[i], lens[i], 10 + i);
	}

	/* A alternates: a send completion, then a receive completion */
	while (sends_seen < 4 || recvs_seen < 4) {
		int want_send = (sends_seen <= recvs_seen && sends_seen < 4) || recvs_seen == 4;
		uint64_t match = want_send ? SIDE_BIT : 0;

		memset(&st, 0xee, sizeof(st));
		result = 0;
		CHECK_OK(mx_wait_any(a.ep, 1000, match, SIDE_BIT, &st, &result));
		if (!result) {
			CHECK_MSG(++timeouts < 10, "wait_any for %s completions timed out %d times (sends %d, receives %d)",
				  want_send ? "send" : "receive", timeouts, sends_seen, recvs_seen);
			continue;
		}
		if (st.code != MX_STATUS_SUCCESS)
			FAILF("wait_any status code %d (%s)", st.code, mx_strstatus(st.code));
		if (want_send) {
			/* sends of 0, 64, 4096 complete early in posting order, 131072 last */
			uint64_t want = SIDE_BIT | (uint64_t)(10 * (sends_seen + 1));
			CHECK_MSG(st.match_info == want, "send completion %d has match 0x%" PRIx64 ", want 0x%" PRIx64,
				  sends_seen, st.match_info, want);
			CHECK_EQ(st.msg_length, lens[sends_seen]);
			mxu_addr_is(st.source, &b, "send destination");
			a_sreq[sends_seen] = NULL;
			sends_seen++;
		} else {
			uint64_t want = (uint64_t)(recvs_seen + 1);
			CHECK_MSG(st.match_info == want, "receive completion %d has match 0x%" PRIx64 ", want 0x%" PRIx64,
				  recvs_seen, st.match_info, want);
			CHECK_EQ(st.msg_length, lens[recvs_seen]);
			CHECK_EQ(st.xfer_length, lens[recvs_seen]);
			mxu_addr_is(st.source, &b, "receive source");
			CHECK_PATTERN(a_rbuf[recvs_seen], lens[recvs_seen], 20 + recvs_seen);
			a_rreq[recvs_seen] = NULL;
			recvs_seen++;
		}
	}
	result = 7;
	CHECK_OK(mx_test_any(a.ep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);

	/* B's sends complete too */
	for (int i = 0; i < 4; i++) {
		mxu_wait(b.ep, &b_sreq[i], &st, "B send");
		MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, lens[i], lens[i]);
	}
	for (int i = 0; i < 4; i++) {
		free(a_sbuf[i]);
		free(a_rbuf[i]);
		free(b_sbuf[i]);
		free(b_rbuf[i]);
	}
	CHECK_OK(mx_close_endpoint(b.ep));
	CHECK_OK(mx_close_endpoint(a.ep));
	printf("context ids (bits 1, shift 41): ok, %d timeouts tolerated\n", timeouts);
}

struct late_send {
	struct mxu_ep *e;
	char buf[8];
};

static void *late_sender(void *arg)
{
	struct late_send *ls = arg;
	mx_segment_t seg = mxu_seg(ls->buf, sizeof(ls->buf));

	sleep_ms(300);
	CHECK_OK(mx_isend(ls->e->ep, &seg, 1, ls->e->addr, 0x99, NULL, NULL));
	return NULL;
}

static void timeouts_and_masks(void)
{
	struct mxu_ep e;
	struct late_send ls;
	pthread_t th;
	mx_request_t rreq = NULL;
	mx_segment_t seg;
	mx_status_t st;
	char rbuf[8];
	uint32_t result;
	double t0, dt;

	mxu_open(&e);

	/* finite timeout: success, result 0, after about the timeout */
	t0 = now_ms();
	result = 7;
	CHECK_OK(mx_wait_any(e.ep, 1000, 0, 0, &st, &result));
	dt = now_ms() - t0;
	CHECK_EQ(result, 0);
	CHECK_MSG(dt >= 900 && dt < 5000, "wait_any(timeout 1000 ms) returned after %.0f ms", dt);

	/* MX_INFINITE (0) means forever, not "poll once" */
	seg = mxu_seg(rbuf, sizeof(rbuf));
	CHECK_OK(mx_irecv(e.ep, &seg, 1, 0x99, MX_MATCH_MASK_NONE, NULL, &rreq));
	ls.e = &e;
	memset(ls.buf, 'z', sizeof(ls.buf));
	CHECK(pthread_create(&th, NULL, late_sender, &ls) == 0);
	t0 = now_ms();
	result = 0;
	CHECK_OK(mx_wait_any(e.ep, MX_INFINITE, 0x99, MX_MATCH_MASK_NONE, &st, &result));
	dt = now_ms() - t0;
	CHECK(pthread_join(th, NULL) == 0);
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 0x99);
	CHECK_EQ(st.code, MX_STATUS_SUCCESS);
	CHECK_MSG(dt >= 250, "wait_any(MX_INFINITE) returned after %.0f ms, before the message was sent", dt);
	CHECK(memcmp(rbuf, ls.buf, sizeof(rbuf)) == 0);

	/* bad masks */
	result = 7;
	CHECK_RC(mx_test_any(e.ep, 0x3, 0x1, &st, &result), MX_BAD_MATCH_MASK);
	CHECK_EQ(result, 0);
	result = 7;
	CHECK_RC(mx_wait_any(e.ep, 1000, 0x3, 0x1, &st, &result), MX_BAD_MATCH_MASK);
	CHECK_EQ(result, 0);

	CHECK_OK(mx_close_endpoint(e.ep));
	printf("timeouts and masks: ok\n");
}

int main(void)
{
	CHECK_OK(mx_init());
	mx_set_error_handler(MX_ERRORS_RETURN);
	ordering();
	context_ids();
	timeouts_and_masks();
	CHECK_OK(mx_finalize());
	printf("wait_any: PASS\n");
	return 0;
}
