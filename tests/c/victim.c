/* victim: an endpoint under attack, for tests/hostile_test.go.
 *
 *   victim idle     -e IDX -k KEY -t SECS
 *       opens the endpoint and sleeps SECS without calling the library
 *       (an application computing), then progresses for a second
 *   victim progress -e IDX -k KEY -t SECS
 *       calls omx_progress every millisecond for SECS and posts no receive:
 *       whatever arrives stays unexpected
 *   victim recv     -e IDX -k KEY -t SECS -l LEN [-n NREQ] [-s SECRET]
 *       keeps NREQ receives of LEN bytes (any match) posted for SECS and
 *       prints "recv <code> <xfer> <nic> <ep>" for each completion; at the
 *       end searches every buffer (completed or not) for SECRET and prints
 *       "summary received <n> secret <found|absent>"
 *   victim send     -e IDX -k KEY -t SECS -l LEN -d PEER [-r REMOTE]
 *       sends LEN bytes of the test pattern to PEER's endpoint REMOTE
 *       (default 0) and prints "sent <code>"; exit 1 unless OMX_SUCCESS
 *   victim precv    -e IDX -k KEY -t SECS -l LEN -w MS
 *       progresses for MS milliseconds, then posts one receive of LEN bytes
 *       and waits up to SECS for it; checks length and pattern and prints
 *       "precv ok <xfer>"; exit 1 on any difference
 *
 * Every mode first prints "ready <pid> <session in hex>" once its endpoint
 * is open, and "done" before closing it. */
#include <open-mx.h>

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXREQ 16

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i * 131u + (i >> 9) + 7u);
}

static void fail(const char *what, omx_return_t ret)
{
	fprintf(stderr, "FAIL: %s: %s\n", what, omx_strerror(ret));
	exit(1);
}

static int contains(const unsigned char *buf, size_t len, const char *s)
{
	size_t n = strlen(s);
	size_t i;
	if (n == 0 || n > len)
		return 0;
	for (i = 0; i + n <= len; i++)
		if (buf[i] == (unsigned char)s[0] && memcmp(buf + i, s, n) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode, *secret = NULL, *peer = NULL;
	uint32_t index = 0, key = 0, remote = 0;
	double secs = 10;
	size_t len = 0;
	int nreq = 1, wait_ms = 0, c;
	omx_endpoint_t ep;
	omx_endpoint_addr_t self;
	uint64_t nic;
	uint32_t eid, session;
	omx_return_t ret;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: victim idle|progress|recv|send|precv [options]\n");
		return 2;
	}
	mode = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "e:k:t:l:n:s:d:r:w:")) != -1) {
		switch (c) {
		case 'e': index = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'k': key = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': secs = atof(optarg); break;
		case 'l': len = (size_t)strtoull(optarg, NULL, 0); break;
		case 'n': nreq = atoi(optarg); break;
		case 's': secret = optarg; break;
		case 'd': peer = optarg; break;
		case 'r': remote = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'w': wait_ms = atoi(optarg); break;
		default:
			fprintf(stderr, "victim: bad option\n");
			return 2;
		}
	}
	if (nreq < 1 || nreq > MAXREQ) {
		fprintf(stderr, "victim: -n must be 1..%d\n", MAXREQ);
		return 2;
	}

	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	if ((ret = omx_init()) != OMX_SUCCESS)
		fail("omx_init", ret);
	if ((ret = omx_open_endpoint(0, index, key, NULL, 0, &ep)) != OMX_SUCCESS)
		fail("omx_open_endpoint", ret);
	omx_get_endpoint_addr(ep, &self);
	omx_decompose_endpoint_addr_with_session(self, &nic, &eid, &session);
	printf("ready %d 0x%08" PRIx32 "\n", (int)getpid(), session);
	fflush(stdout);

	if (strcmp(mode, "idle") == 0) {
		sleep_ms((long)(secs * 1000));
		double end = now_s() + 1;
		while (now_s() < end) {
			omx_progress(ep);
			sleep_ms(1);
		}
	} else if (strcmp(mode, "progress") == 0) {
		double end = now_s() + secs;
		while (now_s() < end) {
			omx_progress(ep);
			sleep_ms(1);
		}
	} else if (strcmp(mode, "recv") == 0) {
		unsigned char *bufs[MAXREQ];
		omx_request_t reqs[MAXREQ];
		int received = 0, found = 0, i;
		double end = now_s() + secs;

		for (i = 0; i < nreq; i++) {
			bufs[i] = calloc(1, len ? len : 1);
			if (bufs[i] == NULL) {
				fprintf(stderr, "FAIL: out of memory\n");
				return 1;
			}
			if ((ret = omx_irecv(ep, bufs[i], len, 0, 0, NULL, &reqs[i])) != OMX_SUCCESS)
				fail("omx_irecv", ret);
		}
		while (now_s() < end) {
			for (i = 0; i < nreq; i++) {
				omx_status_t st;
				uint32_t res = 0;
				uint64_t snic;
				uint32_t sep;
				if ((ret = omx_test(ep, &reqs[i], &st, &res)) != OMX_SUCCESS)
					fail("omx_test", ret);
				if (!res)
					continue;
				received++;
				omx_decompose_endpoint_addr(st.addr, &snic, &sep);
				printf("recv %d %u %012" PRIx64 " %u\n", (int)st.code, st.xfer_length, snic, sep);
				fflush(stdout);
				if (secret && contains(bufs[i], len, secret))
					found = 1;
				memset(bufs[i], 0, len);
				if ((ret = omx_irecv(ep, bufs[i], len, 0, 0, NULL, &reqs[i])) != OMX_SUCCESS)
					fail("omx_irecv", ret);
			}
			sleep_ms(1);
		}
		for (i = 0; i < nreq; i++)
			if (secret && contains(bufs[i], len, secret))
				found = 1;
		printf("summary received %d secret %s\n", received, found ? "found" : "absent");
	} else if (strcmp(mode, "send") == 0) {
		unsigned char *buf = malloc(len ? len : 1);
		omx_endpoint_addr_t addr;
		omx_request_t req;
		omx_status_t st;
		uint32_t res = 0;
		uint64_t pnic;
		size_t i;
		double end = now_s() + secs;

		if (buf == NULL || peer == NULL) {
			fprintf(stderr, "FAIL: send needs -d and memory\n");
			return 1;
		}
		for (i = 0; i < len; i++)
			buf[i] = pattern(i);
		if ((ret = omx_hostname_to_nic_id((char *)peer, &pnic)) != OMX_SUCCESS)
			fail("omx_hostname_to_nic_id", ret);
		if ((ret = omx_connect(ep, pnic, remote, key, 5000, &addr)) != OMX_SUCCESS)
			fail("omx_connect", ret);
		if ((ret = omx_isend(ep, buf, len, addr, 0x1234, NULL, &req)) != OMX_SUCCESS)
			fail("omx_isend", ret);
		while (!res && now_s() < end)
			if ((ret = omx_wait(ep, &req, &st, &res, 100)) != OMX_SUCCESS)
				fail("omx_wait", ret);
		if (!res) {
			printf("sent timeout\n");
			status = 1;
		} else {
			printf("sent %d %u\n", (int)st.code, st.xfer_length);
			status = st.code == OMX_SUCCESS ? 0 : 1;
		}
	} else if (strcmp(mode, "precv") == 0) {
		unsigned char *buf = calloc(1, len ? len : 1);
		omx_request_t req;
		omx_status_t st;
		uint32_t res = 0;
		size_t i;
		double end = now_s() + wait_ms / 1000.0;

		if (buf == NULL) {
			fprintf(stderr, "FAIL: out of memory\n");
			return 1;
		}
		while (now_s() < end) {
			omx_progress(ep);
			sleep_ms(10);
		}
		printf("posting\n");
		fflush(stdout);
		if ((ret = omx_irecv(ep, buf, len, 0, 0, NULL, &req)) != OMX_SUCCESS)
			fail("omx_irecv", ret);
		end = now_s() + secs;
		while (!res && now_s() < end)
			if ((ret = omx_wait(ep, &req, &st, &res, 100)) != OMX_SUCCESS)
				fail("omx_wait", ret);
		if (!res) {
			fprintf(stderr, "FAIL: no message within %.1f s\n", secs);
			return 1;
		}
		if (st.code != OMX_SUCCESS || st.xfer_length != len) {
			fprintf(stderr, "FAIL: receive status %d (%s), %u bytes, want %zu\n", (int)st.code,
				omx_strerror((omx_return_t)st.code), st.xfer_length, len);
			return 1;
		}
		for (i = 0; i < len; i++)
			if (buf[i] != pattern(i)) {
				fprintf(stderr, "FAIL: byte %zu is 0x%02x, want 0x%02x\n", i, buf[i], pattern(i));
				return 1;
			}
		printf("precv ok %u\n", st.xfer_length);
	} else {
		fprintf(stderr, "victim: unknown mode %s\n", mode);
		return 2;
	}
	printf("done\n");
	fflush(stdout);
	omx_close_endpoint(ep);
	omx_finalize();
	return status;
}
