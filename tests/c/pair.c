/* pair: the one-process behaviours of the library, between two processes
 * of one host (the same-host path).
 *
 *   pair a <peer endpoint> <my endpoint>     the side that connects first
 *   pair b <peer endpoint> <my endpoint>
 *
 * Both run on board 0 of the loopback board (OMX_IFNAMES=lo). Steps:
 * ping-pong of every size class (isend and issend) with verified payloads,
 * truncation on both sides, an unexpected message found by iprobe then
 * received, and a final 0-byte synchronous handshake. Prints "pair: PASS". */
#include <open-mx.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY 0x7a7a
#define WAIT_MS 30000u

static omx_endpoint_t ep;
static omx_endpoint_addr_t peer;

#define FAIL(...)                                                              \
	do {                                                                   \
		fprintf(stderr, "FAIL: " __VA_ARGS__);                         \
		fprintf(stderr, "\n");                                         \
		exit(1);                                                       \
	} while (0)

static void fill(char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (char)(i * 7 + seed * 13 + (i >> 9));
}

static void check(const char *b, size_t n, unsigned seed, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != (char)(i * 7 + seed * 13 + (i >> 9)))
			FAIL("%s: byte %zu of %zu differs", what, i, n);
}

static omx_status_t wait_req(omx_request_t *r, const char *what)
{
	omx_status_t st;
	uint32_t res = 0;
	if (omx_wait(ep, r, &st, &res, WAIT_MS) != OMX_SUCCESS || !res)
		FAIL("%s: not completed", what);
	return st;
}

static void send_msg(const char *buf, size_t n, uint64_t match, int sync, omx_return_t want, uint32_t want_xfer)
{
	omx_request_t r;
	if ((sync ? omx_issend : omx_isend)(ep, (void *)buf, n, peer, match, NULL, &r) != OMX_SUCCESS)
		FAIL("post send of %zu bytes", n);
	omx_status_t st = wait_req(&r, "send");
	if (st.code != want || st.xfer_length != want_xfer || st.msg_length != n)
		FAIL("send of %zu bytes (sync %d): code %d xfer %u msg %u, want code %d xfer %u", n, sync, st.code,
		     st.xfer_length, st.msg_length, want, want_xfer);
}

static omx_status_t recv_msg(char *buf, size_t n, uint64_t match)
{
	omx_request_t r;
	if (omx_irecv(ep, buf, n, match, ~0ULL, NULL, &r) != OMX_SUCCESS)
		FAIL("post recv of %zu bytes", n);
	return wait_req(&r, "recv");
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {0, 1, 31, 32, 33, 127, 128, 129, 4095, 4096, 4097,
				       8192, 32768, 32769, 65536, 1 << 20, 16 << 20};
	const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
	int a;
	uint64_t nic;
	char *buf, *got;

	if (argc != 4)
		return 2;
	a = strcmp(argv[1], "a") == 0;
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	omx_init();
	{
		omx_return_t ret = omx_open_endpoint(0, (uint32_t)atoi(argv[3]), KEY, NULL, 0, &ep);
		if (ret != OMX_SUCCESS)
			FAIL("open endpoint %s: %s", argv[3], omx_strerror(ret));
	}
	omx_board_number_to_nic_id(0, &nic);
	for (int i = 0;; i++) { /* the peer may not be up yet */
		if (omx_connect(ep, nic, (uint32_t)atoi(argv[2]), KEY, 200, &peer) == OMX_SUCCESS)
			break;
		if (i == 150)
			FAIL("cannot connect to endpoint %s", argv[2]);
		usleep(20000); /* an endpoint nobody opened yet fails at once */
	}
	buf = malloc(16 << 20);
	got = malloc(16 << 20);
	if (!buf || !got)
		FAIL("malloc");

	/* 1. Ping-pong, every size class, eager and synchronous. */
	for (int sync = 0; sync < 2; sync++)
		for (size_t k = 0; k < nsizes; k++) {
			size_t n = sizes[k];
			uint64_t match = 0x1000 + k + 100 * (uint64_t)sync;
			if (a) {
				fill(buf, n, (unsigned)k);
				send_msg(buf, n, match, sync, OMX_SUCCESS, (uint32_t)n);
				omx_status_t st = recv_msg(got, n, match);
				if (st.code != OMX_SUCCESS || st.msg_length != n || st.xfer_length != n || st.match_info != match)
					FAIL("pong of %zu bytes: code %d", n, st.code);
				check(got, n, (unsigned)k + 1, "pong");
			} else {
				omx_status_t st = recv_msg(got, n, match);
				if (st.code != OMX_SUCCESS || st.msg_length != n || st.xfer_length != n)
					FAIL("ping of %zu bytes: code %d", n, st.code);
				check(got, n, (unsigned)k, "ping");
				fill(buf, n, (unsigned)k + 1);
				send_msg(buf, n, match, sync, OMX_SUCCESS, (uint32_t)n);
			}
		}

	/* 2. Truncation: a sends, b receives half. The sender learns it only
	 * for rendezvous messages (above the same-host threshold, 4096). */
	{
		static const size_t tsizes[] = {100, 3000, 20000, 1 << 20};
		for (size_t k = 0; k < 4; k++) {
			size_t n = tsizes[k], half = n / 2;
			uint64_t match = 0x2000 + k;
			if (a) {
				fill(buf, n, 77);
				/* OMX_DISABLE_SHARED: the remote threshold. */
				int rndv = n > (getenv("OMX_DISABLE_SHARED") ? 32768u : 4096u);
				send_msg(buf, n, match, 0, rndv ? OMX_MESSAGE_TRUNCATED : OMX_SUCCESS, rndv ? (uint32_t)half : (uint32_t)n);
			} else {
				memset(got, 0x5a, n);
				omx_status_t st = recv_msg(got, half, match);
				if (st.code != OMX_MESSAGE_TRUNCATED || st.msg_length != n || st.xfer_length != half)
					FAIL("truncated recv of %zu: code %d msg %u xfer %u", n, st.code, st.msg_length, st.xfer_length);
				check(got, half, 77, "truncated");
				for (size_t i = half; i < n; i++)
					if (got[i] != 0x5a)
						FAIL("byte %zu beyond the buffer was written", i);
			}
		}
	}

	/* 3. Unexpected message, found by iprobe, then received. */
	if (a) {
		fill(buf, 100, 9);
		send_msg(buf, 100, 0x3000, 0, OMX_SUCCESS, 100);
	} else {
		omx_status_t st;
		uint32_t res = 0;
		for (int i = 0; !res && i < 3000000; i++)
			omx_iprobe(ep, 0x3000, ~0ULL, &st, &res);
		if (!res || st.msg_length != 100 || st.match_info != 0x3000)
			FAIL("iprobe: result %u length %u", res, st.msg_length);
		omx_iprobe(ep, 0x3001, ~0ULL, &st, &res);
		if (res)
			FAIL("iprobe found a message with another match info");
		st = recv_msg(got, 100, 0x3000);
		check(got, 100, 9, "unexpected");
	}

	/* 4. Handshake: each side's last message is matched by the other. */
	if (a) {
		send_msg(NULL, 0, 0x4000, 1, OMX_SUCCESS, 0);
		recv_msg(got, 0, 0x4001);
	} else {
		recv_msg(got, 0, 0x4000);
		send_msg(NULL, 0, 0x4001, 1, OMX_SUCCESS, 0);
	}
	omx_close_endpoint(ep);
	omx_finalize();
	printf("pair: PASS\n");
	return 0;
}
