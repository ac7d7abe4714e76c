/*
 * truncate.c: truncated receives through the MX API (the omx_truncated_test
 * scenario, extended).
 *
 * An endpoint sends messages of 10, 120, 4000, 4097, 20000, 32768, 32769
 * and 1 MiB bytes to itself (or, with -x, to a second endpoint of the
 * process) into receive buffers of half the length (contiguous, then 2
 * segments), with the receive posted first and then with the send posted
 * first.  Checked, with MX_ERRORS_RETURN installed:
 *   - receive: MX_STATUS_TRUNCATED, msg_length = length, xfer_length = half;
 *     the first half delivered, the bytes after it untouched;
 *   - send: eager sends (length <= the rendezvous threshold) succeed with
 *     xfer_length = length and never learn about the truncation; larger
 *     (rendezvous) ones are TRUNCATED with xfer_length = half.
 * Modes:
 *   default  self send through the network path: sets OMX_DISABLE_SELF=1
 *            and OMX_DISABLE_SHARED=1, threshold 32768;
 *   -S       self path (unsets them): every send is TRUNCATED, xfer = half;
 *   -x       cross endpoint, environment untouched, threshold -t (default
 *            4096, the same-host one; 32768 with OMX_DISABLE_SHARED=1).
 *
 * -F (fatal mode): no handler is installed, a self send of 100 bytes into
 * a 50-byte receive must terminate the process inside the library with exit
 * status 255 and a stderr line "<prefix><message>: Message Truncated".
 * Reaching the end of the program is a failure (exit 1).
 */
#include "mxutil.h"

#include <unistd.h>

#define GUARD_LEN 64

static int self_mode;
static uint32_t threshold; /* rendezvous threshold: -t, or the mode's default */

/* run_one sends len bytes from e to (dest, r) which receives half of it */
static void run_one(struct mxu_ep *e, mx_endpoint_addr_t dest, struct mxu_ep *r, size_t len, int recv_first,
		    int vectored)
{
	size_t half = len / 2;
	char *sbuf = xmalloc(len);
	char *rbuf = xmalloc(len + GUARD_LEN);
	uint32_t seed = (uint32_t)(len * 7 + (size_t)recv_first * 3 + (size_t)vectored);
	mx_segment_t sseg = mxu_seg(sbuf, len);
	mx_segment_t rseg[2];
	uint32_t nrseg;
	mx_request_t sreq = NULL, rreq = NULL;
	mx_status_t sst, rst;
	int want_send_code;
	uint32_t want_send_xfer;
	uint64_t match = 0x7700000000000000ull | len;

	fill_pattern(sbuf, len, seed);
	memset(rbuf, GUARD, len + GUARD_LEN);
	if (vectored) {
		rseg[0] = mxu_seg(rbuf, half / 3);
		rseg[1] = mxu_seg(rbuf + half / 3, half - half / 3);
		nrseg = 2;
	} else {
		rseg[0] = mxu_seg(rbuf, half);
		nrseg = 1;
	}

	if (recv_first) {
		CHECK_OK(mx_irecv(r->ep, rseg, nrseg, match, MX_MATCH_MASK_NONE, NULL, &rreq));
		CHECK_OK(mx_isend(e->ep, &sseg, 1, dest, match, NULL, &sreq));
	} else {
		CHECK_OK(mx_isend(e->ep, &sseg, 1, dest, match, NULL, &sreq));
		CHECK_OK(mx_irecv(r->ep, rseg, nrseg, match, MX_MATCH_MASK_NONE, NULL, &rreq));
	}
	mxu_wait(r->ep, &rreq, &rst, "truncated receive");
	mxu_wait(e->ep, &sreq, &sst, "send of a truncated message");

	if (self_mode) {
		want_send_code = MX_STATUS_TRUNCATED;
		want_send_xfer = (uint32_t)half;
	} else if (len > threshold) {
		want_send_code = MX_STATUS_TRUNCATED;
		want_send_xfer = (uint32_t)half;
	} else {
		want_send_code = MX_STATUS_SUCCESS;
		want_send_xfer = (uint32_t)len;
	}
	if (rst.code != MX_STATUS_TRUNCATED || rst.msg_length != len || rst.xfer_length != half)
		FAILF("len %zu (%s, %s): receive status %d (%s) msg_length %u xfer_length %u, want TRUNCATED %zu %zu",
		      len, recv_first ? "receive first" : "send first", vectored ? "2 segments" : "contiguous",
		      rst.code, mx_strstatus(rst.code), rst.msg_length, rst.xfer_length, len, half);
	if ((int)sst.code != want_send_code || sst.msg_length != len || sst.xfer_length != want_send_xfer)
		FAILF("len %zu (%s, %s): send status %d (%s) msg_length %u xfer_length %u, want %d (%s) %zu %u",
		      len, recv_first ? "receive first" : "send first", vectored ? "2 segments" : "contiguous",
		      sst.code, mx_strstatus(sst.code), sst.msg_length, sst.xfer_length, want_send_code,
		      mx_strstatus((mx_status_code_t)want_send_code), len, want_send_xfer);
	CHECK_EQ(rst.match_info, match);
	CHECK_EQ(sst.match_info, match);
	mxu_addr_is(rst.source, e, "receive source");
	mxu_addr_is(sst.source, r, "send destination");
	CHECK_PATTERN(rbuf, half, seed);
	CHECK_BYTES(rbuf + half, len - half + GUARD_LEN, GUARD);
	free(sbuf);
	free(rbuf);
}

static void fatal_mode(void)
{
	struct mxu_ep e;
	char sbuf[100], rbuf[100];
	mx_segment_t sseg = mxu_seg(sbuf, sizeof(sbuf));
	mx_segment_t rseg = mxu_seg(rbuf, 50);
	mx_request_t sreq = NULL, rreq = NULL;
	mx_status_t st;
	uint32_t result = 0;

	memset(&st, 0, sizeof(st));
	unsetenv("OMX_DISABLE_SELF");
	unsetenv("MX_DISABLE_SELF");
	CHECK_OK(mx_init());
	mxu_open(&e);
	memset(sbuf, 1, sizeof(sbuf));
	printf("truncate: fatal mode, the next receive must terminate the process\n");
	fflush(stdout);
	CHECK_OK(mx_irecv(e.ep, &rseg, 1, 0x55, MX_MATCH_MASK_NONE, NULL, &rreq));
	CHECK_OK(mx_isend(e.ep, &sseg, 1, e.addr, 0x55, NULL, &sreq));
	mx_wait(e.ep, &rreq, 5000, &st, &result);
	mx_wait(e.ep, &sreq, 5000, &st, &result);
	FAILF("a truncated receive with the default (fatal) error handler did not terminate the process "
	      "(last wait result %u, status code %d)", result, st.code);
}

int main(int argc, char **argv)
{
	static const size_t lens[] = { 10, 120, 4000, 4097, 20000, 32768, 32769, 1048576 };
	struct mxu_ep e, r;
	mx_endpoint_addr_t dest;
	int fatal = 0, cross = 0;
	int c;

	while ((c = getopt(argc, argv, "SFxt:")) != -1) {
		switch (c) {
		case 'S': self_mode = 1; break;
		case 'F': fatal = 1; break;
		case 'x': cross = 1; break;
		case 't': threshold = (uint32_t)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: %s [-S | -F | -x [-t threshold]]\n", argv[0]);
			return 2;
		}
	}
	if (fatal) {
		fatal_mode();
		return 1;
	}
	if (threshold == 0)
		threshold = cross ? 4096 : 32768;
	if (self_mode) {
		unsetenv("OMX_DISABLE_SELF");
		unsetenv("OMX_DISABLE_SHARED");
		unsetenv("MX_DISABLE_SELF");
		unsetenv("MX_DISABLE_SHMEM");
	} else if (!cross) {
		setenv("OMX_DISABLE_SELF", "1", 1);
		setenv("OMX_DISABLE_SHARED", "1", 1);
	}

	CHECK_OK(mx_init());
	mx_set_error_handler(MX_ERRORS_RETURN);
	mxu_open(&e);
	if (cross) {
		mxu_open(&r);
		mxu_connect(&e, &r, &dest);
	} else {
		r = e;
		dest = e.addr;
	}
	printf("truncate: %s mode, endpoint %u -> %u, rendezvous threshold %u\n",
	       self_mode ? "self" : cross ? "cross endpoint" : "network", e.eid, r.eid, threshold);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int recv_first = 1; recv_first >= 0; recv_first--)
			for (int vectored = 0; vectored <= 1; vectored++)
				run_one(&e, dest, &r, lens[i], recv_first, vectored);
		printf("length %zu: ok\n", lens[i]);
	}
	if (cross)
		CHECK_OK(mx_close_endpoint(r.ep));
	CHECK_OK(mx_close_endpoint(e.ep));
	CHECK_OK(mx_finalize());
	printf("truncate: PASS\n");
	return 0;
}
