/*
 * bad_info: omx_get_info and mx_get_info with bad keys, lengths and
 * addresses (api.md 5.27 and 6.4):
 *
 * - unknown key -> BAD_INFO_KEY (Open-MX: global handler; MX: the
 *   endpoint's handler when an endpoint is given);
 * - NULL out value -> BAD_INFO_ADDRESS / MX_BAD_INFO_VAL (endpoint handler
 *   when an endpoint is given, else global);
 * - out_len too short -> BAD_INFO_LENGTH (global, except MX counter labels);
 * - per-board keys without an endpoint: NULL in value -> BAD_INFO_ADDRESS,
 *   in_len 0 -> BAD_INFO_LENGTH, no such board -> BOARD_NOT_FOUND;
 * - documented answers to odd input: an unknown counter index has the label
 *   "** Unknown **"; a short string buffer is truncated and terminated.
 *
 * Each line of the info table is one case; main turns it into the runner's
 * table (badinput.h).
 */
#include "badinput.h"

enum { NO_EP, LIVE_EP };
/* in values */
enum { IN_NULL, IN_BOARD, IN_MISSING_BOARD, IN_BOARD_200, IN_COUNTER_0, IN_COUNTER_200 };
/* out values */
enum { OUT_BUF, OUT_NULL };
/* out_len values that depend on the machine */
#define LEN_IDS_SHORT 0xfffffff0U    /* 8 * board count: no room for the 0 terminator */
#define LEN_LABELS_SHORT 0xfffffff1U /* 128 * counter count - 1 */
/* extra checks after the call */
enum { CHK_NONE, CHK_UNKNOWN_LABEL, CHK_TERMINATED_4, CHK_NA_3 };

struct info_case {
	const char *name;
	enum bad_api api;
	int ep;
	uint32_t key;
	int in;
	uint32_t in_len;
	int out;
	uint32_t out_len;
	int expect;
	enum bad_via via;
	int check;
};

#define O API_OMX
#define M API_MX

static const struct info_case infos[] = {
	/* name                                      api ep  key                         in                in_len out       out_len  expect                     via */
	{ "omx_get_info.key_10",                     O, NO_EP, 10,                       IN_NULL,          0, OUT_BUF, 4,    OMX_BAD_INFO_KEY,     VIA_GLOBAL, 0 },
	{ "omx_get_info.key_0xffffffff",             O, NO_EP, 0xffffffffU,              IN_NULL,          0, OUT_BUF, 4,    OMX_BAD_INFO_KEY,     VIA_GLOBAL, 0 },
	{ "omx_get_info.key_10.endpoint",            O, LIVE_EP, 10,                     IN_NULL,          0, OUT_BUF, 4,    OMX_BAD_INFO_KEY,     VIA_GLOBAL, 0 },
	{ "omx_get_info.board_max.null_out",         O, NO_EP, OMX_INFO_BOARD_MAX,       IN_NULL,          0, OUT_NULL, 4,   OMX_BAD_INFO_ADDRESS, VIA_GLOBAL, 0 },
	{ "omx_get_info.board_max.null_out.endpoint", O, LIVE_EP, OMX_INFO_BOARD_MAX,    IN_NULL,          0, OUT_NULL, 4,   OMX_BAD_INFO_ADDRESS, VIA_EP, 0 },
	{ "omx_get_info.board_max.out_len_3",        O, NO_EP, OMX_INFO_BOARD_MAX,       IN_NULL,          0, OUT_BUF, 3,    OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.endpoint_max.out_len_3",     O, NO_EP, OMX_INFO_ENDPOINT_MAX,    IN_NULL,          0, OUT_BUF, 3,    OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_count.out_len_0",      O, NO_EP, OMX_INFO_BOARD_COUNT,     IN_NULL,          0, OUT_BUF, 0,    OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_count.null_out",       O, NO_EP, OMX_INFO_BOARD_COUNT,     IN_NULL,          0, OUT_NULL, 4,   OMX_BAD_INFO_ADDRESS, VIA_GLOBAL, 0 },
	{ "omx_get_info.board_ids.no_room_for_terminator", O, NO_EP, OMX_INFO_BOARD_IDS, IN_NULL,          0, OUT_BUF, LEN_IDS_SHORT, OMX_BAD_INFO_LENGTH, VIA_GLOBAL, 0 },
	{ "omx_get_info.board_ids.out_len_0",        O, NO_EP, OMX_INFO_BOARD_IDS,       IN_NULL,          0, OUT_BUF, 0,    OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_hostname.null_in",     O, NO_EP, OMX_INFO_BOARD_HOSTNAME,  IN_NULL,          1, OUT_BUF, 80,   OMX_BAD_INFO_ADDRESS, VIA_GLOBAL, 0 },
	{ "omx_get_info.board_hostname.in_len_0",    O, NO_EP, OMX_INFO_BOARD_HOSTNAME,  IN_BOARD,         0, OUT_BUF, 80,   OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_hostname.missing_board", O, NO_EP, OMX_INFO_BOARD_HOSTNAME, IN_MISSING_BOARD, 1, OUT_BUF, 80,   OMX_BOARD_NOT_FOUND,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_hostname.board_200",   O, NO_EP, OMX_INFO_BOARD_HOSTNAME,  IN_BOARD_200,     1, OUT_BUF, 80,   OMX_BOARD_NOT_FOUND,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_hostname.null_out",    O, NO_EP, OMX_INFO_BOARD_HOSTNAME,  IN_BOARD,         1, OUT_NULL, 80,  OMX_BAD_INFO_ADDRESS, VIA_GLOBAL, 0 },
	{ "omx_get_info.board_hostname.null_out.endpoint", O, LIVE_EP, OMX_INFO_BOARD_HOSTNAME, IN_NULL,   0, OUT_NULL, 80,  OMX_BAD_INFO_ADDRESS, VIA_EP, 0 },
	{ "omx_get_info.board_hostname.short_out_is_truncated", O, NO_EP, OMX_INFO_BOARD_HOSTNAME, IN_BOARD, 1, OUT_BUF, 5,   OMX_SUCCESS,          VIA_NONE, CHK_TERMINATED_4 },
	{ "omx_get_info.board_ifacename.null_in",    O, NO_EP, OMX_INFO_BOARD_IFACENAME, IN_NULL,          1, OUT_BUF, 80,   OMX_BAD_INFO_ADDRESS, VIA_GLOBAL, 0 },
	{ "omx_get_info.board_ifacename.in_len_0",   O, NO_EP, OMX_INFO_BOARD_IFACENAME, IN_BOARD,         0, OUT_BUF, 80,   OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_ifacename.missing_board", O, NO_EP, OMX_INFO_BOARD_IFACENAME, IN_MISSING_BOARD, 1, OUT_BUF, 80, OMX_BOARD_NOT_FOUND,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_numa_node.null_in",    O, NO_EP, OMX_INFO_BOARD_NUMA_NODE, IN_NULL,          1, OUT_BUF, 4,    OMX_BAD_INFO_ADDRESS, VIA_GLOBAL, 0 },
	{ "omx_get_info.board_numa_node.in_len_0",   O, NO_EP, OMX_INFO_BOARD_NUMA_NODE, IN_BOARD,         0, OUT_BUF, 4,    OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_numa_node.missing_board", O, NO_EP, OMX_INFO_BOARD_NUMA_NODE, IN_MISSING_BOARD, 1, OUT_BUF, 4,  OMX_BOARD_NOT_FOUND,  VIA_GLOBAL, 0 },
	{ "omx_get_info.board_numa_node.out_len_3",  O, NO_EP, OMX_INFO_BOARD_NUMA_NODE, IN_BOARD,         1, OUT_BUF, 3,    OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.counter_max.out_len_3",      O, NO_EP, OMX_INFO_COUNTER_MAX,     IN_NULL,          0, OUT_BUF, 3,    OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.counter_values.out_len_339", O, NO_EP, OMX_INFO_COUNTER_VALUES,  IN_BOARD,         1, OUT_BUF, 339,  OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.counter_values.out_len_339.endpoint", O, LIVE_EP, OMX_INFO_COUNTER_VALUES, IN_NULL, 0, OUT_BUF, 339, OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.counter_values.missing_board", O, NO_EP, OMX_INFO_COUNTER_VALUES, IN_MISSING_BOARD, 1, OUT_BUF, 340,  OMX_BOARD_NOT_FOUND,  VIA_GLOBAL, 0 },
	{ "omx_get_info.counter_label.out_len_1",    O, NO_EP, OMX_INFO_COUNTER_LABEL,   IN_COUNTER_0,     1, OUT_BUF, 1,    OMX_BAD_INFO_LENGTH,  VIA_GLOBAL, 0 },
	{ "omx_get_info.counter_label.null_out",     O, NO_EP, OMX_INFO_COUNTER_LABEL,   IN_COUNTER_0,     1, OUT_NULL, 128, OMX_BAD_INFO_ADDRESS, VIA_GLOBAL, 0 },
	{ "omx_get_info.counter_label.unknown_index", O, NO_EP, OMX_INFO_COUNTER_LABEL,  IN_COUNTER_200,   1, OUT_BUF, 128,  OMX_SUCCESS,          VIA_NONE, CHK_UNKNOWN_LABEL },
	{ "omx_get_info.counter_label.unknown_index.out_len_13", O, NO_EP, OMX_INFO_COUNTER_LABEL, IN_COUNTER_200, 1, OUT_BUF, 13, OMX_BAD_INFO_LENGTH, VIA_GLOBAL, 0 },

	{ "mx_get_info.key_0",                       M, NO_EP, 0,                        IN_NULL,          0, OUT_BUF, 4,    MX_BAD_INFO_KEY,      VIA_GLOBAL, 0 },
	{ "mx_get_info.key_17",                      M, NO_EP, 17,                       IN_NULL,          0, OUT_BUF, 4,    MX_BAD_INFO_KEY,      VIA_GLOBAL, 0 },
	{ "mx_get_info.key_0xffffffff",              M, NO_EP, 0xffffffffU,              IN_NULL,          0, OUT_BUF, 4,    MX_BAD_INFO_KEY,      VIA_GLOBAL, 0 },
	{ "mx_get_info.key_17.endpoint",             M, LIVE_EP, 17,                     IN_NULL,          0, OUT_BUF, 4,    MX_BAD_INFO_KEY,      VIA_EP, 0 },
	{ "mx_get_info.nic_count.out_len_3",         M, NO_EP, MX_NIC_COUNT,             IN_NULL,          0, OUT_BUF, 3,    MX_BAD_INFO_LENGTH,   VIA_GLOBAL, 0 },
	{ "mx_get_info.nic_count.null_out",          M, NO_EP, MX_NIC_COUNT,             IN_NULL,          0, OUT_NULL, 4,   MX_BAD_INFO_VAL,      VIA_GLOBAL, 0 },
	{ "mx_get_info.nic_count.null_out.endpoint", M, LIVE_EP, MX_NIC_COUNT,           IN_NULL,          0, OUT_NULL, 4,   MX_BAD_INFO_VAL,      VIA_EP, 0 },
	{ "mx_get_info.nic_ids.no_room_for_terminator", M, NO_EP, MX_NIC_IDS,            IN_NULL,          0, OUT_BUF, LEN_IDS_SHORT, MX_BAD_INFO_LENGTH, VIA_GLOBAL, 0 },
	{ "mx_get_info.max_native_endpoints.out_len_3", M, NO_EP, MX_MAX_NATIVE_ENDPOINTS, IN_NULL,        0, OUT_BUF, 3,    MX_BAD_INFO_LENGTH,   VIA_GLOBAL, 0 },
	{ "mx_get_info.counters_count.out_len_3",    M, NO_EP, MX_COUNTERS_COUNT,        IN_NULL,          0, OUT_BUF, 3,    MX_BAD_INFO_LENGTH,   VIA_GLOBAL, 0 },
	{ "mx_get_info.counters_labels.short",       M, NO_EP, MX_COUNTERS_LABELS,       IN_BOARD,         1, OUT_BUF, LEN_LABELS_SHORT, MX_BAD_INFO_LENGTH, VIA_GLOBAL, 0 },
	{ "mx_get_info.counters_labels.short.endpoint", M, LIVE_EP, MX_COUNTERS_LABELS,  IN_NULL,          0, OUT_BUF, LEN_LABELS_SHORT, MX_BAD_INFO_LENGTH, VIA_EP, 0 },
	{ "mx_get_info.counters_values.out_len_339", M, NO_EP, MX_COUNTERS_VALUES,       IN_BOARD,         1, OUT_BUF, 339,  MX_BAD_INFO_LENGTH,   VIA_GLOBAL, 0 },
	{ "mx_get_info.counters_values.missing_board", M, NO_EP, MX_COUNTERS_VALUES,     IN_MISSING_BOARD, 1, OUT_BUF, 340,  MX_BOARD_UNKNOWN,     VIA_GLOBAL, 0 },
	{ "mx_get_info.numa_node.null_in",           M, NO_EP, MX_NUMA_NODE,             IN_NULL,          1, OUT_BUF, 4,    MX_BAD_INFO_VAL,      VIA_GLOBAL, 0 },
	{ "mx_get_info.numa_node.missing_board",     M, NO_EP, MX_NUMA_NODE,             IN_MISSING_BOARD, 1, OUT_BUF, 4,    MX_BOARD_UNKNOWN,     VIA_GLOBAL, 0 },
	/* 6.4: the constant keys do not check out/out_len (and must not crash). */
	{ "mx_get_info.native_requests.null_out",    M, NO_EP, MX_NATIVE_REQUESTS,       IN_NULL,          0, OUT_NULL, 4,   MX_SUCCESS,           VIA_NONE, 0 },
	{ "mx_get_info.line_speed.null_out.endpoint", M, LIVE_EP, MX_LINE_SPEED,         IN_NULL,          0, OUT_NULL, 0,   MX_SUCCESS,           VIA_NONE, 0 },
	{ "mx_get_info.product_code.short_out_is_truncated", M, NO_EP, MX_PRODUCT_CODE,  IN_NULL,          0, OUT_BUF, 4,    MX_SUCCESS,           VIA_NONE, CHK_NA_3 },
};

#define NINFOS (sizeof(infos) / sizeof(infos[0]))

static omx_endpoint_t oep;
static mx_endpoint_t mep;
static uint8_t board8, missing8, board200 = 200, counter0 = 0, counter200 = 200;
static uint32_t board_count, counter_count;
static union {
	char c[65536];
	uint64_t u64[8192];
} out;

static void *in_ptr(int in)
{
	switch (in) {
	case IN_BOARD:
		return &board8;
	case IN_MISSING_BOARD:
		return &missing8;
	case IN_BOARD_200:
		return &board200;
	case IN_COUNTER_0:
		return &counter0;
	case IN_COUNTER_200:
		return &counter200;
	default:
		return NULL;
	}
}

static int info_call(long i)
{
	const struct info_case *c = &infos[i];
	uint32_t len = c->out_len;
	void *o = c->out == OUT_NULL ? NULL : out.c;
	int rc;

	if (len == LEN_IDS_SHORT)
		len = 8 * board_count;
	else if (len == LEN_LABELS_SHORT)
		len = 128 * counter_count - 1;
	memset(out.c, 'x', sizeof(out.c));
	if (c->api == API_OMX)
		rc = omx_get_info(c->ep == LIVE_EP ? oep : NULL, (omx_info_key_t)c->key, in_ptr(c->in), c->in_len, o, len);
	else
		rc = mx_get_info(c->ep == LIVE_EP ? mep : NULL, (mx_get_info_key_t)c->key, in_ptr(c->in), c->in_len, o, len);

	switch (c->check) {
	case CHK_UNKNOWN_LABEL:
		BAD_CHECK(strcmp(out.c, "** Unknown **") == 0, "label \"%.40s\", want \"** Unknown **\"", out.c);
		break;
	case CHK_TERMINATED_4:
		BAD_CHECK(memchr(out.c, 0, 5) != NULL && strlen(out.c) == 4,
			  "a 5-byte buffer did not get 4 characters and a NUL");
		BAD_CHECK(out.c[5] == 'x', "wrote past out_len");
		break;
	case CHK_NA_3:
		BAD_CHECK(memcmp(out.c, "N/A", 4) == 0, "got \"%.4s\", want \"N/A\" and a NUL", out.c);
		break;
	}
	return rc;
}

static void setup(void)
{
	uint32_t board;
	uint64_t nic;

	BAD_MUST(omx_init());
	BAD_MUST(mx_init());
	bad_board_info(&board, &nic, &missing8);
	board8 = (uint8_t)board;
	BAD_MUST(omx_get_info(NULL, OMX_INFO_BOARD_COUNT, NULL, 0, &board_count, sizeof(board_count)));
	BAD_MUST(mx_get_info(NULL, MX_COUNTERS_COUNT, NULL, 0, &counter_count, sizeof(counter_count)));
	BAD_CHECK(counter_count > 0, "MX_COUNTERS_COUNT is 0");
	bad_phase_done();
	oep = bad_open_omx(0, 0);
	mep = bad_open_mx();
}

static void teardown(void)
{
	BAD_MUST(omx_close_endpoint(oep));
	BAD_MUST(mx_close_endpoint(mep));
	BAD_MUST(omx_finalize());
}

static struct bad_case cases[NINFOS];

int main(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < NINFOS; i++) {
		cases[i].name = infos[i].name;
		cases[i].call = info_call;
		cases[i].arg = (long)i;
		cases[i].api = infos[i].api;
		cases[i].expect = infos[i].expect;
		cases[i].via = infos[i].via;
	}
	return bad_main(cases, NINFOS, setup, teardown, argc, argv);
}
