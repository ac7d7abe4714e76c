/*
 * pair_wakeup.c: threads blocked on an endpoint whose peer is another
 * process of the same host, released by omx_wakeup (tests/c/wakeup.c) or
 * by what the peer does.
 *
 *   pair_wakeup a <my index> <peer index>   blocks threads
 *   pair_wakeup b <my index> <peer index>   the peer
 *
 * 1. omx_wakeup: with b stopped (SIGSTOP), 8 threads of a block with
 *    infinite timeouts in omx_wait (on a 0-byte issend to b, on a receive
 *    b never matches), omx_wait_any (x2), omx_peek, omx_probe (x2) and
 *    omx_connect to b. Once they sleep (and 300 ms more), one omx_wakeup
 *    releases all within 2 s: OMX_SUCCESS with result 0, OMX_TIMEOUT for
 *    the connect. A wakeup nobody observes has no lasting effect.
 * 2. Released by the peer: one thread at a time blocks (infinite timeout)
 *    in omx_wait on a receive, omx_wait_any, omx_peek, omx_probe, omx_wait
 *    on the issend of part 1; a then tells b, which sleeps 300 ms, notes
 *    the time (CLOCK_MONOTONIC, common to the processes of the host) and
 *    sends the message (or posts the receive the issend waits for), then
 *    sends that time. The thread must return with the completion no
 *    earlier than that time (it really blocked) and less than 2 s after it.
 *    Last, omx_connect to b while b is stopped returns with success once b
 *    is resumed, 300 ms later (and not before).
 */
#include "pair_util.h"

#include <pthread.h>
#include <sys/syscall.h>

#define M_WAKE UINT64_C(0x7100000000000000)  /* part 1: never sent */
#define M_REL UINT64_C(0x7200000000000000)   /* part 2: released by these */
#define M_TIME UINT64_C(0x7300000000000000)  /* part 2: b's action times */
#define M_PID UINT64_C(0x7400000000000000)

#define RELEASE_MS 2000.0

enum kind { K_WAIT_SEND, K_WAIT_RECV, K_WAIT_ANY, K_PEEK, K_PROBE, K_CONNECT };
static const char *kind_names[] = { "omx_wait(issend)", "omx_wait(irecv)", "omx_wait_any", "omx_peek",
				    "omx_probe", "omx_connect" };

struct waiter {
	pthread_t th;
	enum kind kind;
	omx_request_t *req;      /* K_WAIT_*: the request waited for */
	uint64_t match;          /* K_WAIT_ANY, K_PROBE */
	volatile int started;
	volatile long tid;
	volatile int done;
	omx_return_t ret;
	uint32_t result;
	omx_status_t st;
	omx_request_t peeked;
	omx_endpoint_addr_t addr;
	double t_ret;            /* when the call returned */
};

static omx_endpoint_t ep;
static uint32_t peer_index;

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, (long)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	__atomic_store_n(&w->started, 1, __ATOMIC_SEQ_CST);
	w->result = 7;
	switch (w->kind) {
	case K_WAIT_SEND:
	case K_WAIT_RECV:
		w->ret = omx_wait(ep, w->req, &w->st, &w->result, OMX_TIMEOUT_INFINITE);
		break;
	case K_WAIT_ANY:
		w->ret = omx_wait_any(ep, w->match, ~(uint64_t)0, &w->st, &w->result, OMX_TIMEOUT_INFINITE);
		break;
	case K_PEEK:
		w->ret = omx_peek(ep, &w->peeked, &w->result, OMX_TIMEOUT_INFINITE);
		break;
	case K_PROBE:
		w->ret = omx_probe(ep, w->match, ~(uint64_t)0, &w->st, &w->result, OMX_TIMEOUT_INFINITE);
		break;
	case K_CONNECT:
		w->ret = omx_connect(ep, pu_nic(), peer_index, OMXU_KEY, OMX_TIMEOUT_INFINITE, &w->addr);
		break;
	}
	w->t_ret = now_ms();
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* task_state is the scheduler state letter of a thread of this process. */
static char task_state(long tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tid);
	return proc_state(path);
}

/* start the threads of ws, and wait until each sleeps in the kernel */
static void start_blocked(struct waiter *ws, int n)
{
	double t0;

	for (int i = 0; i < n; i++)
		CHECK(pthread_create(&ws[i].th, NULL, waiter_main, &ws[i]) == 0);
	for (int i = 0; i < n; i++)
		while (!__atomic_load_n(&ws[i].started, __ATOMIC_SEQ_CST))
			sleep_ms(1);
	t0 = now_ms();
	for (int i = 0; i < n; i++)
		while (task_state(ws[i].tid) == 'R' && now_ms() - t0 < 3000)
			sleep_ms(2);
	for (int i = 0; i < n; i++)
		if (__atomic_load_n(&ws[i].done, __ATOMIC_SEQ_CST))
			FAILF("%s returned before it could be released: ret %d (%s) result %u", kind_names[ws[i].kind],
			      ws[i].ret, omx_strerror(ws[i].ret), ws[i].result);
}

/* wait (bounded by ms) until every thread of ws returned, join them */
static void join_within(struct waiter *ws, int n, double t0, double ms, const char *what)
{
	for (;;) {
		int pending = 0;

		for (int i = 0; i < n; i++)
			if (!__atomic_load_n(&ws[i].done, __ATOMIC_SEQ_CST))
				pending++;
		if (pending == 0)
			break;
		if (now_ms() - t0 > ms) {
			for (int i = 0; i < n; i++)
				if (!__atomic_load_n(&ws[i].done, __ATOMIC_SEQ_CST))
					fprintf(stderr, "FAIL: %s still blocked %.0f ms after %s\n",
						kind_names[ws[i].kind], ms, what);
			fflush(stderr);
			pu_resume_peer();
			_exit(1);
		}
		sleep_ms(1);
	}
	for (int i = 0; i < n; i++)
		CHECK(pthread_join(ws[i].th, NULL) == 0);
}

/* ---- a ---- */

static void a_wakeup(omx_request_t *sreq, omx_request_t *rreq)
{
	struct waiter ws[8];
	static const enum kind kinds[8] = { K_WAIT_SEND, K_WAIT_RECV, K_WAIT_ANY, K_WAIT_ANY,
					    K_PEEK, K_PROBE, K_PROBE, K_CONNECT };
	omx_status_t st;
	uint32_t result;
	double t0, dt;
	int failed = 0;

	memset(ws, 0, sizeof(ws));
	for (int i = 0; i < 8; i++) {
		ws[i].kind = kinds[i];
		ws[i].req = kinds[i] == K_WAIT_SEND ? sreq : rreq;
		ws[i].match = M_WAKE | (uint64_t)(10 + i);
	}
	pu_stop_peer(); /* so that it cannot answer the connect */
	start_blocked(ws, 8);
	sleep_ms(300);
	for (int i = 0; i < 8; i++)
		if (__atomic_load_n(&ws[i].done, __ATOMIC_SEQ_CST))
			FAILF("%s returned before omx_wakeup: ret %d result %u", kind_names[ws[i].kind], ws[i].ret,
			      ws[i].result);
	t0 = now_ms();
	CHECK_OK(omx_wakeup(ep));
	join_within(ws, 8, t0, RELEASE_MS, "omx_wakeup");
	dt = now_ms() - t0;
	pu_cont_peer();
	for (int i = 0; i < 8; i++) {
		omx_return_t want = ws[i].kind == K_CONNECT ? OMX_TIMEOUT : OMX_SUCCESS;

		if (ws[i].ret != want || (ws[i].kind != K_CONNECT && ws[i].result != 0)) {
			fprintf(stderr, "FAIL: %s after omx_wakeup: ret %d (%s) result %u, want %s%s\n",
				kind_names[ws[i].kind], ws[i].ret, omx_strerror(ws[i].ret), ws[i].result,
				omx_strerror(want), ws[i].kind == K_CONNECT ? "" : " and result 0");
			failed = 1;
		}
	}
	if (failed)
		exit(1);
	CHECK(*sreq != NULL);
	CHECK(*rreq != NULL);
	printf("part 1: one omx_wakeup released 8 threads blocked on an endpoint with a peer process in %.1f ms\n", dt);

	/* a wakeup with nobody waiting has no lasting effect */
	CHECK_OK(omx_wakeup(ep));
	t0 = now_ms();
	result = 7;
	CHECK_OK(omx_wait(ep, rreq, &st, &result, 200));
	dt = now_ms() - t0;
	CHECK_EQ(result, 0);
	CHECK_MSG(dt >= 150, "omx_wait(200 ms) after an unobserved wakeup returned after %.0f ms", dt);
}

/* one part-2 case: the thread w blocks until b acts on step k */
static void a_release(struct waiter *w, int k, omx_endpoint_addr_t peer)
{
	omx_status_t st;
	double t0, ts = 0;

	start_blocked(w, 1);
	t0 = now_ms();
	/* forgotten: no completion of ours may reach the done queue */
	CHECK_OK(omx_isend(ep, NULL, 0, peer, PU_SYNC | (uint64_t)(100 + k), NULL, NULL));
	join_within(w, 1, t0, 300 + RELEASE_MS + 3000, "the peer's message");
	st = pu_recv(ep, &ts, sizeof(ts), M_TIME | (uint64_t)k);
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, sizeof(ts), sizeof(ts));
	CHECK_MSG(w->ret == OMX_SUCCESS && w->result == 1, "%s: ret %d (%s) result %u, want success and result 1",
		  kind_names[w->kind], w->ret, omx_strerror(w->ret), w->result);
	CHECK_MSG(w->t_ret >= ts, "%s returned %.1f ms before the peer acted: it did not block",
		  kind_names[w->kind], ts - w->t_ret);
	CHECK_MSG(w->t_ret - t0 >= 299, "%s returned %.1f ms after the peer was told to act in 300 ms",
		  kind_names[w->kind], w->t_ret - t0);
	CHECK_MSG(w->t_ret - ts < RELEASE_MS, "%s returned %.0f ms after the peer acted", kind_names[w->kind],
		  w->t_ret - ts);
	printf("part 2: %s released %.2f ms after the peer acted (%.0f ms after it was told)\n", kind_names[w->kind],
	       w->t_ret - ts, w->t_ret - t0);
}

static void a_released(omx_request_t *sreq, omx_endpoint_addr_t peer)
{
	struct waiter w;
	omx_request_t r;
	omx_status_t st;
	uint32_t result;
	char buf[16];

	/* omx_wait on a receive */
	memset(&w, 0, sizeof(w));
	memset(buf, 0, sizeof(buf));
	r = NULL;
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), M_REL | 1, ~(uint64_t)0, NULL, &r));
	w.kind = K_WAIT_RECV;
	w.req = &r;
	a_release(&w, 1, peer);
	CHECK_PTR_EQ(r, NULL);
	OMXU_CHECK_STATUS(w.st, OMX_SUCCESS, sizeof(buf), sizeof(buf));
	CHECK_EQ(w.st.match_info, M_REL | 1);
	CHECK_PATTERN(buf, sizeof(buf), 1);

	/* omx_wait_any */
	memset(&w, 0, sizeof(w));
	memset(buf, 0, sizeof(buf));
	r = NULL;
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), M_REL | 2, ~(uint64_t)0, NULL, &r));
	w.kind = K_WAIT_ANY;
	w.match = M_REL | 2;
	a_release(&w, 2, peer);
	OMXU_CHECK_STATUS(w.st, OMX_SUCCESS, sizeof(buf), sizeof(buf));
	CHECK_EQ(w.st.match_info, M_REL | 2);
	CHECK_PATTERN(buf, sizeof(buf), 2);

	/* omx_peek */
	memset(&w, 0, sizeof(w));
	memset(buf, 0, sizeof(buf));
	r = NULL;
	CHECK_OK(omx_irecv(ep, buf, sizeof(buf), M_REL | 3, ~(uint64_t)0, NULL, &r));
	w.kind = K_PEEK;
	a_release(&w, 3, peer);
	CHECK_PTR_EQ(w.peeked, r);
	result = 0;
	CHECK_OK(omx_test(ep, &r, &st, &result));
	CHECK_EQ(result, 1);
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, sizeof(buf), sizeof(buf));
	CHECK_PATTERN(buf, sizeof(buf), 3);

	/* omx_probe */
	memset(&w, 0, sizeof(w));
	memset(buf, 0, sizeof(buf));
	w.kind = K_PROBE;
	w.match = M_REL | 4;
	a_release(&w, 4, peer);
	OMXU_CHECK_STATUS(w.st, OMX_SUCCESS, sizeof(buf), sizeof(buf));
	CHECK_EQ(w.st.match_info, M_REL | 4);
	CHECK_EQ(pu_addr_index(w.st.addr), peer_index);
	st = pu_recv(ep, buf, sizeof(buf), M_REL | 4);
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, sizeof(buf), sizeof(buf));
	CHECK_PATTERN(buf, sizeof(buf), 4);

	/* omx_wait on the synchronous send of part 1: b receives it */
	memset(&w, 0, sizeof(w));
	w.kind = K_WAIT_SEND;
	w.req = sreq;
	a_release(&w, 5, peer);
	CHECK_PTR_EQ(*sreq, NULL);
	OMXU_CHECK_STATUS(w.st, OMX_SUCCESS, 0, 0);
	CHECK_EQ(w.st.match_info, M_REL | 5);
	pu_nothing_done(ep, "part 2");
}

/* omx_connect to b while b is stopped returns once b is resumed */
static void a_connect_resumed(void)
{
	struct waiter w;
	double t0, tc;

	memset(&w, 0, sizeof(w));
	w.kind = K_CONNECT;
	pu_stop_peer();
	t0 = now_ms();
	start_blocked(&w, 1);
	sleep_ms(300);
	CHECK_MSG(!__atomic_load_n(&w.done, __ATOMIC_SEQ_CST), "omx_connect to a stopped process returned: %s",
		  omx_strerror(w.ret));
	tc = pu_cont_peer();
	join_within(&w, 1, tc, RELEASE_MS, "the peer was resumed");
	CHECK_RC(w.ret, OMX_SUCCESS);
	CHECK_EQ(pu_addr_index(w.addr), peer_index);
	CHECK_MSG(w.t_ret >= tc && w.t_ret - t0 >= 299, "omx_connect returned %.1f ms after it started, %.1f ms after "
		  "the peer was resumed", w.t_ret - t0, w.t_ret - tc);
	printf("part 2: omx_connect released %.2f ms after the stopped peer was resumed\n", w.t_ret - tc);
}

static void side_a(uint32_t me, uint32_t peer_idx)
{
	peer_index = peer_idx;
	omx_endpoint_addr_t peer;
	omx_request_t sreq = NULL, rreq = NULL;
	omx_status_t st;
	uint32_t result;
	int32_t pid = 0;
	char rbuf[8];

	ep = pu_open(me);
	peer = pu_connect(ep, peer_index);
	st = pu_recv(ep, &pid, sizeof(pid), M_PID);
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, sizeof(pid), sizeof(pid));
	pu_set_peer_pid(pid);
	pu_barrier(ep, peer, 1);

	CHECK_OK(omx_issend(ep, NULL, 0, peer, M_REL | 5, NULL, &sreq));
	CHECK_OK(omx_irecv(ep, rbuf, sizeof(rbuf), M_WAKE | 1, ~(uint64_t)0, NULL, &rreq));
	pu_nothing_done(ep, "before part 1");
	a_wakeup(&sreq, &rreq);
	a_released(&sreq, peer);
	a_connect_resumed();

	result = 7;
	CHECK_OK(omx_cancel(ep, &rreq, &result));
	CHECK_EQ(result, 1);
	pu_barrier(ep, peer, 2);
	pu_nothing_unexpected(ep, "end");
	pu_nothing_done(ep, "end");
	CHECK_OK(omx_close_endpoint(ep));
}

/* ---- b ---- */

static void side_b(uint32_t me, uint32_t peer_idx)
{
	peer_index = peer_idx;
	omx_endpoint_addr_t peer;
	int32_t pid = (int32_t)getpid();

	ep = pu_open(me);
	peer = pu_connect(ep, peer_index);
	pu_send(ep, peer, &pid, sizeof(pid), M_PID);
	pu_barrier(ep, peer, 1);
	/* part 1 happens while this process is stopped */
	for (int k = 1; k <= 5; k++) {
		char buf[16];
		double ts;

		pu_await(ep, 100 + (uint32_t)k);
		fill_pattern(buf, sizeof(buf), (uint32_t)k);
		sleep_ms(300);
		ts = now_ms();
		if (k == 5) {
			omx_status_t st = pu_recv(ep, NULL, 0, M_REL | 5);

			OMXU_CHECK_STATUS(st, OMX_SUCCESS, 0, 0);
		} else {
			pu_send(ep, peer, buf, sizeof(buf), M_REL | (uint64_t)k);
		}
		pu_send(ep, peer, &ts, sizeof(ts), M_TIME | (uint64_t)k);
	}
	/* stopped and resumed again while a connects */
	pu_barrier(ep, peer, 2);
	pu_nothing_unexpected(ep, "end");
	pu_nothing_done(ep, "end");
	CHECK_OK(omx_close_endpoint(ep));
}

int main(int argc, char **argv)
{
	return pu_main(argc, argv, "pair_wakeup", "a", side_a, "b", side_b);
}
