/*
 * stream.c: a one-way stream of messages from a sender to a receiver on
 * another host, over the Open-MX API, measuring the goodput (payload bytes
 * per second) the receiver gets. tests/tcpstream is the same program over
 * one TCP connection, with the same sizes, payloads and output, so that
 * both can be run through the same network (tests/fabric/bench_test.go).
 *
 * Receiver (start it first; it serves one sender, then exits):
 *
 *   stream [-b <board>] [-e <endpoint>] [-l <seconds>] [-v]
 *
 * Sender:
 *
 *   stream -d <receiver board hostname, e.g. host0:0> [-b <board>] [-r <endpoint>]
 *          [-m mixed|<size>] [-t <seconds> | -n <messages>] [-s <seed>]
 *          [-o <outstanding>] [-v]
 *
 *   -e, -r  the receiver's endpoint index (default 0); the sender takes any
 *   -m      "mixed" (default): a deterministic sequence of sizes drawn by
 *           the -s seed, 5 % empty, 25 % tiny (1..32), 20 % small
 *           (33..128), 30 % medium (129..32 KiB), 20 % large (32 KiB+1 ..
 *           1 MiB), each uniform in its class: counts are mixed, bytes are
 *           about 95 % large; or a fixed size in bytes (at most 256 MiB)
 *   -t      send for a warm-up of min(0.5 s, seconds/4), then for this many
 *           seconds more (default: -t 2)
 *   -n      send exactly this many messages (no warm-up: the first message
 *           opens the measurement)
 *   -s      seed of the mixed sizes (default 1)
 *   -o      sends kept outstanding (default 8, 1..64)
 *   -l      receiver: stop waiting this many seconds after the sender's
 *           hello even if the stream has not ended (0, the default: never),
 *           and report what arrived until then (a "cut" result)
 *   -P <n>  print "<seq> <length> <hash>" for each of the first n messages
 *           of -m/-s and exit: hash is the FNV-1a (32 bits, hex) of the
 *           message built into a zeroed buffer (checks that tcpstream
 *           generates the same messages)
 *   -v      print the steps, with the time since the start
 *
 * The size sequence: xorshift64* (x ^= x >> 12; x ^= x << 25;
 * x ^= x >> 27; return x * 0x2545f4914f6cdd1d) seeded with
 * (seed + 1) * 0x9e3779b97f4a7c15 (1 if that is 0); a draw r = next() % 100
 * picks the class, then lo + next() % (hi - lo + 1) the size. The same
 * generator, written the same way, is in tests/tcpstream/main.go: change
 * both or neither.
 *
 * Match info: bits 62..63 the kind (0 data, 1 hello, 2 end), bits 32..60
 * the length, bits 0..31 the sequence number.
 *
 * Payload of data message seq of length len (cheap to write and check, so
 * that verification does not dominate the measurement): when len >= 16, a
 * header of big-endian 32-bit words: magic "STRM", seq, len,
 * stamp(seq, 0); then stamp(seq, off) (big-endian) at every offset off that
 * is a non-zero multiple of 4096 and ends before the tail; the tail is the
 * bytes from max(16, len - 8) to len (all of them when len < 16), byte i
 * being the low byte of stamp(seq, i). stamp is a 32-bit integer hash of
 * seq and the offset. Other bytes are not checked. So every 4 KiB of a
 * message carries its sequence number: a fragment misplaced, lost or taken
 * from another message shows.
 *
 * Protocol: the sender connects, sends a hello (32 bytes, big-endian:
 * magic "STRH", version 1, size or all-ones for mixed, seed, outstanding,
 * warm-up in ms), then the data messages, keeping -o sends outstanding,
 * then, once every send completed, an end message (32 bytes: magic "STRE",
 * 0, messages, bytes, 0). Hello and end are synchronous sends: when the
 * end completes, the receiver has everything and the sender may close.
 * The receiver posts 2 x outstanding receives of the largest size and
 * completes them in order (omx_wait on the oldest), which is the order of
 * the messages: it checks each status (code, lengths, match info), the
 * kind and sequence number, the length against its own copy of the size
 * sequence, the payload, and at the end the counts and bytes of the end
 * message; no data message may be left unexpected. It keeps its endpoint
 * open for 0.5 s after the end, so that the acknowledgement of the end
 * reaches the sender.
 *
 * Measurement (receiver): the warm-up is timed where the data arrives, not
 * where it leaves (a sender's notion of time can be far ahead of the
 * receiver's when much is in flight, as in TCP's socket buffers): the
 * window opens at the first completion at least warm-up after the first
 * message completed (at the first completion with -n) and closes at the
 * last; it counts the messages and bytes completed after its opening. With
 * -l, when the end has not come in time, the window closes at the cut. If
 * the window had not opened (the stream ended or was cut in the warm-up),
 * it runs from the hello and counts every message completed.
 *
 * Output: the receiver prints one line
 *
 *   stream: <messages> messages <bytes> bytes <seconds> s <MB/s> MB/s
 *
 * (MB/s = 10^6 B/s), followed by " (cut after <limit> s)" when -l cut the
 * stream, and exits 0; the sender prints
 *
 *   stream: sent <messages> messages <bytes> bytes
 *
 * and exits 0. A failure prints FAIL lines on stderr and exits 1 (the
 * sender also when the receiver went away after a cut); usage errors exit 2.
 */
#include <open-mx.h>

#include <stdarg.h>
#include <unistd.h>

#define CHECK_CODE_NAME(c) omx_strerror((omx_return_t)(c))
#include "check.h"

#define SM_KEY 0x57ea4a11U

#define SM_KIND_SHIFT 62
#define SM_KIND_MASK (3ULL << SM_KIND_SHIFT)
#define SM_KIND_DATA 0ULL
#define SM_KIND_HELLO (1ULL << SM_KIND_SHIFT)
#define SM_KIND_END (2ULL << SM_KIND_SHIFT)
#define SM_LEN_SHIFT 32
#define SM_LEN_MASK ((1ULL << 29) - 1)

#define SM_MIXED UINT64_MAX          /* hello: mixed sizes */
#define SM_MIXED_MAX 1048576U        /* largest mixed size */
#define SM_FIXED_MAX (256U << 20)    /* largest -m size */
#define SM_MAX_OUTSTANDING 64

#define SM_HDR_LEN 16
#define SM_TAIL 8
#define SM_STRIDE 4096
#define SM_MAGIC 0x5354524dU         /* "STRM" */
#define SM_HELLO_MAGIC 0x53545248U   /* "STRH" */
#define SM_END_MAGIC 0x53545245U     /* "STRE" */
#define SM_CTRL_LEN 32
#define SM_VERSION 1

#define SM_CONNECT_MS 60000.0        /* the receiver may start late */
#define SM_HELLO_MS 120000.0         /* receiver: no hello for that long */
#define SM_STALL_MS 60000.0          /* no completion for that long */
#define SM_LINGER_MS 500             /* receiver: progress after the end */
#define SM_WAIT_MS 20                /* receiver: wait slice */
#define SM_MAX_PRINTED_ERRORS 20

static int opt_verbose;
static int errors;
static double t_start;  /* -v: times are printed from the start */

/* sm_trace prints a -v line with the time since the start. */
static void sm_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sm_trace(const char *fmt, ...)
{
	va_list ap;

	if (!opt_verbose)
		return;
	printf("stream: %9.3f ms: ", now_ms() - t_start);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void sm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sm_error(const char *fmt, ...)
{
	va_list ap;

	errors++;
	if (errors > SM_MAX_PRINTED_ERRORS)
		return;
	fprintf(stderr, "FAIL: stream: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (errors == SM_MAX_PRINTED_ERRORS)
		fprintf(stderr, "FAIL: stream: (further errors are counted, not printed)\n");
}

/* ---------------------------------------------------------------------- */
/* Sizes and payloads (the same in tests/tcpstream/main.go)               */

/* xorshift64* */
static uint64_t sm_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

static uint64_t sm_seed(uint64_t seed)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ULL;

	return x ? x : 1;
}

static uint32_t sm_range(uint64_t *x, uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(sm_next(x) % ((uint64_t)hi - lo + 1));
}

/* sm_size is the size of the next message: fixed, or drawn when mixed. */
static uint32_t sm_size(uint64_t *x, uint64_t fixed)
{
	uint32_t r;

	if (fixed != SM_MIXED)
		return (uint32_t)fixed;
	r = (uint32_t)(sm_next(x) % 100);
	if (r < 5)
		return 0;
	if (r < 30)
		return sm_range(x, 1, 32);
	if (r < 50)
		return sm_range(x, 33, 128);
	if (r < 80)
		return sm_range(x, 129, 32768);
	return sm_range(x, 32769, SM_MIXED_MAX);
}

static uint32_t sm_stamp(uint32_t seq, uint32_t off)
{
	uint32_t x = seq * 0x9e3779b1U + off * 0x85ebca77U + 0x165667b1U;

	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
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

/* sm_tail is where the tail of a message of len bytes starts. */
static uint32_t sm_tail(uint32_t len)
{
	if (len < SM_HDR_LEN)
		return 0;
	return len - SM_TAIL > SM_HDR_LEN ? len - SM_TAIL : SM_HDR_LEN;
}

/* sm_build writes the checked bytes of message seq into p. */
static void sm_build(unsigned char *p, uint32_t len, uint32_t seq)
{
	uint32_t tail = sm_tail(len);

	if (len >= SM_HDR_LEN) {
		put_be32(p, SM_MAGIC);
		put_be32(p + 4, seq);
		put_be32(p + 8, len);
		put_be32(p + 12, sm_stamp(seq, 0));
		for (uint32_t off = SM_STRIDE; off + 4 <= tail; off += SM_STRIDE)
			put_be32(p + off, sm_stamp(seq, off));
	}
	for (uint32_t i = tail; i < len; i++)
		p[i] = (unsigned char)sm_stamp(seq, i);
}

/* sm_verify checks the bytes sm_build writes; it returns the first bad
 * offset or -1. */
static long sm_verify(const unsigned char *p, uint32_t len, uint32_t seq)
{
	uint32_t tail = sm_tail(len);

	if (len >= SM_HDR_LEN) {
		if (get_be32(p) != SM_MAGIC)
			return 0;
		if (get_be32(p + 4) != seq)
			return 4;
		if (get_be32(p + 8) != len)
			return 8;
		if (get_be32(p + 12) != sm_stamp(seq, 0))
			return 12;
		for (uint32_t off = SM_STRIDE; off + 4 <= tail; off += SM_STRIDE)
			if (get_be32(p + off) != sm_stamp(seq, off))
				return off;
	}
	for (uint32_t i = tail; i < len; i++)
		if (p[i] != (unsigned char)sm_stamp(seq, i))
			return i;
	return -1;
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

static uint64_t sm_match(uint64_t kind, uint32_t len, uint32_t seq)
{
	return kind | ((uint64_t)len & SM_LEN_MASK) << SM_LEN_SHIFT | seq;
}

/* A buffer of len bytes, every page touched (no page faults while measuring). */
static unsigned char *sm_alloc(size_t len)
{
	unsigned char *p = xmalloc(len);

	memset(p, 0, len ? len : 1);
	return p;
}

/* ---------------------------------------------------------------------- */
/* Sender                                                                 */

struct sm_send {
	int busy;
	omx_request_t req;
	uint32_t seq, len;
	uint64_t match;
	unsigned char *buf;
};

struct sm_sender {
	omx_endpoint_t ep;
	omx_endpoint_addr_t peer;
	uint64_t fixed, seed;
	uint32_t outstanding;
	double seconds;   /* -t, or 0 with -n */
	uint32_t count;   /* -n */
	struct sm_send slots[SM_MAX_OUTSTANDING];
	uint32_t busy;
	uint64_t rng;
	uint32_t sent;
	uint64_t bytes;
	double last_progress;
};

static void sm_complete_send(struct sm_sender *s, const omx_status_t *st)
{
	struct sm_send *sl = st->context;

	if (sl < s->slots || sl >= s->slots + s->outstanding || !sl->busy)
		FAILF("send completion with an unknown context %p (match info 0x%" PRIx64 ")", st->context,
		      st->match_info);
	if (st->code != OMX_SUCCESS)
		FAILF("send %u (%u bytes): status %d (%s)", sl->seq, sl->len, st->code, omx_strerror(st->code));
	if (st->match_info != sl->match || st->msg_length != sl->len || st->xfer_length != sl->len)
		sm_error("send %u: status match 0x%" PRIx64 " lengths %u/%u, want 0x%" PRIx64 " %u", sl->seq,
			 st->match_info, st->msg_length, st->xfer_length, sl->match, sl->len);
	sl->busy = 0;
	sl->req = NULL;
	s->busy--;
	s->last_progress = now_ms();
}

/*
 * sm_send_ctrl sends a control message synchronously and waits for its
 * completion: the receiver has matched it, so it has every message sent
 * before it too (a completed eager send only means its buffer may be
 * reused: the library may still have to send it again).
 */
static void sm_send_ctrl(struct sm_sender *s, uint64_t match, unsigned char *buf, const char *what)
{
	omx_request_t req = NULL;
	omx_status_t st;
	uint32_t result = 0;
	double end = now_ms() + SM_STALL_MS;
	omx_return_t ret = omx_issend(s->ep, buf, SM_CTRL_LEN, s->peer, match, NULL, &req);

	if (ret != OMX_SUCCESS)
		FAILF("posting the %s: %s", what, omx_strerror(ret));
	while (!result) {
		ret = omx_wait(s->ep, &req, &st, &result, 1000);
		if (ret != OMX_SUCCESS)
			FAILF("waiting for the %s: %s", what, omx_strerror(ret));
		if (!result && now_ms() > end)
			FAILF("the %s did not complete in %.0f s", what, SM_STALL_MS / 1000);
	}
	if (st.code != OMX_SUCCESS)
		FAILF("%s: status %d (%s)", what, st.code, omx_strerror(st.code));
}

static void sm_run_sender(struct sm_sender *s)
{
	unsigned char ctrl[SM_CTRL_LEN];
	size_t max = s->fixed == SM_MIXED ? SM_MIXED_MAX : (size_t)s->fixed;
	double warm = s->seconds / 4 < 0.5 ? s->seconds / 4 : 0.5;  /* 0 with -n */
	double stop;

	for (uint32_t i = 0; i < s->outstanding; i++)
		s->slots[i].buf = sm_alloc(max);
	s->rng = sm_seed(s->seed);

	memset(ctrl, 0, sizeof(ctrl));
	put_be32(ctrl, SM_HELLO_MAGIC);
	put_be32(ctrl + 4, SM_VERSION);
	put_be64(ctrl + 8, s->fixed);
	put_be64(ctrl + 16, s->seed);
	put_be32(ctrl + 24, s->outstanding);
	put_be32(ctrl + 28, (uint32_t)(warm * 1000 + 0.5));
	sm_send_ctrl(s, sm_match(SM_KIND_HELLO, SM_CTRL_LEN, 0), ctrl, "hello");
	sm_trace("hello sent");

	s->last_progress = now_ms();
	stop = s->last_progress + (warm + s->seconds) * 1000;
	for (;;) {
		double now = now_ms();
		int more = s->seconds > 0 ? now < stop : s->sent < s->count;
		omx_status_t st;
		uint32_t result;
		omx_return_t ret;

		for (uint32_t i = 0; more && i < s->outstanding; i++) {
			struct sm_send *sl = &s->slots[i];
			uint32_t seq = s->sent;

			if (sl->busy)
				continue;
			sl->seq = seq;
			sl->len = sm_size(&s->rng, s->fixed);
			sl->match = sm_match(SM_KIND_DATA, sl->len, seq);
			sm_build(sl->buf, sl->len, seq);
			ret = omx_isend(s->ep, sl->buf, sl->len, s->peer, sl->match, sl, &sl->req);
			if (ret != OMX_SUCCESS)
				FAILF("posting send %u (%u bytes): %s", seq, sl->len, omx_strerror(ret));
			sl->busy = 1;
			s->busy++;
			s->sent++;
			s->bytes += sl->len;
			if (s->seconds > 0)
				now = now_ms();
			more = s->seconds > 0 ? now < stop : s->sent < s->count;
		}
		if (!more && s->busy == 0)
			break;

		ret = omx_wait_any(s->ep, 0, 0, &st, &result, 1000);
		if (ret != OMX_SUCCESS)
			FAILF("omx_wait_any: %s", omx_strerror(ret));
		if (result) {
			sm_complete_send(s, &st);
			for (;;) {
				ret = omx_test_any(s->ep, 0, 0, &st, &result);
				if (ret != OMX_SUCCESS)
					FAILF("omx_test_any: %s", omx_strerror(ret));
				if (!result)
					break;
				sm_complete_send(s, &st);
			}
		} else if (now_ms() - s->last_progress > SM_STALL_MS) {
			FAILF("no send completed for %.0f s (%u sent, %u outstanding)", SM_STALL_MS / 1000, s->sent,
			      s->busy);
		}
	}

	sm_trace("%u messages sent, %" PRIu64 " bytes", s->sent, s->bytes);
	memset(ctrl, 0, sizeof(ctrl));
	put_be32(ctrl, SM_END_MAGIC);
	put_be64(ctrl + 8, s->sent);
	put_be64(ctrl + 16, s->bytes);
	sm_send_ctrl(s, sm_match(SM_KIND_END, SM_CTRL_LEN, s->sent), ctrl, "end message");
	sm_trace("end message sent");
	for (uint32_t i = 0; i < s->outstanding; i++)
		free(s->slots[i].buf);
}

/* ---------------------------------------------------------------------- */
/* Receiver                                                               */

struct sm_recv {
	omx_request_t req;
	uint32_t seq;
	unsigned char *buf;
};

struct sm_receiver {
	omx_endpoint_t ep;
	double limit_ms;          /* -l, 0: none */
	uint64_t fixed, seed;
	uint32_t outstanding, nslots;
	size_t max;
	struct sm_recv *slots;
	uint64_t rng;
	uint32_t posted, done;    /* data receives posted, completed in order */
	double warm_ms;           /* the warm-up the hello gives */
	uint64_t bytes;           /* of the completed messages */
	int open;                 /* the window is open */
	uint32_t measured;        /* messages completed in the window */
	uint64_t measured_bytes;
	double t_hello, t_first, t_last, t0, t1;
};

static void sm_post_recv(struct sm_receiver *r, struct sm_recv *sl)
{
	omx_return_t ret = omx_irecv(r->ep, sl->buf, r->max, SM_KIND_DATA, SM_KIND_MASK, sl, &sl->req);

	if (ret != OMX_SUCCESS)
		FAILF("posting receive %u: %s", r->posted, omx_strerror(ret));
	sl->seq = r->posted++;
}

/* sm_wait_ctrl waits (bounded) for a control receive and checks it. */
static void sm_wait_ctrl(struct sm_receiver *r, omx_request_t *req, uint64_t kind, double ms, omx_status_t *st)
{
	double end = now_ms() + ms;
	uint32_t result = 0;

	while (!result) {
		omx_return_t ret = omx_wait(r->ep, req, st, &result, 1000);

		if (ret != OMX_SUCCESS)
			FAILF("omx_wait: %s", omx_strerror(ret));
		if (!result && now_ms() > end)
			FAILF("no %s from a sender in %.0f s", kind == SM_KIND_HELLO ? "hello" : "end",
			      ms / 1000);
	}
}

static void sm_check_ctrl(const omx_status_t *st, uint64_t kind, uint32_t magic, const unsigned char *buf,
			  const char *what)
{
	if (st->code != OMX_SUCCESS || (st->match_info & SM_KIND_MASK) != kind ||
	    st->msg_length != SM_CTRL_LEN || st->xfer_length != SM_CTRL_LEN)
		FAILF("%s: status %d (%s) match 0x%" PRIx64 " lengths %u/%u", what, st->code,
		      omx_strerror(st->code), st->match_info, st->msg_length, st->xfer_length);
	if (get_be32(buf) != magic)
		FAILF("%s: magic 0x%08x, want 0x%08x", what, get_be32(buf), magic);
}

/* sm_complete_recv checks the in-order completion of receive sl. */
static void sm_complete_recv(struct sm_receiver *r, struct sm_recv *sl, const omx_status_t *st)
{
	uint64_t m = st->match_info;
	uint32_t seq = sl->seq;
	uint32_t want = sm_size(&r->rng, r->fixed);
	uint32_t len = (uint32_t)(m >> SM_LEN_SHIFT & SM_LEN_MASK);
	double now = now_ms();
	long bad;

	if (st->context != sl)
		sm_error("receive %u: status context %p, want %p", seq, st->context, (void *)sl);
	if (st->code != OMX_SUCCESS)
		sm_error("receive %u: status %d (%s)", seq, st->code, omx_strerror(st->code));
	if ((m & SM_KIND_MASK) != SM_KIND_DATA || (uint32_t)m != seq)
		sm_error("receive %u: match info 0x%" PRIx64 " is not data message %u: lost, duplicated or reordered",
			 seq, m, seq);
	if (len != want || st->msg_length != want || st->xfer_length != want)
		sm_error("receive %u: lengths match %u msg %u xfer %u, the size sequence says %u", seq, len,
			 st->msg_length, st->xfer_length, want);
	if (st->xfer_length <= r->max && (bad = sm_verify(sl->buf, st->xfer_length, seq)) >= 0)
		sm_error("receive %u (%u bytes): payload corrupted at offset %ld", seq, st->xfer_length, bad);

	if (r->done == 0)
		r->t_first = now;
	r->t_last = now;
	r->done++;
	r->bytes += st->xfer_length;
	if (r->open) {
		r->measured++;
		r->measured_bytes += st->xfer_length;
	} else if (now - r->t_first >= r->warm_ms) {
		/* this completion opens the window: its bytes came before */
		r->open = 1;
		r->t0 = now;
	}
}

static void sm_dump(const struct sm_receiver *r)
{
	fprintf(stderr, "stream: receiver: %u receives posted, %u completed, %" PRIu64 " bytes\n", r->posted,
		r->done, r->bytes);
}

static void sm_run_receiver(struct sm_receiver *r)
{
	unsigned char hello[SM_CTRL_LEN], end[SM_CTRL_LEN];
	omx_request_t hello_req = NULL, end_req = NULL;
	omx_status_t st;
	int end_known = 0, cut = 0;
	uint64_t end_count = 0;
	double last_progress;
	omx_return_t ret;

	CHECK_OK(omx_irecv(r->ep, hello, SM_CTRL_LEN, SM_KIND_HELLO, SM_KIND_MASK, NULL, &hello_req));
	CHECK_OK(omx_irecv(r->ep, end, SM_CTRL_LEN, SM_KIND_END, SM_KIND_MASK, NULL, &end_req));
	sm_trace("receiver ready");
	sm_wait_ctrl(r, &hello_req, SM_KIND_HELLO, SM_HELLO_MS, &st);
	r->t_hello = now_ms();
	sm_trace("hello received");
	sm_check_ctrl(&st, SM_KIND_HELLO, SM_HELLO_MAGIC, hello, "hello");
	if (get_be32(hello + 4) != SM_VERSION)
		FAILF("hello: version %u, want %u", get_be32(hello + 4), SM_VERSION);
	r->fixed = get_be64(hello + 8);
	r->seed = get_be64(hello + 16);
	r->outstanding = get_be32(hello + 24);
	r->warm_ms = get_be32(hello + 28);
	if ((r->fixed != SM_MIXED && r->fixed > SM_FIXED_MAX) || r->outstanding < 1 ||
	    r->outstanding > SM_MAX_OUTSTANDING)
		FAILF("hello: size %" PRIu64 " outstanding %u out of range", r->fixed, r->outstanding);
	if (opt_verbose) {
		if (r->fixed == SM_MIXED)
			printf("stream: receiver: mixed sizes, seed %" PRIu64 ", %u outstanding\n", r->seed,
			       r->outstanding);
		else
			printf("stream: receiver: %" PRIu64 "-byte messages, %u outstanding\n", r->fixed,
			       r->outstanding);
	}

	r->max = r->fixed == SM_MIXED ? SM_MIXED_MAX : (size_t)r->fixed;
	r->nslots = 2 * r->outstanding;
	r->slots = xmalloc(r->nslots * sizeof(*r->slots));
	for (uint32_t i = 0; i < r->nslots; i++) {
		r->slots[i].buf = sm_alloc(r->max);
		sm_post_recv(r, &r->slots[i]);
	}
	r->rng = sm_seed(r->seed);
	r->t_last = r->t_hello;

	last_progress = now_ms();
	for (;;) {
		struct sm_recv *sl = &r->slots[r->done % r->nslots];
		uint32_t result = 0;
		double now;

		if (end_known && r->done == end_count)
			break;
		ret = omx_wait(r->ep, &sl->req, &st, &result, SM_WAIT_MS);
		if (ret != OMX_SUCCESS)
			FAILF("omx_wait on receive %u: %s", sl->seq, omx_strerror(ret));
		now = now_ms();
		if (result) {
			sm_complete_recv(r, sl, &st);
			sm_post_recv(r, sl);
			last_progress = now;
		} else if (!end_known) {
			ret = omx_test(r->ep, &end_req, &st, &result);
			if (ret != OMX_SUCCESS)
				FAILF("omx_test on the end receive: %s", omx_strerror(ret));
			if (result) {
				sm_check_ctrl(&st, SM_KIND_END, SM_END_MAGIC, end, "end message");
				end_known = 1;
				end_count = get_be64(end + 8);
				if ((uint32_t)st.match_info != end_count)
					sm_error("end message: match info 0x%" PRIx64 " does not carry the count %" PRIu64,
						 st.match_info, end_count);
				if (end_count < r->done)
					FAILF("the sender sent %" PRIu64 " messages, %u were received", end_count,
					      r->done);
			}
		}
		if (r->limit_ms > 0 && now - r->t_hello > r->limit_ms) {
			cut = 1;
			r->t_last = now;
			break;
		}
		if (now - last_progress > SM_STALL_MS) {
			sm_dump(r);
			FAILF("no message completed for %.0f s", SM_STALL_MS / 1000);
		}
	}

	r->t1 = r->t_last;
	if (!r->open) {
		/* the stream ended or was cut in the warm-up: the window runs from the hello */
		r->t0 = r->t_hello;
		r->measured = r->done;
		r->measured_bytes = r->bytes;
	}
	{
		double secs = (r->t1 - r->t0) / 1000;
		double mbs = secs > 0 ? (double)r->measured_bytes / secs / 1e6 : 0;

		printf("stream: %u messages %" PRIu64 " bytes %.6f s %.2f MB/s", r->measured, r->measured_bytes,
		       secs, mbs);
		if (cut)
			printf(" (cut after %g s)", r->limit_ms / 1000);
		printf("\n");
		fflush(stdout);
	}
	sm_trace("end received");
	if (cut) {
		/* the sender is still sending: leave without the checks of the end */
		return;
	}

	if (get_be64(end + 16) != r->bytes)
		sm_error("end message: the sender sent %" PRIu64 " messages, %" PRIu64 " bytes; received %u, %" PRIu64
			 " bytes", end_count, get_be64(end + 16), r->done, r->bytes);
	/* let the last acknowledgements reach the sender before closing */
	for (int i = 0; i < SM_LINGER_MS / 10; i++) {
		omx_progress(r->ep);
		sleep_ms(10);
	}
	for (uint32_t i = 0; i < r->nslots; i++) {
		uint32_t result = 0;

		CHECK_OK(omx_cancel(r->ep, &r->slots[i].req, &result));
		if (!result)
			sm_error("receive %u was matched after the end", r->slots[i].seq);
		free(r->slots[i].buf);
	}
	{
		uint32_t result = 0;

		CHECK_OK(omx_iprobe(r->ep, SM_KIND_DATA, SM_KIND_MASK, &st, &result));
		if (result)
			sm_error("a data message is left unexpected (match info 0x%" PRIx64 ", %u bytes)",
				 st.match_info, st.msg_length);
	}
	free(r->slots);
}

/* ---------------------------------------------------------------------- */

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-b <board>] [-e <endpoint>] [-l <seconds>] [-v]   (receiver)\n"
		"       %s -d <receiver board hostname> [-b <board>] [-r <endpoint>] [-m mixed|<size>]\n"
		"          [-t <seconds> | -n <messages>] [-s <seed>] [-o <outstanding>] [-v]   (sender)\n"
		"       %s [-m mixed|<size>] [-s <seed>] -P <messages>   (print the message sequence)\n",
		argv0, argv0, argv0);
}

/* parse_u64 parses a whole non-negative decimal (or 0x) number. */
static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s == '\0' || *s == '-')
		return 0;
	*v = strtoull(s, &end, 0);
	return *end == '\0';
}

int main(int argc, char **argv)
{
	const char *peer_host = NULL;
	uint32_t board = 0;
	uint64_t local_ep = 0, remote_ep = 0, fixed = SM_MIXED, seed = 1, outstanding = 8, count = 0, print = 0;
	double seconds = 0, limit = 0;
	int have_t = 0, have_n = 0, have_e = 0, c;
	uint64_t v;

	while ((c = getopt(argc, argv, "b:d:e:r:m:t:n:s:o:l:P:vh")) != -1) {
		char *end = NULL;

		switch (c) {
		case 'b':
			if (!parse_u64(optarg, &v) || v > 255)
				goto bad;
			board = (uint32_t)v;
			break;
		case 'd': peer_host = optarg; break;
		case 'e':
			if (!parse_u64(optarg, &local_ep) || local_ep > 255)
				goto bad;
			have_e = 1;
			break;
		case 'r':
			if (!parse_u64(optarg, &remote_ep) || remote_ep > 255)
				goto bad;
			break;
		case 'm':
			if (strcmp(optarg, "mixed") == 0)
				fixed = SM_MIXED;
			else if (!parse_u64(optarg, &fixed) || fixed > SM_FIXED_MAX)
				goto bad;
			break;
		case 't':
			seconds = strtod(optarg, &end);
			if (*end != '\0' || !(seconds > 0 && seconds < 1e6))
				goto bad;
			have_t = 1;
			break;
		case 'n':
			if (!parse_u64(optarg, &count) || count < 1 || count > 0xffffffffULL)
				goto bad;
			have_n = 1;
			break;
		case 's':
			if (!parse_u64(optarg, &seed))
				goto bad;
			break;
		case 'o':
			if (!parse_u64(optarg, &outstanding) || outstanding < 1 || outstanding > SM_MAX_OUTSTANDING)
				goto bad;
			break;
		case 'l':
			limit = strtod(optarg, &end);
			if (*end != '\0' || !(limit >= 0 && limit < 1e6))
				goto bad;
			break;
		case 'P':
			if (!parse_u64(optarg, &print) || print < 1 || print > 0xffffffffULL)
				goto bad;
			break;
		case 'v': opt_verbose = 1; break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || (have_t && have_n))
		goto bad;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (print) {
		size_t max = fixed == SM_MIXED ? SM_MIXED_MAX : (size_t)fixed;
		unsigned char *buf = sm_alloc(max);
		uint64_t rng = sm_seed(seed);

		for (uint32_t seq = 0; seq < print; seq++) {
			uint32_t len = sm_size(&rng, fixed);

			/* the unchecked bytes are zero here, not part of the format */
			memset(buf, 0, len);
			sm_build(buf, len, seq);
			printf("%u %u %08x\n", seq, len, fnv1a(buf, len));
		}
		free(buf);
		return 0;
	}

	/* every error is reported by this program, not by the library */
	t_start = now_ms();
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	CHECK_OK(omx_init());
	sm_trace("initialized");

	if (peer_host != NULL) {
		struct sm_sender *s = xmalloc(sizeof(*s));
		uint64_t nic;
		double deadline = now_ms() + SM_CONNECT_MS;
		omx_return_t ret;

		memset(s, 0, sizeof(*s));
		s->fixed = fixed;
		s->seed = seed;
		s->outstanding = (uint32_t)outstanding;
		s->seconds = have_n ? 0 : (have_t ? seconds : 2);
		s->count = (uint32_t)count;
		ret = omx_open_endpoint(board, have_e ? (uint32_t)local_ep : OMX_ANY_ENDPOINT, SM_KEY, NULL, 0, &s->ep);
		if (ret != OMX_SUCCESS)
			FAILF("opening an endpoint of board %u: %s", board, omx_strerror(ret));
		ret = omx_hostname_to_nic_id((char *)peer_host, &nic);
		if (ret != OMX_SUCCESS)
			FAILF("cannot find the receiver %s: %s", peer_host, omx_strerror(ret));
		for (;;) {
			ret = omx_connect(s->ep, nic, (uint32_t)remote_ep, SM_KEY, 2000, &s->peer);
			if (ret == OMX_SUCCESS)
				break;
			if (now_ms() > deadline)
				FAILF("connecting to endpoint %u of %s: %s", (uint32_t)remote_ep, peer_host,
				      omx_strerror(ret));
			sleep_ms(50);
		}
		sm_trace("connected");
		sm_run_sender(s);
		CHECK_OK(omx_close_endpoint(s->ep));
		sm_trace("endpoint closed");
		printf("stream: sent %u messages %" PRIu64 " bytes\n", s->sent, s->bytes);
		free(s);
	} else {
		struct sm_receiver *r = xmalloc(sizeof(*r));
		omx_return_t ret;

		if (have_t || have_n || fixed != SM_MIXED || outstanding != 8 || seed != 1)
			goto bad; /* the sender's options: the receiver learns them from the hello */
		memset(r, 0, sizeof(*r));
		r->limit_ms = limit * 1000;
		ret = omx_open_endpoint(board, (uint32_t)local_ep, SM_KEY, NULL, 0, &r->ep);
		if (ret != OMX_SUCCESS)
			FAILF("opening endpoint %u of board %u: %s", (uint32_t)local_ep, board, omx_strerror(ret));
		sm_run_receiver(r);
		if (errors)
			exit(1);
		CHECK_OK(omx_close_endpoint(r->ep));
		sm_trace("endpoint closed");
		free(r);
	}
	CHECK_OK(omx_finalize());
	sm_trace("finalized");
	if (errors) {
		fprintf(stderr, "FAIL: %d verification error(s)\n", errors);
		return 1;
	}
	return 0;

bad:
	usage(argv[0]);
	return 2;
}
