/*
 * fanin.c: several sender processes send at the same time into one
 * receiver process of the same host.
 *
 *   fanin r <my index> <first sender index> <senders> <n>
 *   fanin s <my index> <receiver index> <sender id> <n>
 *
 * Sender i (0-based) has endpoint index <first sender index> + i. Once the
 * receiver has connected to every sender it tells them to go, and each
 * sends n messages and then an empty end message, with up to 8 sends in
 * flight: lengths from every size class (0 to 1 MiB, and 4 MiB now and
 * then), isend, issend and 3-segment isendv mixed, each payload a pattern
 * of (sender, sequence), the match info carrying the sender id and the
 * sequence number.
 *
 * The receiver keeps 8 wildcard receives posted (buffers large enough for
 * any message) and takes their completions in posting order, which is the
 * order the messages were matched in: per sender the sequence numbers must
 * then come exactly in order, each once; lengths, payloads, source
 * addresses and statuses are checked, and nothing is left over. It answers
 * each end message through the source address of the message (no connect
 * needed), and the sender waits for that answer before closing.
 */
#include "pair_util.h"

#define M_FAN UINT64_C(0x6600000000000000)
#define M_SPACE UINT64_C(0xff00000000000000)
#define M_FIN UINT64_C(0x6700000000000000)
#define FAN_MATCH(id, seq) (M_FAN | ((uint64_t)(id) << 40) | (uint64_t)(seq))

#define WINDOW 8
#define BIG (4u << 20)
#define MAXLEN BIG
#define MAXSENDERS 16

static const uint32_t sizes[] = { 0, 1, 31, 32, 33, 127, 128, 129, 1000, 4095, 4096, 4097,
				  8192, 32768, 32769, 65536, 200000, 1u << 20 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* the length of message seq of sender id (n: the end message) */
static uint32_t len_of(uint32_t id, uint32_t seq, uint32_t n)
{
	if (seq == n)
		return 0;
	if (seq % 97 == 96)
		return BIG;
	return sizes[(seq + id * 5) % NSIZES];
}

static uint32_t seed_of(uint32_t id, uint32_t seq)
{
	return id * 1000003u + seq;
}

static uint32_t parse(const char *arg)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v > 1000000)
		FAILF("bad number \"%s\"", arg);
	return (uint32_t)v;
}

/* ---- receiver ---- */

static void receiver(uint32_t me, uint32_t first, uint32_t nsenders, uint32_t n)
{
	omx_endpoint_t ep = pu_open(me);
	omx_endpoint_addr_t to[MAXSENDERS];
	omx_request_t slot[WINDOW];
	char *buf[WINDOW];
	uint32_t next[MAXSENDERS];
	uint64_t total = (uint64_t)nsenders * (n + 1), posted = 0, bytes = 0;
	uint32_t ended = 0, switches = 0, last = ~0u;

	if (nsenders == 0 || nsenders > MAXSENDERS)
		FAILF("bad sender count %u", nsenders);
	for (uint32_t i = 0; i < nsenders; i++) {
		to[i] = pu_connect(ep, first + i);
		next[i] = 0;
	}
	for (int w = 0; w < WINDOW; w++) {
		buf[w] = xmalloc(MAXLEN + 64);
		memset(buf[w] + MAXLEN, GUARD, 64);
		slot[w] = NULL;
		if (posted < total) {
			CHECK_OK(omx_irecv(ep, buf[w], MAXLEN, M_FAN, M_SPACE, NULL, &slot[w]));
			posted++;
		}
	}
	for (uint32_t i = 0; i < nsenders; i++)
		pu_signal(ep, to[i], 1);

	for (uint64_t got = 0; got < total; got++) {
		int w = (int)(got % WINDOW);
		omx_status_t st;
		uint32_t id, seq, len;

		st = pu_wait(ep, &slot[w], "fan-in receive");
		id = (uint32_t)((st.match_info >> 40) & 0xffff);
		seq = (uint32_t)(st.match_info & 0xffffffffu);
		if ((st.match_info & M_SPACE) != M_FAN || id >= nsenders)
			FAILF("message %" PRIu64 ": match 0x%" PRIx64 " from no sender", got, st.match_info);
		if (seq != next[id])
			FAILF("message %" PRIu64 " from sender %u has sequence %u, want %u (%s)", got, id, seq, next[id],
			      seq < next[id] ? "duplicate or reordered" : "lost or reordered");
		next[id]++;
		if (last != ~0u && id != last)
			switches++;
		last = id;
		len = len_of(id, seq, n);
		if (st.code != OMX_SUCCESS || st.msg_length != len || st.xfer_length != len)
			FAILF("sender %u message %u: code %d (%s) msg %u xfer %u, want success, %u bytes", id, seq,
			      st.code, omx_strerror(st.code), st.msg_length, st.xfer_length, len);
		if (pu_addr_index(st.addr) != first + id)
			FAILF("sender %u message %u: source endpoint %u, want %u", id, seq, pu_addr_index(st.addr),
			      first + id);
		{
			long bad = pattern_mismatch(buf[w], len, seed_of(id, seq));

			if (bad >= 0)
				FAILF("sender %u message %u (%u bytes): payload differs at offset %ld", id, seq, len, bad);
		}
		CHECK_BYTES(buf[w] + MAXLEN, 64, GUARD);
		bytes += len;
		if (seq == n) {
			/* answer through the message's source address */
			pu_send(ep, st.addr, NULL, 0, M_FIN | id);
			ended++;
		}
		if (posted < total) {
			memset(buf[w] + MAXLEN, GUARD, 64);
			CHECK_OK(omx_irecv(ep, buf[w], MAXLEN, M_FAN, M_SPACE, NULL, &slot[w]));
			posted++;
		}
	}
	CHECK_EQ(ended, nsenders);
	for (uint32_t i = 0; i < nsenders; i++)
		CHECK_EQ(next[i], n + 1);
	for (int w = 0; w < WINDOW; w++) {
		CHECK_PTR_EQ(slot[w], NULL);
		free(buf[w]);
	}
	pu_nothing_unexpected(ep, "after every end message");
	pu_nothing_done(ep, "after every end message");
	CHECK_OK(omx_close_endpoint(ep));
	printf("fanin: received %" PRIu64 " messages, %" PRIu64 " bytes, from %u senders, each exactly once and in "
	       "order\n", total, bytes, nsenders);
	printf("fanin: the sender changed %u times between consecutive messages\n", switches);
}

/* ---- sender ---- */

static void sender(uint32_t me, uint32_t recv_index, uint32_t id, uint32_t n)
{
	omx_endpoint_t ep = pu_open(me);
	omx_endpoint_addr_t dest = pu_connect(ep, recv_index);
	omx_request_t req[WINDOW], fin = NULL;
	char *buf[WINDOW];
	uint32_t len[WINDOW];
	omx_status_t st;
	uint64_t bytes = 0;

	CHECK_OK(omx_irecv(ep, NULL, 0, M_FIN | id, ~(uint64_t)0, NULL, &fin));
	pu_await(ep, 1);
	for (int w = 0; w < WINDOW; w++)
		req[w] = NULL, buf[w] = NULL;
	for (uint32_t seq = 0; seq <= n; seq++) {
		int w = (int)(seq % WINDOW);
		uint64_t match = FAN_MATCH(id, seq);

		if (req[w] != NULL) {
			st = pu_wait(ep, &req[w], "send");
			OMXU_CHECK_STATUS(st, OMX_SUCCESS, len[w], len[w]);
			free(buf[w]);
		}
		len[w] = len_of(id, seq, n);
		buf[w] = xmalloc(len[w]);
		fill_pattern(buf[w], len[w], seed_of(id, seq));
		bytes += len[w];
		if (seq % 7 == 3) {
			CHECK_OK(omx_issend(ep, buf[w], len[w], dest, match, NULL, &req[w]));
		} else if (seq % 11 == 5) {
			omx_seg_t segs[3];
			uint32_t a = len[w] / 3, b = len[w] / 2;

			segs[0].ptr = buf[w];
			segs[0].len = a;
			segs[1].ptr = buf[w] + a;
			segs[1].len = b - a;
			segs[2].ptr = buf[w] + b;
			segs[2].len = len[w] - b;
			CHECK_OK(omx_isendv(ep, segs, 3, dest, match, NULL, &req[w]));
		} else {
			CHECK_OK(omx_isend(ep, buf[w], len[w], dest, match, NULL, &req[w]));
		}
	}
	for (int w = 0; w < WINDOW; w++)
		if (req[w] != NULL) {
			st = pu_wait(ep, &req[w], "send");
			OMXU_CHECK_STATUS(st, OMX_SUCCESS, len[w], len[w]);
			free(buf[w]);
		}
	st = pu_wait(ep, &fin, "the receiver's answer to the end message");
	OMXU_CHECK_STATUS(st, OMX_SUCCESS, 0, 0);
	CHECK_EQ(pu_addr_index(st.addr), recv_index);
	pu_nothing_unexpected(ep, "end");
	pu_nothing_done(ep, "end");
	CHECK_OK(omx_close_endpoint(ep));
	printf("fanin: sender %u sent %u messages, %" PRIu64 " bytes\n", id, n + 1, bytes);
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "r") == 0) {
		pu_init();
		receiver(pu_index(argv[2]), pu_index(argv[3]), parse(argv[4]), parse(argv[5]));
	} else if (argc == 6 && strcmp(argv[1], "s") == 0) {
		pu_init();
		sender(pu_index(argv[2]), pu_index(argv[3]), parse(argv[4]), parse(argv[5]));
	} else {
		fprintf(stderr, "usage: %s r <my index> <first sender index> <senders> <n>\n"
				"       %s s <my index> <receiver index> <sender id> <n>\n", argv[0], argv[0]);
		return 2;
	}
	CHECK_OK(omx_finalize());
	printf("fanin %s: PASS\n", argv[1]);
	return 0;
}
