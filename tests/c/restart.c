/* restart: a message stream that survives a peer restart.
 *
 *   restart recv -d <peer hostname> [-c <n>] print "got <seq>" per message;
 *                                            with -c, close the endpoint
 *                                            after n messages and exit
 *   restart send -d <peer hostname> -n <N> [-x]
 *                                            send messages 0..N-1; with -x,
 *                                            stop at the first failure
 *
 * Both sides use endpoint 0 of board 0. The sender keeps 4 messages in
 * flight; a message that completes with an error status is reported as
 * "status <seq> <code>" and NOT sent again (so no message can arrive
 * twice); the sender then connects again and goes on. It ends with
 * "done <failed>". The receiver checks that sequence numbers increase. */
#include <open-mx.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY 0x5a5a
#define INFLIGHT 4

static omx_endpoint_t ep;

static omx_endpoint_addr_t connect_peer(const char *peer)
{
	uint64_t nic;
	omx_endpoint_addr_t addr;
	if (omx_hostname_to_nic_id((char *)peer, &nic) != OMX_SUCCESS) {
		fprintf(stderr, "FAIL: unknown peer %s\n", peer);
		exit(1);
	}
	for (int i = 0; i < 600; i++)
		if (omx_connect(ep, nic, 0, KEY, 200, &addr) == OMX_SUCCESS)
			return addr;
	fprintf(stderr, "FAIL: cannot connect to %s\n", peer);
	exit(1);
}

static size_t size_of(uint32_t seq)
{
	static const size_t sizes[] = {8, 100, 3000, 20000, 70000};
	return sizes[seq % 5];
}

static int do_recv(const char *peer, uint32_t count)
{
	static char buf[70000];
	int64_t last = -1;
	connect_peer(peer);
	for (;;) {
		omx_request_t req;
		omx_status_t st;
		uint32_t res, seq;
		omx_irecv(ep, buf, sizeof(buf), 0, 0, NULL, &req);
		while (omx_wait(ep, &req, &st, &res, 1000) == OMX_SUCCESS && !res)
			;
		if (st.code != OMX_SUCCESS)
			continue;
		memcpy(&seq, buf, 4);
		if (st.msg_length != size_of(seq) || (int64_t)seq <= last) {
			printf("FAIL: seq %u after %lld, length %u\n", seq, (long long)last, st.msg_length);
			return 1;
		}
		for (size_t i = 4; i < st.msg_length; i++)
			if (buf[i] != (char)(seq + i)) {
				printf("FAIL: seq %u byte %zu corrupted\n", seq, i);
				return 1;
			}
		last = seq;
		printf("got %u\n", seq);
		fflush(stdout);
		if (count && --count == 0) {
			omx_close_endpoint(ep);
			printf("closed\n");
			fflush(stdout);
			return 0;
		}
	}
}

static int do_send(const char *peer, uint32_t n, int stop_on_failure)
{
	static char bufs[INFLIGHT][70000];
	omx_request_t reqs[INFLIGHT];
	uint32_t seqs[INFLIGHT];
	int used[INFLIGHT] = {0};
	uint32_t next = 0, done = 0, failed = 0;
	omx_endpoint_addr_t addr = connect_peer(peer);
	while (done < n) {
		for (int k = 0; k < INFLIGHT && next < n; k++) {
			if (used[k])
				continue;
			size_t len = size_of(next);
			memcpy(bufs[k], &next, 4);
			for (size_t i = 4; i < len; i++)
				bufs[k][i] = (char)(next + i);
			seqs[k] = next++;
			omx_isend(ep, bufs[k], len, addr, 0x77, NULL, &reqs[k]);
			used[k] = 1;
		}
		int reconnect = 0;
		for (int k = 0; k < INFLIGHT; k++) {
			omx_status_t st;
			uint32_t res;
			if (!used[k])
				continue;
			omx_test(ep, &reqs[k], &st, &res);
			if (!res)
				continue;
			used[k] = 0;
			done++;
			if (st.code != OMX_SUCCESS) {
				printf("status %u %d\n", seqs[k], (int)st.code);
				fflush(stdout);
				failed++;
				reconnect = 1;
				if (stop_on_failure) {
					printf("stopped\n");
					fflush(stdout);
					return 0;
				}
			}
		}
		if (reconnect)
			addr = connect_peer(peer);
		usleep(2000);
	}
	printf("done %u\n", failed);
	fflush(stdout);
	/* Let the last acks go through before closing. */
	for (int i = 0; i < 100; i++) {
		omx_progress(ep);
		usleep(10000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *peer = NULL;
	uint32_t n = 100, count = 0;
	int opt, stop = 0;
	if (argc < 2)
		return 2;
	optind = 2;
	while ((opt = getopt(argc, argv, "d:n:c:x")) != -1) {
		if (opt == 'd')
			peer = optarg;
		else if (opt == 'n')
			n = (uint32_t)atoi(optarg);
		else if (opt == 'c')
			count = (uint32_t)atoi(optarg);
		else if (opt == 'x')
			stop = 1;
		else
			return 2;
	}
	if (!peer)
		return 2;
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	omx_init();
	if (omx_open_endpoint(0, 0, KEY, NULL, 0, &ep) != OMX_SUCCESS) {
		fprintf(stderr, "FAIL: open endpoint\n");
		return 1;
	}
	if (strcmp(argv[1], "recv") == 0)
		return do_recv(peer, count);
	return do_send(peer, n, stop);
}
