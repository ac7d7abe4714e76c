/*
 * pair_util.h: helpers for the C test programs that run as several
 * processes of one host (tests/c/pair_*.c, fanin.c) through the Open-MX API.
 *
 * Every process opens an endpoint with a fixed index on board 0 (the
 * loopback board, OMX_IFNAMES=lo, in a private OMX_RUNDIR shared by the
 * processes of one test) and connects to its peers by index. The processes
 * synchronise through 0-byte messages whose match info lies in a space of
 * its own (PU_SYNC), never through sleeps.
 *
 * Include it instead of omxutil.h.
 */
#ifndef OMX_TESTS_PAIR_UTIL_H
#define OMX_TESTS_PAIR_UTIL_H

#include "omxutil.h"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * PU_SYNC is the match space of synchronisation messages: PU_SYNC | step
 * for pu_signal/pu_await, PU_SYNC | PU_BARRIER | step for pu_barrier.
 */
#define PU_SYNC UINT64_C(0xfe00000000000000)
#define PU_BARRIER UINT64_C(0x100000000)

/* pu_init installs OMX_ERRORS_RETURN as the global handler and inits. */
static inline void pu_init(void)
{
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	CHECK_OK(omx_init());
}

/* pu_index parses an endpoint index argument. */
static inline uint32_t pu_index(const char *arg)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v > 255)
		FAILF("bad endpoint index \"%s\"", arg);
	return (uint32_t)v;
}

/* pu_role runs one side of a two-process test: my index, the peer's. */
typedef void (*pu_role)(uint32_t me, uint32_t peer);

/*
 * pu_main is the main of a two-process test "<name> <r0>|<r1> <my index>
 * <peer index>": it inits, runs role run0 or run1, finalizes and prints
 * "<name> <role>: PASS".
 */
static inline int pu_main(int argc, char **argv, const char *name, const char *r0, pu_role run0,
			  const char *r1, pu_role run1)
{
	if (argc != 4 || (strcmp(argv[1], r0) != 0 && strcmp(argv[1], r1) != 0)) {
		fprintf(stderr, "usage: %s %s|%s <my index> <peer index>\n", argv[0], r0, r1);
		return 2;
	}
	pu_init();
	(strcmp(argv[1], r0) == 0 ? run0 : run1)(pu_index(argv[2]), pu_index(argv[3]));
	CHECK_OK(omx_finalize());
	printf("%s %s: PASS\n", name, argv[1]);
	return 0;
}

/*
 * pu_open opens endpoint index idx of board 0 with OMX_ERRORS_RETURN as its
 * handler, plus the given extra parameters.
 */
static inline omx_endpoint_t pu_open_params(uint32_t idx, const omx_endpoint_param_t *extra, uint32_t nextra)
{
	omx_endpoint_param_t params[4];
	omx_endpoint_t ep = NULL;
	omx_return_t rc;

	if (nextra > 3)
		FAILF("too many endpoint parameters");
	memset(params, 0, sizeof(params));
	params[0].key = OMX_ENDPOINT_PARAM_ERROR_HANDLER;
	params[0].val.error_handler = OMX_ERRORS_RETURN;
	for (uint32_t i = 0; i < nextra; i++)
		params[1 + i] = extra[i];
	rc = omx_open_endpoint(0, idx, OMXU_KEY, params, 1 + nextra, &ep);
	if (rc != OMX_SUCCESS)
		FAILF("open endpoint %u: %s", idx, omx_strerror(rc));
	return ep;
}

static inline omx_endpoint_t pu_open(uint32_t idx)
{
	return pu_open_params(idx, NULL, 0);
}

/*
 * pu_nic is the nic id of the board the other processes of the test use:
 * board 0 of this host, or, when PU_PEER names a board ("host:0"), that
 * board of another host (tests across network namespaces).
 */
static inline uint64_t pu_nic(void)
{
	const char *peer = getenv("PU_PEER");
	uint64_t nic = 0;

	if (peer && *peer)
		CHECK_OK(omx_hostname_to_nic_id((char *)peer, &nic));
	else
		CHECK_OK(omx_board_number_to_nic_id(0, &nic));
	return nic;
}

/*
 * pu_connect connects ep to endpoint idx of board 0, which another process
 * may not have opened yet: a connect to an index nobody opened fails at
 * once, so it sleeps between attempts (at most about 15 s in all).
 */
static inline omx_endpoint_addr_t pu_connect(omx_endpoint_t ep, uint32_t idx)
{
	omx_endpoint_addr_t addr;
	double end = now_ms() + 15000;
	omx_return_t rc;

	for (;;) {
		rc = omx_connect(ep, pu_nic(), idx, OMXU_KEY, 1000, &addr);
		if (rc == OMX_SUCCESS)
			return addr;
		if (now_ms() > end)
			FAILF("cannot connect to endpoint %u: %s", idx, omx_strerror(rc));
		sleep_ms(20);
	}
}

/* pu_addr_index returns the endpoint index an address designates. */
static inline uint32_t pu_addr_index(omx_endpoint_addr_t addr)
{
	uint64_t nic;
	uint32_t eid;

	CHECK_OK(omx_decompose_endpoint_addr(addr, &nic, &eid));
	CHECK_EQ(nic, pu_nic());
	return eid;
}

/* pu_wait waits (bounded) for a request that must complete. */
static inline omx_status_t pu_wait(omx_endpoint_t ep, omx_request_t *req, const char *what)
{
	omx_status_t st;

	omxu_wait(ep, req, &st, what);
	return st;
}

/* pu_send sends len bytes of buf and waits for a successful completion. */
static inline void pu_send(omx_endpoint_t ep, omx_endpoint_addr_t dest, const void *buf, size_t len, uint64_t match)
{
	omx_request_t r = NULL;
	omx_status_t st;

	CHECK_OK(omx_isend(ep, (void *)buf, (uint32_t)len, dest, match, NULL, &r));
	st = pu_wait(ep, &r, "send");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, len, len);
}

/* pu_recv receives exactly the message match (exact mask) into buf. */
static inline omx_status_t pu_recv(omx_endpoint_t ep, void *buf, size_t len, uint64_t match)
{
	omx_request_t r = NULL;

	CHECK_OK(omx_irecv(ep, buf, (uint32_t)len, match, ~(uint64_t)0, NULL, &r));
	return pu_wait(ep, &r, "receive");
}

/*
 * pu_barrier: both sides send a 0-byte message of step `step` and receive
 * the other's; neither returns before the other reached the barrier.
 */
static inline void pu_barrier(omx_endpoint_t ep, omx_endpoint_addr_t peer, uint32_t step)
{
	omx_request_t s = NULL;
	omx_status_t st;

	CHECK_OK(omx_isend(ep, NULL, 0, peer, PU_SYNC | PU_BARRIER | step, NULL, &s));
	st = pu_recv(ep, NULL, 0, PU_SYNC | PU_BARRIER | step);
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, 0, 0);
	st = pu_wait(ep, &s, "barrier send");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, 0, 0);
}

/* pu_signal / pu_await: a one-way 0-byte notification of step `step`. */
static inline void pu_signal(omx_endpoint_t ep, omx_endpoint_addr_t peer, uint32_t step)
{
	pu_send(ep, peer, NULL, 0, PU_SYNC | step);
}

static inline void pu_await(omx_endpoint_t ep, uint32_t step)
{
	omx_status_t st = pu_recv(ep, NULL, 0, PU_SYNC | step);

	OMXU_CHECK_STATUS(st, OMX_SUCCESS, 0, 0);
}

/* pu_nothing_done fails if a completion waits in the done queue. */
static inline void pu_nothing_done(omx_endpoint_t ep, const char *when)
{
	omx_status_t st;
	uint32_t result = 7;

	CHECK_OK(omx_test_any(ep, 0, 0, &st, &result));
	if (result != 0)
		FAILF("%s: unexpected completion in the done queue: code %d (%s) match 0x%" PRIx64 " length %u",
		      when, st.code, omx_strerror(st.code), st.match_info, st.msg_length);
}

/*
 * pu_none_queued fails if a message matching (match, mask) waits in the
 * unexpected queue; pu_nothing_unexpected if any message does.
 */
static inline void pu_none_queued(omx_endpoint_t ep, uint64_t match, uint64_t mask, const char *when)
{
	omx_status_t st;
	uint32_t result = 7;

	CHECK_OK(omx_iprobe(ep, match, mask, &st, &result));
	if (result != 0)
		FAILF("%s: message left in the unexpected queue: match 0x%" PRIx64 " length %u", when,
		      st.match_info, st.msg_length);
}

static inline void pu_nothing_unexpected(omx_endpoint_t ep, const char *when)
{
	pu_none_queued(ep, 0, 0, when);
}

/*
 * Stopping the peer process (SIGSTOP) shows what needs its answer: a
 * stopped process runs no library code, so it answers nothing. The peer
 * sends its pid first; a failing check resumes it (atexit).
 */
static pid_t pu_peer_pid __attribute__((unused));
static volatile int pu_peer_stopped __attribute__((unused));

static inline void pu_resume_peer(void)
{
	if (pu_peer_stopped)
		kill(pu_peer_pid, SIGCONT);
}

/* pu_set_peer_pid records the peer's pid (received from it). */
static inline void pu_set_peer_pid(int32_t pid)
{
	CHECK(pid > 0);
	pu_peer_pid = (pid_t)pid;
	atexit(pu_resume_peer);
}

/* pu_proc_state is the state letter of process pid (T: stopped). */
static inline char pu_proc_state(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return proc_state(path);
}

/* pu_stop_peer stops the peer and waits until it is stopped. */
static inline void pu_stop_peer(void)
{
	double end = now_ms() + 5000;

	pu_peer_stopped = 1;
	CHECK(kill(pu_peer_pid, SIGSTOP) == 0);
	while (pu_proc_state(pu_peer_pid) != 'T') {
		CHECK_MSG(now_ms() < end, "peer %d not stopped after SIGSTOP (state %c)", (int)pu_peer_pid,
			  pu_proc_state(pu_peer_pid));
		sleep_ms(1);
	}
}

/* pu_cont_peer resumes the peer and returns when (now_ms) it did. */
static inline double pu_cont_peer(void)
{
	double t = now_ms();

	CHECK(kill(pu_peer_pid, SIGCONT) == 0);
	pu_peer_stopped = 0;
	return t;
}

#endif /* OMX_TESTS_PAIR_UTIL_H */
