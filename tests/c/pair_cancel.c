/*
 * pair_cancel.c: cancel and forget (tests/c/cancel.c) with the peer in
 * another process of the same host.
 *
 *   pair_cancel a <my index> <peer index>   cancels; also opens
 *                                           <my index> + 16
 *   pair_cancel b <my index> <peer index>   the peer
 *
 * 1. Receives posted by a and cancelled before b sends (omx_cancel on an
 *    irecv and on a rendezvous-sized irecvv -> result 1, handle NULL;
 *    omx_cancel_notest -> result 1, the request completes with
 *    OMX_CANCELLED, the posted match info and context, lengths 0) never
 *    complete when b's matching messages arrive later: those are
 *    unexpected (iprobe finds them, with their lengths) and new receives
 *    get them intact.
 * 2. A receive that already matched a message of b (a 1 MiB rendezvous):
 *    cancel and cancel_notest -> result 0, the request is unaffected and
 *    completes with the data.
 * 3. Sends to b that b has not received yet (eager, rendezvous,
 *    synchronous): omx_cancel and omx_cancel_notest -> OMX_BAD_REQUEST
 *    through the endpoint's error handler, the handle untouched; the sends
 *    then complete normally once b receives them.
 * 4. Forget: forgotten receives still consume b's messages (an eager one
 *    fills the buffer; a rendezvous one lets b's send complete with the
 *    whole length) and never reach the done queue; a forgotten rendezvous
 *    send to b is still delivered intact.
 * 5. iconnect from a second endpoint of a to b while b is stopped
 *    (SIGSTOP, so it cannot answer): omx_cancel -> result 1, handle NULL;
 *    omx_cancel_notest -> result 1 and OMX_CANCELLED; after SIGCONT the
 *    late replies are ignored, and a new iconnect succeeds and carries a
 *    message to b.
 */
#include "pair_util.h"

#define M_DATA UINT64_C(0x6100000000000000)
#define M_PID UINT64_C(0x6200000000000000)
#define M_SPACE UINT64_C(0xff00000000000000)
#define MATCH(k) (M_DATA | (uint64_t)(k))

/* the messages of the test: length and match number */
enum {
	C1, C2, C3,     /* part 1: cancelled receives */
	D1,             /* part 2: matched receive */
	E1, E2, E3,     /* part 3: sends cancelled */
	F1, F2, F3,     /* part 4: forgotten */
	G1,             /* part 5: after the cancelled iconnects */
	NMSG
};
static const uint32_t msg_len[NMSG] = {
	[C1] = 64, [C2] = 100000, [C3] = 10,
	[D1] = 1u << 20,
	[E1] = 100, [E2] = 1u << 20, [E3] = 0,
	[F1] = 200, [F2] = 300000, [F3] = 500000,
	[G1] = 8,
};

static uint32_t seed_of(int k)
{
	return 0x600u + (uint32_t)k;
}

/* a send buffer filled with message k's pattern */
static char *sbuf_of(int k)
{
	char *b = xmalloc(msg_len[k]);

	fill_pattern(b, msg_len[k], seed_of(k));
	return b;
}

/* a receive buffer of message k's length plus a guard */
static char *rbuf_of(int k)
{
	char *b = xmalloc(msg_len[k] + 64);

	memset(b, GUARD, msg_len[k] + 64);
	return b;
}

static void check_data(int k, const omx_status_t *st, const char *rbuf, uint32_t want_src)
{
	OMXU_CHECK_STATUS(*st, OMX_SUCCESS, msg_len[k], msg_len[k]);
	CHECK_EQ(st->match_info, MATCH(k));
	CHECK_EQ(pu_addr_index(st->addr), want_src);
	CHECK_PATTERN(rbuf, msg_len[k], seed_of(k));
	CHECK_BYTES(rbuf + msg_len[k], 64, GUARD);
}

static void check_cancelled(const omx_status_t *st, uint64_t match, void *ctx)
{
	CHECK_EQ(st->code, OMX_CANCELLED);
	CHECK_EQ(st->match_info, match);
	CHECK_PTR_EQ(st->context, ctx);
	CHECK_EQ(st->msg_length, 0);
	CHECK_EQ(st->xfer_length, 0);
}

/* counting endpoint error handler */
static int handler_calls;
static omx_return_t handler_last;

static omx_return_t counting_handler(char *msg, omx_return_t code)
{
	(void)msg;
	handler_calls++;
	handler_last = code;
	return code;
}

/* ---- a ---- */

static omx_endpoint_t ep;
static uint32_t peer_index;
static void a_cancelled_receives(omx_endpoint_addr_t peer)
{
	static char ctx1, ctx2, ctx3;
	omx_request_t req;
	omx_seg_t segs[2];
	omx_status_t st;
	uint32_t result;
	char *rbuf[3];

	for (int k = C1; k <= C3; k++)
		rbuf[k] = rbuf_of(k);

	req = NULL;
	CHECK_OK(omx_irecv(ep, rbuf[C1], msg_len[C1], MATCH(C1), ~(uint64_t)0, &ctx1, &req));
	result = 7;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(req, NULL);

	segs[0].ptr = rbuf[C2];
	segs[0].len = 1000;
	segs[1].ptr = rbuf[C2] + 1000;
	segs[1].len = msg_len[C2] - 1000;
	req = NULL;
	CHECK_OK(omx_irecvv(ep, segs, 2, MATCH(C2), ~(uint64_t)0, &ctx2, &req));
	result = 7;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_EQ(result, 1);
	CHECK_PTR_EQ(req, NULL);

	req = NULL;
	CHECK_OK(omx_irecv(ep, rbuf[C3], msg_len[C3], MATCH(C3), ~(uint64_t)0, &ctx3, &req));
	result = 7;
	CHECK_OK(omx_cancel_notest(ep, &req, &result));
	CHECK_EQ(result, 1);
	CHECK(req != NULL);
	memset(&st, 0xee, sizeof(st));
	st = pu_wait(ep, &req, "receive cancelled with cancel_notest");
	check_cancelled(&st, MATCH(C3), &ctx3);
	pu_nothing_done(ep, "after the cancels");

	/* now b sends the three messages, then says so */
	pu_signal(ep, peer, 10);
	pu_await(ep, 11);
	pu_nothing_done(ep, "messages matching cancelled receives");
	for (int k = C1; k <= C3; k++) {
		result = 0;
		CHECK_OK(omx_iprobe(ep, MATCH(k), ~(uint64_t)0, &st, &result));
		CHECK_MSG(result == 1, "message %d, matching a cancelled receive, is not unexpected", k);
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, msg_len[k], msg_len[k]);
		CHECK_EQ(pu_addr_index(st.addr), peer_index);
	}
	/* oldest first */
	result = 0;
	CHECK_OK(omx_iprobe(ep, M_DATA, M_SPACE, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, MATCH(C1));
	for (int k = C1; k <= C3; k++) {
		st = pu_recv(ep, rbuf[k], msg_len[k], MATCH(k));
		check_data(k, &st, rbuf[k], peer_index);
		free(rbuf[k]);
	}
	pu_none_queued(ep, M_DATA, M_SPACE, "part 1");
	pu_nothing_done(ep, "part 1");
	printf("part 1: cancelled receives never complete, later messages are unexpected: ok\n");
}

static void a_matched_receive(omx_endpoint_addr_t peer)
{
	static char ctx;
	char *rbuf = rbuf_of(D1);
	omx_request_t req = NULL;
	omx_status_t st;
	uint32_t result;

	CHECK_OK(omx_irecv(ep, rbuf, msg_len[D1], MATCH(D1), ~(uint64_t)0, &ctx, &req));
	pu_signal(ep, peer, 12);
	pu_await(ep, 13); /* b's message was matched before this one */
	result = 7;
	CHECK_OK(omx_cancel(ep, &req, &result));
	CHECK_MSG(result == 0, "cancel of a receive that matched a message returned result %u", result);
	CHECK(req != NULL);
	result = 7;
	CHECK_OK(omx_cancel_notest(ep, &req, &result));
	CHECK_EQ(result, 0);
	CHECK(req != NULL);
	st = pu_wait(ep, &req, "matched receive after cancel");
	CHECK_PTR_EQ(st.context, &ctx);
	check_data(D1, &st, rbuf, peer_index);
	free(rbuf);
	pu_nothing_done(ep, "part 2");
	printf("part 2: a matched receive cannot be cancelled: ok\n");
}

static void a_cancelled_sends(omx_endpoint_addr_t peer)
{
	static char ctx[3];
	char *sbuf[3];
	omx_request_t req[3];
	omx_status_t st;
	uint32_t result;
	omx_error_handler_t prev;

	prev = omx_set_error_handler(ep, counting_handler);
	for (int i = 0; i < 3; i++) {
		int k = E1 + i;

		sbuf[i] = sbuf_of(k);
		req[i] = NULL;
		if (k == E3)
			CHECK_OK(omx_issend(ep, sbuf[i], msg_len[k], peer, MATCH(k), &ctx[i], &req[i]));
		else
			CHECK_OK(omx_isend(ep, sbuf[i], msg_len[k], peer, MATCH(k), &ctx[i], &req[i]));
	}
	for (int i = 0; i < 3; i++) {
		omx_request_t keep = req[i];

		handler_calls = 0;
		result = 7;
		CHECK_RC(omx_cancel(ep, &req[i], &result), OMX_BAD_REQUEST);
		CHECK_MSG(handler_calls == 1 && handler_last == OMX_BAD_REQUEST,
			  "cancel of send %d: error handler calls %d, last code %d", i, handler_calls, handler_last);
		CHECK_PTR_EQ(req[i], keep);
		CHECK_EQ(result, 7);
		handler_calls = 0;
		CHECK_RC(omx_cancel_notest(ep, &req[i], &result), OMX_BAD_REQUEST);
		CHECK_EQ(handler_calls, 1);
		CHECK_PTR_EQ(req[i], keep);
	}
	omx_set_error_handler(ep, prev);
	pu_signal(ep, peer, 14); /* b receives them now */
	for (int i = 0; i < 3; i++) {
		int k = E1 + i;

		st = pu_wait(ep, &req[i], "send after a refused cancel");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, msg_len[k], msg_len[k]);
		CHECK_EQ(st.match_info, MATCH(k));
		CHECK_PTR_EQ(st.context, &ctx[i]);
		CHECK_EQ(pu_addr_index(st.addr), peer_index);
		free(sbuf[i]);
	}
	pu_await(ep, 15);
	pu_nothing_done(ep, "part 3");
	printf("part 3: sends cannot be cancelled (OMX_BAD_REQUEST), they complete normally: ok\n");
}

static void a_forget(omx_endpoint_addr_t peer)
{
	char *r1 = rbuf_of(F1), *r2 = rbuf_of(F2), *s3 = sbuf_of(F3);
	omx_request_t req;
	omx_status_t st;
	uint32_t result;

	req = NULL;
	CHECK_OK(omx_irecv(ep, r1, msg_len[F1], MATCH(F1), ~(uint64_t)0, NULL, &req));
	CHECK_OK(omx_forget(ep, &req));
	CHECK_PTR_EQ(req, NULL);
	req = NULL;
	CHECK_OK(omx_irecv(ep, r2, msg_len[F2], MATCH(F2), ~(uint64_t)0, NULL, &req));
	CHECK_OK(omx_forget(ep, &req));
	CHECK_PTR_EQ(req, NULL);
	req = NULL;
	CHECK_OK(omx_isend(ep, s3, msg_len[F3], peer, MATCH(F3), NULL, &req));
	CHECK_OK(omx_forget(ep, &req));
	CHECK_PTR_EQ(req, NULL);
	pu_signal(ep, peer, 16);
	pu_await(ep, 17); /* b received F3 and its sends of F1, F2 completed */
	CHECK_PATTERN(r1, msg_len[F1], seed_of(F1));
	CHECK_BYTES(r1 + msg_len[F1], 64, GUARD);
	CHECK_PATTERN(r2, msg_len[F2], seed_of(F2));
	CHECK_BYTES(r2 + msg_len[F2], 64, GUARD);
	result = 7;
	CHECK_OK(omx_iprobe(ep, M_DATA, M_SPACE, &st, &result));
	CHECK_MSG(result == 0, "forgotten receives did not consume the messages (match 0x%" PRIx64 " queued)",
		  st.match_info);
	pu_nothing_done(ep, "forgotten requests");
	free(r1);
	free(r2);
	free(s3);
	printf("part 4: forgotten receives consume messages, a forgotten send is delivered: ok\n");
}

static void a_iconnect(omx_endpoint_addr_t peer, uint32_t me)
{
	static char ctx1, ctx2, ctx3;
	omx_endpoint_t ep2 = pu_open(me + 16);
	omx_request_t req;
	omx_status_t st;
	uint32_t result;
	char *s = sbuf_of(G1);

	pu_stop_peer();

	req = NULL;
	CHECK_OK(omx_iconnect(ep2, pu_nic(), peer_index, OMXU_KEY, 0x77, &ctx1, &req));
	result = 7;
	CHECK_OK(omx_wait(ep2, &req, &st, &result, 300));
	CHECK_MSG(result == 0, "iconnect to a stopped process completed: code %d (%s)", st.code,
		  omx_strerror(st.code));
	result = 7;
	CHECK_OK(omx_cancel(ep2, &req, &result));
	CHECK_MSG(result == 1, "cancel of an unanswered iconnect returned result %u", result);
	CHECK_PTR_EQ(req, NULL);

	req = NULL;
	CHECK_OK(omx_iconnect(ep2, pu_nic(), peer_index, OMXU_KEY, 0x78, &ctx2, &req));
	for (int i = 0; i < 5; i++)
		CHECK_OK(omx_progress(ep2));
	result = 7;
	CHECK_OK(omx_cancel_notest(ep2, &req, &result));
	CHECK_EQ(result, 1);
	CHECK(req != NULL);
	st = pu_wait(ep2, &req, "iconnect cancelled with cancel_notest");
	check_cancelled(&st, 0x78, &ctx2);
	pu_nothing_done(ep2, "cancelled iconnects");

	pu_cont_peer();

	/* b answers the cancelled requests now: the replies are ignored */
	req = NULL;
	CHECK_OK(omx_iconnect(ep2, pu_nic(), peer_index, OMXU_KEY, 0x79, &ctx3, &req));
	st = pu_wait(ep2, &req, "iconnect after SIGCONT");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, 0, 0);
	CHECK_EQ(st.match_info, 0x79);
	CHECK_PTR_EQ(st.context, &ctx3);
	CHECK_EQ(pu_addr_index(st.addr), peer_index);
	pu_send(ep2, st.addr, s, msg_len[G1], MATCH(G1));
	pu_signal(ep, peer, 18);
	pu_await(ep, 19);
	for (int i = 0; i < 5; i++)
		CHECK_OK(omx_progress(ep2));
	pu_nothing_done(ep2, "late replies to cancelled iconnects");
	pu_nothing_unexpected(ep2, "control endpoint");
	CHECK_OK(omx_close_endpoint(ep2));
	free(s);
	printf("part 5: iconnects to a stopped process cancelled, late replies ignored: ok\n");
}

static void side_a(uint32_t me, uint32_t peer_idx)
{
	peer_index = peer_idx;
	omx_endpoint_addr_t peer;
	omx_status_t st;
	int32_t pid = 0;

	ep = pu_open(me);
	peer = pu_connect(ep, peer_index);
	st = pu_recv(ep, &pid, sizeof(pid), M_PID);
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, sizeof(pid), sizeof(pid));
	pu_set_peer_pid(pid);

	a_cancelled_receives(peer);
	pu_barrier(ep, peer, 1);
	a_matched_receive(peer);
	pu_barrier(ep, peer, 2);
	a_cancelled_sends(peer);
	pu_barrier(ep, peer, 3);
	a_forget(peer);
	pu_barrier(ep, peer, 4);
	a_iconnect(peer, me);
	pu_barrier(ep, peer, 5);
	pu_nothing_unexpected(ep, "end");
	pu_nothing_done(ep, "end");
	CHECK_OK(omx_close_endpoint(ep));
}

/* ---- b ---- */

static void b_recv(int k, uint32_t want_src)
{
	char *rbuf = rbuf_of(k);
	omx_status_t st = pu_recv(ep, rbuf, msg_len[k], MATCH(k));

	check_data(k, &st, rbuf, want_src);
	free(rbuf);
}

static void side_b(uint32_t me, uint32_t peer_idx)
{
	peer_index = peer_idx;
	omx_endpoint_addr_t peer;
	int32_t pid = (int32_t)getpid();

	ep = pu_open(me);
	peer = pu_connect(ep, peer_index);
	pu_send(ep, peer, &pid, sizeof(pid), M_PID);

	/* 1: the three messages after a cancelled its receives */
	pu_await(ep, 10);
	{
		char *sbuf[3];
		omx_request_t req[3];

		for (int k = C1; k <= C3; k++) {
			sbuf[k] = sbuf_of(k);
			CHECK_OK(omx_isend(ep, sbuf[k], msg_len[k], peer, MATCH(k), NULL, &req[k]));
		}
		pu_signal(ep, peer, 11);
		for (int k = C1; k <= C3; k++) {
			omx_status_t st = pu_wait(ep, &req[k], "send");

			OMXU_CHECK_STATUS(st, OMX_SUCCESS, msg_len[k], msg_len[k]);
			free(sbuf[k]);
		}
	}
	pu_barrier(ep, peer, 1);

	/* 2: the message a's receive matches before a cancels it */
	pu_await(ep, 12);
	{
		char *s = sbuf_of(D1);
		omx_request_t req = NULL;
		omx_status_t st;

		CHECK_OK(omx_isend(ep, s, msg_len[D1], peer, MATCH(D1), NULL, &req));
		pu_signal(ep, peer, 13);
		st = pu_wait(ep, &req, "send");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, msg_len[D1], msg_len[D1]);
		free(s);
	}
	pu_barrier(ep, peer, 2);

	/* 3: receive the sends a tried to cancel */
	pu_await(ep, 14);
	for (int k = E1; k <= E3; k++)
		b_recv(k, peer_index);
	pu_signal(ep, peer, 15);
	pu_barrier(ep, peer, 3);

	/* 4: send to a's forgotten receives, receive its forgotten send */
	pu_await(ep, 16);
	{
		char *s1 = sbuf_of(F1), *s2 = sbuf_of(F2);
		omx_request_t r1 = NULL, r2 = NULL;
		omx_status_t st;

		CHECK_OK(omx_isend(ep, s1, msg_len[F1], peer, MATCH(F1), NULL, &r1));
		CHECK_OK(omx_isend(ep, s2, msg_len[F2], peer, MATCH(F2), NULL, &r2));
		b_recv(F3, peer_index);
		st = pu_wait(ep, &r1, "send to a forgotten receive");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, msg_len[F1], msg_len[F1]);
		st = pu_wait(ep, &r2, "rendezvous send to a forgotten receive");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, msg_len[F2], msg_len[F2]);
		free(s1);
		free(s2);
		pu_signal(ep, peer, 17);
	}
	pu_barrier(ep, peer, 4);

	/* 5: stopped meanwhile; then a message from a's second endpoint */
	b_recv(G1, peer_index + 16);
	pu_await(ep, 18);
	pu_signal(ep, peer, 19);
	pu_barrier(ep, peer, 5);
	pu_nothing_unexpected(ep, "end");
	pu_nothing_done(ep, "end");
	CHECK_OK(omx_close_endpoint(ep));
}

int main(int argc, char **argv)
{
	return pu_main(argc, argv, "pair_cancel", "a", side_a, "b", side_b);
}
