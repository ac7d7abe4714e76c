/*
 * raw.c: the raw API of mx_raw.h, run by tests/raw_test.go on the hosts of
 * a test network (one board each, veth0). Every mode exits 0 on success and
 * prints "FAIL: ..." on stderr and exits 1 otherwise.
 *
 *   listen <nic-A>      host B: open the raw endpoint of board 0, print
 *                       "ready", wait (poll on mx_raw_handle) for A's
 *                       discovery broadcast, check it byte by byte, read
 *                       a second one into a 20-byte buffer (truncation),
 *                       then unicast a reply to A and wait for its send
 *                       completion; prints "replied".
 *   announce <nic-B>    host A: broadcast the omxoed discovery frame
 *                       (spec/wire.md §6.6) every 100 ms, each send with its
 *                       own context, until B's reply arrives; checks every
 *                       send completion comes back once, in order, with its
 *                       context, and the reply's bytes; prints
 *                       "reply <sends>".
 *   hold                open the raw endpoint of board 0, check a second
 *                       open in the same process gives MX_BUSY, print
 *                       "held", sleep until killed.
 *   open-busy           the raw endpoint of board 0 is held by another
 *                       process: mx_raw_open_endpoint gives MX_BUSY.
 *   open-ok             mx_raw_open_endpoint on board 0 succeeds.
 *   timeout             mx_raw_next_event with timeout 0 and 300 ms on a
 *                       quiet network: MX_RAW_NO_EVENT, after about that
 *                       long; prints "waited <ms>".
 *   misc <nic-X> <nic-Y> <name-Y> <nic-Z> <name-Z> <hostname>
 *                       the no-op and state calls, NULL arguments and bad
 *                       lengths (MX_BAD_REQUEST through the handler, once
 *                       each), mx_raw_remove_peer (OMX_NOT_IMPLEMENTED);
 *                       set_route(X), set_peer_name(Y, name-Y),
 *                       set_peer_name(Z, name-Z), set_hostname(hostname).
 *   lookup <name> <nic> a new process finds the name given by misc:
 *                       mx_hostname_to_nic_id and mx_nic_id_to_hostname.
 *   bad-handles         NULL, forged, closed and foreign handles:
 *                       MX_BAD_ENDPOINT through the handler, no crash.
 *   no-driver           (loopback board) mx_raw_open_endpoint gives
 *                       MX_NO_DRIVER and no endpoint.
 */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "open-mx.h"
#include "mxutil.h"
#include "mx_raw.h"

#define FRAME_LEN 64
#define SERIAL 0x5eed0001u
#define REPLY_MAGIC 0x52504c59u /* "RPLY" */
#define SEND_CTX(i) ((void *)(uintptr_t)(0x1000u + (unsigned)(i)))

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_mac(uint8_t *p, uint64_t nic)
{
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)(nic >> (8 * (5 - i)));
}

static uint64_t get_mac(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 6; i++)
		v = v << 8 | p[i];
	return v;
}

/* build_frame writes a 64-byte RAW frame in the omxoed layout: head to dst
 * from src, nic id of src at 32..39, serial at 40, magic at 44. */
static void build_frame(uint8_t *f, uint64_t dst, uint64_t src, uint32_t serial, uint32_t magic)
{
	memset(f, 0, FRAME_LEN);
	put_mac(f, dst);
	put_mac(f + 6, src);
	f[12] = 0x86;
	f[13] = 0xdf;
	f[16] = 1;
	put32(f + 32, (uint32_t)(src >> 32));
	put32(f + 36, (uint32_t)src);
	put32(f + 40, serial);
	put32(f + 44, magic);
}

/* check_frame compares a received frame with the one build_frame makes. */
static void check_frame(const uint8_t *f, uint32_t len, uint64_t dst, uint64_t src, uint32_t serial, uint32_t magic)
{
	uint8_t want[FRAME_LEN];

	build_frame(want, dst, src, serial, magic);
	CHECK_EQ(len, FRAME_LEN);
	for (int i = 0; i < FRAME_LEN; i++)
		CHECK_MSG(f[i] == want[i], "byte %d is 0x%02x, want 0x%02x (src %012" PRIx64 ")", i, f[i], want[i],
			  get_mac(f + 6));
}

static uint64_t own_nic(void)
{
	uint64_t nic = 0;
	CHECK_OK(mx_board_number_to_nic_id(0, &nic));
	return nic;
}

static mx_raw_endpoint_t open_raw(void)
{
	mx_raw_endpoint_t raw = NULL;
	CHECK_OK(mx_raw_open_endpoint(0, NULL, 0, &raw));
	CHECK(raw != NULL);
	return raw;
}

/* next_event waits for one event and checks the call succeeded. */
static mx_raw_status_t next_event(mx_raw_endpoint_t raw, void **ctx, uint8_t *buf, uint32_t *len, uint32_t timeout)
{
	mx_raw_status_t st = -1;
	uint32_t port = 77;

	CHECK_OK(mx_raw_next_event(raw, &port, ctx, buf, len, timeout, &st));
	CHECK(st == MX_RAW_NO_EVENT || st == MX_RAW_SEND_COMPLETE || st == MX_RAW_RECV_COMPLETE);
	if (st == MX_RAW_RECV_COMPLETE)
		CHECK_EQ(port, 0);
	return st;
}

static int do_listen(uint64_t nic_a)
{
	uint64_t nic_b = own_nic();
	mx_raw_endpoint_t raw = open_raw();
	uint8_t buf[2048], reply[FRAME_LEN];
	uint32_t len;
	void *ctx = NULL;
	mx_endpt_handle_t fd = mx_raw_handle(raw);
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double t0;
	int n;

	CHECK(fd >= 0);
	printf("ready\n");
	fflush(stdout);

	/* The handle polls readable once A's broadcast is here. */
	do
		n = poll(&pfd, 1, 20000);
	while (n < 0 && errno == EINTR);
	CHECK_MSG(n == 1 && (pfd.revents & POLLIN), "poll on the raw handle: %d, revents 0x%x", n, pfd.revents);
	len = sizeof(buf);
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(next_event(raw, &ctx, buf, &len, 0), MX_RAW_RECV_COMPLETE);
	check_frame(buf, len, 0xffffffffffffULL, nic_a, SERIAL, 0);
	CHECK_BYTES(buf + FRAME_LEN, sizeof(buf) - FRAME_LEN, 0xee);

	/* The next broadcast, cut to 20 bytes. */
	len = 20;
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(next_event(raw, &ctx, buf, &len, 5000), MX_RAW_RECV_COMPLETE);
	CHECK_EQ(len, 20);
	CHECK_EQ(get_mac(buf + 6), nic_a);
	CHECK_EQ(buf[16], 1);
	CHECK_BYTES(buf + 20, sizeof(buf) - 20, 0xee);

	/* Unicast reply; broadcasts may still come before its completion. */
	build_frame(reply, nic_a, nic_b, SERIAL, REPLY_MAGIC);
	CHECK_OK(mx_raw_send(raw, 0, NULL, 0, reply, FRAME_LEN, (void *)(uintptr_t)0xb0b));
	t0 = now_ms();
	for (;;) {
		mx_raw_status_t st;

		CHECK_MSG(now_ms() - t0 < 10000, "no send completion for the reply");
		len = sizeof(buf);
		ctx = NULL;
		st = next_event(raw, &ctx, buf, &len, 1000);
		if (st == MX_RAW_SEND_COMPLETE) {
			CHECK_PTR_EQ(ctx, (void *)(uintptr_t)0xb0b);
			break;
		}
		if (st == MX_RAW_RECV_COMPLETE)
			check_frame(buf, len, 0xffffffffffffULL, nic_a, SERIAL, 0);
	}
	CHECK_OK(mx_raw_close_endpoint(raw));
	printf("replied\n");
	return 0;
}

static int do_announce(uint64_t nic_b)
{
	uint64_t nic_a = own_nic();
	mx_raw_endpoint_t raw = open_raw();
	uint8_t frame[FRAME_LEN], buf[2048];
	unsigned sent = 0, completed = 0;
	int replied = 0;
	double t0 = now_ms();

	build_frame(frame, 0xffffffffffffULL, nic_a, SERIAL, 0);
	while (!replied) {
		double next;

		CHECK_MSG(now_ms() - t0 < 20000, "no reply after %u broadcasts", sent);
		CHECK_OK(mx_raw_send(raw, 0, NULL, 0, frame, FRAME_LEN, SEND_CTX(sent)));
		sent++;
		next = now_ms() + 100;
		while (!replied && now_ms() < next) {
			uint32_t len = sizeof(buf);
			void *ctx = NULL;
			mx_raw_status_t st = next_event(raw, &ctx, buf, &len, (uint32_t)(next - now_ms()) + 1);

			if (st == MX_RAW_SEND_COMPLETE) {
				CHECK_PTR_EQ(ctx, SEND_CTX(completed));
				completed++;
				CHECK(completed <= sent);
			} else if (st == MX_RAW_RECV_COMPLETE) {
				/* Only B's unicast reply: never our own broadcasts. */
				check_frame(buf, len, nic_a, nic_b, SERIAL, REPLY_MAGIC);
				replied = 1;
			}
		}
	}
	/* Completions never wait: every send's is there, then nothing. */
	while (completed < sent) {
		uint32_t len = sizeof(buf);
		void *ctx = NULL;
		CHECK_EQ(next_event(raw, &ctx, buf, &len, 0), MX_RAW_SEND_COMPLETE);
		CHECK_PTR_EQ(ctx, SEND_CTX(completed));
		completed++;
	}
	{
		uint32_t len = sizeof(buf);
		void *ctx = NULL;
		CHECK_EQ(next_event(raw, &ctx, buf, &len, 0), MX_RAW_NO_EVENT);
	}
	CHECK_OK(mx_raw_close_endpoint(raw));
	printf("reply %u\n", sent);
	return 0;
}

static int do_hold(void)
{
	mx_raw_endpoint_t raw = open_raw(), second = NULL;

	CHECK(mx_raw_handle(raw) >= 0);
	CHECK_RC(mx_raw_open_endpoint(0, NULL, 0, &second), MX_BUSY);
	CHECK(second == NULL);
	printf("held\n");
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

static int do_open(mx_return_t want)
{
	mx_raw_endpoint_t raw = NULL;

	CHECK_RC(mx_raw_open_endpoint(0, NULL, 0, &raw), want);
	if (want == MX_SUCCESS) {
		CHECK(raw != NULL);
		CHECK_OK(mx_raw_close_endpoint(raw));
	} else {
		CHECK(raw == NULL);
	}
	printf("opened %d\n", (int)want);
	return 0;
}

static int do_timeout(void)
{
	mx_raw_endpoint_t raw = open_raw();
	uint8_t buf[128];
	uint32_t len = sizeof(buf);
	void *ctx = (void *)(uintptr_t)0x77;
	double t0, waited;

	t0 = now_ms();
	CHECK_EQ(next_event(raw, &ctx, buf, &len, 0), MX_RAW_NO_EVENT);
	CHECK_MSG(now_ms() - t0 < 200, "a poll took %.1f ms", now_ms() - t0);
	t0 = now_ms();
	CHECK_EQ(next_event(raw, &ctx, buf, &len, 300), MX_RAW_NO_EVENT);
	waited = now_ms() - t0;
	CHECK_MSG(waited >= 299 && waited < 3000, "a 300 ms timeout took %.1f ms", waited);
	CHECK_EQ(len, sizeof(buf));
	CHECK_PTR_EQ(ctx, (void *)(uintptr_t)0x77);
	CHECK_OK(mx_raw_close_endpoint(raw));
	printf("waited %.0f\n", waited);
	return 0;
}

/* EXPECT_HANDLED checks that call returns code after exactly one handler
 * call with that code. */
#define EXPECT_HANDLED(call, code)                                              \
	do {                                                                    \
		int before_ = handler_calls;                                    \
		CHECK_RC(call, code);                                           \
		CHECK_MSG(handler_calls == before_ + 1, "%s: %d handler calls", \
			  #call, handler_calls - before_);                      \
		CHECK_EQ(handler_last_code, code);                              \
		CHECK_MSG(handler_last_msg[0] != 0 && strlen(handler_last_msg) <= 255, \
			  "%s: handler message \"%s\"", #call, handler_last_msg); \
	} while (0)

/* EXPECT_OK checks that call succeeds without calling the handler. */
#define EXPECT_OK(call)                                                         \
	do {                                                                    \
		int before_ = handler_calls;                                    \
		CHECK_OK(call);                                                 \
		CHECK_MSG(handler_calls == before_, "%s: handler called: %s",   \
			  #call, handler_last_msg);                             \
	} while (0)

static int do_misc(char **argv)
{
	uint64_t nic_x = strtoull(argv[0], NULL, 0), nic_y = strtoull(argv[1], NULL, 0);
	uint64_t nic_z = strtoull(argv[3], NULL, 0);
	mx_raw_endpoint_t raw = open_raw();
	uint8_t frame[2048], blob[16] = { 1, 2, 3 };
	uint32_t ports = 0, len = sizeof(frame);
	mx_line_speed_t speed = MX_SPEED_2G;
	mx_raw_status_t st;
	void *ctx;
	char spaced[] = "two words";

	mx_set_error_handler(mx_counting_handler);
	EXPECT_OK(mx_raw_num_ports(raw, &ports));
	CHECK_EQ(ports, 1);
	EXPECT_OK(mx_raw_line_speed(raw, &speed));
	CHECK_EQ(speed, MX_SPEED_10G);
	EXPECT_OK(mx_raw_set_route_begin(raw));
	EXPECT_OK(mx_raw_set_route(raw, nic_x, blob, 3, 0, 0, MX_HOST_MX));
	EXPECT_OK(mx_raw_set_route_mag(raw, nic_x, blob, 3, 0, 0, MX_HOST_MX, 7));
	EXPECT_OK(mx_raw_set_route_end(raw));
	EXPECT_OK(mx_raw_clear_routes(raw, nic_x, 0));
	EXPECT_OK(mx_raw_set_map_version(raw, 0, own_nic(), 2, 3, 1));
	EXPECT_OK(mx_raw_set_nic_reply_info(raw, blob, sizeof(blob)));
	EXPECT_OK(mx_raw_set_peer_name(raw, nic_y, argv[2]));
	EXPECT_OK(mx_raw_set_peer_name(raw, nic_z, argv[4]));
	EXPECT_OK(mx_raw_set_hostname(raw, argv[5]));

	/* The names are in this process's peer table at once. */
	{
		uint64_t nic = 0;
		char name[MX_MAX_HOSTNAME_LEN];
		EXPECT_OK(mx_hostname_to_nic_id(argv[2], &nic));
		CHECK_EQ(nic, nic_y);
		EXPECT_OK(mx_nic_id_to_hostname(nic_z, name));
		CHECK_STR_EQ(name, argv[4]);
	}

	EXPECT_HANDLED(mx_raw_remove_peer(raw, nic_x), OMX_NOT_IMPLEMENTED);
	EXPECT_HANDLED(mx_raw_num_ports(raw, NULL), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_line_speed(raw, NULL), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_next_event(raw, NULL, &ctx, frame, &len, 0, NULL), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_next_event(raw, NULL, &ctx, frame, NULL, 0, &st), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_next_event(raw, NULL, &ctx, NULL, &len, 0, &st), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_set_peer_name(raw, nic_y, NULL), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_set_peer_name(raw, nic_y, spaced), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_set_peer_name(raw, 1ULL << 48, argv[2]), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_set_route(raw, ~0ULL, NULL, 0, 0, 0, MX_HOST_MX), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_set_hostname(raw, NULL), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_set_hostname(raw, spaced), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_send(raw, 0, NULL, 0, NULL, 64, NULL), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_send(raw, 0, NULL, 0, frame, 13, NULL), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_send(raw, 0, NULL, 0, frame, 1025, NULL), MX_BAD_REQUEST);
	EXPECT_HANDLED(mx_raw_open_endpoint(0, NULL, 0, NULL), MX_BAD_REQUEST);

	/* None of the refused sends left a completion; a good one does. */
	len = sizeof(frame);
	CHECK_EQ(next_event(raw, &ctx, frame, &len, 0), MX_RAW_NO_EVENT);
	build_frame(frame, 0xffffffffffffULL, own_nic(), SERIAL, 0);
	EXPECT_OK(mx_raw_send(raw, 0, NULL, 0, frame, 1024, (void *)(uintptr_t)5));
	len = 0;
	ctx = NULL;
	CHECK_EQ(next_event(raw, &ctx, NULL, &len, 0), MX_RAW_SEND_COMPLETE);
	CHECK_PTR_EQ(ctx, (void *)(uintptr_t)5);
	/* NULL port and context pointers are fine. */
	EXPECT_OK(mx_raw_next_event(raw, NULL, NULL, frame, &len, 0, &st));
	CHECK_EQ(st, MX_RAW_NO_EVENT);

	EXPECT_OK(mx_raw_close_endpoint(raw));
	printf("misc ok\n");
	return 0;
}

static int do_lookup(const char *name, uint64_t want)
{
	uint64_t nic = 0;
	char buf[MX_MAX_HOSTNAME_LEN];
	char copy[MX_MAX_HOSTNAME_LEN];

	snprintf(copy, sizeof(copy), "%s", name);
	CHECK_OK(mx_hostname_to_nic_id(copy, &nic));
	CHECK_EQ(nic, want);
	CHECK_OK(mx_nic_id_to_hostname(want, buf));
	CHECK_STR_EQ(buf, name);
	printf("found %s\n", name);
	return 0;
}

/* bad_raw runs every raw call on handle h: MX_BAD_ENDPOINT each time. */
static void bad_raw(mx_raw_endpoint_t h)
{
	uint8_t buf[64] = { 0 };
	uint32_t u32 = 0, len = sizeof(buf);
	mx_raw_status_t st = 0;
	mx_line_speed_t speed;
	void *ctx = NULL;
	char name[] = "nobody";

	EXPECT_HANDLED(mx_raw_close_endpoint(h), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_send(h, 0, NULL, 0, buf, sizeof(buf), NULL), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_next_event(h, &u32, &ctx, buf, &len, 10, &st), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_num_ports(h, &u32), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_line_speed(h, &speed), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_set_route_begin(h), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_set_route_end(h), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_set_route(h, 1, buf, 0, 0, 0, MX_HOST_MX), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_set_route_mag(h, 1, buf, 0, 0, 0, MX_HOST_MX, 0), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_clear_routes(h, 1, 0), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_remove_peer(h, 1), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_set_map_version(h, 0, 1, 1, 1, 1), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_set_peer_name(h, 1, name), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_set_hostname(h, name), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_raw_set_nic_reply_info(h, buf, sizeof(buf)), MX_BAD_ENDPOINT);
	CHECK_EQ(mx_raw_handle(h), (mx_endpt_handle_t)MX__INVALID_HANDLE);
}

static int do_bad_handles(void)
{
	mx_raw_endpoint_t closed = open_raw(), raw;
	mx_endpoint_addr_t addr;
	struct mxu_ep e;
	uint32_t ports = 0;

	CHECK_OK(mx_raw_close_endpoint(closed));
	mxu_open(&e);
	raw = open_raw();
	mx_set_error_handler(mx_counting_handler);
	bad_raw(NULL);
	bad_raw(closed);
	bad_raw((mx_raw_endpoint_t)(uintptr_t)0x1234);
	bad_raw((mx_raw_endpoint_t)(uintptr_t)0x4000000000000001ULL); /* raw tag, never issued */
	bad_raw((mx_raw_endpoint_t)(uintptr_t)~(uintptr_t)0);
	bad_raw((mx_raw_endpoint_t)e.ep); /* an endpoint is not a raw endpoint */
	/* ... nor the reverse. */
	EXPECT_HANDLED(mx_get_endpoint_addr((mx_endpoint_t)raw, &addr), MX_BAD_ENDPOINT);
	EXPECT_HANDLED(mx_close_endpoint((mx_endpoint_t)raw), MX_BAD_ENDPOINT);
	/* Both still work. */
	EXPECT_OK(mx_raw_num_ports(raw, &ports));
	CHECK_EQ(ports, 1);
	EXPECT_OK(mx_get_endpoint_addr(e.ep, &addr));
	EXPECT_OK(mx_raw_close_endpoint(raw));
	EXPECT_OK(mx_close_endpoint(e.ep));
	printf("bad handles ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	CHECK_OK(mx_init());
	mx_set_error_handler(MX_ERRORS_RETURN);
	if (argc >= 3 && strcmp(argv[1], "listen") == 0)
		return do_listen(strtoull(argv[2], NULL, 0));
	if (argc >= 3 && strcmp(argv[1], "announce") == 0)
		return do_announce(strtoull(argv[2], NULL, 0));
	if (argc >= 2 && strcmp(argv[1], "hold") == 0)
		return do_hold();
	if (argc >= 2 && strcmp(argv[1], "open-busy") == 0)
		return do_open(MX_BUSY);
	if (argc >= 2 && strcmp(argv[1], "open-ok") == 0)
		return do_open(MX_SUCCESS);
	if (argc >= 2 && strcmp(argv[1], "no-driver") == 0)
		return do_open(MX_NO_DRIVER);
	if (argc >= 2 && strcmp(argv[1], "timeout") == 0)
		return do_timeout();
	if (argc >= 8 && strcmp(argv[1], "misc") == 0)
		return do_misc(argv + 2);
	if (argc >= 4 && strcmp(argv[1], "lookup") == 0)
		return do_lookup(argv[2], strtoull(argv[3], NULL, 0));
	if (argc >= 2 && strcmp(argv[1], "bad-handles") == 0)
		return do_bad_handles();
	fprintf(stderr, "usage: raw listen|announce|hold|open-busy|open-ok|no-driver|timeout|misc|lookup|bad-handles ...\n");
	return 2;
}
