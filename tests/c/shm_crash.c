/*
 * shm_crash.c: one side of a same-host transfer whose peer process dies
 * (tests/shared_crash_test.go drives two of them).
 *
 *   shm_crash victim   <local ep> <peer ep>
 *   shm_crash survivor <local ep> <peer ep> <request timeout ms>
 *
 * Both open endpoint <local ep> of board 0 and connect to <peer ep> of
 * board 0 (retrying while the peer is not open yet).
 *
 * The victim sends the survivor a large (4 MiB) message (match 0xA), a
 * small one (0xB) and a synchronous small one (0xC), posts no receive,
 * prints "READY" and progresses until it is killed.
 *
 * The survivor sets the request timeout of its later requests, receives the
 * victim's small message 0xB (data verified), sends the victim a large
 * message (0x1), a synchronous small one (0x2) and a small one (0x3),
 * which the victim never receives, prints "READY" and reads one line on
 * stdin (the driver writes it once the victim is dead). It then receives
 * the victim's large message 0xA (announced before the death: the data
 * can no longer be fetched) and waits for every request (bounded). For
 * each it prints
 *     <name> <code> <strerror>
 * and finally "DONE <ms>" (time from the line on stdin to the last
 * completion), closes its endpoint and finalizes (a clean exit). Exit 0
 * when every request completed, 1 otherwise (a request still pending after
 * the bound prints "<name> PENDING").
 */
#include "omxutil.h"

#include <unistd.h>

#define CR_LARGE (4u << 20)
#define CR_SMALL 64u
#define CR_BOUND_MS 60000u

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31u + seed);
}

static omx_endpoint_addr_t connect_peer(omx_endpoint_t ep, uint32_t peer)
{
	uint64_t nic;
	omx_endpoint_addr_t addr;
	double end = now_ms() + 30000;
	omx_return_t rc;

	CHECK_OK(omx_board_number_to_nic_id(0, &nic));
	for (;;) {
		rc = omx_connect(ep, nic, peer, OMXU_KEY, 500, &addr);
		if (rc == OMX_SUCCESS)
			return addr;
		if (now_ms() > end)
			FAILF("connect to endpoint %u: %s", peer, omx_strerror(rc));
		usleep(20000);
	}
}

int main(int argc, char **argv)
{
	omx_endpoint_t ep;
	omx_endpoint_addr_t peer;
	static unsigned char big[CR_LARGE], bigin[CR_LARGE];
	unsigned char s1[CR_SMALL], s2[CR_SMALL], in[CR_SMALL], want[CR_SMALL];
	omx_status_t st;
	uint32_t res;

	if (argc < 4 || (strcmp(argv[1], "victim") && strcmp(argv[1], "survivor")) ||
	    (!strcmp(argv[1], "survivor") && argc < 5)) {
		fprintf(stderr, "usage: shm_crash victim|survivor <local ep> <peer ep> [<timeout ms>]\n");
		return 2;
	}
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	CHECK_OK(omx_init());
	CHECK_OK(omx_open_endpoint(0, (uint32_t)atoi(argv[2]), OMXU_KEY, NULL, 0, &ep));
	if (!strcmp(argv[1], "survivor"))
		CHECK_OK(omx_set_request_timeout(ep, NULL, (uint32_t)atoi(argv[4])));
	peer = connect_peer(ep, (uint32_t)atoi(argv[3]));

	if (!strcmp(argv[1], "victim")) {
		fill(big, CR_LARGE, 0xA);
		fill(s1, CR_SMALL, 0xB);
		fill(s2, CR_SMALL, 0xC);
		CHECK_OK(omx_isend(ep, big, CR_LARGE, peer, 0xA, NULL, NULL));
		CHECK_OK(omx_isend(ep, s1, CR_SMALL, peer, 0xB, NULL, NULL));
		CHECK_OK(omx_issend(ep, s2, CR_SMALL, peer, 0xC, NULL, NULL));
		printf("READY\n");
		fflush(stdout);
		for (;;) {
			omx_progress(ep);
			usleep(100);
		}
	}

	/* survivor */
	struct {
		const char *name;
		omx_request_t req;
	} r[5] = {{"send-large", NULL}, {"ssend-small", NULL}, {"send-small", NULL},
		  {"recv-large", NULL}, {"recv-sync", NULL}};
	char line[64];
	double t0, last;
	int pending = 0;

	fill(want, CR_SMALL, 0xB);
	{
		omx_request_t q;
		CHECK_OK(omx_irecv(ep, in, CR_SMALL, 0xB, ~0ULL, NULL, &q));
		omxu_wait(ep, &q, &st, "recv-small");
		CHECK_EQ(st.code, OMX_SUCCESS);
		CHECK_EQ(st.xfer_length, CR_SMALL);
		CHECK(memcmp(in, want, CR_SMALL) == 0);
	}
	fill(big, CR_LARGE, 1);
	fill(s1, CR_SMALL, 2);
	fill(s2, CR_SMALL, 3);
	CHECK_OK(omx_isend(ep, big, CR_LARGE, peer, 0x1, NULL, &r[0].req));
	CHECK_OK(omx_issend(ep, s1, CR_SMALL, peer, 0x2, NULL, &r[1].req));
	CHECK_OK(omx_isend(ep, s2, CR_SMALL, peer, 0x3, NULL, &r[2].req));
	/* let the frames reach the victim before saying READY */
	for (int i = 0; i < 50; i++) {
		omx_progress(ep);
		usleep(1000);
	}
	printf("READY\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		FAILF("stdin closed before the go line");
	t0 = last = now_ms();
	CHECK_OK(omx_irecv(ep, bigin, CR_LARGE, 0xA, ~0ULL, NULL, &r[3].req));
	CHECK_OK(omx_irecv(ep, in, CR_SMALL, 0xC, ~0ULL, NULL, &r[4].req));
	for (int i = 0; i < 5; i++) {
		uint32_t left = (uint32_t)(t0 + CR_BOUND_MS > now_ms() ? t0 + CR_BOUND_MS - now_ms() : 0);

		res = 0;
		CHECK_OK(omx_wait(ep, &r[i].req, &st, &res, left));
		if (!res) {
			printf("%s PENDING\n", r[i].name);
			pending++;
			continue;
		}
		last = now_ms();
		printf("%s %d %s\n", r[i].name, (int)st.code, omx_strerror(st.code));
	}
	printf("DONE %.0f\n", last - t0);
	fflush(stdout);
	if (pending)
		return 1;
	CHECK_OK(omx_close_endpoint(ep));
	CHECK_OK(omx_finalize());
	return 0;
}
