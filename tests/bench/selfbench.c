/*
 * selfbench.c: micro-benchmarks of the library inside one process (built
 * and run by "make bench" as build/bin/omx_selfbench; not a test).
 *
 * (a) the cost of one mx_test call on an idle endpoint holding a pending
 *     receive (mostly the C-to-Go crossing), and of one mx_progress, as the
 *     average over ~2 million calls;
 * (b) ping-pong latency and bandwidth, for 0 B .. 4 MiB:
 *       self:  one endpoint sends to its own address (isend + irecv, then
 *              complete both), twice per round trip;
 *       cross: endpoint A sends to endpoint B of the same process, B sends
 *              back;
 *     printed as the half round trip in microseconds and MB/s (10^6 bytes
 *     per second), in a Markdown table ready for README.md.
 *
 * Options:
 *   -w     complete requests with mx_wait (blocking) instead of polling mx_test
 *   -q     quick: a tenth of the iterations
 *   -n N   calls for (a) (default 2000000)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <myriexpress.h>
#include <mx_extensions.h>

#define KEY 0x53424e43u

static int use_wait;
static int quick;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void check(mx_return_t ret, const char *what)
{
	if (ret != MX_SUCCESS) {
		fprintf(stderr, "omx_selfbench: %s failed: %s\n", what, mx_strerror(ret));
		exit(1);
	}
}

/* complete waits for a request, by polling mx_test or with mx_wait. */
static void complete(mx_endpoint_t ep, mx_request_t *req, uint32_t len)
{
	mx_status_t st;
	uint32_t result = 0;

	if (use_wait) {
		check(mx_wait(ep, req, MX_INFINITE, &st, &result), "mx_wait");
	} else {
		while (!result)
			check(mx_test(ep, req, &st, &result), "mx_test");
	}
	if (st.code != MX_STATUS_SUCCESS || st.xfer_length != len) {
		fprintf(stderr, "omx_selfbench: request completed with %s, %u of %u bytes\n", mx_strstatus(st.code),
			st.xfer_length, len);
		exit(1);
	}
}

/* one_way moves len bytes from (sep -> dest) to rep, receive posted first. */
static void one_way(mx_endpoint_t sep, mx_endpoint_addr_t dest, mx_endpoint_t rep, char *sbuf, char *rbuf,
		    uint32_t len)
{
	mx_segment_t sseg = { sbuf, len }, rseg = { rbuf, len };
	mx_request_t sreq, rreq;

	check(mx_irecv(rep, &rseg, 1, 0x42, MX_MATCH_MASK_NONE, NULL, &rreq), "mx_irecv");
	check(mx_isend(sep, &sseg, 1, dest, 0x42, NULL, &sreq), "mx_isend");
	complete(rep, &rreq, len);
	complete(sep, &sreq, len);
}

static int iterations(uint32_t len)
{
	int n;

	if (len <= 4096)
		n = 20000;
	else if (len <= 65536)
		n = 4000;
	else if (len <= 1048576)
		n = 200;
	else
		n = 40;
	return quick ? (n + 9) / 10 : n;
}

/* pingpong returns the half round trip in microseconds. */
static double pingpong(mx_endpoint_t a, mx_endpoint_addr_t a_to_b, mx_endpoint_t b, mx_endpoint_addr_t b_to_a,
		       char *abuf, char *bbuf, uint32_t len)
{
	int iters = iterations(len), warmup = iters / 10 + 1;
	double t0 = 0;

	for (int i = 0; i < warmup + iters; i++) {
		if (i == warmup)
			t0 = now_ns();
		one_way(a, a_to_b, b, abuf, bbuf, len);
		one_way(b, b_to_a, a, bbuf, abuf, len);
	}
	return (now_ns() - t0) / 1e3 / (2.0 * iters);
}

static void size_name(char *out, size_t n, uint32_t len)
{
	if (len >= 1048576 && len % 1048576 == 0)
		snprintf(out, n, "%u MiB", len / 1048576);
	else if (len >= 1024 && len % 1024 == 0)
		snprintf(out, n, "%u KiB", len / 1024);
	else
		snprintf(out, n, "%u B", len);
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 0, 1, 32, 128, 1024, 4096, 32768, 65536, 1048576, 4194304 };
	long calls = 2000000;
	mx_endpoint_t a, b;
	mx_endpoint_addr_t a_self, a_to_b, b_to_a;
	uint64_t nic;
	uint32_t eid_b, result;
	mx_request_t pending;
	mx_segment_t seg;
	mx_status_t st;
	char rbuf[8];
	char *abuf, *bbuf;
	double t0, ns_test, ns_progress;
	int c;

	while ((c = getopt(argc, argv, "wqn:")) != -1) {
		switch (c) {
		case 'w': use_wait = 1; break;
		case 'q': quick = 1; break;
		case 'n': calls = atol(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-w] [-q] [-n calls]\n", argv[0]);
			return 2;
		}
	}
	if (calls < 1)
		calls = 1;

	check(mx_init(), "mx_init");
	mx_set_error_handler(MX_ERRORS_RETURN);
	check(mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &a), "mx_open_endpoint");
	check(mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &b), "mx_open_endpoint");
	check(mx_get_endpoint_addr(a, &a_self), "mx_get_endpoint_addr");
	check(mx_board_number_to_nic_id(0, &nic), "mx_board_number_to_nic_id");
	{
		mx_endpoint_addr_t b_self;
		uint64_t n;
		check(mx_get_endpoint_addr(b, &b_self), "mx_get_endpoint_addr");
		check(mx_decompose_endpoint_addr(b_self, &n, &eid_b), "mx_decompose_endpoint_addr");
	}
	{
		uint32_t eid_a;
		uint64_t n;
		check(mx_decompose_endpoint_addr(a_self, &n, &eid_a), "mx_decompose_endpoint_addr");
		check(mx_connect(a, nic, eid_b, KEY, 10000, &a_to_b), "mx_connect");
		check(mx_connect(b, nic, eid_a, KEY, 10000, &b_to_a), "mx_connect");
	}

	/* (a) mx_test / mx_progress on an idle endpoint with a pending receive */
	seg.segment_ptr = rbuf;
	seg.segment_length = sizeof(rbuf);
	check(mx_irecv(a, &seg, 1, 0x99, MX_MATCH_MASK_NONE, NULL, &pending), "mx_irecv");
	for (long i = 0; i < calls / 20; i++)
		check(mx_test(a, &pending, &st, &result), "mx_test");
	t0 = now_ns();
	for (long i = 0; i < calls; i++)
		mx_test(a, &pending, &st, &result);
	ns_test = (now_ns() - t0) / (double)calls;
	t0 = now_ns();
	for (long i = 0; i < calls; i++)
		mx_progress(a);
	ns_progress = (now_ns() - t0) / (double)calls;
	check(mx_cancel(a, &pending, &result), "mx_cancel");

	printf("open-mx-go one-process benchmark (MX API, requests completed by %s)\n\n",
	       use_wait ? "mx_wait" : "polling mx_test");
	printf("mx_test on an idle endpoint with a pending receive: %8.1f ns per call (%ld calls)\n", ns_test, calls);
	printf("mx_progress on an idle endpoint:                     %8.1f ns per call (%ld calls)\n\n", ns_progress,
	       calls);
	fflush(stdout);

	/* (b) ping-pong */
	abuf = malloc(sizes[sizeof(sizes) / sizeof(sizes[0]) - 1]);
	bbuf = malloc(sizes[sizeof(sizes) / sizeof(sizes[0]) - 1]);
	if (abuf == NULL || bbuf == NULL) {
		fprintf(stderr, "omx_selfbench: out of memory\n");
		return 1;
	}
	memset(abuf, 1, sizes[sizeof(sizes) / sizeof(sizes[0]) - 1]);
	memset(bbuf, 2, sizes[sizeof(sizes) / sizeof(sizes[0]) - 1]);
	printf("| %8s | %12s | %12s | %13s | %13s |\n", "size", "self (us)", "self (MB/s)", "cross (us)",
	       "cross (MB/s)");
	printf("|---------:|-------------:|-------------:|--------------:|--------------:|\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t len = sizes[i];
		double self_us = pingpong(a, a_self, a, a_self, abuf, bbuf, len);
		double cross_us = pingpong(a, a_to_b, b, b_to_a, abuf, bbuf, len);
		char name[16];

		size_name(name, sizeof(name), len);
		printf("| %8s | %12.2f | %12.1f | %13.2f | %13.1f |\n", name, self_us, len / self_us, cross_us,
		       len / cross_us);
		fflush(stdout);
	}
	printf("\nhalf round trip; MB/s = 10^6 bytes per second\n");

	free(abuf);
	free(bbuf);
	check(mx_close_endpoint(b), "mx_close_endpoint");
	check(mx_close_endpoint(a), "mx_close_endpoint");
	check(mx_finalize(), "mx_finalize");
	return 0;
}
