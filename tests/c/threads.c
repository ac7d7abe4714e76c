/*
 * threads.c: concurrency through the Open-MX API (pthreads).
 *
 * 1. one endpoint, 4 threads: each posts irecv + isend to the endpoint's own
 *    address in its own match_info range (thread << 32 | iteration), sizes
 *    0..70000, completing with omx_wait or omx_test loops; data verified.
 * 2. two pairs of endpoints, one thread per endpoint: the "X" thread pings
 *    its "Y" partner and waits for the echo, the Y thread receives and
 *    echoes; sizes up to 300000 (rendezvous); data verified both ways.
 * 3. several threads in omx_wait_any on one endpoint while the main thread
 *    completes 300 receives: every completion is delivered exactly once.
 * 4. concurrent open/close: 4 threads each open an endpoint (ANY index),
 *    post 8..512 receives (match i, mask i), cancel them all (result 1),
 *    close, 16 times (the omx_multithread_ep_test idea).
 */
#include "omxutil.h"

#include <pthread.h>

#define NT 4

/* ---- 1. one endpoint, several threads ---- */

static struct omxu_ep shared_ep;

static void *same_ep_thread(void *arg)
{
	uint64_t t = (uint64_t)(uintptr_t)arg;
	static const size_t sizes[] = { 0, 17, 300, 5000, 70000 };
	char *sbuf = xmalloc(70000), *rbuf = xmalloc(70000 + 16);

	for (int i = 0; i < 150; i++) {
		size_t len = sizes[(size_t)i % 5];
		uint64_t match = (t << 32) | (uint64_t)i;
		uint32_t seed = (uint32_t)(t * 100000 + (uint64_t)i);
		omx_request_t sreq = NULL, rreq = NULL;
		omx_status_t st;
		uint32_t result;

		fill_pattern(sbuf, len, seed);
		memset(rbuf, GUARD, len + 16);
		if (i % 2 == 0) {
			CHECK_OK(omx_irecv(shared_ep.ep, rbuf, len, match, ~(uint64_t)0, NULL, &rreq));
			CHECK_OK(omx_isend(shared_ep.ep, sbuf, len, shared_ep.addr, match, NULL, &sreq));
		} else {
			CHECK_OK(omx_isend(shared_ep.ep, sbuf, len, shared_ep.addr, match, NULL, &sreq));
			CHECK_OK(omx_irecv(shared_ep.ep, rbuf, len, match, ~(uint64_t)0, NULL, &rreq));
		}
		if (i % 3 == 0) {
			double end = now_ms() + OMXU_WAIT_MS;
			result = 0;
			while (!result) {
				CHECK_MSG(now_ms() < end, "thread %u: receive %d never completed", (unsigned)t, i);
				CHECK_OK(omx_test(shared_ep.ep, &rreq, &st, &result));
			}
		} else {
			omxu_wait(shared_ep.ep, &rreq, &st, "threaded receive");
		}
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
		CHECK_EQ(st.match_info, match);
		omxu_wait(shared_ep.ep, &sreq, &st, "threaded send");
		OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
		CHECK_EQ(st.match_info, match);
		CHECK_PATTERN(rbuf, len, seed);
		CHECK_BYTES(rbuf + len, 16, GUARD);
	}
	free(sbuf);
	free(rbuf);
	return NULL;
}

static void part_same_endpoint(void)
{
	pthread_t th[NT];

	omxu_open(&shared_ep);
	for (uintptr_t t = 0; t < NT; t++)
		CHECK(pthread_create(&th[t], NULL, same_ep_thread, (void *)(t + 1)) == 0);
	for (int t = 0; t < NT; t++)
		CHECK(pthread_join(th[t], NULL) == 0);
	{
		omx_status_t st;
		uint32_t result = 7;
		CHECK_OK(omx_test_any(shared_ep.ep, 0, 0, &st, &result));
		CHECK_EQ(result, 0);
	}
	CHECK_OK(omx_close_endpoint(shared_ep.ep));
	printf("one endpoint, %d threads: ok\n", NT);
}

/* ---- 2. thread pairs ping-ponging between endpoints ---- */

struct pp_side {
	struct omxu_ep e;
	omx_endpoint_addr_t peer;
	int is_x;
	int pair;
};

#define PP_ITERS 60
static const size_t pp_sizes[] = { 0, 1, 100, 4000, 4097, 40000, 300000 };
#define PP_NSIZES (sizeof(pp_sizes) / sizeof(pp_sizes[0]))

static void *pp_thread(void *arg)
{
	struct pp_side *s = arg;
	char *sbuf = xmalloc(300000), *rbuf = xmalloc(300000 + 16);

	for (int i = 0; i < PP_ITERS; i++) {
		size_t len = pp_sizes[(size_t)i % PP_NSIZES];
		uint32_t seed = (uint32_t)(s->pair * 1000 + i);
		uint64_t match = 0x5000 + (uint64_t)i;
		omx_request_t sreq = NULL, rreq = NULL;
		omx_status_t st;

		memset(rbuf, GUARD, len + 16);
		if (s->is_x) {
			fill_pattern(sbuf, len, seed);
			CHECK_OK(omx_irecv(s->e.ep, rbuf, len, match, ~(uint64_t)0, NULL, &rreq));
			CHECK_OK(omx_isend(s->e.ep, sbuf, len, s->peer, match, NULL, &sreq));
			omxu_wait(s->e.ep, &sreq, &st, "ping send");
			OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
			omxu_wait(s->e.ep, &rreq, &st, "pong receive");
			OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
			/* the echo carries the same data */
			CHECK_PATTERN(rbuf, len, seed);
		} else {
			CHECK_OK(omx_irecv(s->e.ep, rbuf, len, match, ~(uint64_t)0, NULL, &rreq));
			omxu_wait(s->e.ep, &rreq, &st, "ping receive");
			OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
			CHECK_PATTERN(rbuf, len, seed);
			CHECK_OK(omx_isend(s->e.ep, rbuf, len, s->peer, match, NULL, &sreq));
			omxu_wait(s->e.ep, &sreq, &st, "pong send");
			OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
		}
		CHECK_BYTES(rbuf + len, 16, GUARD);
	}
	free(sbuf);
	free(rbuf);
	return NULL;
}

static void part_pairs(void)
{
	struct pp_side s[4];
	pthread_t th[4];

	memset(s, 0, sizeof(s));
	for (int i = 0; i < 4; i++) {
		omxu_open(&s[i].e);
		s[i].is_x = i % 2 == 0;
		s[i].pair = i / 2;
	}
	for (int p = 0; p < 2; p++) {
		omxu_connect(&s[2 * p].e, &s[2 * p + 1].e, &s[2 * p].peer);
		omxu_connect(&s[2 * p + 1].e, &s[2 * p].e, &s[2 * p + 1].peer);
	}
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, pp_thread, &s[i]) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	for (int i = 0; i < 4; i++)
		CHECK_OK(omx_close_endpoint(s[i].e.ep));
	printf("2 endpoint pairs, one thread per endpoint, %d ping-pongs each: ok\n", PP_ITERS);
}

/* ---- 3. several threads in wait_any ---- */

#define WA_N 300
static struct omxu_ep wa_ep;
static int wa_seen[WA_N];
static int wa_delivered;
static int wa_bad = -1;
static char wa_ctx[WA_N];

static void *wait_any_thread(void *arg)
{
	int *mine = arg;
	double end = now_ms() + 30000;

	while (__atomic_load_n(&wa_delivered, __ATOMIC_SEQ_CST) < WA_N && now_ms() < end) {
		omx_status_t st;
		uint32_t result = 0;

		CHECK_OK(omx_wait_any(wa_ep.ep, 0, 0, &st, &result, 50));
		if (!result)
			continue;
		if (st.code != OMX_SUCCESS || st.match_info >= WA_N || st.context != &wa_ctx[st.match_info]) {
			__atomic_store_n(&wa_bad, (int)st.match_info, __ATOMIC_SEQ_CST);
			continue;
		}
		__atomic_add_fetch(&wa_seen[st.match_info], 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&wa_delivered, 1, __ATOMIC_SEQ_CST);
		(*mine)++;
	}
	return NULL;
}

static void part_wait_any(void)
{
	pthread_t th[NT];
	int counts[NT] = { 0 };
	int bad;
	omx_status_t st;
	uint32_t result;

	omxu_open(&wa_ep);
	/* forgotten receives (NULL request): their completions never show up */
	for (int i = 0; i < WA_N / 3; i++)
		CHECK_OK(omx_irecv(wa_ep.ep, NULL, 0, (uint64_t)(WA_N + i), ~(uint64_t)0, NULL, NULL));
	for (int i = 0; i < WA_N; i++) {
		omx_request_t r = NULL;
		CHECK_OK(omx_irecv(wa_ep.ep, NULL, 0, (uint64_t)i, ~(uint64_t)0, &wa_ctx[i], &r));
		CHECK(r != NULL);
	}
	for (int t = 0; t < NT; t++)
		CHECK(pthread_create(&th[t], NULL, wait_any_thread, &counts[t]) == 0);
	sleep_ms(50);
	for (int i = 0; i < WA_N / 3; i++)
		CHECK_OK(omx_isend(wa_ep.ep, NULL, 0, wa_ep.addr, (uint64_t)(WA_N + i), NULL, NULL));
	for (int i = 0; i < WA_N; i++)
		CHECK_OK(omx_isend(wa_ep.ep, NULL, 0, wa_ep.addr, (uint64_t)i, NULL, NULL));
	for (int t = 0; t < NT; t++)
		CHECK(pthread_join(th[t], NULL) == 0);

	bad = __atomic_load_n(&wa_bad, __ATOMIC_SEQ_CST);
	CHECK_MSG(bad < 0, "a wait_any thread got a wrong completion (match %d)", bad);
	CHECK_MSG(wa_delivered == WA_N, "%d of %d completions delivered within 30 s", wa_delivered, WA_N);
	for (int i = 0; i < WA_N; i++)
		CHECK_MSG(wa_seen[i] == 1, "completion %d delivered %d times", i, wa_seen[i]);
	for (int i = 0; i < 5; i++)
		CHECK_OK(omx_progress(wa_ep.ep));
	result = 7;
	CHECK_OK(omx_test_any(wa_ep.ep, 0, 0, &st, &result));
	CHECK_MSG(result == 0, "left-over completion match 0x%" PRIx64, st.match_info);
	CHECK_OK(omx_close_endpoint(wa_ep.ep));
	printf("%d threads in wait_any: %d completions delivered once each (%d/%d/%d/%d per thread)\n", NT, WA_N,
	       counts[0], counts[1], counts[2], counts[3]);
}

/* ---- 4. concurrent open/close with mass irecv + cancel ---- */

static void *open_close_thread(void *arg)
{
	int t = (int)(uintptr_t)arg;
	omx_request_t *reqs = xmalloc(512 * sizeof(*reqs));

	for (int round = 0; round < 16; round++) {
		omx_endpoint_t ep = NULL;
		int n = 8 << ((round + t) % 7); /* 8 .. 512 */

		CHECK_OK(omx_open_endpoint(0, OMX_ANY_ENDPOINT, OMXU_KEY, NULL, 0, &ep));
		for (int i = 0; i < n; i++)
			CHECK_OK(omx_irecv(ep, NULL, 0, (uint64_t)i, (uint64_t)i, NULL, &reqs[i]));
		for (int i = 0; i < n; i++) {
			uint32_t result = 7;
			CHECK_OK(omx_cancel(ep, &reqs[i], &result));
			CHECK_MSG(result == 1, "thread %d round %d: cancel of receive %d returned %u", t, round, i,
				  result);
			CHECK_PTR_EQ(reqs[i], NULL);
		}
		CHECK_OK(omx_close_endpoint(ep));
	}
	free(reqs);
	return NULL;
}

static void part_open_close(void)
{
	pthread_t th[NT];

	for (uintptr_t t = 0; t < NT; t++)
		CHECK(pthread_create(&th[t], NULL, open_close_thread, (void *)t) == 0);
	for (int t = 0; t < NT; t++)
		CHECK(pthread_join(th[t], NULL) == 0);
	printf("%d threads opening/closing endpoints 16 times with mass irecv+cancel: ok\n", NT);
}

int main(void)
{
	CHECK_OK(omx_init());
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	part_same_endpoint();
	part_pairs();
	part_wait_any();
	part_open_close();
	CHECK_OK(omx_finalize());
	printf("threads: PASS\n");
	return 0;
}
