/*
 * wakeup.c: mx_wakeup releases every thread blocked on an endpoint (the
 * mx_wakeup_test scenario without the stopped peer), through the MX API.
 *
 * 12 threads block on one endpoint with infinite (MX_INFINITE) or 60 s
 * timeouts:
 *   2x mx_wait on a 0-byte mx_issend to the endpoint's own address that is
 *      never matched (one infinite, one 60 s; one waiter per request),
 *   2x mx_wait on an mx_irecv (match 1, exact) that never matches (same),
 *   3x mx_probe(match 2, mask 2),
 *   3x mx_peek,
 *   2x mx_wait_any(match 0, mask 0).
 * Once all are started, main sleeps 300 ms and calls mx_wakeup once: every
 * thread must return MX_SUCCESS with result 0 within 5 s (main polls their
 * "done" flags; a thread still blocked after 5 s is a failure).
 * Then: a wakeup when nobody waits has no lasting effect (a later mx_wait
 * with a 200 ms timeout still waits >= 150 ms), and the requests are
 * cleaned up normally.
 */
#include "mxutil.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

enum kind { K_WAIT_SEND, K_WAIT_RECV, K_PROBE, K_PEEK, K_WAIT_ANY, K_WAIT_SEND_LONG, K_WAIT_RECV_LONG };
static const char *kind_names[] = { "wait(issend)", "wait(irecv)", "probe", "peek", "wait_any",
				    "wait(issend, 60 s)", "wait(irecv, 60 s)" };

#define NTHREADS 12

struct waiter {
	pthread_t th;
	enum kind kind;
	volatile int started;
	volatile long tid;
	volatile int done;
	int ret;
	uint32_t result;
};

static mx_endpoint_t ep;
static mx_request_t sreq[2], rreq[2];

/*
 * thread_state returns the scheduler state letter of a thread of this
 * process (R running, S sleeping, ...), or '?' if it cannot be read.
 */
static char thread_state(long tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tid);
	return proc_state(path);
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	mx_status_t st;
	mx_request_t peeked = NULL;
	uint32_t result = 7;
	mx_return_t ret = MX_BAD_BAD_BAD;

	__atomic_store_n(&w->tid, (long)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	__atomic_store_n(&w->started, 1, __ATOMIC_SEQ_CST);
	switch (w->kind) {
	case K_WAIT_SEND:
		ret = mx_wait(ep, &sreq[0], MX_INFINITE, &st, &result);
		break;
	case K_WAIT_SEND_LONG:
		ret = mx_wait(ep, &sreq[1], 60000, &st, &result);
		break;
	case K_WAIT_RECV:
		ret = mx_wait(ep, &rreq[0], MX_INFINITE, &st, &result);
		break;
	case K_WAIT_RECV_LONG:
		ret = mx_wait(ep, &rreq[1], 60000, &st, &result);
		break;
	case K_PROBE:
		ret = mx_probe(ep, MX_INFINITE, 2, 2, &st, &result);
		break;
	case K_PEEK:
		ret = mx_peek(ep, MX_INFINITE, &peeked, &result);
		break;
	case K_WAIT_ANY:
		ret = mx_wait_any(ep, MX_INFINITE, 0, 0, &st, &result);
		break;
	}
	w->ret = (int)ret;
	w->result = result;
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(void)
{
	/* one waiter per request (two waiters on one request are undefined) */
	static const enum kind kinds[NTHREADS] = {
		K_WAIT_SEND, K_WAIT_SEND_LONG, K_WAIT_RECV, K_WAIT_RECV_LONG, K_PROBE, K_PROBE,
		K_PEEK, K_PEEK, K_WAIT_ANY, K_WAIT_ANY, K_PROBE, K_PEEK,
	};
	struct waiter w[NTHREADS];
	struct mxu_ep e;
	mx_segment_t seg;
	mx_status_t st;
	char rbuf[2][8];
	uint32_t result;
	double t0, dt;
	int failed = 0;

	CHECK_OK(mx_init());
	mx_set_error_handler(MX_ERRORS_RETURN);
	mxu_open(&e);
	ep = e.ep;

	for (int i = 0; i < 2; i++) {
		seg = mxu_seg(NULL, 0);
		CHECK_OK(mx_issend(ep, &seg, 1, e.addr, 0, NULL, &sreq[i]));
		seg = mxu_seg(rbuf[i], sizeof(rbuf[i]));
		CHECK_OK(mx_irecv(ep, &seg, 1, 1, MX_MATCH_MASK_NONE, NULL, &rreq[i]));
	}
	/* sanity: nothing can complete */
	result = 7;
	CHECK_OK(mx_test(ep, &sreq[0], &st, &result));
	CHECK_EQ(result, 0);
	result = 7;
	CHECK_OK(mx_test(ep, &rreq[0], &st, &result));
	CHECK_EQ(result, 0);

	memset(w, 0, sizeof(w));
	for (int i = 0; i < NTHREADS; i++)
		w[i].kind = kinds[i];

	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&w[i].th, NULL, waiter_main, &w[i]) == 0);
	for (int i = 0; i < NTHREADS; i++)
		while (!__atomic_load_n(&w[i].started, __ATOMIC_SEQ_CST))
			sleep_ms(1);
	/*
	 * A wakeup only releases threads already blocked, so give every thread
	 * time to block: wait (at most 3 s, for slow machines) until each is
	 * asleep in the kernel, then 300 ms more.
	 */
	t0 = now_ms();
	for (int i = 0; i < NTHREADS; i++)
		while (thread_state(w[i].tid) == 'R' && now_ms() - t0 < 3000)
			sleep_ms(5);
	sleep_ms(300);
	for (int i = 0; i < NTHREADS; i++)
		if (__atomic_load_n(&w[i].done, __ATOMIC_SEQ_CST))
			FAILF("thread %d (%s) returned before the wakeup: ret %d result %u", i,
			      kind_names[w[i].kind], w[i].ret, w[i].result);

	t0 = now_ms();
	CHECK_OK(mx_wakeup(ep));
	for (;;) {
		int pending = 0;
		for (int i = 0; i < NTHREADS; i++)
			if (!__atomic_load_n(&w[i].done, __ATOMIC_SEQ_CST))
				pending++;
		if (pending == 0)
			break;
		if (now_ms() - t0 > 5000) {
			for (int i = 0; i < NTHREADS; i++)
				if (!__atomic_load_n(&w[i].done, __ATOMIC_SEQ_CST))
					fprintf(stderr, "FAIL: thread %d (%s) still blocked 5 s after mx_wakeup\n", i,
						kind_names[w[i].kind]);
			fflush(stderr);
			_exit(1);
		}
		sleep_ms(2);
	}
	dt = now_ms() - t0;
	for (int i = 0; i < NTHREADS; i++) {
		CHECK(pthread_join(w[i].th, NULL) == 0);
		if (w[i].ret != MX_SUCCESS || w[i].result != 0) {
			fprintf(stderr, "FAIL: thread %d (%s): ret %d (%s) result %u, want MX_SUCCESS and result 0\n", i,
				kind_names[w[i].kind], w[i].ret, mx_strerror((mx_return_t)w[i].ret), w[i].result);
			failed = 1;
		}
	}
	if (failed)
		return 1;
	printf("one mx_wakeup released %d blocked threads in %.1f ms\n", NTHREADS, dt);

	/* a wakeup with nobody waiting has no lasting effect */
	CHECK_OK(mx_wakeup(ep));
	t0 = now_ms();
	result = 7;
	CHECK_OK(mx_wait(ep, &rreq[0], 200, &st, &result));
	dt = now_ms() - t0;
	CHECK_EQ(result, 0);
	CHECK_MSG(dt >= 150 && dt < 5000, "mx_wait(200 ms) after an unobserved wakeup returned after %.0f ms", dt);
	t0 = now_ms();
	result = 7;
	{
		mx_request_t peeked = NULL;
		CHECK_OK(mx_peek(ep, 200, &peeked, &result));
	}
	dt = now_ms() - t0;
	CHECK_EQ(result, 0);
	CHECK_MSG(dt >= 150 && dt < 5000, "mx_peek(200 ms) returned after %.0f ms", dt);
	printf("wakeup with no waiter: no lasting effect\n");

	/* the requests are still valid: cancel the receives, match the issends */
	for (int i = 0; i < 2; i++) {
		result = 7;
		CHECK_OK(mx_cancel(ep, &rreq[i], &result));
		CHECK_EQ(result, 1);
	}
	for (int i = 0; i < 2; i++) {
		mx_request_t r = NULL;
		seg = mxu_seg(NULL, 0);
		CHECK_OK(mx_irecv(ep, &seg, 1, 0, MX_MATCH_MASK_NONE, NULL, &r));
		mxu_wait(ep, &r, &st, "receive of the issend");
		MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, 0, 0);
		mxu_wait(ep, &sreq[i], &st, "issend");
		MXU_CHECK_STATUS(st, MX_STATUS_SUCCESS, 0, 0);
	}
	CHECK_OK(mx_close_endpoint(ep));
	CHECK_OK(mx_finalize());
	printf("wakeup: PASS\n");
	return 0;
}
