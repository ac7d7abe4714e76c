/*
 * bad_leaks: after every endpoint is closed and finalize returns, nothing is
 * left: no handle, goroutine or file.
 *
 * Three init/finalize cycles:
 *   1. open one endpoint, close it (warms up whatever the Go runtime creates
 *      once per process);
 *   2. Open-MX: 4 endpoints connected to each other, messages of every
 *      class (tiny, small, medium, large) between every pair, and requests
 *      left in every state at close: pending receives and sends (unexpected
 *      eager and rendezvous messages, synchronous sends nobody receives),
 *      forgotten ones (posted with a NULL request and with omx_forget),
 *      cancelled ones (omx_cancel, omx_cancel_notest left in the done queue),
 *      done ones never completed, iconnects, a disconnected partner, self
 *      sends;
 *   3. the same, smaller, through the MX API.
 *
 * The Go runner sets OMX_DEBUG_LEAKS=1: each finalize then prints
 * "OMX: leaks: endpoints=0 requests=0 partners=0 goroutines=0 files=0" on
 * stderr, and the runner checks one such line per finalize (the program
 * prints "finalized <n>") with every number 0.
 *
 * This program also lists /proc/self/fd: the set after each finalize must
 * equal the set before the first init. The one exception is what the Go
 * runtime opens at most once per process and never closes (its poller's
 * [eventpoll] and [eventfd], the cgroup CPU limit files): those may appear
 * during the first cycle and are listed in the output. From the first
 * finalize on, the set must not change at all.
 *
 * Prints "ok <check>" or "FAIL <check>: <why>" lines; exits 1 on a failure.
 */
#include "badinput.h"

#include <dirent.h>
#include <time.h>
#include <unistd.h>

#define NEP 4
#define MAXFD 1024
#define TIMEOUT_S 20

static int failures, finalized;

static void check(int ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("ok %s\n", name);
		return;
	}
	failures++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* must stops the program: later steps make no sense after this failure. */
#define MUST(expr)                                                                     \
	do {                                                                           \
		int must_rc_ = (int)(expr);                                            \
		if (must_rc_ != 0) {                                                   \
			printf("FAIL %s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, #expr, \
			       must_rc_, omx_strerror((omx_return_t)must_rc_));          \
			exit(1);                                                       \
		}                                                                      \
	} while (0)

/* ---- file descriptors ---- */

struct fdset {
	int n;
	int fd[MAXFD];
	char what[MAXFD][96];
};

static void fd_snapshot(struct fdset *s)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	s->n = 0;
	if (!d) {
		printf("FAIL fds: cannot open /proc/self/fd\n");
		exit(1);
	}
	while ((e = readdir(d)) != NULL && s->n < MAXFD) {
		char path[64];
		ssize_t len;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, s->what[s->n], sizeof(s->what[0]) - 1);
		if (len <= 0)
			continue; /* closed since readdir (by a runtime thread) */
		s->what[s->n][len] = 0;
		s->fd[s->n++] = fd;
	}
	closedir(d);
}

static int fd_in(const struct fdset *s, int fd, const char *what)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->fd[i] == fd && strcmp(s->what[i], what) == 0)
			return 1;
	return 0;
}

/* runtime_fd tells the descriptors the Go runtime opens once per process
 * and keeps: its poller ([eventpoll] and [eventfd]) and the cgroup CPU
 * limit files it re-reads to size GOMAXPROCS. */
static int runtime_fd(const char *what)
{
	return strcmp(what, "anon_inode:[eventpoll]") == 0 || strcmp(what, "anon_inode:[eventfd]") == 0 ||
	       strncmp(what, "/sys/fs/cgroup/", 15) == 0;
}

/* fd_compare reports the descriptors of now that were not in before;
 * returns how many of them are not Go runtime descriptors (when
 * allow_runtime) or at all. */
static int fd_compare(const struct fdset *before, const struct fdset *now, int allow_runtime, char *out,
		      size_t outlen)
{
	int i, bad = 0, runtime = 0;
	size_t used = 0;

	out[0] = 0;
	for (i = 0; i < now->n; i++) {
		if (fd_in(before, now->fd[i], now->what[i]))
			continue;
		if (allow_runtime && runtime_fd(now->what[i]) && runtime < 4) {
			runtime++;
			printf("# Go runtime fd %d -> %s (allowed once)\n", now->fd[i], now->what[i]);
			continue;
		}
		bad++;
		used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, " new fd %d -> %s;",
					 now->fd[i], now->what[i]);
	}
	for (i = 0; i < before->n; i++) {
		if (fd_in(now, before->fd[i], before->what[i]))
			continue;
		bad++;
		used += (size_t)snprintf(out + used, used < outlen ? outlen - used : 0, " closed fd %d -> %s;",
					 before->fd[i], before->what[i]);
	}
	return bad;
}

/* ---- polling ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Outstanding Open-MX requests to complete. */
struct oreq {
	omx_endpoint_t ep;
	omx_request_t req;
	int want; /* the status code expected */
	const char *what;
};

static struct oreq oreqs[512];
static int noreqs;

static void o_track(omx_endpoint_t ep, omx_request_t req, int want, const char *what)
{
	if (noreqs == (int)(sizeof(oreqs) / sizeof(oreqs[0]))) {
		printf("FAIL too many tracked requests\n");
		exit(1);
	}
	oreqs[noreqs].ep = ep;
	oreqs[noreqs].req = req;
	oreqs[noreqs].want = want;
	oreqs[noreqs].what = what;
	noreqs++;
}

/* o_complete_all tests every tracked request until all are done, driving
 * progress on every endpoint; checks their status codes. */
static void o_complete_all(omx_endpoint_t *eps, int neps, const char *name)
{
	double end = now_s() + TIMEOUT_S;
	int left = noreqs, i, wrong = 0;
	char why[256] = "";

	while (left > 0 && now_s() < end) {
		for (i = 0; i < neps; i++)
			MUST(omx_progress(eps[i]));
		for (i = 0; i < noreqs; i++) {
			omx_status_t st;
			uint32_t res = 0;

			if (oreqs[i].req == NULL)
				continue;
			MUST(omx_test(oreqs[i].ep, &oreqs[i].req, &st, &res));
			if (!res)
				continue;
			left--;
			if ((int)st.code != oreqs[i].want && !wrong++)
				snprintf(why, sizeof(why), "%s completed with %d (%s), want %d", oreqs[i].what,
					 (int)st.code, omx_strerror(st.code), oreqs[i].want);
		}
	}
	if (left > 0)
		for (i = 0; i < noreqs; i++)
			if (oreqs[i].req != NULL) {
				snprintf(why, sizeof(why), "%d requests not completed after %d s, e.g. %s", left,
					 TIMEOUT_S, oreqs[i].what);
				break;
			}
	check(left == 0 && wrong == 0, name, "%s", why);
	noreqs = 0;
}

/* ---- cycle 1: warm-up ---- */

static void cycle_warmup(void)
{
	omx_endpoint_t ep;

	MUST(omx_init());
	MUST(omx_open_endpoint(OMX_ANY_NIC, OMX_ANY_ENDPOINT, BAD_KEY, NULL, 0, &ep));
	MUST(omx_close_endpoint(ep));
	MUST(omx_finalize());
	finalized++;
}

/* ---- cycle 2: Open-MX, 4 endpoints ---- */

static const size_t sizes[] = { 16, 100, 3000, 100000 }; /* tiny, small, medium, large */
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define BIG 200000

static char sendbuf[BIG], recvbuf[NEP][NEP][NSIZES][BIG / 2 + 1];
static char leftover[16][BIG];

static uint64_t tag(int from, int to, int k) { return ((uint64_t)from << 16) | ((uint64_t)to << 8) | (uint64_t)k; }

static void cycle_omx(void)
{
	omx_endpoint_t ep[NEP];
	omx_endpoint_addr_t self[NEP], addr[NEP][NEP];
	uint64_t nic[NEP];
	uint32_t eid[NEP], res;
	omx_request_t r;
	int i, j, k, n = 0;

	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	MUST(omx_init());
	for (i = 0; i < NEP; i++) {
		MUST(omx_open_endpoint(OMX_ANY_NIC, OMX_ANY_ENDPOINT, BAD_KEY, NULL, 0, &ep[i]));
		MUST(omx_get_endpoint_addr(ep[i], &self[i]));
		MUST(omx_decompose_endpoint_addr(self[i], &nic[i], &eid[i]));
	}

	/* Connect every ordered pair (non-blocking, progress drives them). */
	{
		omx_request_t creq[NEP][NEP];
		double end = now_s() + TIMEOUT_S;
		int left = 0;

		for (i = 0; i < NEP; i++)
			for (j = 0; j < NEP; j++) {
				creq[i][j] = NULL;
				if (i == j)
					continue;
				MUST(omx_iconnect(ep[i], nic[j], eid[j], BAD_KEY, tag(i, j, 0), NULL, &creq[i][j]));
				left++;
			}
		while (left > 0 && now_s() < end)
			for (i = 0; i < NEP; i++) {
				MUST(omx_progress(ep[i]));
				for (j = 0; j < NEP; j++) {
					omx_status_t st;
					res = 0;
					if (creq[i][j] == NULL)
						continue;
					MUST(omx_test(ep[i], &creq[i][j], &st, &res));
					if (!res)
						continue;
					left--;
					if (st.code != OMX_SUCCESS) {
						printf("FAIL omx.connect: %d->%d: %s\n", i, j, omx_strerror(st.code));
						exit(1);
					}
					addr[i][j] = st.addr;
				}
			}
		check(left == 0, "omx.connect_all_pairs", "%d connections not done after %d s", left, TIMEOUT_S);
		if (left)
			exit(1);
	}

	/* Every class of message between every pair, completed. */
	for (i = 0; i < NEP; i++)
		for (j = 0; j < NEP; j++)
			for (k = 0; k < (int)NSIZES; k++) {
				if (i == j)
					continue;
				MUST(omx_irecv(ep[j], recvbuf[i][j][k], sizes[k] < BIG / 2 ? sizes[k] : BIG / 2,
					       tag(i, j, k + 1), ~(uint64_t)0, NULL, &r));
				o_track(ep[j], r, OMX_SUCCESS, "receive");
			}
	for (i = 0; i < NEP; i++)
		for (j = 0; j < NEP; j++)
			for (k = 0; k < (int)NSIZES; k++) {
				if (i == j)
					continue;
				MUST(omx_isend(ep[i], sendbuf, sizes[k], addr[i][j], tag(i, j, k + 1), NULL, &r));
				o_track(ep[i], r, OMX_SUCCESS, "send");
			}
	o_complete_all(ep, NEP, "omx.traffic_all_pairs_all_sizes");

	/* Forgotten at posting: NULL request pointers, matched and completed. */
	for (k = 0; k < (int)NSIZES; k++) {
		MUST(omx_irecv(ep[1], recvbuf[0][1][k], BIG / 2, tag(0, 1, 0x40 + k), ~(uint64_t)0, NULL, NULL));
		MUST(omx_isend(ep[0], sendbuf, sizes[k], addr[0][1], tag(0, 1, 0x40 + k), NULL, NULL));
	}
	/* A marker after them: once it arrives, the forgotten ones have too. */
	MUST(omx_irecv(ep[1], recvbuf[0][1][0], 16, tag(0, 1, 0x4f), ~(uint64_t)0, NULL, &r));
	o_track(ep[1], r, OMX_SUCCESS, "marker receive");
	MUST(omx_issend(ep[0], sendbuf, 16, addr[0][1], tag(0, 1, 0x4f), NULL, &r));
	o_track(ep[0], r, OMX_SUCCESS, "marker send");
	o_complete_all(ep, NEP, "omx.forgotten_requests_complete");

	/* Now leave requests in every state. */
	/* pending receives nothing will match */
	for (i = 0; i < NEP; i++)
		MUST(omx_irecv(ep[i], leftover[n++], 64, 0xdead00 + (uint64_t)i, ~(uint64_t)0, NULL, &r));
	/* a pending receive, forgotten */
	MUST(omx_irecv(ep[0], leftover[n++], 64, 0xdead10, ~(uint64_t)0, NULL, &r));
	MUST(omx_forget(ep[0], &r));
	/* a receive cancelled (freed) and one cancelled without test (done, never tested) */
	MUST(omx_irecv(ep[1], leftover[n++], 64, 0xdead20, ~(uint64_t)0, NULL, &r));
	res = 0;
	MUST(omx_cancel(ep[1], &r, &res));
	check(res == 1, "omx.cancel_posted_receive", "result %u", res);
	MUST(omx_irecv(ep[1], leftover[n++], 64, 0xdead21, ~(uint64_t)0, NULL, &r));
	res = 0;
	MUST(omx_cancel_notest(ep[1], &r, &res));
	check(res == 1, "omx.cancel_notest_posted_receive", "result %u", res);
	/* unexpected eager messages and an unexpected large one */
	for (k = 0; k < (int)NSIZES; k++)
		MUST(omx_isend(ep[2], sendbuf, sizes[k], addr[2][3], 0xbeef00 + (uint64_t)k, NULL, &r));
	/* synchronous sends nobody receives (one forgotten) */
	MUST(omx_issend(ep[3], sendbuf, 64, addr[3][0], 0xbeef10, NULL, &r));
	MUST(omx_issend(ep[3], sendbuf, 64, addr[3][1], 0xbeef11, NULL, NULL));
	/* self sends, one matched and left done, one unexpected */
	MUST(omx_irecv(ep[0], leftover[n++], 64, 0xbeef20, ~(uint64_t)0, NULL, &r));
	MUST(omx_isend(ep[0], sendbuf, 32, self[0], 0xbeef20, NULL, &r));
	MUST(omx_isend(ep[0], sendbuf, 5000, self[0], 0xbeef21, NULL, &r));
	/* a large receive matched but not finished (data still to fetch) */
	MUST(omx_irecv(ep[2], leftover[n++], BIG, 0xbeef30, ~(uint64_t)0, NULL, &r));
	MUST(omx_isend(ep[1], sendbuf, BIG, addr[1][2], 0xbeef30, NULL, &r));
	/* iconnects: one forgotten, one left done */
	MUST(omx_iconnect(ep[2], nic[0], eid[0], BAD_KEY, 0xc0, NULL, NULL));
	MUST(omx_iconnect(ep[2], nic[1], eid[1], BAD_KEY, 0xc1, NULL, &r));
	/* an unexpected handler registered at close */
	MUST(omx_register_unexp_handler(ep[3], NULL, NULL));
	/* a disconnected partner with a pending send to it */
	MUST(omx_isend(ep[1], sendbuf, BIG, addr[1][0], 0xbeef40, NULL, &r));
	MUST(omx_disconnect(ep[1], addr[1][0]));
	for (i = 0; i < NEP; i++)
		MUST(omx_progress(ep[i]));

	for (i = 0; i < NEP; i++)
		check(omx_close_endpoint(ep[i]) == OMX_SUCCESS, "omx.close_endpoint", "endpoint %d", i);
	MUST(omx_finalize());
	finalized++;
}

/* ---- cycle 3: MX, 2 endpoints ---- */

static void cycle_mx(void)
{
	mx_endpoint_t ep[2];
	mx_endpoint_addr_t self[2], addr[2];
	uint64_t nic[2];
	uint32_t eid[2], res;
	mx_request_t r[8], s[8];
	mx_segment_t seg[8];
	mx_status_t st;
	int i, k;

	mx_set_error_handler(MX_ERRORS_RETURN);
	MUST(mx_init());
	for (i = 0; i < 2; i++) {
		MUST(mx_open_endpoint(MX_ANY_NIC, MX_ANY_ENDPOINT, BAD_KEY, NULL, 0, &ep[i]));
		MUST(mx_get_endpoint_addr(ep[i], &self[i]));
		MUST(mx_decompose_endpoint_addr(self[i], &nic[i], &eid[i]));
	}
	/* ep0 -> ep1 connected with iconnect, progressed by waiting on ep0
	 * while ep1 is progressed too. */
	{
		double end = now_s() + TIMEOUT_S;
		mx_request_t c = NULL;

		MUST(mx_iconnect(ep[0], nic[1], eid[1], BAD_KEY, 1, NULL, &c));
		res = 0;
		while (!res && now_s() < end) {
			MUST(mx_progress(ep[1]));
			MUST(mx_test(ep[0], &c, &st, &res));
		}
		check(res == 1 && st.code == MX_STATUS_SUCCESS, "mx.connect", "result %u", res);
		if (!res)
			exit(1);
		addr[0] = st.source;
	}
	for (k = 0; k < (int)NSIZES; k++) {
		seg[k].segment_ptr = recvbuf[0][1][k];
		seg[k].segment_length = BIG / 2;
		MUST(mx_irecv(ep[1], &seg[k], 1, 0x100 + (uint64_t)k, MX_MATCH_MASK_NONE, NULL, &r[k]));
	}
	for (k = 0; k < (int)NSIZES; k++) {
		mx_segment_t out = { sendbuf, (uint32_t)sizes[k] };
		MUST(mx_isend(ep[0], &out, 1, addr[0], 0x100 + (uint64_t)k, NULL, &s[k]));
	}
	{
		double end = now_s() + TIMEOUT_S;
		int left = 2 * (int)NSIZES;

		while (left > 0 && now_s() < end)
			for (k = 0; k < (int)NSIZES; k++) {
				res = 0;
				if (r[k]) {
					MUST(mx_test(ep[1], &r[k], &st, &res));
					left -= res ? 1 : 0;
				}
				res = 0;
				if (s[k]) {
					MUST(mx_test(ep[0], &s[k], &st, &res));
					left -= res ? 1 : 0;
				}
			}
		check(left == 0, "mx.traffic", "%d requests not completed after %d s", left, TIMEOUT_S);
	}
	/* Left over at close: a pending receive, a forgotten one, an
	 * unexpected message, a synchronous send nobody receives. */
	seg[0].segment_ptr = leftover[0];
	seg[0].segment_length = 64;
	MUST(mx_irecv(ep[1], &seg[0], 1, 0xdead, MX_MATCH_MASK_NONE, NULL, &r[0]));
	MUST(mx_irecv(ep[1], &seg[0], 1, 0xdeae, MX_MATCH_MASK_NONE, NULL, &r[1]));
	MUST(mx_forget(ep[1], &r[1]));
	{
		mx_segment_t out = { sendbuf, 64 };
		MUST(mx_isend(ep[0], &out, 1, addr[0], 0xbeef, NULL, &s[0]));
		MUST(mx_issend(ep[0], &out, 1, addr[0], 0xbef0, NULL, &s[1]));
	}
	MUST(mx_progress(ep[1]));
	for (i = 0; i < 2; i++)
		check(mx_close_endpoint(ep[i]) == MX_SUCCESS, "mx.close_endpoint", "endpoint %d", i);
	MUST(mx_finalize());
	finalized++;
}

int main(void)
{
	static struct fdset before, after1, after;
	char why[4096];
	int bad;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The Go runtime of a shared library initializes in its own thread,
	 * concurrently with main (reading /proc/self/mountinfo, opening cgroup
	 * files). The first call into the library waits for that to finish;
	 * omx_strerror initializes nothing of the library itself. */
	if (omx_strerror(OMX_SUCCESS) == NULL) {
		printf("FAIL omx_strerror(OMX_SUCCESS) is NULL\n");
		return 1;
	}
	fd_snapshot(&before);

	cycle_warmup();
	fd_snapshot(&after1);
	bad = fd_compare(&before, &after1, 1, why, sizeof(why));
	check(bad == 0, "fds.after_first_finalize", "%s", why);

	cycle_omx();
	fd_snapshot(&after);
	bad = fd_compare(&after1, &after, 0, why, sizeof(why));
	check(bad == 0, "fds.after_omx_cycle", "%s", why);

	cycle_mx();
	fd_snapshot(&after);
	bad = fd_compare(&after1, &after, 0, why, sizeof(why));
	check(bad == 0, "fds.after_mx_cycle", "%s", why);

	printf("finalized %d\n", finalized);
	return failures ? 1 : 0;
}
