/*
 * stress.c: symmetric message stress between two endpoints, on two hosts or
 * inside one process, over the Open-MX API.
 *
 *   stress [-b <board>] [-d <peer hostname>] [-e <local ep>] [-r <remote ep>]
 *          [-n <messages per direction>] [-s <seed>] [-M <max size>] [-v]
 *
 * Two hosts: run "stress -d <the other host's board hostname>" on both (with
 * the same -n and -M; -e/-r default to endpoint 0 on both sides). Without
 * -d, one process opens two endpoints of board -b (-e and -r choose their
 * indices, any by default) and plays both sides.
 *
 * Each side sends n messages to the other and receives n from it, keeping
 * 8 sends and 8 receives outstanding. The messages mix every size class
 * (empty, tiny <= 32, small <= 128, medium <= 32 KiB, large up to -M, 4 MiB
 * by default), some synchronous, some vectored with up to 8 segments; some
 * receives are vectored too. The segments of vectored requests are
 * scattered with guard bytes in between, which must stay intact.
 *
 * Match info of a data message:
 *   bit 63      role of the sender (0 or 1; the endpoint with the smaller
 *               (nic id, endpoint) pair, or the first of the process, is 0)
 *   bit 62      control message (the final handshake), 0 for data
 *   bits 61, 60 synchronous, vectored send (informational)
 *   bits 32..55 message length
 *   bits 0..31  sequence number
 * Receives match on bits 63 and 62 only, so any data message of the peer
 * can land in any posted receive. Completions are collected with
 * omx_test_any on bit 63 (this side's sends or the peer's messages), with
 * omx_wait_any on everything, and sometimes with omx_wait on one request.
 *
 * A message of 16 bytes or more starts with a header (big-endian magic,
 * sequence number, length, FNV-1a checksum of the rest); shorter ones
 * carry the first bytes of the body pattern of their sequence number. The
 * receiver checks: the n-th posted receive gets the message of sequence n
 * (exactly once, in order), the header, the checksum or the pattern, and
 * every status field (code, lengths, match info, context, source). The
 * sender checks its statuses likewise.
 *
 * End: each side sends a synchronous control message carrying what it
 * received (count and bytes), which the peer compares with what it sent;
 * a side is done when its own control message was matched and the peer's
 * arrived. Finally no message of the peer may remain unexpected.
 *
 * Output: "stress: sent N received N bytes B errors 0" (totals of the sides
 * run by this process, B = bytes received) and exit 0; or "FAIL: ..." lines
 * on stderr and exit 1. Usage errors exit 2.
 */
#include <open-mx.h>

#include <sched.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <unistd.h>

#define CHECK_CODE_NAME(c) omx_strerror((omx_return_t)(c))
#include "check.h"

#define ST_KEY 0x5e55a17eU
#define ST_WINDOW 8           /* outstanding sends, and receives, per side */
#define ST_MAX_SEGS 8
#define ST_GAP 64             /* guard bytes after each receive segment */
#define ST_HDR_LEN 16
#define ST_MAGIC 0x53545253U  /* "STRS" */
#define ST_DONE_LEN 16
#define ST_MAX_LEN_LIMIT 0xffffffU
#define ST_STALL_MS 60000.0   /* no completion for that long: failure */
#define ST_CONNECT_MS 120000.0
#define ST_LINGER_MS 2000     /* two hosts: progress that long before closing */
#define ST_MAX_PRINTED_ERRORS 20

#define ST_BIT_ROLE (1ULL << 63)
#define ST_BIT_CTRL (1ULL << 62)
#define ST_BIT_SYNC (1ULL << 61)
#define ST_BIT_VECT (1ULL << 60)
#define ST_LEN_SHIFT 32
#define ST_LEN_MASK 0xffffffULL

static uint32_t opt_count = 10000;        /* -n */
static uint32_t opt_max_len = 4194304;    /* -M */
static uint64_t opt_seed = 1;             /* -s */
static int opt_verbose;                   /* -v */
static int two_hosts;                     /* -d given */

static int errors;
static double last_progress_ms;

struct st_side;

/* A send or receive slot: one outstanding request and its buffer. */
struct st_slot {
	struct st_side *side;
	int is_send;
	int busy;
	omx_request_t req;
	uint32_t seq;      /* send: sequence number sent; receive: expected */
	uint32_t len;      /* send: message length */
	uint64_t match;    /* send: match info */
	int vect;
	uint32_t nseg;
	omx_seg_t segs[ST_MAX_SEGS];
	unsigned char *buf;
};

struct st_side {
	char name[16];
	omx_endpoint_t ep;
	uint64_t nic;
	uint32_t eid;
	uint64_t peer_nic;
	uint32_t peer_eid;
	omx_endpoint_addr_t peer;
	int role;
	/* separate streams, so that the messages of a seed never depend on timing */
	uint64_t rng_send;  /* lengths and kinds of the messages sent */
	uint64_t rng_recv;  /* segments of the receives */
	uint64_t rng_misc;  /* choice of the completion calls */

	struct st_slot sends[ST_WINDOW];
	struct st_slot recvs[ST_WINDOW];
	unsigned char *scratch;  /* a vectored message before scattering */

	uint32_t sent_posted, sent_done, recv_posted, recv_done;
	uint64_t bytes_sent, bytes_recv;

	/* the final handshake */
	omx_request_t done_send_req, done_recv_req;
	int done_send_posted, done_send_complete, done_recv_complete;
	unsigned char done_send_buf[ST_DONE_LEN];
	unsigned char done_recv_buf[ST_DONE_LEN];
	int finished;
};

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

/* st_error reports a verification error and lets the run go on. */
static void st_error(const struct st_side *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void st_error(const struct st_side *s, const char *fmt, ...)
{
	va_list ap;

	errors++;
	if (errors > ST_MAX_PRINTED_ERRORS)
		return;
	fprintf(stderr, "stress: error: side %s: ", s->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (errors == ST_MAX_PRINTED_ERRORS)
		fprintf(stderr, "stress: error: (further errors are counted, not printed)\n");
}

/* xorshift64* */
static uint64_t st_rand(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

static uint32_t st_rand_range(uint64_t *state, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(st_rand(state) % ((uint64_t)hi - lo + 1));
}

static uint64_t st_seed_stream(int role, int stream)
{
	uint64_t x = (opt_seed * 8 + (uint64_t)role * 4 + (uint64_t)stream + 1) * 0x9e3779b97f4a7c15ULL;

	return x ? x : 1;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint64_t get_be64(const unsigned char *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static uint32_t fnv1a(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261U;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619U;
	}
	return h;
}

/* The body pattern of message seq of a sender, 8 bytes per step. */
static void st_fill(unsigned char *p, size_t len, int role, uint32_t seq)
{
	uint64_t x = (((uint64_t)role << 32 | seq) + 1) * 0x9e3779b97f4a7c15ULL;
	size_t i = 0;

	x |= 1;
	while (i < len) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		for (int k = 0; k < 8 && i < len; k++, i++)
			p[i] = (unsigned char)(x >> (8 * k));
	}
}

/* st_build writes message seq of the given length into p. */
static void st_build(unsigned char *p, uint32_t len, int role, uint32_t seq)
{
	if (len < ST_HDR_LEN) {
		st_fill(p, len, role, seq);
		return;
	}
	st_fill(p + ST_HDR_LEN, len - ST_HDR_LEN, role, seq);
	put_be32(p, ST_MAGIC);
	put_be32(p + 4, seq);
	put_be32(p + 8, len);
	put_be32(p + 12, fnv1a(p + ST_HDR_LEN, len - ST_HDR_LEN));
}

/* st_pick_length draws the length of the next message. */
static uint32_t st_pick_length(uint64_t *rng)
{
	uint32_t r = (uint32_t)(st_rand(rng) % 100);
	uint32_t len;

	if (r < 4) {
		len = 0;
	} else if (r < 30) {
		len = st_rand_range(rng, 1, 32);
	} else if (r < 50) {
		len = st_rand_range(rng, 33, 128);
	} else if (r < 88) {
		len = st_rand_range(rng, 129, 32768);
	} else if (opt_max_len <= 32768) {
		len = opt_max_len;
	} else {
		/* large: log-uniform between 32 KiB and the maximum */
		int top = 15;
		int bits;
		uint32_t lo, hi;

		while (top < 31 && (1U << (top + 1)) <= opt_max_len)
			top++;
		bits = (int)st_rand_range(rng, 15, (uint32_t)top);
		lo = bits == 15 ? 32769 : 1U << bits;
		hi = (bits == 31 || (2U << bits) - 1 > opt_max_len) ? opt_max_len : (2U << bits) - 1;
		len = st_rand_range(rng, lo, hi);
	}
	return len > opt_max_len ? opt_max_len : len;
}

/* st_cuts draws nseg-1 sorted cut points in [0, len]: cuts[0..nseg]. */
static void st_cuts(uint64_t *rng, uint32_t *cuts, uint32_t nseg, uint32_t len)
{
	cuts[0] = 0;
	cuts[nseg] = len;
	for (uint32_t k = 1; k < nseg; k++) {
		uint32_t c = st_rand_range(rng, 0, len);
		uint32_t j = k;

		while (j > 1 && cuts[j - 1] > c) {
			cuts[j] = cuts[j - 1];
			j--;
		}
		cuts[j] = c;
	}
}

static size_t st_buf_size(void)
{
	return (size_t)opt_max_len + (size_t)ST_MAX_SEGS * ST_GAP;
}

static void st_decompose_check(const struct st_side *s, omx_endpoint_addr_t addr, const char *what)
{
	uint64_t nic;
	uint32_t eid;

	omx_decompose_endpoint_addr(addr, &nic, &eid);
	if (nic != s->peer_nic || eid != s->peer_eid)
		st_error(s, "%s: address is nic 0x%" PRIx64 " endpoint %u, want the peer nic 0x%" PRIx64
			 " endpoint %u", what, nic, eid, s->peer_nic, s->peer_eid);
}

/* ---------------------------------------------------------------------- */
/* Posting                                                                */

static void st_post_send(struct st_side *s, struct st_slot *sl)
{
	uint32_t seq = s->sent_posted;
	uint64_t *rng = &s->rng_send;
	uint32_t len = st_pick_length(rng);
	int sync = st_rand(rng) % 10 == 0;
	int vect = st_rand(rng) % 5 == 0;
	uint64_t match = (s->role ? ST_BIT_ROLE : 0) | (sync ? ST_BIT_SYNC : 0) |
			 (vect ? ST_BIT_VECT : 0) | (uint64_t)len << ST_LEN_SHIFT | seq;
	omx_return_t ret;

	if (vect) {
		/* build the message contiguously, then scatter it with gaps */
		uint32_t cuts[ST_MAX_SEGS + 1];

		sl->nseg = st_rand_range(rng, 1, ST_MAX_SEGS);
		st_build(s->scratch, len, s->role, seq);
		st_cuts(rng, cuts, sl->nseg, len);
		for (uint32_t k = 0; k < sl->nseg; k++) {
			uint32_t seglen = cuts[k + 1] - cuts[k];
			unsigned char *p = sl->buf + cuts[k] + (size_t)k * ST_GAP;

			memcpy(p, s->scratch + cuts[k], seglen);
			sl->segs[k].ptr = (seglen == 0 && st_rand(rng) % 2) ? NULL : p;
			sl->segs[k].len = seglen;
		}
		if (sync)
			ret = omx_issendv(s->ep, sl->segs, sl->nseg, s->peer, match, sl, &sl->req);
		else
			ret = omx_isendv(s->ep, sl->segs, sl->nseg, s->peer, match, sl, &sl->req);
	} else {
		sl->nseg = 1;
		st_build(sl->buf, len, s->role, seq);
		if (sync)
			ret = omx_issend(s->ep, sl->buf, len, s->peer, match, sl, &sl->req);
		else
			ret = omx_isend(s->ep, sl->buf, len, s->peer, match, sl, &sl->req);
	}
	if (ret != OMX_SUCCESS)
		FAILF("side %s: posting send %u (%u bytes, %s%s%u segments): %s", s->name, seq, len,
		      sync ? "synchronous, " : "", vect ? "vectored, " : "", sl->nseg, omx_strerror(ret));
	if (sl->req == NULL)
		FAILF("side %s: posting send %u returned a NULL request", s->name, seq);
	sl->busy = 1;
	sl->seq = seq;
	sl->len = len;
	sl->match = match;
	sl->vect = vect;
	s->sent_posted++;
	s->bytes_sent += len;
}

static void st_post_recv(struct st_side *s, struct st_slot *sl)
{
	uint64_t match = s->role ? 0 : ST_BIT_ROLE;  /* the peer's data */
	uint64_t mask = ST_BIT_ROLE | ST_BIT_CTRL;
	uint64_t *rng = &s->rng_recv;
	omx_return_t ret;

	sl->seq = s->recv_posted;
	sl->vect = st_rand(rng) % 5 == 0;
	if (sl->vect) {
		uint32_t cuts[ST_MAX_SEGS + 1];

		sl->nseg = st_rand_range(rng, 1, ST_MAX_SEGS);
		st_cuts(rng, cuts, sl->nseg, opt_max_len);
		for (uint32_t k = 0; k < sl->nseg; k++) {
			uint32_t seglen = cuts[k + 1] - cuts[k];
			unsigned char *p = sl->buf + cuts[k] + (size_t)k * ST_GAP;

			memset(p + seglen, GUARD, ST_GAP);
			sl->segs[k].ptr = (seglen == 0 && st_rand(rng) % 2) ? NULL : p;
			sl->segs[k].len = seglen;
		}
		ret = omx_irecvv(s->ep, sl->segs, sl->nseg, match, mask, sl, &sl->req);
	} else {
		sl->nseg = 1;
		sl->segs[0].ptr = sl->buf;
		sl->segs[0].len = opt_max_len;
		memset(sl->buf + opt_max_len, GUARD, ST_GAP);
		ret = omx_irecv(s->ep, sl->buf, opt_max_len, match, mask, sl, &sl->req);
	}
	if (ret != OMX_SUCCESS)
		FAILF("side %s: posting receive %u (%u segments): %s", s->name, sl->seq, sl->nseg,
		      omx_strerror(ret));
	if (sl->req == NULL)
		FAILF("side %s: posting receive %u returned a NULL request", s->name, sl->seq);
	sl->busy = 1;
	s->recv_posted++;
}

static void st_post_done_send(struct st_side *s)
{
	uint64_t match = (s->role ? ST_BIT_ROLE : 0) | ST_BIT_CTRL |
			 (uint64_t)ST_DONE_LEN << ST_LEN_SHIFT | opt_count;
	omx_return_t ret;

	put_be64(s->done_send_buf, s->recv_done);
	put_be64(s->done_send_buf + 8, s->bytes_recv);
	ret = omx_issend(s->ep, s->done_send_buf, ST_DONE_LEN, s->peer, match, s->done_send_buf,
			 &s->done_send_req);
	if (ret != OMX_SUCCESS)
		FAILF("side %s: posting the final message: %s", s->name, omx_strerror(ret));
	s->done_send_posted = 1;
	if (opt_verbose)
		printf("stress: side %s: all messages exchanged, final handshake\n", s->name);
}

static void st_post_done_recv(struct st_side *s)
{
	uint64_t match = (s->role ? 0 : ST_BIT_ROLE) | ST_BIT_CTRL;
	omx_return_t ret;

	ret = omx_irecv(s->ep, s->done_recv_buf, ST_DONE_LEN, match, ST_BIT_ROLE | ST_BIT_CTRL,
			s->done_recv_buf, &s->done_recv_req);
	if (ret != OMX_SUCCESS)
		FAILF("side %s: posting the final receive: %s", s->name, omx_strerror(ret));
}

/* ---------------------------------------------------------------------- */
/* Completions                                                            */

static void st_check_send(struct st_side *s, struct st_slot *sl, const omx_status_t *st)
{
	char what[64];

	snprintf(what, sizeof(what), "send %u", sl->seq);
	if (st->code != OMX_SUCCESS)
		st_error(s, "%s: status %d (%s)", what, st->code, omx_strerror(st->code));
	if (st->match_info != sl->match)
		st_error(s, "%s: status match info 0x%" PRIx64 ", want 0x%" PRIx64, what,
			 st->match_info, sl->match);
	if (st->msg_length != sl->len || st->xfer_length != sl->len)
		st_error(s, "%s: status lengths msg %u xfer %u, want %u", what, st->msg_length,
			 st->xfer_length, sl->len);
	st_decompose_check(s, st->addr, what);
	s->sent_done++;
}

/* st_gather copies the first len bytes of a vectored receive into s->scratch
 * and checks the guard bytes after each segment. */
static const unsigned char *st_gather(struct st_side *s, struct st_slot *sl, uint32_t len)
{
	uint32_t start = 0;  /* offset of segment k in the message */

	for (uint32_t k = 0; k < sl->nseg; k++) {
		uint32_t seglen = sl->segs[k].len;
		uint32_t n = start >= len ? 0 : (len - start < seglen ? len - start : seglen);
		/* where the segment was placed, also when its pointer is NULL */
		unsigned char *p = sl->buf + start + (size_t)k * ST_GAP;
		long bad;

		if (sl->segs[k].ptr != NULL && sl->segs[k].ptr != p)
			FAILF("side %s: internal: segment %u misplaced", s->name, k);
		memcpy(s->scratch + start, p, n);
		if ((bad = bytes_not(p + seglen, ST_GAP, GUARD)) >= 0)
			st_error(s, "receive %u: guard byte %ld after segment %u of %u overwritten", sl->seq,
				 bad, k, sl->nseg);
		start += seglen;
	}
	return s->scratch;
}

static void st_check_recv(struct st_side *s, struct st_slot *sl, const omx_status_t *st)
{
	char what[64];
	uint64_t m = st->match_info;
	uint32_t seq = (uint32_t)m;
	uint32_t len = (uint32_t)((m >> ST_LEN_SHIFT) & ST_LEN_MASK);
	uint32_t got = st->xfer_length;
	const unsigned char *msg;
	long bad;

	snprintf(what, sizeof(what), "receive %u", sl->seq);
	if (st->code != OMX_SUCCESS)
		st_error(s, "%s: status %d (%s)", what, st->code, omx_strerror(st->code));
	if (((m & ST_BIT_ROLE) != 0) == s->role || (m & ST_BIT_CTRL))
		st_error(s, "%s: match info 0x%" PRIx64 " is not a data message of the peer", what, m);
	if (seq != sl->seq)
		st_error(s, "%s: got message %u (match info 0x%" PRIx64 "): lost, duplicated or reordered",
			 what, seq, m);
	if (st->msg_length != len || got != len)
		st_error(s, "%s: status lengths msg %u xfer %u, the match info says %u", what,
			 st->msg_length, got, len);
	if (got > opt_max_len)
		got = opt_max_len;
	st_decompose_check(s, st->addr, what);

	if (sl->vect) {
		msg = st_gather(s, sl, got);
	} else {
		msg = sl->buf;
		if ((bad = bytes_not(sl->buf + opt_max_len, ST_GAP, GUARD)) >= 0)
			st_error(s, "%s: guard byte %ld after the buffer overwritten", what, bad);
	}

	if (got < ST_HDR_LEN) {
		unsigned char want[ST_HDR_LEN];

		st_fill(want, got, s->role ? 0 : 1, seq);
		if (memcmp(want, msg, got) != 0)
			st_error(s, "%s: %u-byte payload corrupted", what, got);
	} else {
		uint32_t sum = fnv1a(msg + ST_HDR_LEN, got - ST_HDR_LEN);

		if (get_be32(msg) != ST_MAGIC || get_be32(msg + 4) != sl->seq || get_be32(msg + 8) != got)
			st_error(s, "%s: bad header: magic 0x%08x seq %u length %u, want seq %u length %u",
				 what, get_be32(msg), get_be32(msg + 4), get_be32(msg + 8), sl->seq, got);
		if (get_be32(msg + 12) != sum)
			st_error(s, "%s: checksum 0x%08x, header says 0x%08x (%u bytes)", what, sum,
				 get_be32(msg + 12), got);
	}
	s->recv_done++;
	s->bytes_recv += got;
	if (opt_verbose && opt_count >= 8 && s->recv_done % (opt_count / 8) == 0)
		printf("stress: side %s: received %u/%u\n", s->name, s->recv_done, opt_count);
}

static void st_check_done_recv(struct st_side *s, const omx_status_t *st)
{
	uint64_t count = get_be64(s->done_recv_buf);
	uint64_t bytes = get_be64(s->done_recv_buf + 8);
	uint64_t want_match = (s->role ? 0 : ST_BIT_ROLE) | ST_BIT_CTRL |
			      (uint64_t)ST_DONE_LEN << ST_LEN_SHIFT | opt_count;

	if (st->code != OMX_SUCCESS || st->match_info != want_match || st->msg_length != ST_DONE_LEN ||
	    st->xfer_length != ST_DONE_LEN)
		st_error(s, "final receive: status %d match 0x%" PRIx64 " lengths %u/%u, want 0 0x%" PRIx64
			 " %u/%u", st->code, st->match_info, st->msg_length, st->xfer_length, want_match,
			 ST_DONE_LEN, ST_DONE_LEN);
	st_decompose_check(s, st->addr, "final receive");
	if (count != s->sent_posted || bytes != s->bytes_sent)
		st_error(s, "the peer received %" PRIu64 " messages (%" PRIu64 " bytes), this side sent %u (%"
			 PRIu64 " bytes)", count, bytes, s->sent_posted, s->bytes_sent);
	s->done_recv_complete = 1;
}

/* Which completions a completion call may return. */
enum st_expect { ST_EXPECT_SEND, ST_EXPECT_RECV, ST_EXPECT_ANY };

/* st_dispatch accounts one completion, found by its context. */
static void st_dispatch(struct st_side *s, const omx_status_t *st, enum st_expect expect)
{
	void *ctx = st->context;
	int is_send;

	last_progress_ms = now_ms();
	if (ctx == s->done_send_buf) {
		is_send = 1;
		if (st->code != OMX_SUCCESS)
			st_error(s, "final send: status %d (%s)", st->code, omx_strerror(st->code));
		st_decompose_check(s, st->addr, "final send");
		s->done_send_req = NULL;
		s->done_send_complete = 1;
	} else if (ctx == s->done_recv_buf) {
		is_send = 0;
		s->done_recv_req = NULL;
		st_check_done_recv(s, st);
	} else {
		struct st_slot *sl = NULL;

		for (int i = 0; i < ST_WINDOW; i++) {
			if (ctx == &s->sends[i])
				sl = &s->sends[i];
			else if (ctx == &s->recvs[i])
				sl = &s->recvs[i];
		}
		if (sl == NULL || !sl->busy)
			FAILF("side %s: completion with an unknown context %p (match info 0x%" PRIx64 ")",
			      s->name, ctx, st->match_info);
		is_send = sl->is_send;
		if (is_send)
			st_check_send(s, sl, st);
		else
			st_check_recv(s, sl, st);
		sl->busy = 0;
		sl->req = NULL;
	}
	/* the match info bit 63 tells who sent: this side for its sends */
	if (((st->match_info & ST_BIT_ROLE) != 0) != (is_send ? s->role : !s->role))
		st_error(s, "%s completion with match info 0x%" PRIx64 " of the wrong role",
			 is_send ? "send" : "receive", st->match_info);
	if ((expect == ST_EXPECT_SEND && !is_send) || (expect == ST_EXPECT_RECV && is_send))
		st_error(s, "omx_test_any for %s returned a %s", expect == ST_EXPECT_SEND ? "sends" : "receives",
			 is_send ? "send" : "receive");
}

/* st_test_any completes every done request selected by the role bit. */
static int st_test_any(struct st_side *s, int sends)
{
	uint64_t match = (sends ? s->role : !s->role) ? ST_BIT_ROLE : 0;
	omx_status_t st;
	uint32_t result;
	int n = 0;

	for (;;) {
		omx_return_t ret = omx_test_any(s->ep, match, ST_BIT_ROLE, &st, &result);

		if (ret != OMX_SUCCESS)
			FAILF("side %s: omx_test_any: %s", s->name, omx_strerror(ret));
		if (!result)
			return n;
		st_dispatch(s, &st, sends ? ST_EXPECT_SEND : ST_EXPECT_RECV);
		n++;
	}
}

static int st_wait_any(struct st_side *s, uint32_t timeout_ms)
{
	omx_status_t st;
	uint32_t result;
	omx_return_t ret = omx_wait_any(s->ep, 0, 0, &st, &result, timeout_ms);

	if (ret != OMX_SUCCESS)
		FAILF("side %s: omx_wait_any: %s", s->name, omx_strerror(ret));
	if (!result)
		return 0;
	st_dispatch(s, &st, ST_EXPECT_ANY);
	return 1;
}

/* st_wait_one waits (a little) for one random outstanding request. */
static int st_wait_one(struct st_side *s, uint32_t timeout_ms)
{
	uint32_t start = (uint32_t)(st_rand(&s->rng_misc) % (2 * ST_WINDOW));
	omx_status_t st;
	uint32_t result;

	for (uint32_t i = 0; i < 2 * ST_WINDOW; i++) {
		uint32_t k = (start + i) % (2 * ST_WINDOW);
		struct st_slot *sl = k < ST_WINDOW ? &s->sends[k] : &s->recvs[k - ST_WINDOW];
		omx_return_t ret;

		if (!sl->busy)
			continue;
		ret = omx_wait(s->ep, &sl->req, &st, &result, timeout_ms);
		if (ret != OMX_SUCCESS)
			FAILF("side %s: omx_wait: %s", s->name, omx_strerror(ret));
		if (!result)
			return 0;
		if (sl->req != NULL)
			st_error(s, "omx_wait completed a request without clearing the handle");
		if (st.context != sl)
			st_error(s, "omx_wait on a %s returned the context %p instead of %p",
				 sl->is_send ? "send" : "receive", st.context, (void *)sl);
		st_dispatch(s, &st, sl->is_send ? ST_EXPECT_SEND : ST_EXPECT_RECV);
		return 1;
	}
	return 0;
}

/* st_step posts what the windows allow and collects completions. */
static int st_step(struct st_side *s, uint32_t wait_ms)
{
	int n = 0;
	uint64_t r;

	if (s->finished) {
		/* keep answering the peer (acknowledgements) until it is done too */
		omx_progress(s->ep);
		return 0;
	}
	for (int i = 0; i < ST_WINDOW && s->recv_posted < opt_count; i++)
		if (!s->recvs[i].busy)
			st_post_recv(s, &s->recvs[i]);
	for (int i = 0; i < ST_WINDOW && s->sent_posted < opt_count; i++)
		if (!s->sends[i].busy)
			st_post_send(s, &s->sends[i]);
	if (!s->done_send_posted && s->sent_done == opt_count && s->recv_done == opt_count)
		st_post_done_send(s);

	r = st_rand(&s->rng_misc) % 16;
	if (r == 0)
		n += st_wait_one(s, wait_ms);
	else if (r == 1)
		n += st_wait_any(s, wait_ms);
	n += st_test_any(s, 0);
	n += st_test_any(s, 1);

	if (s->done_send_complete && s->done_recv_complete)
		s->finished = 1;
	return n;
}

/* ---------------------------------------------------------------------- */
/* Set-up and tear-down                                                   */

static void st_init_side(struct st_side *s, const char *name, uint32_t board, uint32_t eid)
{
	omx_endpoint_addr_t own;
	omx_return_t ret;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	ret = omx_open_endpoint(board, eid, ST_KEY, NULL, 0, &s->ep);
	if (ret != OMX_SUCCESS)
		FAILF("side %s: opening endpoint %d of board %u: %s", name, (int)eid, board, omx_strerror(ret));
	CHECK_OK(omx_get_endpoint_addr(s->ep, &own));
	CHECK_OK(omx_decompose_endpoint_addr(own, &s->nic, &s->eid));
	for (int i = 0; i < ST_WINDOW; i++) {
		s->sends[i].side = s;
		s->sends[i].is_send = 1;
		s->sends[i].buf = xmalloc(st_buf_size());
		s->recvs[i].side = s;
		s->recvs[i].buf = xmalloc(st_buf_size());
	}
	s->scratch = xmalloc(st_buf_size());
}

/* st_start sets the role and RNG, and posts the final receive early. */
static void st_start(struct st_side *s, int role)
{
	s->role = role;
	s->rng_send = st_seed_stream(role, 0);
	s->rng_recv = st_seed_stream(role, 1);
	s->rng_misc = st_seed_stream(role, 2);
	st_post_done_recv(s);
	if (opt_verbose)
		printf("stress: side %s: endpoint %u of nic 0x%012" PRIx64 ", role %d, peer endpoint %u of nic 0x%012"
		       PRIx64 "\n", s->name, s->eid, s->nic, role, s->peer_eid, s->peer_nic);
}

/* st_connect connects s to its peer, retrying while the peer is not up. */
static void st_connect(struct st_side *s, double deadline_ms)
{
	for (;;) {
		omx_return_t ret = omx_connect(s->ep, s->peer_nic, s->peer_eid, ST_KEY, 2000, &s->peer);

		if (ret == OMX_SUCCESS)
			break;
		if (now_ms() > deadline_ms)
			FAILF("side %s: connecting to endpoint %u of nic 0x%012" PRIx64 ": %s", s->name,
			      s->peer_eid, s->peer_nic, omx_strerror(ret));
		if (opt_verbose)
			printf("stress: side %s: connect: %s, retrying\n", s->name, omx_strerror(ret));
		sleep_ms(200);
	}
	st_decompose_check(s, s->peer, "connected address");
}

static void st_dump(const struct st_side *s)
{
	fprintf(stderr, "stress: side %s: sends posted %u done %u, receives posted %u done %u, final %d/%d/%d\n",
		s->name, s->sent_posted, s->sent_done, s->recv_posted, s->recv_done, s->done_send_posted,
		s->done_send_complete, s->done_recv_complete);
	for (int i = 0; i < ST_WINDOW; i++) {
		if (s->sends[i].busy)
			fprintf(stderr, "stress: side %s:   pending send %u (%u bytes, match 0x%" PRIx64 ")\n",
				s->name, s->sends[i].seq, s->sends[i].len, s->sends[i].match);
		if (s->recvs[i].busy)
			fprintf(stderr, "stress: side %s:   pending receive %u (%u segments)\n", s->name,
				s->recvs[i].seq, s->recvs[i].nseg);
	}
}

/* st_finish checks nothing is left over, and closes the endpoint. */
static void st_finish(struct st_side *s)
{
	omx_status_t st;
	uint32_t result = 0;

	CHECK_OK(omx_iprobe(s->ep, s->role ? 0 : ST_BIT_ROLE, ST_BIT_ROLE, &st, &result));
	if (result)
		st_error(s, "an unexpected message is left (match info 0x%" PRIx64 ", %u bytes)",
			 st.match_info, st.msg_length);
	CHECK_OK(omx_test_any(s->ep, 0, 0, &st, &result));
	if (result)
		st_error(s, "a completion is left (match info 0x%" PRIx64 ")", st.match_info);
	CHECK_OK(omx_close_endpoint(s->ep));
	for (int i = 0; i < ST_WINDOW; i++) {
		free(s->sends[i].buf);
		free(s->recvs[i].buf);
	}
	free(s->scratch);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-b <board>] [-d <peer hostname>] [-e <local ep>] [-r <remote ep>]\n"
		"          [-n <messages per direction>] [-s <seed>] [-M <max size>] [-v]\n"
		"Without -d, both sides run in this process on two endpoints of the board.\n",
		argv0);
}

int main(int argc, char **argv)
{
	struct st_side sides[2];
	int nsides;
	const char *peer_host = NULL;
	uint32_t board = 0;
	int64_t local_ep = -1, remote_ep = -1;
	uint64_t sent = 0, received = 0, bytes = 0;
	double deadline;
	int c;

	while ((c = getopt(argc, argv, "b:d:e:r:n:s:M:vh")) != -1) {
		switch (c) {
		case 'b': board = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'd': peer_host = optarg; break;
		case 'e': local_ep = (int64_t)strtoul(optarg, NULL, 0); break;
		case 'r': remote_ep = (int64_t)strtoul(optarg, NULL, 0); break;
		case 'n': opt_count = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': opt_seed = strtoull(optarg, NULL, 0); break;
		case 'M': opt_max_len = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'v': opt_verbose = 1; break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (optind != argc || opt_max_len > ST_MAX_LEN_LIMIT) {
		if (opt_max_len > ST_MAX_LEN_LIMIT)
			fprintf(stderr, "%s: -M must be at most %u\n", argv[0], ST_MAX_LEN_LIMIT);
		usage(argv[0]);
		return 2;
	}
	two_hosts = peer_host != NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* every error is reported by this program, not by the library */
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	CHECK_OK(omx_init());
	if (opt_verbose)
		printf("stress: %u messages per direction, max %u bytes, seed %" PRIu64 ", %s\n", opt_count,
		       opt_max_len, opt_seed, two_hosts ? "two hosts" : "one process");

	deadline = now_ms() + ST_CONNECT_MS;
	if (two_hosts) {
		struct st_side *s = &sides[0];
		omx_return_t ret;

		nsides = 1;
		st_init_side(s, "local", board, local_ep < 0 ? 0 : (uint32_t)local_ep);
		ret = omx_hostname_to_nic_id((char *)peer_host, &s->peer_nic);
		if (ret != OMX_SUCCESS)
			FAILF("cannot find peer %s: %s", peer_host, omx_strerror(ret));
		s->peer_eid = remote_ep < 0 ? 0 : (uint32_t)remote_ep;
		if (s->peer_nic == s->nic && s->peer_eid == s->eid)
			FAILF("the peer is this endpoint (%s endpoint %u)", peer_host, s->eid);
		st_connect(s, deadline);
		st_start(s, s->nic > s->peer_nic || (s->nic == s->peer_nic && s->eid > s->peer_eid));
	} else {
		nsides = 2;
		st_init_side(&sides[0], "A", board, local_ep < 0 ? OMX_ANY_ENDPOINT : (uint32_t)local_ep);
		st_init_side(&sides[1], "B", board, remote_ep < 0 ? OMX_ANY_ENDPOINT : (uint32_t)remote_ep);
		for (int i = 0; i < 2; i++) {
			sides[i].peer_nic = sides[1 - i].nic;
			sides[i].peer_eid = sides[1 - i].eid;
		}
		st_connect(&sides[0], deadline);
		st_connect(&sides[1], deadline);
		st_start(&sides[0], 0);
		st_start(&sides[1], 1);
	}

	last_progress_ms = now_ms();
	for (;;) {
		int finished = 1;

		for (int i = 0; i < nsides; i++) {
			/* one process: never block long, the other side needs the CPU */
			int n = st_step(&sides[i], two_hosts ? 10 : 1);

			if (n == 0 && two_hosts && !sides[i].finished)
				st_wait_any(&sides[i], 10);
			finished &= sides[i].finished;
		}
		if (finished)
			break;
		if (now_ms() - last_progress_ms > ST_STALL_MS) {
			for (int i = 0; i < nsides; i++)
				st_dump(&sides[i]);
			FAILF("no completion for %.0f s", ST_STALL_MS / 1000);
		}
	}

	if (two_hosts) {
		/* let the last acknowledgements reach the peer before closing */
		for (int i = 0; i < ST_LINGER_MS / 10; i++) {
			omx_progress(sides[0].ep);
			sleep_ms(10);
		}
	}
	for (int i = 0; i < nsides; i++) {
		sent += sides[i].sent_done;
		received += sides[i].recv_done;
		bytes += sides[i].bytes_recv;
		st_finish(&sides[i]);
	}
	CHECK_OK(omx_finalize());

	printf("stress: sent %" PRIu64 " received %" PRIu64 " bytes %" PRIu64 " errors %d\n", sent, received,
	       bytes, errors);
	{
		/* Peak memory, so that tests can check it stays bounded. */
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("stress: maxrss %ld kB\n", ru.ru_maxrss);
	}
	if (errors) {
		fprintf(stderr, "FAIL: %d verification error(s)\n", errors);
		return 1;
	}
	return 0;
}
