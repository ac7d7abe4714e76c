/*
 * pair_any.c: the done queue (tests/c/wait_any.c) and context ids
 * (tests/c/ctxid.c) through the MX API, with the completions coming from a
 * peer in another process of the same host.
 *
 *   pair_any a <my index> <peer index>   checks; also opens <my index> + 16
 *   pair_any b <my index> <peer index>   the peer; also opens <my index> + 16
 *
 * 1. Ordering: a posts receives 0x20..0x23; b sends 0x22, 0x20, 0x23, 0x21
 *    (one sender: matched, and eager so completed, in that order), then a
 *    marker that a finds with mx_probe (so the four are done). mx_ipeek
 *    shows the oldest (0x22) without completing it; mx_test_any(1, 1) gives
 *    0x23, (0, 0) 0x22, (0x20, exact) 0x20 then nothing; mx_peek gives the
 *    handle of 0x21, mx_wait_any(0, 0) completes it; nothing is left.
 *    mx_wait_any with an exact mask takes a younger completion before an
 *    older one.
 * 2. Blocking: mx_wait_any(MX_INFINITE) and mx_peek(MX_INFINITE) return
 *    the completion of a message b sends 300 ms after being told to (not
 *    earlier).
 * 3. mx_cancel: of a posted receive -> 1 (b's later message is then
 *    unexpected); of a rendezvous send to b -> MX_BAD_REQUEST (not
 *    MX_CANCEL_NOT_SUPPORTED), the send completes once b receives it.
 * 4. Context ids (MX_PARAM_CONTEXT_ID bits 1 shift 41, the wait_any test of
 *    MX) on second endpoints of both: a sends 0, 64, 4096, 131072 bytes to
 *    b with the side bit set and receives 4 messages from b in exact
 *    receives; a alternately waits for a send completion (match = mask =
 *    side bit) and a receive completion (match 0, mask side bit): each
 *    side comes back in posting order and only with its own side bit.
 *    Then b sends to context 1, 0, 1: probes ignoring the context see the
 *    oldest of any context, receives of one context take only its
 *    messages, in order; receive masks must cover the context bit.
 */
#include "mxutil.h"

#include <unistd.h>

#define SYNC UINT64_C(0xfe00000000000000)
#define SIDE_BIT (UINT64_C(1) << 41)

static mx_endpoint_t ep;
static mx_endpoint_addr_t peer;
static uint32_t my_index, peer_index;

static uint64_t nic0(void)
{
	uint64_t nic = 0;

	CHECK_OK(mx_board_number_to_nic_id(0, &nic));
	return nic;
}

static mx_endpoint_t open_ep(uint32_t idx, int ctxids)
{
	mx_param_t param;
	mx_endpoint_t e = NULL;
	mx_return_t rc;

	memset(&param, 0, sizeof(param));
	param.key = MX_PARAM_CONTEXT_ID;
	param.val.context_id.bits = 1;
	param.val.context_id.shift = 41;
	rc = mx_open_endpoint(0, idx, MXU_KEY, ctxids ? &param : NULL, ctxids ? 1 : 0, &e);
	if (rc != MX_SUCCESS)
		FAILF("open endpoint %u: %s", idx, mx_strerror(rc));
	return e;
}

/* connect, retrying while the other process has not opened idx yet */
static mx_endpoint_addr_t connect_to(mx_endpoint_t e, uint32_t idx)
{
	mx_endpoint_addr_t addr;
	double end = now_ms() + 15000;
	mx_return_t rc;

	for (;;) {
		rc = mx_connect(e, nic0(), idx, MXU_KEY, 1000, &addr);
		if (rc == MX_SUCCESS)
			return addr;
		if (now_ms() > end)
			FAILF("cannot connect to endpoint %u: %s", idx, mx_strerror(rc));
		sleep_ms(20);
	}
}

static uint32_t index_of(mx_endpoint_addr_t addr)
{
	uint64_t nic;
	uint32_t eid;

	CHECK_OK(mx_decompose_endpoint_addr(addr, &nic, &eid));
	CHECK_EQ(nic, nic0());
	return eid;
}

static mx_status_t wait_req(mx_endpoint_t e, mx_request_t *r, const char *what)
{
	mx_status_t st;

	mxu_wait(e, r, &st, what);
	return st;
}

static void send_wait(mx_endpoint_t e, mx_endpoint_addr_t dest, void *buf, uint32_t len, uint64_t match)
{
	mx_segment_t seg = mxu_seg(buf, len);
	mx_request_t r = NULL;
	mx_status_t st;

	CHECK_OK(mx_isend(e, &seg, 1, dest, match, NULL, &r));
	st = wait_req(e, &r, "send");
	MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, len, len);
}

static mx_status_t recv_wait(mx_endpoint_t e, void *buf, uint32_t len, uint64_t match)
{
	mx_segment_t seg = mxu_seg(buf, len);
	mx_request_t r = NULL;

	CHECK_OK(mx_irecv(e, &seg, 1, match, MX_MATCH_MASK_NONE, NULL, &r));
	return wait_req(e, &r, "receive");
}

static void signal_peer(uint32_t step)
{
	send_wait(ep, peer, NULL, 0, SYNC | step);
}

static void await_peer(uint32_t step)
{
	mx_status_t st = recv_wait(ep, NULL, 0, SYNC | step);

	MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, 0, 0);
}

/* wait_marker waits until message `step` of b is unexpected at a */
static void wait_marker(mx_endpoint_t e, uint32_t step, uint32_t from)
{
	mx_status_t st;
	uint32_t result = 0;

	CHECK_OK(mx_probe(e, MXU_WAIT_MS, SYNC | step, MX_MATCH_MASK_NONE, &st, &result));
	CHECK_MSG(result == 1, "marker %u from the peer never came", step);
	CHECK_EQ(index_of(st.source), from);
}

static void consume_marker(mx_endpoint_t e, uint32_t step)
{
	mx_status_t st = recv_wait(e, NULL, 0, SYNC | step);

	MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, 0, 0);
}

static void nothing_done(mx_endpoint_t e, const char *when)
{
	mx_status_t st;
	uint32_t result = 7;

	CHECK_OK(mx_test_any(e, 0, 0, &st, &result));
	CHECK_MSG(result == 0, "%s: completion of match 0x%" PRIx64 " left in the done queue", when, st.match_info);
}

static void barrier(uint32_t step)
{
	mx_segment_t seg = mxu_seg(NULL, 0);
	mx_request_t r = NULL;
	mx_status_t st;

	CHECK_OK(mx_isend(ep, &seg, 1, peer, SYNC | 0x100 | step, NULL, &r));
	st = recv_wait(ep, NULL, 0, SYNC | 0x100 | step);
	MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, 0, 0);
	st = wait_req(ep, &r, "barrier");
	MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, 0, 0);
}

/* ---- a ---- */

static void check_recv(const mx_status_t *st, uint64_t match, void *ctx, const char *buf, char fill)
{
	MXU_CHECK_STATUS(*st, MX_STATUS_SUCCESS, 16, 16);
	CHECK_EQ(st->match_info, match);
	CHECK_PTR_EQ(st->context, ctx);
	CHECK_EQ(index_of(st->source), peer_index);
	for (int j = 0; j < 16; j++)
		CHECK_EQ((unsigned char)buf[j], (unsigned char)fill);
}

static void a_ordering(void)
{
	static char ctx[6];
	char rbuf[6][16];
	mx_request_t rreq[6], peeked;
	mx_segment_t seg;
	mx_status_t st;
	uint32_t result;

	memset(rbuf, 0, sizeof(rbuf));
	for (int i = 0; i < 4; i++) {
		seg = mxu_seg(rbuf[i], 16);
		CHECK_OK(mx_irecv(ep, &seg, 1, 0x20 + (uint64_t)i, MX_MATCH_MASK_NONE, &ctx[i], &rreq[i]));
	}
	result = 7;
	CHECK_OK(mx_ipeek(ep, &peeked, &result));
	CHECK_EQ(result, 0);
	signal_peer(10);
	wait_marker(ep, 11, peer_index);

	/* ipeek: the oldest done (0x22), not completed by peeking */
	for (int k = 0; k < 2; k++) {
		result = 0;
		CHECK_OK(mx_ipeek(ep, &peeked, &result));
		CHECK_EQ(result, 1);
		CHECK_PTR_EQ(peeked, rreq[2]);
	}
	/* oldest odd one: 0x23 */
	result = 0;
	CHECK_OK(mx_test_any(ep, 1, 1, &st, &result));
	CHECK_EQ(result, 1);
	check_recv(&st, 0x23, &ctx[3], rbuf[3], 'a' + 3);
	/* oldest: 0x22 */
	result = 0;
	CHECK_OK(mx_test_any(ep, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	check_recv(&st, 0x22, &ctx[2], rbuf[2], 'a' + 2);
	/* exact: 0x20, once */
	result = 0;
	CHECK_OK(mx_test_any(ep, 0x20, MX_MATCH_MASK_NONE, &st, &result));
	CHECK_EQ(result, 1);
	check_recv(&st, 0x20, &ctx[0], rbuf[0], 'a');
	result = 7;
	CHECK_OK(mx_test_any(ep, 0x20, MX_MATCH_MASK_NONE, &st, &result));
	CHECK_EQ(result, 0);
	/* what is left: 0x21, seen by mx_peek, completed by mx_wait_any */
	result = 0;
	CHECK_OK(mx_peek(ep, 1000, &peeked, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(peeked, rreq[1]);
	result = 0;
	CHECK_OK(mx_wait_any(ep, 1000, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	check_recv(&st, 0x21, &ctx[1], rbuf[1], 'a' + 1);
	nothing_done(ep, "ordering");
	consume_marker(ep, 11);

	/* an exact mask takes a younger completion first */
	for (int i = 4; i < 6; i++) {
		seg = mxu_seg(rbuf[i], 16);
		CHECK_OK(mx_irecv(ep, &seg, 1, 0x40 + (uint64_t)i, MX_MATCH_MASK_NONE, &ctx[i], &rreq[i]));
	}
	signal_peer(12);
	wait_marker(ep, 13, peer_index);
	result = 0;
	CHECK_OK(mx_wait_any(ep, 1000, 0x45, MX_MATCH_MASK_NONE, &st, &result));
	CHECK_EQ(result, 1);
	check_recv(&st, 0x45, &ctx[5], rbuf[5], 'a' + 5);
	result = 0;
	CHECK_OK(mx_ipeek(ep, &peeked, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(peeked, rreq[4]);
	result = 0;
	CHECK_OK(mx_wait_any(ep, 1000, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	check_recv(&st, 0x44, &ctx[4], rbuf[4], 'a' + 4);
	nothing_done(ep, "exact wait_any");
	consume_marker(ep, 13);
	printf("ordering of completions from the other process (ipeek, peek, test_any, wait_any): ok\n");
}

static void a_blocking(void)
{
	static char ctx;
	char rbuf[16];
	mx_request_t rreq = NULL, peeked = NULL;
	mx_segment_t seg = mxu_seg(rbuf, 16);
	mx_status_t st;
	uint32_t result;
	double t0, dt;

	CHECK_OK(mx_irecv(ep, &seg, 1, 0x50, MX_MATCH_MASK_NONE, &ctx, &rreq));
	t0 = now_ms();
	signal_peer(14); /* b sleeps 300 ms, then sends 0x50 */
	result = 0;
	CHECK_OK(mx_wait_any(ep, MX_INFINITE, 0x50, MX_MATCH_MASK_NONE, &st, &result));
	dt = now_ms() - t0;
	CHECK_EQ(result, 1);
	check_recv(&st, 0x50, &ctx, rbuf, 'p');
	CHECK_MSG(dt >= 290 && dt < 5000, "mx_wait_any(MX_INFINITE) returned after %.0f ms (the peer sent after 300 ms)",
		  dt);

	CHECK_OK(mx_irecv(ep, &seg, 1, 0x51, MX_MATCH_MASK_NONE, &ctx, &rreq));
	t0 = now_ms();
	signal_peer(15);
	result = 0;
	CHECK_OK(mx_peek(ep, MX_INFINITE, &peeked, &result));
	dt = now_ms() - t0;
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(peeked, rreq);
	CHECK_MSG(dt >= 290 && dt < 5000, "mx_peek(MX_INFINITE) returned after %.0f ms (the peer sent after 300 ms)", dt);
	st = wait_req(ep, &rreq, "peeked receive");
	check_recv(&st, 0x51, &ctx, rbuf, 'q');
	nothing_done(ep, "blocking");
	printf("mx_wait_any / mx_peek (MX_INFINITE) wait for the other process: ok, %.0f ms\n", dt);
}

static void a_cancel(void)
{
	uint32_t len = 1u << 20;
	char *sbuf = xmalloc(len), rbuf[16];
	mx_request_t rreq = NULL, sreq = NULL, keep;
	mx_segment_t seg;
	mx_status_t st;
	uint32_t result;

	seg = mxu_seg(rbuf, 16);
	CHECK_OK(mx_irecv(ep, &seg, 1, 0x60, MX_MATCH_MASK_NONE, NULL, &rreq));
	result = 7;
	CHECK_OK(mx_cancel(ep, &rreq, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(rreq, NULL);

	fill_pattern(sbuf, len, 0x61);
	seg = mxu_seg(sbuf, len);
	CHECK_OK(mx_isend(ep, &seg, 1, peer, 0x61, NULL, &sreq));
	keep = sreq;
	result = 7;
	CHECK_RC(mx_cancel(ep, &sreq, &result), MX_BAD_REQUEST);
	CHECK_PTR_EQ(sreq, keep);
	signal_peer(16); /* b receives 0x61, then sends 0x60 and a marker */
	st = wait_req(ep, &sreq, "send after a refused mx_cancel");
	MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, len, len);
	wait_marker(ep, 17, peer_index);
	nothing_done(ep, "message matching a cancelled receive");
	result = 0;
	CHECK_OK(mx_iprobe(ep, 0x60, MX_MATCH_MASK_NONE, &st, &result));
	CHECK_MSG(result == 1, "the message matching a cancelled receive is not unexpected");
	st = recv_wait(ep, rbuf, 16, 0x60);
	check_recv(&st, 0x60, NULL, rbuf, 'c');
	consume_marker(ep, 17);
	free(sbuf);
	printf("mx_cancel: receive 1, send MX_BAD_REQUEST: ok\n");
}

static void a_context_ids(mx_endpoint_t e, mx_endpoint_addr_t to)
{
	static const uint32_t lens[4] = { 0, 64, 4096, 131072 };
	mx_request_t rreq[4], sreq[4];
	char *sbuf[4], *rbuf[4];
	mx_segment_t seg;
	mx_status_t st;
	uint32_t result;
	int sends_seen = 0, recvs_seen = 0;

	for (int i = 0; i < 4; i++) {
		sbuf[i] = xmalloc(lens[i]);
		rbuf[i] = xmalloc(lens[i]);
		fill_pattern(sbuf[i], lens[i], 10 + (uint32_t)i);
		seg = mxu_seg(rbuf[i], lens[i]);
		CHECK_OK(mx_irecv(e, &seg, 1, (uint64_t)(i + 1), MX_MATCH_MASK_NONE, NULL, &rreq[i]));
	}
	for (int i = 0; i < 4; i++) {
		seg = mxu_seg(sbuf[i], lens[i]);
		CHECK_OK(mx_isend(e, &seg, 1, to, SIDE_BIT | (uint64_t)(10 * (i + 1)), NULL, &sreq[i]));
	}
	while (sends_seen < 4 || recvs_seen < 4) {
		int want_send = (sends_seen <= recvs_seen && sends_seen < 4) || recvs_seen == 4;

		memset(&st, 0xee, sizeof(st));
		result = 0;
		CHECK_OK(mx_wait_any(e, MXU_WAIT_MS, want_send ? SIDE_BIT : 0, SIDE_BIT, &st, &result));
		CHECK_MSG(result == 1, "wait_any for a %s completion timed out", want_send ? "send" : "receive");
		if (st.code != MX_STATUS_SUCCESS)
			FAILF("wait_any status code %d (%s)", st.code, mx_strstatus(st.code));
		CHECK_EQ(index_of(st.source), peer_index + 16);
		if (want_send) {
			uint64_t want = SIDE_BIT | (uint64_t)(10 * (sends_seen + 1));

			CHECK_MSG(st.match_info == want, "send completion %d has match 0x%" PRIx64 ", want 0x%" PRIx64,
				  sends_seen, st.match_info, want);
			MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, lens[sends_seen], lens[sends_seen]);
			sends_seen++;
		} else {
			uint64_t want = (uint64_t)(recvs_seen + 1);

			CHECK_MSG(st.match_info == want, "receive completion %d has match 0x%" PRIx64 ", want 0x%" PRIx64,
				  recvs_seen, st.match_info, want);
			MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, lens[recvs_seen], lens[recvs_seen]);
			CHECK_PATTERN(rbuf[recvs_seen], lens[recvs_seen], 20 + (uint32_t)recvs_seen);
			recvs_seen++;
		}
	}
	nothing_done(e, "context ids");
	for (int i = 0; i < 4; i++) {
		free(sbuf[i]);
		free(rbuf[i]);
	}

	/* receive masks must cover the context bit */
	{
		mx_request_t r = NULL;
		char small[4];

		seg = mxu_seg(small, sizeof(small));
		CHECK_RC(mx_irecv(e, &seg, 1, 0, 0, NULL, &r), MX_BAD_MATCHING_FOR_CONTEXT_ID_MASK);
		CHECK_RC(mx_irecv(e, &seg, 1, 0, ~SIDE_BIT, NULL, &r), MX_BAD_MATCHING_FOR_CONTEXT_ID_MASK);
	}

	/* unexpected messages of b in context 1, 0, 1, then a marker */
	barrier(3);
	wait_marker(e, 18, peer_index + 16);
	result = 0;
	CHECK_OK(mx_iprobe(e, 0, 0, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, SIDE_BIT | 1);
	result = 0;
	CHECK_OK(mx_iprobe(e, 0, SIDE_BIT, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, 2);
	{
		static const struct {
			uint64_t match, mask, want;
			const char *text;
		} steps[] = {
			{ 0, SIDE_BIT, 2, "B" },                            /* context 0 first, though younger */
			{ SIDE_BIT, SIDE_BIT | 0xf0, SIDE_BIT | 1, "A" },   /* context 1, oldest */
			{ SIDE_BIT, SIDE_BIT, SIDE_BIT | 3, "C" },
		};
		for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
			char buf[8];
			mx_request_t r = NULL;

			memset(buf, 0, sizeof(buf));
			seg = mxu_seg(buf, sizeof(buf));
			CHECK_OK(mx_irecv(e, &seg, 1, steps[k].match, steps[k].mask, NULL, &r));
			st = wait_req(e, &r, "context receive");
			CHECK_EQ(st.match_info, steps[k].want);
			CHECK_STR_EQ(buf, steps[k].text);
		}
	}
	consume_marker(e, 18);
	nothing_done(e, "contexts");
	printf("context ids (bits 1, shift 41) with the peer in another process: ok\n");
}

static void side_a(void)
{
	mx_endpoint_t e2 = open_ep(my_index + 16, 1);
	mx_endpoint_addr_t to2;

	ep = open_ep(my_index, 0);
	peer = connect_to(ep, peer_index);
	to2 = connect_to(e2, peer_index + 16);
	barrier(1);
	a_ordering();
	a_blocking();
	a_cancel();
	barrier(2);
	a_context_ids(e2, to2);
	barrier(4);
	CHECK_OK(mx_close_endpoint(e2));
	CHECK_OK(mx_close_endpoint(ep));
}

/* ---- b ---- */

static void send_fill(mx_endpoint_t e, mx_endpoint_addr_t to, uint64_t match, char fill)
{
	char buf[16];

	memset(buf, fill, sizeof(buf));
	send_wait(e, to, buf, sizeof(buf), match);
}

static void b_context_ids(mx_endpoint_t e, mx_endpoint_addr_t to)
{
	static const uint32_t lens[4] = { 0, 64, 4096, 131072 };
	mx_request_t rreq[4], sreq[4];
	char *sbuf[4], *rbuf[4];
	mx_segment_t seg;
	mx_status_t st;

	for (int i = 0; i < 4; i++) {
		sbuf[i] = xmalloc(lens[i]);
		rbuf[i] = xmalloc(lens[i]);
		fill_pattern(sbuf[i], lens[i], 20 + (uint32_t)i);
		seg = mxu_seg(rbuf[i], lens[i]);
		CHECK_OK(mx_irecv(e, &seg, 1, SIDE_BIT | (uint64_t)(10 * (i + 1)), MX_MATCH_MASK_NONE, NULL, &rreq[i]));
	}
	for (int i = 0; i < 4; i++) {
		seg = mxu_seg(sbuf[i], lens[i]);
		CHECK_OK(mx_isend(e, &seg, 1, to, (uint64_t)(i + 1), NULL, &sreq[i]));
	}
	for (int i = 0; i < 4; i++) {
		st = wait_req(e, &rreq[i], "receive from a");
		MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, lens[i], lens[i]);
		CHECK_PATTERN(rbuf[i], lens[i], 10 + (uint32_t)i);
		CHECK_EQ(index_of(st.source), peer_index + 16);
	}
	for (int i = 0; i < 4; i++) {
		st = wait_req(e, &sreq[i], "send to a");
		MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, lens[i], lens[i]);
		free(sbuf[i]);
		free(rbuf[i]);
	}
	barrier(3);
	send_wait(e, to, (void *)"A", 2, SIDE_BIT | 1);
	send_wait(e, to, (void *)"B", 2, 2);
	send_wait(e, to, (void *)"C", 2, SIDE_BIT | 3);
	send_wait(e, to, NULL, 0, SYNC | 18);
}

static void side_b(void)
{
	mx_endpoint_t e2 = open_ep(my_index + 16, 1);
	mx_endpoint_addr_t to2;
	static const int order[4] = { 2, 0, 3, 1 };

	ep = open_ep(my_index, 0);
	peer = connect_to(ep, peer_index);
	to2 = connect_to(e2, peer_index + 16);
	barrier(1);

	await_peer(10);
	for (int k = 0; k < 4; k++)
		send_fill(ep, peer, 0x20 + (uint64_t)order[k], (char)('a' + order[k]));
	send_wait(ep, peer, NULL, 0, SYNC | 11);
	await_peer(12);
	send_fill(ep, peer, 0x44, 'a' + 4);
	send_fill(ep, peer, 0x45, 'a' + 5);
	send_wait(ep, peer, NULL, 0, SYNC | 13);

	await_peer(14);
	sleep_ms(300);
	send_fill(ep, peer, 0x50, 'p');
	await_peer(15);
	sleep_ms(300);
	send_fill(ep, peer, 0x51, 'q');

	await_peer(16);
	{
		uint32_t len = 1u << 20;
		char *rbuf = xmalloc(len);
		mx_status_t st = recv_wait(ep, rbuf, len, 0x61);

		MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, len, len);
		CHECK_PATTERN(rbuf, len, 0x61);
		free(rbuf);
	}
	send_fill(ep, peer, 0x60, 'c');
	send_wait(ep, peer, NULL, 0, SYNC | 17);
	barrier(2);

	b_context_ids(e2, to2);
	barrier(4);
	nothing_done(ep, "end");
	nothing_done(e2, "end");
	CHECK_OK(mx_close_endpoint(e2));
	CHECK_OK(mx_close_endpoint(ep));
}

int main(int argc, char **argv)
{
	char *end;

	if (argc != 4 || (strcmp(argv[1], "a") != 0 && strcmp(argv[1], "b") != 0)) {
		fprintf(stderr, "usage: %s a|b <my index> <peer index>\n", argv[0]);
		return 2;
	}
	my_index = (uint32_t)strtoul(argv[2], &end, 10);
	peer_index = (uint32_t)strtoul(argv[3], &end, 10);
	mx_set_error_handler(MX_ERRORS_RETURN);
	CHECK_OK(mx_init());
	if (argv[1][0] == 'a')
		side_a();
	else
		side_b();
	CHECK_OK(mx_finalize());
	printf("pair_any %s: PASS\n", argv[1]);
	return 0;
}
