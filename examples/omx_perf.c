/*
 * omx_perf.c - ping-pong benchmark over the native Open-MX API.
 *
 * Start a server (receiver) on one host:
 *     omx_perf [-b <board>] [-e <endpoint>]
 * then a client (sender) on another one, naming the server's board:
 *     omx_perf -d <server board hostname> [-r <server endpoint>]
 *
 * The client sends its parameters (lengths, iterations, flags) to the
 * server, which connects back and acknowledges. Then, for each message
 * length, the client sends a message and waits for the answer of the same
 * length, N times after W warm-up round trips, and prints one line:
 *
 *     length      1024:	12.345 us	82.95 MB/s	 79.11 MiB/s
 *
 * (half the round-trip time, and the bandwidth). The options, the output and
 * the parameter message are the ones of Open-MX's omx_perf, so either side
 * can be the original program. One option is an open-mx-go addition: -V
 * checks every payload on both sides.
 *
 * Only the public API of <open-mx.h> is used. The library's default error
 * handler is left in place, so an error inside the library prints a message
 * and ends the process (set OMX_FATAL_ERRORS=0 to see this program's own
 * "Failed to ..." messages instead).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <open-mx.h>

/* Constants of the protocol, shared with the original program. */
#define PERF_KEY 0x12345678U                          /* endpoint key */
#define PERF_DATA_MATCH 0x1234567887654321ULL         /* data messages */
#define PERF_CONNECT_MATCH 0xabcddcbaabcddcbaULL      /* server's iconnect */
#define PERF_CONNECT_CONTEXT ((void *)(uintptr_t)0xdeadbeefUL)
#define PERF_PARAMS_LEN 44                            /* parameter message */
#define PERF_ALIGN 65536                              /* -a buffer alignment */

/* Defaults of the options. */
#define DEFAULT_ITER 1000
#define DEFAULT_WARMUP 10
#define DEFAULT_MIN 0ULL
#define DEFAULT_MAX 4194305ULL  /* 4 MiB + 1: the last length is 4 MiB */
#define DEFAULT_MULT 2ULL
#define DEFAULT_INCR 0ULL
#define DEFAULT_PAUSE_MS 100

/* How many -T lines one run may print. */
#define MAX_SELFTESTS 32

/* What the client tells the server (the 44-byte parameter message). */
struct perf_params {
	uint32_t iter;       /* -N: measured round trips per length */
	uint32_t warmup;     /* -W: warm-up round trips per length */
	uint64_t min;        /* -S: first length */
	uint64_t max;        /* -E: stop when the length reaches this */
	uint64_t mult;       /* -M: length multiplier */
	uint64_t incr;       /* -I: length increment */
	uint8_t aligned;     /* -a: page-aligned buffers */
	uint8_t unidir;      /* -U: the server answers with empty messages */
	uint8_t sync;        /* -Y: synchronous sends */
	uint8_t verify;      /* -V (open-mx-go): check the payloads */
};

/* Options local to this process. */
static int opt_wait;     /* -w: block in omx_wait instead of polling */
static int opt_yield;    /* -y: sched_yield() between polls */
static int opt_verbose;  /* -v */

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

/* die prints a message on stderr and exits with status 255. */
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(-1);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "Common options:\n");
	fprintf(stderr, " -b <n>\tchange local board id [0]\n");
	fprintf(stderr, " -e <n>\tchange local endpoint id [0 on the server, any on the client]\n");
	fprintf(stderr, " -s\tswitch to slave receiver mode: serve clients one after the other\n");
	fprintf(stderr, " -w\tsleep instead of busy polling\n");
	fprintf(stderr, " -y\tyield the processor between busy polls\n");
	fprintf(stderr, " -v\tverbose\n");
	fprintf(stderr, "Sender options:\n");
	fprintf(stderr, " -d <hostname>\tset remote peer name and switch to sender mode\n");
	fprintf(stderr, " -r <n>\tchange remote endpoint id [0]\n");
	fprintf(stderr, " -S <n>\tchange the start length [%llu]\n", DEFAULT_MIN);
	fprintf(stderr, " -E <n>\tchange the end length [%llu]\n", DEFAULT_MAX);
	fprintf(stderr, " -M <n>\tchange the length multiplier [%llu]\n", DEFAULT_MULT);
	fprintf(stderr, " -I <n>\tchange the length increment [%llu]\n", DEFAULT_INCR);
	fprintf(stderr, " -N <n>\tchange the number of iterations [%d]\n", DEFAULT_ITER);
	fprintf(stderr, " -W <n>\tchange the number of warmup iterations [%d]\n", DEFAULT_WARMUP);
	fprintf(stderr, " -P <n>\tpause between lengths, in milliseconds [%d]\n", DEFAULT_PAUSE_MS);
	fprintf(stderr, " -U\tswitch to unidirectional mode (receiver sends 0-byte replies)\n");
	fprintf(stderr, " -Y\tswitch to synchronous communication mode\n");
	fprintf(stderr, " -a\tuse page-aligned buffers on both hosts\n");
	fprintf(stderr, " -V\tverify the data on both hosts (open-mx-go addition)\n");
	fprintf(stderr, "Usage: %s [options]  (receiver)\n", argv0);
	fprintf(stderr, "       %s -d <hostname> [options]  (sender)\n", argv0);
}

/* now_us is a monotonic clock in microseconds. */
static unsigned long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * next_length is the length after len: len * mult + incr, or the first
 * non-zero one after 0 (incr, else 1). The run goes on while the length is
 * below the end length. When the sequence would not grow any more (for
 * instance -M 1 without -I) it returns UINT64_MAX, which ends the run
 * instead of looping forever on the same length.
 */
static uint64_t next_length(uint64_t len, const struct perf_params *p)
{
	uint64_t next;

	if (len > 0)
		next = len * p->mult + p->incr;
	else if (p->incr > 0)
		next = p->incr;
	else
		next = 1;
	return next > len ? next : UINT64_MAX;
}

/*
 * print_result prints the line of one length: usecs is the time taken by
 * iter round trips. The latency is computed in single precision, as the
 * original program does, so both print the same digits.
 */
static void print_result(long long length, unsigned long long usecs, uint32_t iter, int unidir)
{
	int k = unidir ? 1 : 2;  /* messages of `length` bytes per round trip */
	float latency = (float)usecs / k / iter;
	double mbs = (double)k * iter * length / usecs;

	printf("length % 9lld:\t%.3f us\t%.2f MB/s\t %.2f MiB/s\n",
	       length, latency, mbs, mbs / 1.048576);
	fflush(stdout);
}

/* Big-endian encoding of the parameter message. */
static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* A 64-bit value travels as its low then its high 32-bit half. */
static void put_u64(unsigned char *p, uint64_t v)
{
	put_be32(p, (uint32_t)v);
	put_be32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_be32(p) | (uint64_t)get_be32(p + 4) << 32;
}

static void encode_params(unsigned char *buf, const struct perf_params *p)
{
	put_be32(buf + 0, p->iter);
	put_be32(buf + 4, p->warmup);
	put_u64(buf + 8, p->min);
	put_u64(buf + 16, p->max);
	put_u64(buf + 24, p->mult);
	put_u64(buf + 32, p->incr);
	buf[40] = p->aligned;
	buf[41] = p->unidir;
	buf[42] = p->sync;
	buf[43] = p->verify;  /* padding (0) in the original */
}

static void decode_params(const unsigned char *buf, struct perf_params *p)
{
	p->iter = get_be32(buf + 0);
	p->warmup = get_be32(buf + 4);
	p->min = get_u64(buf + 8);
	p->max = get_u64(buf + 16);
	p->mult = get_u64(buf + 24);
	p->incr = get_u64(buf + 32);
	p->aligned = buf[40];
	p->unidir = buf[41];
	p->sync = buf[42];
	p->verify = buf[43];
}

/* alloc_buffer returns a buffer of len bytes, 64 KiB-aligned with -a. */
static void *alloc_buffer(uint64_t len, int aligned)
{
	size_t size = len ? (size_t)len : 1;
	void *buf = NULL;

	if (aligned) {
		int err = posix_memalign(&buf, PERF_ALIGN, size);
		if (err != 0)
			die("Failed to allocate an aligned buffer of %llu bytes (%s)",
			    (unsigned long long)len, strerror(err));
	} else {
		buf = malloc(size);
		if (buf == NULL)
			die("Failed to allocate a buffer of %llu bytes", (unsigned long long)len);
	}
	return buf;
}

/* -V: byte j of the message of iteration iter of the given length. */
static unsigned char pattern_byte(uint64_t length, int iter, uint64_t j)
{
	uint32_t x = (uint32_t)j * 2654435761U ^ (uint32_t)length * 40503U ^ (uint32_t)iter * 2246822519U;

	x ^= x >> 15;
	x *= 0x2c1b3c6dU;
	x ^= x >> 12;
	return (unsigned char)(x ^ (x >> 8));
}

static void fill_pattern(unsigned char *buf, uint64_t length, int iter)
{
	uint64_t j;

	for (j = 0; j < length; j++)
		buf[j] = pattern_byte(length, iter, j);
}

/* check_pattern exits unless the message holds the pattern of (length, iter). */
static void check_pattern(const unsigned char *buf, const omx_status_t *status,
			  uint64_t length, int iter)
{
	uint64_t j;

	if (status->msg_length != length || status->xfer_length != length)
		die("Data verification failed at length %lld iteration %d", (long long)length, iter);
	for (j = 0; j < length; j++)
		if (buf[j] != pattern_byte(length, iter, j))
			die("Data verification failed at length %lld iteration %d", (long long)length, iter);
}

/* ---------------------------------------------------------------------- */
/* Communication                                                          */

/*
 * complete waits until *req is done and fills *status: blocking in
 * omx_wait with -w, otherwise polling omx_test (yielding the processor
 * between two polls with -y). what names the operation in error messages.
 */
static void complete(omx_endpoint_t ep, omx_request_t *req, omx_status_t *status, int block,
		     const char *what)
{
	uint32_t result = 0;
	omx_return_t ret;

	do {
		if (block) {
			ret = omx_wait(ep, req, status, &result, OMX_TIMEOUT_INFINITE);
		} else {
			ret = omx_test(ep, req, status, &result);
			if (ret == OMX_SUCCESS && !result && opt_yield)
				sched_yield();
		}
		if (ret != OMX_SUCCESS)
			die("Failed to wait for completion (%s: %s)", what, omx_strerror(ret));
	} while (!result);

	if (status->code != OMX_SUCCESS)
		die("%s failed with status (%s)", what, omx_strerror(status->code));
}

/* send_msg sends length bytes to dest (synchronously if sync) and waits. */
static void send_msg(omx_endpoint_t ep, void *buf, uint64_t length, omx_endpoint_addr_t dest,
		     int sync, int block)
{
	omx_request_t req;
	omx_status_t status;
	omx_return_t ret;

	if (sync)
		ret = omx_issend(ep, buf, (size_t)length, dest, PERF_DATA_MATCH, NULL, &req);
	else
		ret = omx_isend(ep, buf, (size_t)length, dest, PERF_DATA_MATCH, NULL, &req);
	if (ret != OMX_SUCCESS)
		die("Failed to send a message (%s)", omx_strerror(ret));
	complete(ep, &req, &status, block, "Send");
}

/* recv_msg receives any message into buf (length bytes) and waits. */
static void recv_msg(omx_endpoint_t ep, void *buf, uint64_t length, omx_status_t *status,
		     int block)
{
	omx_request_t req;
	omx_return_t ret;

	ret = omx_irecv(ep, buf, (size_t)length, 0, 0, NULL, &req);
	if (ret != OMX_SUCCESS)
		die("Failed to post a receive (%s)", omx_strerror(ret));
	complete(ep, &req, status, block, "Receive");
}

/* open_endpoint opens (board, index) and prints which one it got. */
static omx_endpoint_t open_endpoint(uint32_t board, uint32_t index)
{
	char hostname[OMX_HOSTNAMELEN_MAX];
	char ifacename[OMX_HOSTNAMELEN_MAX];
	omx_endpoint_t ep;
	omx_return_t ret;

	ret = omx_open_endpoint(board, index, PERF_KEY, NULL, 0, &ep);
	if (ret != OMX_SUCCESS)
		die("Failed to open endpoint (%s)", omx_strerror(ret));

	ret = omx_get_info(ep, OMX_INFO_BOARD_HOSTNAME, NULL, 0, hostname, sizeof(hostname));
	if (ret != OMX_SUCCESS)
		die("Failed to find board hostname (%s)", omx_strerror(ret));
	ret = omx_get_info(ep, OMX_INFO_BOARD_IFACENAME, NULL, 0, ifacename, sizeof(ifacename));
	if (ret != OMX_SUCCESS)
		die("Failed to find board iface name (%s)", omx_strerror(ret));

	if (index == OMX_ANY_ENDPOINT)
		printf("Successfully open any endpoint for hostname '%s' iface '%s'\n",
		       hostname, ifacename);
	else
		printf("Successfully open endpoint %d for hostname '%s' iface '%s'\n",
		       (int)index, hostname, ifacename);
	fflush(stdout);
	return ep;
}

/*
 * peer_name writes the hostname of a peer into name (OMX_HOSTNAMELEN_MAX
 * bytes), or "<unknown peer>". The lookup may fail, so the global error
 * handler is switched to "return" around it.
 */
static void peer_name(uint64_t nic_id, char *name)
{
	omx_error_handler_t previous = omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	omx_return_t ret = omx_nic_id_to_hostname(nic_id, name);

	omx_set_error_handler(NULL, previous);
	if (ret != OMX_SUCCESS || name[0] == '\0')
		strcpy(name, "<unknown peer>");
}

/* ---------------------------------------------------------------------- */
/* Server                                                                 */

/*
 * serve_one answers one client, from its parameters to its last length, and
 * returns the client's address.
 */
static omx_endpoint_addr_t serve_one(omx_endpoint_t ep)
{
	unsigned char params_buf[PERF_PARAMS_LEN];
	char peer[OMX_HOSTNAMELEN_MAX];
	struct perf_params p;
	omx_endpoint_addr_t client;
	omx_request_t req;
	omx_status_t status;
	omx_return_t ret;
	uint64_t client_nic;
	uint32_t client_ep;
	uint64_t length;

	printf("Starting receiver...\n");
	fflush(stdout);

	/* 1. the parameters, sent by the client to whoever listens here */
	recv_msg(ep, params_buf, sizeof(params_buf), &status, 1);
	if (status.xfer_length != PERF_PARAMS_LEN)
		die("Got a parameter message of %u bytes instead of %d",
		    (unsigned)status.xfer_length, PERF_PARAMS_LEN);
	decode_params(params_buf, &p);

	omx_decompose_endpoint_addr(status.addr, &client_nic, &client_ep);
	peer_name(client_nic, peer);
	if (opt_verbose)
		printf("Got parameters (iter=%lu, warmup=%lu, min=%llu, max=%llu, mult=%llu, "
		       "incr=%llu, unidir=%d) from peer %s\n",
		       (unsigned long)p.iter, (unsigned long)p.warmup,
		       (unsigned long long)p.min, (unsigned long long)p.max,
		       (unsigned long long)p.mult, (unsigned long long)p.incr,
		       p.unidir, peer);

	/* 2. connect back to the client, the status gives its address */
	ret = omx_iconnect(ep, client_nic, client_ep, PERF_KEY, PERF_CONNECT_MATCH,
			   PERF_CONNECT_CONTEXT, &req);
	if (ret != OMX_SUCCESS)
		die("Failed to connect back to client (%s)", omx_strerror(ret));
	complete(ep, &req, &status, 1, "Connect back to client");
	if (status.match_info != PERF_CONNECT_MATCH || status.context != PERF_CONNECT_CONTEXT)
		die("Connect back to client completed with match info 0x%llx context %p",
		    (unsigned long long)status.match_info, status.context);
	client = status.addr;

	/* 3. tell the client the parameters arrived: an empty synchronous message */
	ret = omx_issend(ep, NULL, 0, client, 0, NULL, &req);
	if (ret != OMX_SUCCESS)
		die("Failed to acknowledge parameters (%s)", omx_strerror(ret));
	complete(ep, &req, &status, 1, "Acknowledge parameters");

	/* 4. answer every message: receive, then send back */
	for (length = p.min; length < p.max; length = next_length(length, &p)) {
		unsigned char *recv_buf = alloc_buffer(length, p.aligned);
		unsigned char *send_buf = alloc_buffer(length, p.aligned);
		uint64_t reply_length = p.unidir ? 0 : length;
		int i;

		for (i = 0; i < (int)(p.iter + p.warmup); i++) {
			recv_msg(ep, recv_buf, length, &status, opt_wait);
			if (p.verify)
				check_pattern(recv_buf, &status, length, i);
			/* with -V the received message is echoed */
			send_msg(ep, p.verify ? recv_buf : send_buf, reply_length, client,
				 p.sync, opt_wait);
		}
		free(recv_buf);
		free(send_buf);
	}
	return client;
}

static int run_server(uint32_t board, uint32_t index, int slave)
{
	omx_endpoint_t ep = open_endpoint(board, index);

	for (;;) {
		omx_endpoint_addr_t client = serve_one(ep);

		if (!slave)
			break;
		/* let the last acknowledgements leave, then forget the client */
		sleep_ms(500);
		omx_progress(ep);
		omx_disconnect(ep, client);
	}
	omx_close_endpoint(ep);
	omx_finalize();
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Client                                                                 */

static int run_client(uint32_t board, uint32_t index, const char *dest, uint32_t remote_index,
		      const struct perf_params *p, int pause_ms)
{
	unsigned char params_buf[PERF_PARAMS_LEN];
	omx_endpoint_t ep;
	omx_endpoint_addr_t server;
	omx_request_t req;
	omx_status_t status;
	omx_return_t ret;
	uint64_t server_nic;
	uint64_t length;

	ret = omx_hostname_to_nic_id((char *)dest, &server_nic);
	if (ret != OMX_SUCCESS)
		die("Cannot find peer name %s", dest);

	ep = open_endpoint(board, index);
	printf("Starting sender to '%s'...\n", dest);
	fflush(stdout);

	ret = omx_connect(ep, server_nic, remote_index, PERF_KEY, OMX_TIMEOUT_INFINITE, &server);
	if (ret != OMX_SUCCESS)
		die("Failed to connect (%s)", omx_strerror(ret));

	/* the parameters, synchronously: the server may not listen yet */
	encode_params(params_buf, p);
	ret = omx_issend(ep, params_buf, sizeof(params_buf), server, PERF_DATA_MATCH, NULL, &req);
	if (ret != OMX_SUCCESS)
		die("Failed to send parameters (%s)", omx_strerror(ret));
	complete(ep, &req, &status, 1, "Send parameters");
	if (opt_verbose)
		printf("Sent parameters (iter=%lu, warmup=%lu, min=%llu, max=%llu, mult=%llu, "
		       "incr=%llu, unidir=%d) to peer %s\n",
		       (unsigned long)p->iter, (unsigned long)p->warmup,
		       (unsigned long long)p->min, (unsigned long long)p->max,
		       (unsigned long long)p->mult, (unsigned long long)p->incr,
		       p->unidir, dest);

	/* wait until the server has connected back and is ready */
	recv_msg(ep, NULL, 0, &status, 1);

	for (length = p->min; length < p->max; length = next_length(length, p)) {
		unsigned char *send_buf = alloc_buffer(length, p->aligned);
		unsigned char *recv_buf = alloc_buffer(length, p->aligned);
		uint64_t reply_length = p->unidir ? 0 : length;
		unsigned long long start = 0, end;
		int i;

		if (!p->verify)
			memset(send_buf, 0, (size_t)length);
		for (i = 0; i < (int)(p->iter + p->warmup); i++) {
			if (opt_verbose)
				printf("Iteration %d/%d\n", i - (int)p->warmup, (int)p->iter);
			if (i == (int)p->warmup)
				start = now_us();
			if (p->verify)
				fill_pattern(send_buf, length, i);
			send_msg(ep, send_buf, length, server, p->sync, opt_wait);
			recv_msg(ep, recv_buf, reply_length, &status, opt_wait);
			if (p->verify)
				check_pattern(recv_buf, &status, reply_length, p->unidir ? 0 : i);
		}
		end = now_us();
		if (p->iter == 0)
			start = end;
		if (opt_verbose)
			printf("Total Duration: %llu us\n", end - start);

		print_result((long long)length, end - start, p->iter, p->unidir);
		free(send_buf);
		free(recv_buf);
		sleep_ms((unsigned long)pause_ms);
	}

	omx_close_endpoint(ep);
	omx_finalize();
	return 0;
}

/* ---------------------------------------------------------------------- */

/*
 * -T <length>,<usecs>,<iterations> (hidden, for the test suite): print the
 * result line of those values, as if measured, with the -U mode given, and
 * exit without touching the library.
 */
struct selftest {
	long long length;
	unsigned long long usecs;
	uint32_t iter;
};

static void parse_selftest(const char *arg, struct selftest *t)
{
	char *end;

	t->length = strtoll(arg, &end, 10);
	if (*end == ',')
		t->usecs = strtoull(end + 1, &end, 10);
	if (*end == ',')
		t->iter = (uint32_t)strtoul(end + 1, &end, 10);
	if (*end != '\0')
		die("Bad -T value '%s', expected <length>,<usecs>,<iterations>", arg);
}

int main(int argc, char *argv[])
{
	struct perf_params p;
	struct selftest selftests[MAX_SELFTESTS];
	int nselftests = 0;
	uint32_t board = 0;
	uint32_t index = 0;
	uint32_t remote_index = 0;
	const char *dest = NULL;
	int slave = 0;
	int pause_ms = DEFAULT_PAUSE_MS;
	omx_return_t ret;
	int c, i;

	memset(&p, 0, sizeof(p));
	p.iter = DEFAULT_ITER;
	p.warmup = DEFAULT_WARMUP;
	p.min = DEFAULT_MIN;
	p.max = DEFAULT_MAX;
	p.mult = DEFAULT_MULT;
	p.incr = DEFAULT_INCR;

	while ((c = getopt(argc, argv, "b:e:d:r:S:E:M:I:N:W:P:T:swyvUYaVh")) != -1) {
		switch (c) {
		case 'b': board = (uint32_t)atoi(optarg); break;
		case 'e': index = (uint32_t)atoi(optarg); break;
		case 'd':
			dest = optarg;
			index = OMX_ANY_ENDPOINT;  /* a later -e still wins */
			break;
		case 'r': remote_index = (uint32_t)atoi(optarg); break;
		case 'S': p.min = (uint64_t)atoll(optarg); break;
		case 'E': p.max = (uint64_t)atoll(optarg); break;
		case 'M': p.mult = (uint64_t)atoll(optarg); break;
		case 'I': p.incr = (uint64_t)atoll(optarg); break;
		case 'N': p.iter = (uint32_t)atoi(optarg); break;
		case 'W': p.warmup = (uint32_t)atoi(optarg); break;
		case 'P': pause_ms = atoi(optarg); break;
		case 's': slave = 1; break;
		case 'w': opt_wait = 1; break;
		case 'y': opt_yield = 1; break;
		case 'v': opt_verbose = 1; break;
		case 'U': p.unidir = 1; break;
		case 'Y': p.sync = 1; break;
		case 'a': p.aligned = 1; break;
		case 'V': p.verify = 1; break;
		case 'T':
			if (nselftests == MAX_SELFTESTS)
				die("Too many -T options (at most %d)", MAX_SELFTESTS);
			parse_selftest(optarg, &selftests[nselftests++]);
			break;
		case 'h':
			usage(argv[0]);
			exit(-1);
		default:
			fprintf(stderr, "Unknown option -%c\n", c);
			usage(argv[0]);
			exit(-1);
		}
	}

	if (nselftests > 0) {
		for (i = 0; i < nselftests; i++)
			print_result(selftests[i].length, selftests[i].usecs, selftests[i].iter,
				     p.unidir);
		return 0;
	}

	ret = omx_init();
	if (ret != OMX_SUCCESS)
		die("Failed to initialize (%s)", omx_strerror(ret));

	if (dest != NULL)
		return run_client(board, index, dest, remote_index, &p, pause_ms);
	return run_server(board, index, slave);
}
