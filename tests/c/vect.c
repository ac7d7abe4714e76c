/*
 * vect.c: vectorial sends and receives through the Open-MX API (the
 * omx_vect_test scenario, extended).
 *
 * Ten segments of 7, 23, 61, 26, 0 (NULL), 13456, 0 (NULL), 11111, 333333
 * and 3000000 bytes sit at scattered offsets of a big buffer.  For every
 * contiguous sub-list segs[i..j) (0 <= i <= j <= 10, including empty ones):
 *   - isendv(segs[i..j)) to the endpoint's own address into a contiguous
 *     irecv: the data arrive in segment order, guard bytes untouched, both
 *     statuses carry the total length;
 *   - a contiguous isend into irecvv(segs[i..j)): each segment receives its
 *     part, every byte of the big buffer outside the segments untouched.
 * Also: 256 segments work (isendv, issendv, irecvv); 257 segments give
 * OMX_SEGMENTS_BAD_COUNT (through OMX_ERRORS_RETURN) and no request.
 *
 * The path (self, shared, network emulation) is chosen by the caller's
 * environment (OMX_DISABLE_SELF / OMX_DISABLE_SHARED).
 */
#include "omxutil.h"

#define NSEG 10
#define AREA (8u << 20)
#define BG_SEED 0xbadc0de
#define GUARD_LEN 64

static const uint32_t seg_len[NSEG] = { 7, 23, 61, 26, 0, 13456, 0, 11111, 333333, 3000000 };
/* scattered, non-overlapping, not in address order */
static const size_t seg_off[NSEG] = { 5000001, 17, 4000003, 333, 0, 60001, 0, 4500007, 100003, 1000001 };

static struct omxu_ep e;
static char *area;     /* the scattered segments live here */
static char *expected; /* what area must look like */
static char *bg;       /* the background pattern of area */
static char *contig;   /* contiguous side */
static omx_seg_t segs[NSEG];

static size_t total_len(int i, int j)
{
	size_t t = 0;
	for (int k = i; k < j; k++)
		t += seg_len[k];
	return t;
}

static void transfer(omx_seg_t *ssegs, uint32_t nsseg, void *sbuf, size_t slen, int send_vect,
		     omx_seg_t *rsegs, uint32_t nrseg, void *rbuf, size_t rlen, int recv_vect, size_t len,
		     uint64_t match)
{
	omx_request_t sreq = NULL, rreq = NULL;
	omx_status_t st;

	if (recv_vect)
		CHECK_OK(omx_irecvv(e.ep, rsegs, nrseg, match, ~(uint64_t)0, NULL, &rreq));
	else
		CHECK_OK(omx_irecv(e.ep, rbuf, rlen, match, ~(uint64_t)0, NULL, &rreq));
	if (send_vect)
		CHECK_OK(omx_isendv(e.ep, ssegs, nsseg, e.addr, match, NULL, &sreq));
	else
		CHECK_OK(omx_isend(e.ep, sbuf, slen, e.addr, match, NULL, &sreq));
	omxu_wait(e.ep, &rreq, &st, "receive");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
	CHECK_EQ(st.match_info, match);
	omxu_wait(e.ep, &sreq, &st, "send");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
}

/* restore puts the background back into segs[i..j) of area and expected */
static void restore(int i, int j)
{
	for (int k = i; k < j; k++) {
		memcpy(area + seg_off[k], bg + seg_off[k], seg_len[k]);
		memcpy(expected + seg_off[k], bg + seg_off[k], seg_len[k]);
	}
}

static void vect_send(int i, int j)
{
	size_t len = total_len(i, j), pos = 0;
	uint32_t seed = (uint32_t)(i * 11 + j);

	/* the send segments hold consecutive parts of one pattern */
	for (int k = i; k < j; k++) {
		if (segs[k].ptr != NULL)
			for (uint32_t b = 0; b < seg_len[k]; b++)
				((uint8_t *)segs[k].ptr)[b] = pattern_byte(seed, pos + b);
		pos += seg_len[k];
	}
	memset(contig, GUARD, len + GUARD_LEN);
	transfer(&segs[i], (uint32_t)(j - i), NULL, 0, 1, NULL, 0, contig, len, 0, len,
		 0x1000 + (uint64_t)(i * 16 + j));
	{
		long bad = pattern_mismatch(contig, len, seed);
		if (bad >= 0)
			FAILF("isendv(segs[%d..%d)) into irecv: data differs at offset %ld of %zu", i, j, bad, len);
	}
	CHECK_BYTES(contig + len, GUARD_LEN, GUARD);
	restore(i, j);
}

static void vect_recv(int i, int j)
{
	size_t len = total_len(i, j), pos = 0;
	uint32_t seed = (uint32_t)(1000 + i * 11 + j);

	for (int k = i; k < j; k++) {
		if (segs[k].ptr != NULL)
			for (uint32_t b = 0; b < seg_len[k]; b++)
				expected[seg_off[k] + b] = (char)pattern_byte(seed, pos + b);
		pos += seg_len[k];
	}
	fill_pattern(contig, len, seed);
	transfer(NULL, 0, contig, len, 0, &segs[i], (uint32_t)(j - i), NULL, 0, 1, len,
		 0x2000 + (uint64_t)(i * 16 + j));
	if (memcmp(area, expected, AREA) != 0) {
		size_t k = 0;
		while (area[k] == expected[k])
			k++;
		FAILF("isend into irecvv(segs[%d..%d)): buffer differs at area offset %zu (got 0x%02x, want 0x%02x)", i,
		      j, k, (uint8_t)area[k], (uint8_t)expected[k]);
	}
	restore(i, j);
}

static void many_segments(void)
{
	omx_seg_t big[257];
	char *sbuf = xmalloc(257 * 3), *rbuf = xmalloc(257 * 3 + GUARD_LEN);
	omx_request_t sreq, rreq;
	omx_status_t st;
	size_t len = 0;

	/* 256 segments of 1..3 bytes (some empty), consecutive in sbuf */
	for (int k = 0; k < 257; k++) {
		uint32_t l = (uint32_t)(k % 4 == 3 ? 0 : k % 4 + 1);
		big[k].ptr = sbuf + len;
		big[k].len = l;
		if (k < 256)
			len += l;
	}
	fill_pattern(sbuf, len, 77);
	memset(rbuf, GUARD, len + GUARD_LEN);
	rreq = sreq = NULL;
	CHECK_OK(omx_irecv(e.ep, rbuf, len, 0x3000, ~(uint64_t)0, NULL, &rreq));
	CHECK_OK(omx_isendv(e.ep, big, 256, e.addr, 0x3000, NULL, &sreq));
	omxu_wait(e.ep, &rreq, &st, "256-segment receive");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
	omxu_wait(e.ep, &sreq, &st, "256-segment send");
	CHECK_PATTERN(rbuf, len, 77);
	CHECK_BYTES(rbuf + len, GUARD_LEN, GUARD);

	/* synchronous, and into 256 receive segments */
	{
		omx_seg_t rsegs[256];
		size_t pos = 0;
		for (int k = 0; k < 256; k++) {
			rsegs[k].ptr = rbuf + pos;
			rsegs[k].len = big[255 - k].len;
			pos += rsegs[k].len;
		}
		memset(rbuf, GUARD, len + GUARD_LEN);
		CHECK_OK(omx_irecvv(e.ep, rsegs, 256, 0x3001, ~(uint64_t)0, NULL, &rreq));
		CHECK_OK(omx_issendv(e.ep, big, 256, e.addr, 0x3001, NULL, &sreq));
		omxu_wait(e.ep, &rreq, &st, "256-segment irecvv");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
		omxu_wait(e.ep, &sreq, &st, "256-segment issendv");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
		CHECK_PATTERN(rbuf, len, 77);
		CHECK_BYTES(rbuf + len, GUARD_LEN, GUARD);
	}

	/* 257 segments: OMX_SEGMENTS_BAD_COUNT, no request */
	sreq = rreq = NULL;
	CHECK_RC(omx_isendv(e.ep, big, 257, e.addr, 0x3002, NULL, &sreq), OMX_SEGMENTS_BAD_COUNT);
	CHECK_RC(omx_issendv(e.ep, big, 257, e.addr, 0x3002, NULL, &sreq), OMX_SEGMENTS_BAD_COUNT);
	CHECK_RC(omx_irecvv(e.ep, big, 257, 0x3002, ~(uint64_t)0, NULL, &rreq), OMX_SEGMENTS_BAD_COUNT);
	CHECK_PTR_EQ(sreq, NULL);
	CHECK_PTR_EQ(rreq, NULL);
	{
		uint32_t result = 7;
		for (int i = 0; i < 5; i++)
			CHECK_OK(omx_progress(e.ep));
		CHECK_OK(omx_iprobe(e.ep, 0, 0, &st, &result));
		CHECK_EQ(result, 0);
		result = 7;
		CHECK_OK(omx_test_any(e.ep, 0, 0, &st, &result));
		CHECK_EQ(result, 0);
	}
	free(sbuf);
	free(rbuf);
}

int main(void)
{
	int cases = 0;

	CHECK_OK(omx_init());
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	omxu_open(&e);

	area = xmalloc(AREA);
	expected = xmalloc(AREA);
	bg = xmalloc(AREA);
	fill_pattern(bg, AREA, BG_SEED);
	memcpy(area, bg, AREA);
	memcpy(expected, bg, AREA);
	contig = xmalloc(total_len(0, NSEG) + GUARD_LEN);
	for (int k = 0; k < NSEG; k++) {
		CHECK(seg_off[k] + seg_len[k] <= AREA);
		segs[k].ptr = seg_len[k] ? area + seg_off[k] : NULL;
		segs[k].len = seg_len[k];
	}
	/* segments must not overlap */
	for (int a = 0; a < NSEG; a++)
		for (int b = a + 1; b < NSEG; b++)
			if (seg_len[a] && seg_len[b])
				CHECK(seg_off[a] + seg_len[a] <= seg_off[b] || seg_off[b] + seg_len[b] <= seg_off[a]);

	for (int i = 0; i <= NSEG; i++)
		for (int j = i; j <= NSEG; j++) {
			vect_send(i, j);
			vect_recv(i, j);
			cases++;
		}
	printf("%d contiguous sub-lists, both directions: ok\n", cases);

	many_segments();
	printf("256 segments ok, 257 rejected\n");

	CHECK_OK(omx_close_endpoint(e.ep));
	CHECK_OK(omx_finalize());
	free(area);
	free(expected);
	free(bg);
	free(contig);
	printf("vect: PASS\n");
	return 0;
}
