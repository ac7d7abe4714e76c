/*
 * pair_unexp.c: the unexpected handler (tests/c/unexp_handler.c) with the
 * sender in another process of the same host (the shared path).
 *
 *   pair_unexp r <my index> <peer index>   receiver, with the handler; it
 *                                          also opens <my index> + 16, a
 *                                          control endpoint
 *   pair_unexp s <my index> <peer index>   sender
 *
 * Part 1. The sender sends, one at a time, lengths 0, 16, 100, 1024, 4096,
 * 4097, 10000 and 1 MiB with isend, issend and a 2-segment isendv; no
 * receive is posted, so each message reaches the handler, which checks the
 * source (the sender's endpoint), match info, length and
 * data_if_available (the payload for eager messages, i.e. not synchronous
 * and at most 4096 bytes on the same-host path, including length 0; NULL
 * otherwise), then:
 *   FINISHED    sends a 0-byte "handler ack" to the source (a send from
 *               inside the handler) and consumes the message;
 *   POST        posts a receive of the full length (omx_irecv inside the
 *               handler) and returns CONTINUE: that receive gets the data;
 *   POST_TRUNC  the same with a receive of half the length (truncated);
 *   QUEUE       returns CONTINUE with nothing posted: the message waits in
 *               the unexpected queue, iprobe finds it, a receive takes it.
 * The sender checks its status: eager sends succeed (xfer = length);
 * rendezvous and synchronous ones report what the receiver took (0 for
 * FINISHED, half for POST_TRUNC: OMX_MESSAGE_TRUNCATED; all: success).
 * Nothing is left behind (unexpected queue, done queue); the handler is
 * called exactly once per message, in order.
 *
 * Part 2. Progression disabled: the receiver disables progression of its
 * endpoint, posts a receive (posting still works) and tells the sender
 * (through the control endpoint) to send 4 messages: one matching the
 * posted receive, three for the handler (the last a rendezvous one). Once
 * the sender said (again through the control endpoint) that it sent them,
 * nothing may happen on the endpoint: no handler call, the receive not
 * done, nothing to probe, peek or test, a 300 ms wait times out. After
 * omx_reenable_progression everything is delivered, handler calls in
 * sending order.
 */
#include "pair_util.h"

#include <stdarg.h>

#define SHARED_EAGER_MAX 4096u /* same-host rendezvous threshold */

#define M_PART1 UINT64_C(0x5100000000000000)
#define M_ACK UINT64_C(0x5200000000000000)
#define M_HACK UINT64_C(0x5300000000000000)
#define M_PART2 UINT64_C(0x5400000000000000)
#define M_SPACE UINT64_C(0xff00000000000000)

enum kind { K_ISEND, K_ISSEND, K_ISENDV, NKINDS };
static const char *kind_names[] = { "isend", "issend", "isendv" };
enum action { A_FINISHED, A_POST, A_POST_TRUNC, A_QUEUE, NACTIONS };
static const char *action_names[] = { "FINISHED", "CONTINUE+irecv", "CONTINUE+short irecv", "CONTINUE+queue" };

static const uint32_t lens[] = { 0, 16, 100, 1024, 4096, 4097, 10000, 1u << 20 };
#define NLENS (sizeof(lens) / sizeof(lens[0]))
#define NITERS ((int)(NLENS * NKINDS * NACTIONS))

struct iter {
	uint32_t len;
	enum kind kind;
	enum action action;
	uint32_t seed;
	uint64_t match;
};

static struct iter iter_of(int i)
{
	struct iter it;

	it.action = (enum action)(i % NACTIONS);
	it.kind = (enum kind)(i / NACTIONS % NKINDS);
	it.len = lens[i / (NACTIONS * NKINDS)];
	it.seed = 1000u + (uint32_t)i;
	it.match = M_PART1 | (uint64_t)i;
	return it;
}

/* rendezvous: the sender learns how much the receiver took */
static int is_rndv(const struct iter *it)
{
	return it->kind == K_ISSEND || it->len > SHARED_EAGER_MAX;
}

/* the length a receive posted for this message can take */
static uint32_t recv_len(const struct iter *it)
{
	switch (it->action) {
	case A_FINISHED:
		return 0;
	case A_POST_TRUNC:
		return it->len / 2;
	default:
		return it->len;
	}
}

/* ---- receiver ---- */

static omx_endpoint_t rep;
static uint32_t sender_index;

static struct {
	int expect;              /* the part-1 iteration expected next */
	int calls[NITERS];       /* handler calls per part-1 iteration */
	char *rbuf;              /* receive buffer prepared for the iteration */
	omx_request_t req;       /* receive posted by the handler */
	uint64_t part2[8];       /* part-2 match infos, in handler call order */
	volatile int part2_calls;
	int other_calls;         /* synchronisation messages */
	char err[512];
} h;

static void herr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void herr(const char *fmt, ...)
{
	va_list ap;

	if (h.err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(h.err, sizeof(h.err), fmt, ap);
	va_end(ap);
}

static omx_unexp_handler_action_t handler(void *context, omx_endpoint_addr_t source, uint64_t match_info,
					  uint32_t msg_length, void *data)
{
	uint64_t nic = 0;
	uint32_t eid = 0;
	int i;
	struct iter it;
	omx_return_t rc;

	if (context != &h)
		herr("handler context %p, want %p", context, (void *)&h);
	if (omx_decompose_endpoint_addr(source, &nic, &eid) != OMX_SUCCESS || eid != sender_index)
		herr("handler source endpoint %u, want the sender's %u", eid, sender_index);

	switch (match_info & M_SPACE) {
	case PU_SYNC:
		h.other_calls++;
		return OMX_UNEXP_HANDLER_RECV_CONTINUE;
	case M_PART2:
		if (h.part2_calls < 8)
			h.part2[h.part2_calls] = match_info;
		h.part2_calls++;
		return OMX_UNEXP_HANDLER_RECV_CONTINUE;
	case M_PART1:
		break;
	default:
		herr("handler called for match 0x%" PRIx64, match_info);
		return OMX_UNEXP_HANDLER_RECV_CONTINUE;
	}

	i = (int)(match_info & 0xffff);
	if (i >= NITERS) {
		herr("handler: match 0x%" PRIx64 " out of range", match_info);
		return OMX_UNEXP_HANDLER_RECV_CONTINUE;
	}
	h.calls[i]++;
	if (i != h.expect) {
		herr("handler called for message %d, want %d (messages must come in order, once)", i, h.expect);
		return OMX_UNEXP_HANDLER_RECV_CONTINUE;
	}
	it = iter_of(i);
	if (match_info != it.match)
		herr("handler match_info 0x%" PRIx64 ", want 0x%" PRIx64, match_info, it.match);
	if (msg_length != it.len)
		herr("handler msg_length %u, want %u", msg_length, it.len);
	if (!is_rndv(&it)) {
		/* eager, in one fragment: the payload, even for 0 bytes */
		if (data == NULL)
			herr("data_if_available is NULL for an eager %u-byte %s message", it.len,
			     kind_names[it.kind]);
		else if (pattern_mismatch(data, it.len, it.seed) >= 0)
			herr("data_if_available differs at offset %ld", pattern_mismatch(data, it.len, it.seed));
	} else if (data != NULL) {
		herr("data_if_available is %p, want NULL for a %u-byte %s message (rendezvous)", data, it.len,
		     kind_names[it.kind]);
	}

	switch (it.action) {
	case A_FINISHED:
		/* a send to the other process from inside the handler */
		rc = omx_isend(rep, NULL, 0, source, M_HACK | (uint64_t)i, NULL, NULL);
		if (rc != OMX_SUCCESS)
			herr("isend inside the handler: %s", omx_strerror(rc));
		return OMX_UNEXP_HANDLER_RECV_FINISHED;
	case A_POST:
	case A_POST_TRUNC:
		rc = omx_irecv(rep, h.rbuf, recv_len(&it), it.match, ~(uint64_t)0, &h, &h.req);
		if (rc != OMX_SUCCESS)
			herr("irecv inside the handler: %s", omx_strerror(rc));
		return OMX_UNEXP_HANDLER_RECV_CONTINUE;
	default:
		return OMX_UNEXP_HANDLER_RECV_CONTINUE;
	}
}

/* check_received checks a receive status and buffer of a part-1 message. */
static void check_received(const struct iter *it, const omx_status_t *st, const char *rbuf, uint32_t rlen,
			   const char *what)
{
	int want = rlen < it->len ? OMX_MESSAGE_TRUNCATED : OMX_SUCCESS;

	if ((int)st->code != want || st->msg_length != it->len || st->xfer_length != rlen)
		FAILF("%s of %u-byte %s (%s): code %d (%s) msg %u xfer %u, want code %d msg %u xfer %u", what,
		      it->len, kind_names[it->kind], action_names[it->action], st->code, omx_strerror(st->code),
		      st->msg_length, st->xfer_length, want, it->len, rlen);
	CHECK_EQ(st->match_info, it->match);
	CHECK_EQ(pu_addr_index(st->addr), sender_index);
	CHECK_PATTERN(rbuf, rlen, it->seed);
	CHECK_BYTES(rbuf + rlen, 64, GUARD);
}

static void receiver_part1(omx_endpoint_addr_t peer)
{
	for (int i = 0; i < NITERS; i++) {
		struct iter it = iter_of(i);
		uint32_t rlen = recv_len(&it);
		omx_status_t st;
		uint32_t result;
		double end;

		h.rbuf = xmalloc(it.len + 64);
		memset(h.rbuf, GUARD, it.len + 64);
		h.req = NULL;
		h.expect = i;

		end = now_ms() + OMXU_WAIT_MS;
		while (h.calls[i] == 0) {
			CHECK_OK(omx_progress(rep));
			if (now_ms() > end)
				FAILF("%u-byte %s (%s): the handler was never called", it.len, kind_names[it.kind],
				      action_names[it.action]);
		}
		if (h.err[0] != '\0')
			FAILF("%u-byte %s (%s): %s", it.len, kind_names[it.kind], action_names[it.action], h.err);

		switch (it.action) {
		case A_FINISHED:
			break;
		case A_POST:
		case A_POST_TRUNC:
			CHECK_MSG(h.req != NULL, "the handler posted no request");
			st = pu_wait(rep, &h.req, "receive posted by the handler");
			CHECK_PTR_EQ(st.context, &h);
			check_received(&it, &st, h.rbuf, rlen, "receive posted in the handler");
			break;
		case A_QUEUE: {
			omx_request_t r = NULL;

			result = 0;
			CHECK_OK(omx_iprobe(rep, it.match, ~(uint64_t)0, &st, &result));
			CHECK_MSG(result == 1, "%u-byte %s left to the unexpected queue: iprobe finds nothing", it.len,
				  kind_names[it.kind]);
			OMXU_CHECK_STATUS(st, OMX_SUCCESS, it.len, it.len);
			CHECK_EQ(pu_addr_index(st.addr), sender_index);
			CHECK_OK(omx_irecv(rep, h.rbuf, it.len, it.match, ~(uint64_t)0, NULL, &r));
			st = pu_wait(rep, &r, "receive of a queued message");
			check_received(&it, &st, h.rbuf, rlen, "receive from the unexpected queue");
			break;
		}
		default:
			break;
		}
		/* nothing left: consumed (FINISHED) or received, once */
		pu_nothing_unexpected(rep, action_names[it.action]);
		pu_nothing_done(rep, action_names[it.action]);
		CHECK_MSG(h.calls[i] == 1, "handler called %d times for message %d", h.calls[i], i);
		free(h.rbuf);
		h.rbuf = NULL;
		h.expect = i + 1;
		pu_send(rep, peer, NULL, 0, M_ACK | (uint64_t)i);
	}
	printf("part 1: %d messages through the handler (FINISHED, CONTINUE + irecv in the handler, "
	       "CONTINUE + unexpected queue): ok\n", NITERS);
}

#define P2_N 4
static const uint32_t p2_lens[P2_N] = { 100, 50, 2000, 10000 };

static void receiver_part2(omx_endpoint_t ctl, omx_endpoint_addr_t ctl_peer)
{
	char *rbuf[P2_N];
	omx_request_t rreq = NULL, peeked = NULL;
	omx_status_t st;
	uint32_t result;
	double t0, dt, end;

	for (int k = 0; k < P2_N; k++) {
		rbuf[k] = xmalloc(p2_lens[k] + 64);
		memset(rbuf[k], GUARD, p2_lens[k] + 64);
	}
	CHECK_OK(omx_disable_progression(rep));
	/* posting still works while progression is disabled */
	CHECK_OK(omx_irecv(rep, rbuf[0], p2_lens[0], M_PART2 | 0, ~(uint64_t)0, NULL, &rreq));
	pu_signal(ctl, ctl_peer, 20); /* go */
	pu_await(ctl, 21);            /* the sender posted its 4 messages */

	CHECK_EQ(h.part2_calls, 0);
	result = 7;
	CHECK_OK(omx_test(rep, &rreq, &st, &result));
	CHECK_MSG(result == 0, "a receive completed while progression was disabled");
	result = 7;
	CHECK_OK(omx_iprobe(rep, 0, 0, &st, &result));
	CHECK_MSG(result == 0, "iprobe found match 0x%" PRIx64 " while progression was disabled", st.match_info);
	result = 7;
	CHECK_OK(omx_ipeek(rep, &peeked, &result));
	CHECK_EQ(result, 0);
	result = 7;
	CHECK_OK(omx_test_any(rep, 0, 0, &st, &result));
	CHECK_EQ(result, 0);
	t0 = now_ms();
	result = 7;
	CHECK_OK(omx_wait(rep, &rreq, &st, &result, 300));
	dt = now_ms() - t0;
	CHECK_MSG(result == 0, "omx_wait completed a receive while progression was disabled");
	CHECK_MSG(dt >= 250, "omx_wait(300 ms) with progression disabled returned after %.0f ms", dt);
	result = 7;
	CHECK_OK(omx_probe(rep, M_PART2 | 1, ~(uint64_t)0, &st, &result, 100));
	CHECK_EQ(result, 0);
	CHECK_MSG(h.part2_calls == 0, "the handler ran %d times while progression was disabled", h.part2_calls);
	CHECK(rreq != NULL);

	CHECK_OK(omx_reenable_progression(rep));
	printf("part 2: omx_reenable_progression itself delivered %d of %d held-back handler calls\n", h.part2_calls,
	       P2_N - 1);
	end = now_ms() + OMXU_WAIT_MS;
	while (h.part2_calls < P2_N - 1) {
		CHECK_OK(omx_progress(rep));
		CHECK_MSG(now_ms() < end, "after reenable: %d handler calls, want %d", h.part2_calls, P2_N - 1);
	}
	if (h.err[0] != '\0')
		FAILF("part 2: %s", h.err);
	CHECK_EQ(h.part2_calls, P2_N - 1);
	for (int k = 1; k < P2_N; k++)
		CHECK_MSG(h.part2[k - 1] == (M_PART2 | (uint64_t)k), "handler call %d for match 0x%" PRIx64
			  ", want 0x%" PRIx64 " (sending order)", k - 1, h.part2[k - 1], M_PART2 | (uint64_t)k);
	st = pu_wait(rep, &rreq, "receive posted while progression was disabled");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, p2_lens[0], p2_lens[0]);
	CHECK_PATTERN(rbuf[0], p2_lens[0], 2000);
	CHECK_BYTES(rbuf[0] + p2_lens[0], 64, GUARD);
	/* the handler said CONTINUE: the other three wait, oldest first */
	result = 0;
	CHECK_OK(omx_iprobe(rep, M_PART2, M_SPACE, &st, &result));
	CHECK_EQ(result, 1);
	CHECK_EQ(st.match_info, M_PART2 | 1);
	for (int k = 1; k < P2_N; k++) {
		omx_request_t r = NULL;

		CHECK_OK(omx_irecv(rep, rbuf[k], p2_lens[k], M_PART2, M_SPACE, NULL, &r));
		st = pu_wait(rep, &r, "part 2 receive");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, p2_lens[k], p2_lens[k]);
		CHECK_EQ(st.match_info, M_PART2 | (uint64_t)k);
		CHECK_PATTERN(rbuf[k], p2_lens[k], 2000 + k);
		CHECK_BYTES(rbuf[k] + p2_lens[k], 64, GUARD);
	}
	pu_none_queued(rep, M_PART2, M_SPACE, "part 2");
	pu_nothing_done(rep, "part 2");
	for (int k = 0; k < P2_N; k++)
		free(rbuf[k]);
	printf("part 2: progression disabled holds back completions and handler calls; reenable delivers: ok\n");
}

static void receiver(uint32_t me, uint32_t peer_index)
{
	omx_endpoint_t ctl;
	omx_endpoint_addr_t peer, ctl_peer;

	sender_index = peer_index;
	rep = pu_open(me);
	ctl = pu_open(me + 16);
	CHECK_OK(omx_register_unexp_handler(rep, handler, &h));
	peer = pu_connect(rep, peer_index);
	ctl_peer = pu_connect(ctl, peer_index);

	pu_barrier(rep, peer, 1);
	receiver_part1(peer);
	pu_barrier(rep, peer, 2);
	receiver_part2(ctl, ctl_peer);
	pu_barrier(rep, peer, 3);

	if (h.err[0] != '\0')
		FAILF("%s", h.err);
	for (int i = 0; i < NITERS; i++)
		CHECK_MSG(h.calls[i] == 1, "handler called %d times for message %d", h.calls[i], i);
	CHECK_OK(omx_register_unexp_handler(rep, NULL, NULL));
	pu_nothing_unexpected(rep, "end");
	pu_nothing_done(rep, "end");
	pu_nothing_unexpected(ctl, "end (control endpoint)");
	pu_nothing_done(ctl, "end (control endpoint)");
	CHECK_OK(omx_close_endpoint(ctl));
	CHECK_OK(omx_close_endpoint(rep));
}

/* ---- sender ---- */

static void sender_part1(omx_endpoint_t ep, omx_endpoint_addr_t peer)
{
	static char sctx;

	for (int i = 0; i < NITERS; i++) {
		struct iter it = iter_of(i);
		char *sbuf = xmalloc(it.len);
		omx_request_t sreq = NULL, ack = NULL, hack = NULL;
		omx_status_t st;
		uint32_t want_xfer = it.len;
		int want_code = OMX_SUCCESS;

		fill_pattern(sbuf, it.len, it.seed);
		CHECK_OK(omx_irecv(ep, NULL, 0, M_ACK | (uint64_t)i, ~(uint64_t)0, NULL, &ack));
		if (it.action == A_FINISHED)
			CHECK_OK(omx_irecv(ep, NULL, 0, M_HACK | (uint64_t)i, ~(uint64_t)0, NULL, &hack));
		switch (it.kind) {
		case K_ISEND:
			CHECK_OK(omx_isend(ep, sbuf, it.len, peer, it.match, &sctx, &sreq));
			break;
		case K_ISSEND:
			CHECK_OK(omx_issend(ep, sbuf, it.len, peer, it.match, &sctx, &sreq));
			break;
		default: {
			omx_seg_t segs[2];

			segs[0].ptr = sbuf;
			segs[0].len = it.len * 2 / 5;
			segs[1].ptr = sbuf + it.len * 2 / 5;
			segs[1].len = it.len - it.len * 2 / 5;
			CHECK_OK(omx_isendv(ep, segs, 2, peer, it.match, &sctx, &sreq));
			break;
		}
		}
		st = pu_wait(ep, &sreq, "send");
		if (is_rndv(&it)) {
			want_xfer = recv_len(&it);
			if (want_xfer < it.len)
				want_code = OMX_MESSAGE_TRUNCATED;
		}
		if ((int)st.code != want_code || st.msg_length != it.len || st.xfer_length != want_xfer)
			FAILF("%u-byte %s (%s): sender status code %d (%s) msg %u xfer %u, want code %d (%s) msg %u "
			      "xfer %u", it.len, kind_names[it.kind], action_names[it.action], st.code,
			      omx_strerror(st.code), st.msg_length, st.xfer_length, want_code,
			      omx_strerror((omx_return_t)want_code), it.len, want_xfer);
		CHECK_EQ(st.match_info, it.match);
		CHECK_PTR_EQ(st.context, &sctx);
		if (hack != NULL) {
			st = pu_wait(ep, &hack, "ack sent by the handler");
			OMXU_CHECK_STATUS(st, OMX_SUCCESS, 0, 0);
		}
		st = pu_wait(ep, &ack, "ack");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, 0, 0);
		free(sbuf);
	}
	printf("part 1: %d messages sent, sender statuses: ok\n", NITERS);
}

static void sender_part2(omx_endpoint_t ep, omx_endpoint_addr_t peer, omx_endpoint_addr_t ctl_peer)
{
	char *sbuf[P2_N];
	omx_request_t sreq[P2_N];
	omx_status_t st;

	for (int k = 0; k < P2_N; k++) {
		sbuf[k] = xmalloc(p2_lens[k]);
		fill_pattern(sbuf[k], p2_lens[k], 2000 + (uint32_t)k);
	}
	pu_await(ep, 20);
	for (int k = 0; k < P2_N; k++)
		CHECK_OK(omx_isend(ep, sbuf[k], p2_lens[k], peer, M_PART2 | (uint64_t)k, NULL, &sreq[k]));
	pu_signal(ep, ctl_peer, 21);
	for (int k = 0; k < P2_N; k++) {
		st = pu_wait(ep, &sreq[k], "part 2 send");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, p2_lens[k], p2_lens[k]);
	}
	for (int k = 0; k < P2_N; k++)
		free(sbuf[k]);
	printf("part 2: ok\n");
}

static void sender(uint32_t me, uint32_t peer_index)
{
	omx_endpoint_t ep = pu_open(me);
	omx_endpoint_addr_t peer = pu_connect(ep, peer_index);
	omx_endpoint_addr_t ctl_peer = pu_connect(ep, peer_index + 16);

	pu_barrier(ep, peer, 1);
	sender_part1(ep, peer);
	pu_barrier(ep, peer, 2);
	sender_part2(ep, peer, ctl_peer);
	pu_barrier(ep, peer, 3);
	pu_nothing_unexpected(ep, "end");
	pu_nothing_done(ep, "end");
	CHECK_OK(omx_close_endpoint(ep));
}

int main(int argc, char **argv)
{
	return pu_main(argc, argv, "pair_unexp", "r", receiver, "s", sender);
}
