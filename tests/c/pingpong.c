/*
 * pingpong.c: one-process ping-pong over the self path (an endpoint sending
 * to its own address) or between two endpoints of the process, for every
 * message size class from 0 bytes to 16 MiB, through the MX API (default) or
 * the Open-MX API (-O).
 *
 * Every transfer checks the payload (a pattern seeded by size, iteration and
 * direction), the guard bytes after the receive buffer, and both statuses:
 * code, msg_length, xfer_length, match_info, context pointer, and the
 * address (receive: source = sender, send: destination = receiver).  The
 * ping is sent to an already posted receive (expected path), the pong is
 * sent before its receive is posted (unexpected path).
 *
 * Options:
 *   -O   use the Open-MX API (omx_*) instead of the MX API (mx_*)
 *   -x   cross endpoint: endpoint A sends to endpoint B (default: self)
 *   -S   synchronous sends (mx_issend / omx_issend)
 *   -v   vectored sends and receives (several segments, one empty)
 *   -m N largest size to run (default 16 MiB)
 *   -q   quiet (no per-size line)
 *
 * The environment (OMX_DISABLE_SELF, OMX_DISABLE_SHARED, ...) is left to
 * the caller.  Exit 0 on success, 1 with a FAIL line on stderr otherwise.
 */
#include <myriexpress.h>
#include <mx_extensions.h>
#include <open-mx.h>

#include <unistd.h>

static const char *pp_strerror(int code);
#define CHECK_CODE_NAME(c) pp_strerror(c)
#include "check.h"

#define PP_KEY 0x12345678u
#define PP_WAIT_MS 30000u
#define PP_GUARD_LEN 64
#define PP_MATCH_BASE 0xabcd000000000000ull

static int use_omx;	/* -O */
static int cross;	/* -x */
static int sync_sends;	/* -S */
static int vect;	/* -v */
static int quiet;	/* -q */

struct pp_ep {
	mx_endpoint_t mx;
	omx_endpoint_t omx;
	uint64_t nic;
	uint32_t eid;
};

struct pp_addr {
	mx_endpoint_addr_t mx;
	omx_endpoint_addr_t omx;
};

struct pp_req {
	mx_request_t mx;
	omx_request_t omx;
};

struct pp_status {
	int code;
	struct pp_addr src;
	uint64_t match_info;
	uint32_t msg_length;
	uint32_t xfer_length;
	void *context;
};

static const char *pp_strerror(int code)
{
	if (use_omx)
		return omx_strerror((omx_return_t)code);
	return mx_strerror((mx_return_t)code);
}

static void pp_init(void)
{
	if (use_omx) {
		CHECK_OK(omx_init());
		omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	} else {
		CHECK_OK(mx_init());
		mx_set_error_handler(MX_ERRORS_RETURN);
	}
}

static void pp_finalize(void)
{
	if (use_omx)
		CHECK_OK(omx_finalize());
	else
		CHECK_OK(mx_finalize());
}

static void pp_decompose(const struct pp_addr *a, uint64_t *nic, uint32_t *eid)
{
	if (use_omx)
		CHECK_OK(omx_decompose_endpoint_addr(a->omx, nic, eid));
	else
		CHECK_OK(mx_decompose_endpoint_addr(a->mx, nic, eid));
}

static void pp_open(struct pp_ep *e, struct pp_addr *own)
{
	uint64_t nic0;

	if (use_omx) {
		CHECK_OK(omx_open_endpoint(0, OMX_ANY_ENDPOINT, PP_KEY, NULL, 0, &e->omx));
		CHECK_OK(omx_get_endpoint_addr(e->omx, &own->omx));
		CHECK_OK(omx_board_number_to_nic_id(0, &nic0));
	} else {
		CHECK_OK(mx_open_endpoint(0, MX_ANY_ENDPOINT, PP_KEY, NULL, 0, &e->mx));
		CHECK_OK(mx_get_endpoint_addr(e->mx, &own->mx));
		CHECK_OK(mx_board_number_to_nic_id(0, &nic0));
	}
	pp_decompose(own, &e->nic, &e->eid);
	CHECK_EQ(e->nic, nic0);
}

static void pp_close(struct pp_ep *e)
{
	if (use_omx)
		CHECK_OK(omx_close_endpoint(e->omx));
	else
		CHECK_OK(mx_close_endpoint(e->mx));
}

static void pp_connect(struct pp_ep *from, const struct pp_ep *to, struct pp_addr *a)
{
	uint64_t nic;
	uint32_t eid;

	if (use_omx)
		CHECK_OK(omx_connect(from->omx, to->nic, to->eid, PP_KEY, 10000, &a->omx));
	else
		CHECK_OK(mx_connect(from->mx, to->nic, to->eid, PP_KEY, 10000, &a->mx));
	pp_decompose(a, &nic, &eid);
	CHECK_EQ(nic, to->nic);
	CHECK_EQ(eid, to->eid);
}

/*
 * Segment layouts of -v: sends use [0,len/3) + an empty NULL segment +
 * [len/3,len); receives use an empty segment + [0,len-len/4) + [len-len/4,len).
 * mx_segment_t and omx_seg_t have the same layout but are filled separately.
 */
static uint32_t pp_send_segs(void *buf, size_t len, mx_segment_t *ms, omx_seg_t *os)
{
	char *p = buf;
	size_t a = len / 3;
	size_t cut[3][2] = { { 0, a }, { 0, 0 }, { a, len } };
	uint32_t n = vect ? 3 : 1;

	if (!vect) {
		cut[0][1] = len;
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t l = cut[i][1] - cut[i][0];
		void *ptr = (vect && i == 1) ? NULL : p + cut[i][0];
		ms[i].segment_ptr = ptr;
		ms[i].segment_length = (uint32_t)l;
		os[i].ptr = ptr;
		os[i].len = (uint32_t)l;
	}
	return n;
}

static uint32_t pp_recv_segs(void *buf, size_t len, mx_segment_t *ms, omx_seg_t *os)
{
	char *p = buf;
	size_t b = len - len / 4;
	size_t cut[3][2] = { { 0, 0 }, { 0, b }, { b, len } };
	uint32_t n = vect ? 3 : 1;

	if (!vect) {
		cut[0][1] = len;
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t l = cut[i][1] - cut[i][0];
		void *ptr = p + cut[i][0];
		ms[i].segment_ptr = ptr;
		ms[i].segment_length = (uint32_t)l;
		os[i].ptr = ptr;
		os[i].len = (uint32_t)l;
	}
	return n;
}

static void pp_send(struct pp_ep *e, void *buf, size_t len, const struct pp_addr *dest,
		    uint64_t match, void *ctx, struct pp_req *r)
{
	mx_segment_t ms[3];
	omx_seg_t os[3];
	uint32_t n = pp_send_segs(buf, len, ms, os);

	if (use_omx) {
		if (vect && sync_sends)
			CHECK_OK(omx_issendv(e->omx, os, n, dest->omx, match, ctx, &r->omx));
		else if (vect)
			CHECK_OK(omx_isendv(e->omx, os, n, dest->omx, match, ctx, &r->omx));
		else if (sync_sends)
			CHECK_OK(omx_issend(e->omx, buf, len, dest->omx, match, ctx, &r->omx));
		else
			CHECK_OK(omx_isend(e->omx, buf, len, dest->omx, match, ctx, &r->omx));
		CHECK(r->omx != NULL);
	} else {
		if (sync_sends)
			CHECK_OK(mx_issend(e->mx, ms, n, dest->mx, match, ctx, &r->mx));
		else
			CHECK_OK(mx_isend(e->mx, ms, n, dest->mx, match, ctx, &r->mx));
		CHECK(r->mx != NULL);
	}
}

static void pp_recv(struct pp_ep *e, void *buf, size_t len, uint64_t match, uint64_t mask,
		    void *ctx, struct pp_req *r)
{
	mx_segment_t ms[3];
	omx_seg_t os[3];
	uint32_t n = pp_recv_segs(buf, len, ms, os);

	if (use_omx) {
		if (vect)
			CHECK_OK(omx_irecvv(e->omx, os, n, match, mask, ctx, &r->omx));
		else
			CHECK_OK(omx_irecv(e->omx, buf, len, match, mask, ctx, &r->omx));
		CHECK(r->omx != NULL);
	} else {
		CHECK_OK(mx_irecv(e->mx, ms, n, match, mask, ctx, &r->mx));
		CHECK(r->mx != NULL);
	}
}

static void *pp_context(struct pp_req *r)
{
	void *ctx = NULL;

	if (use_omx)
		CHECK_OK(omx_context(&r->omx, &ctx));
	else
		CHECK_OK(mx_context(&r->mx, &ctx));
	return ctx;
}

static void pp_wait(struct pp_ep *e, struct pp_req *r, struct pp_status *s, const char *what)
{
	uint32_t result = 0;

	if (use_omx) {
		omx_status_t st;
		memset(&st, 0xee, sizeof(st));
		CHECK_OK(omx_wait(e->omx, &r->omx, &st, &result, PP_WAIT_MS));
		if (!result)
			FAILF("omx_wait(%s) timed out after %u ms", what, PP_WAIT_MS);
		CHECK_PTR_EQ(r->omx, NULL);
		s->code = (int)st.code;
		s->src.omx = st.addr;
		s->match_info = st.match_info;
		s->msg_length = st.msg_length;
		s->xfer_length = st.xfer_length;
		s->context = st.context;
	} else {
		mx_status_t st;
		memset(&st, 0xee, sizeof(st));
		CHECK_OK(mx_wait(e->mx, &r->mx, PP_WAIT_MS, &st, &result));
		if (!result)
			FAILF("mx_wait(%s) timed out after %u ms", what, PP_WAIT_MS);
		CHECK_PTR_EQ(r->mx, NULL);
		s->code = (int)st.code;
		s->src.mx = st.source;
		s->match_info = st.match_info;
		s->msg_length = st.msg_length;
		s->xfer_length = st.xfer_length;
		s->context = st.context;
	}
}

static void check_status(const char *what, const struct pp_status *s, size_t len, uint64_t match,
			 void *ctx, const struct pp_ep *peer)
{
	uint64_t nic;
	uint32_t eid;

	if (s->code != 0)
		FAILF("%s (len %zu): status code %d, want success", what, len, s->code);
	if (s->match_info != match)
		FAILF("%s (len %zu): match_info 0x%" PRIx64 ", want 0x%" PRIx64, what, len,
		      s->match_info, match);
	if (s->msg_length != len || s->xfer_length != len)
		FAILF("%s (len %zu): msg_length %u xfer_length %u, want %zu", what, len,
		      s->msg_length, s->xfer_length, len);
	if (s->context != ctx)
		FAILF("%s (len %zu): context %p, want %p", what, len, s->context, ctx);
	pp_decompose(&s->src, &nic, &eid);
	if (nic != peer->nic || eid != peer->eid)
		FAILF("%s (len %zu): address decomposes to nic 0x%" PRIx64 " eid %u, want nic 0x%" PRIx64
		      " eid %u", what, len, nic, eid, peer->nic, peer->eid);
}

static char ctx_marks[4];

/*
 * transfer moves one message of len bytes from sender to receiver and checks
 * everything.  recv_first selects the expected (receive posted first) or the
 * unexpected (send posted first) path.
 */
static void transfer(struct pp_ep *sender, const struct pp_addr *dest, struct pp_ep *receiver,
		     char *sbuf, char *rbuf, size_t len, uint32_t seed, uint64_t match,
		     uint64_t recv_mask, int recv_first)
{
	struct pp_req sreq = { NULL, NULL }, rreq = { NULL, NULL };
	struct pp_status sst, rst;
	void *sctx = &ctx_marks[recv_first ? 0 : 1];
	void *rctx = &ctx_marks[recv_first ? 2 : 3];
	const char *dir = recv_first ? "ping" : "pong";
	char what[64];

	fill_pattern(sbuf, len, seed);
	memset(rbuf, GUARD, len + PP_GUARD_LEN);

	if (recv_first) {
		pp_recv(receiver, rbuf, len, match & recv_mask, recv_mask, rctx, &rreq);
		pp_send(sender, sbuf, len, dest, match, sctx, &sreq);
	} else {
		pp_send(sender, sbuf, len, dest, match, sctx, &sreq);
		pp_recv(receiver, rbuf, len, match & recv_mask, recv_mask, rctx, &rreq);
	}
	CHECK_PTR_EQ(pp_context(&sreq), sctx);
	CHECK_PTR_EQ(pp_context(&rreq), rctx);

	snprintf(what, sizeof(what), "%s receive", dir);
	pp_wait(receiver, &rreq, &rst, what);
	snprintf(what, sizeof(what), "%s send", dir);
	pp_wait(sender, &sreq, &sst, what);

	snprintf(what, sizeof(what), "%s receive status", dir);
	check_status(what, &rst, len, match, rctx, sender);
	snprintf(what, sizeof(what), "%s send status", dir);
	check_status(what, &sst, len, match, sctx, receiver);

	{
		long bad = pattern_mismatch(rbuf, len, seed);
		if (bad >= 0)
			FAILF("%s payload (len %zu, seed 0x%x) differs at offset %ld: got 0x%02x want 0x%02x",
			      dir, len, seed, bad, (uint8_t)rbuf[bad], pattern_byte(seed, (size_t)bad));
	}
	CHECK_BYTES(rbuf + len, PP_GUARD_LEN, GUARD);
	/* the sender's buffer must be left intact */
	CHECK_PATTERN(sbuf, len, seed);
}

static const size_t sizes[] = {
	0, 1, 2, 7, 31, 32, 33, 100, 127, 128, 129, 1000, 4095, 4096, 4097, 5000,
	8191, 8192, 8193, 12345, 32767, 32768, 32769, 65536, 100003,
	262144, 262145, 1048576, 1048576 + 3, 3000017, 16777216,
};

static int iterations(size_t len)
{
	if (len <= 65536)
		return 4;
	if (len <= 1100000)
		return 3;
	return 1;
}

int main(int argc, char **argv)
{
	struct pp_ep a, b;
	struct pp_addr a_own, b_own, a_to_b, b_to_a;
	struct pp_ep *ping_src, *ping_dst;
	struct pp_addr *ping_dest, *pong_dest;
	size_t max = 16777216;
	char *sbuf, *rbuf;
	int c;

	while ((c = getopt(argc, argv, "OxSvm:q")) != -1) {
		switch (c) {
		case 'O': use_omx = 1; break;
		case 'x': cross = 1; break;
		case 'S': sync_sends = 1; break;
		case 'v': vect = 1; break;
		case 'm': max = (size_t)strtoull(optarg, NULL, 0); break;
		case 'q': quiet = 1; break;
		default:
			fprintf(stderr, "usage: %s [-O] [-x] [-S] [-v] [-m max] [-q]\n", argv[0]);
			return 2;
		}
	}

	pp_init();
	pp_open(&a, &a_own);
	if (cross) {
		pp_open(&b, &b_own);
		CHECK_EQ(a.nic, b.nic);
		CHECK_NE(a.eid, b.eid);
		pp_connect(&a, &b, &a_to_b);
		pp_connect(&b, &a, &b_to_a);
		ping_src = &a;
		ping_dst = &b;
		ping_dest = &a_to_b;
		pong_dest = &b_to_a;
	} else {
		ping_src = &a;
		ping_dst = &a;
		ping_dest = &a_own;
		pong_dest = &a_own;
	}
	printf("pingpong: api %s, %s, %s sends, %s, endpoint(s) nic 0x%012" PRIx64 " eid %u%s\n",
	       use_omx ? "Open-MX" : "MX", cross ? "cross endpoint" : "self",
	       sync_sends ? "synchronous" : "normal", vect ? "vectored" : "contiguous",
	       a.nic, a.eid, cross ? " and another" : "");

	sbuf = xmalloc(max + PP_GUARD_LEN);
	rbuf = xmalloc(max + PP_GUARD_LEN);

	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		size_t len = sizes[si];
		int iters = iterations(len);
		double t0;

		if (len > max)
			continue;
		t0 = now_us();
		for (int it = 0; it < iters; it++) {
			uint32_t seed = (uint32_t)(len * 131 + (size_t)it * 7 + 1);
			uint64_t match = PP_MATCH_BASE | ((uint64_t)si << 24) | ((uint64_t)it << 8);

			/* ping: receive posted first, exact match */
			transfer(ping_src, ping_dest, ping_dst, sbuf, rbuf, len, seed, match,
				 MX_MATCH_MASK_NONE, 1);
			/* pong: send first (unexpected), receive with a partial mask */
			transfer(ping_dst, pong_dest, ping_src, sbuf, rbuf, len, seed ^ 0x5a5a5a5au,
				 match | 0x1, ~(uint64_t)0xffff, 0);
		}
		if (!quiet)
			printf("size %9zu: %d round trips ok, %.1f us per transfer\n", len, iters,
			       (now_us() - t0) / (2.0 * iters));
	}

	if (cross)
		pp_close(&b);
	pp_close(&a);
	pp_finalize();
	free(sbuf);
	free(rbuf);
	printf("pingpong: PASS\n");
	return 0;
}
