/*
 * bad_misc: library state and global functions, Open-MX and MX APIs.
 *
 * - use before init -> NOT_INITIALIZED (global handler, installed before
 *   init; BOARD_COUNT / MX_NIC_COUNT return it directly); a bad API version
 *   -> BAD_LIB_ABI; double init -> SUCCESS; finalize when not initialized
 *   -> SUCCESS; after finalize the library is uninitialized again;
 * - board/nic/hostname conversions: missing board, unknown nic_id, unknown,
 *   NULL and oversize (> 79 chars) host names, NULL outputs;
 * - the error handler: its reply is what the call returns;
 *   set_error_handler returns the previous handler; OMX_ERRORS_RETURN and
 *   MX_ERRORS_RETURN; an endpoint handler reset to NULL falls back to the
 *   global one;
 * - strerror of unknown codes; the raw API without a raw endpoint.
 *
 * The table runs in order: its cases walk the library through
 * uninitialized -> initialized -> finalized -> initialized.
 *
 * Fatal modes (argv[1]), checked by the Go runner from the exit status and
 * stderr: "fatal-omx", "fatal-mx", "fatal-explicit-omx", "fatal-explicit-mx"
 * (a bad call with the fatal handler: exit 255, "OMX: <message>: <strerror>"),
 * "fatal-before-init" (exit 255, "OMX: BeforeInit: ..."), "fatal-off" (run
 * with OMX_FATAL_ERRORS=0: the bad call returns).
 */
#include "badinput.h"
#include "mx_raw.h"

#include <sys/mman.h>
#include <unistd.h>

#define UNKNOWN_NIC 0x0000123456789abcULL

static uint32_t board;
static uint64_t nic;
static uint8_t missing;
static char hostname[OMX_HOSTNAMELEN_MAX];
static char longname[1001];
static int have_board;

/* need_board reads the local board's numbers once the library is
 * initialized; a case calls it before bad_arm. */
static void need_board(void)
{
	if (have_board)
		return;
	bad_board_info(&board, &nic, &missing);
	BAD_MUST(omx_nic_id_to_hostname(nic, hostname));
	BAD_CHECK(hostname[0] != 0, "the local board has an empty host name");
	have_board = 1;
	bad_arm();
}

/* ---- init and finalize ---- */

static int c_omx_init(long a) { (void)a; return omx_init(); }
static int c_mx_init(long a) { (void)a; return mx_init(); }
static int c_omx_init_api(long api) { return omx__init_api((int)api); }
static int c_mx_init_api(long api) { return mx__init_api((int)api); }
static int c_omx_finalize(long a) { (void)a; return omx_finalize(); }
static int c_mx_finalize(long a) { (void)a; return mx_finalize(); }

static int c_omx_open(long a)
{
	omx_endpoint_t ep = NULL;
	int rc;

	(void)a;
	rc = omx_open_endpoint(OMX_ANY_NIC, OMX_ANY_ENDPOINT, BAD_KEY, NULL, 0, &ep);
	if (rc == OMX_SUCCESS) {
		BAD_CHECK(ep != NULL, "success with a NULL endpoint");
		if (ep)
			omx_close_endpoint(ep);
	}
	return rc;
}

static int c_mx_open(long a)
{
	mx_endpoint_t ep = NULL;
	int rc;

	(void)a;
	rc = mx_open_endpoint(MX_ANY_NIC, MX_ANY_ENDPOINT, BAD_KEY, NULL, 0, &ep);
	if (rc == MX_SUCCESS) {
		BAD_CHECK(ep != NULL, "success with a NULL endpoint");
		if (ep)
			mx_close_endpoint(ep);
	}
	return rc;
}

/* ---- conversions; arg selects the bad input ---- */

enum {
	B_MISSING = 1, /* a board index that does not exist */
	B_200,         /* an index >= board_max */
	B_LIVE,        /* the local board (for NULL-output cases) */
	N_UNKNOWN,     /* a nic_id nobody has */
	H_UNKNOWN,     /* a host name nobody has */
	H_NULL,        /* NULL host name */
	H_80,          /* 80 characters: one more than the longest legal name */
	H_1000,        /* 1000 characters */
	H_PREFIXED,    /* the local name followed by 100 more characters */
	H_PAGE_END,    /* a short unknown name ending just before an unmapped page */
	OUT_NULL       /* legal input, NULL output */
};

static uint32_t board_arg(long how)
{
	return how == B_MISSING ? missing : how == B_200 ? 200 : board;
}

static char *host_arg(long how)
{
	size_t n;

	switch (how) {
	case H_UNKNOWN:
		return "no-such-host.invalid:0";
	case H_NULL:
		return NULL;
	case H_80:
		memset(longname, 'a', 80);
		longname[80] = 0;
		return longname;
	case H_1000:
		memset(longname, 'b', 1000);
		longname[1000] = 0;
		return longname;
	case H_PAGE_END: {
		/* The library must read up to the NUL only, not a fixed 80 bytes. */
		long pg = sysconf(_SC_PAGESIZE);
		char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED || mprotect(m + pg, pg, PROT_NONE) != 0)
			BAD_CHECK(0, "mmap/mprotect failed");
		strcpy(m + pg - 4, "q:0");
		return m + pg - 4;
	}
	case H_PREFIXED:
		n = strlen(hostname);
		memcpy(longname, hostname, n);
		memset(longname + n, 'c', 100);
		longname[n + 100] = 0;
		return longname;
	default:
		return hostname;
	}
}

static int c_omx_board_to_nic(long how)
{
	uint64_t id;
	need_board();
	return omx_board_number_to_nic_id(board_arg(how), how == OUT_NULL ? NULL : &id);
}

static int c_omx_nic_to_board(long how)
{
	uint32_t b;
	need_board();
	return omx_nic_id_to_board_number(how == N_UNKNOWN ? UNKNOWN_NIC : nic, how == OUT_NULL ? NULL : &b);
}

static int c_omx_host_to_nic(long how)
{
	uint64_t id = 7;
	int rc;

	need_board();
	rc = omx_hostname_to_nic_id(host_arg(how), how == OUT_NULL ? NULL : &id);
	if (how != OUT_NULL && rc == OMX_SUCCESS)
		BAD_CHECK(0, "found nic_id %#llx", (unsigned long long)id);
	return rc;
}

static int c_omx_nic_to_host(long how)
{
	char name[OMX_HOSTNAMELEN_MAX];
	need_board();
	return omx_nic_id_to_hostname(how == N_UNKNOWN ? UNKNOWN_NIC : nic, how == OUT_NULL ? NULL : name);
}

static int c_mx_board_to_nic(long how)
{
	uint64_t id;
	need_board();
	return mx_board_number_to_nic_id(board_arg(how), how == OUT_NULL ? NULL : &id);
}

static int c_mx_nic_to_board(long how)
{
	uint32_t b;
	need_board();
	return mx_nic_id_to_board_number(how == N_UNKNOWN ? UNKNOWN_NIC : nic, how == OUT_NULL ? NULL : &b);
}

static int c_mx_host_to_nic(long how)
{
	uint64_t id;
	need_board();
	return mx_hostname_to_nic_id(host_arg(how), how == OUT_NULL ? NULL : &id);
}

static int c_mx_nic_to_host(long how)
{
	char name[MX_MAX_HOSTNAME_LEN];
	need_board();
	return mx_nic_id_to_hostname(how == N_UNKNOWN ? UNKNOWN_NIC : nic, how == OUT_NULL ? NULL : name);
}

/* Before init the conversions must not look anything up: plain inputs. */
static int c_omx_conv_before_init(long which)
{
	uint64_t id;
	uint32_t b;
	char name[OMX_HOSTNAMELEN_MAX];

	switch (which) {
	case 0:
		return omx_board_number_to_nic_id(0, &id);
	case 1:
		return omx_nic_id_to_board_number(UNKNOWN_NIC, &b);
	case 2:
		return omx_hostname_to_nic_id("localhost", &id);
	default:
		return omx_nic_id_to_hostname(UNKNOWN_NIC, name);
	}
}

static int c_mx_conv_before_init(long which)
{
	uint64_t id;
	uint32_t b;
	char name[MX_MAX_HOSTNAME_LEN];

	switch (which) {
	case 0:
		return mx_board_number_to_nic_id(0, &id);
	case 1:
		return mx_nic_id_to_board_number(UNKNOWN_NIC, &b);
	case 2:
		return mx_hostname_to_nic_id("localhost", &id);
	default:
		return mx_nic_id_to_hostname(UNKNOWN_NIC, name);
	}
}

static int c_omx_info_before_init(long key)
{
	uint32_t v;
	return omx_get_info(NULL, (omx_info_key_t)key, NULL, 0, &v, sizeof(v));
}

static int c_mx_info_before_init(long key)
{
	uint32_t v;
	return mx_get_info(NULL, (mx_get_info_key_t)key, NULL, 0, &v, sizeof(v));
}

/* ---- error handlers ---- */

static omx_return_t other_omx(char *msg, omx_return_t code)
{
	(void)msg;
	return code;
}

static mx_return_t other_mx(char *msg, mx_return_t code)
{
	(void)msg;
	return code;
}

static mx_return_t third_mx(char *msg, mx_return_t code)
{
	(void)msg;
	return code;
}

/* omx_set_error_handler(NULL, h) returns the previous global handler. */
static int c_omx_set_error_handler_previous(long a)
{
	omx_error_handler_t prev;

	(void)a;
	prev = omx_set_error_handler(NULL, other_omx);
	BAD_CHECK(prev == bad_omx_global, "first call returned %p, not the installed handler", (void *)prev);
	prev = omx_set_error_handler(NULL, bad_omx_global);
	BAD_CHECK(prev == other_omx, "second call returned %p, not the handler set before", (void *)prev);
	return OMX_SUCCESS;
}

/* mx_set_error_handler returns the previous MX handler (not the new one). */
static int c_mx_set_error_handler_previous(long a)
{
	mx_error_handler_t prev;

	(void)a;
	prev = mx_set_error_handler(other_mx);
	BAD_CHECK(prev == bad_mx_global, "first call returned %p, not the installed handler", (void *)prev);
	prev = mx_set_error_handler(third_mx);
	BAD_CHECK(prev == other_mx, "second call returned %p, not the handler set before", (void *)prev);
	mx_set_error_handler(bad_mx_global);
	return MX_SUCCESS;
}

/* The predefined "return" handlers: no counting handler is called. */
static int c_omx_errors_return(long a)
{
	uint64_t id;

	(void)a;
	need_board();
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	return omx_board_number_to_nic_id(200, &id);
}

static int c_mx_errors_return(long a)
{
	uint64_t id;

	(void)a;
	need_board();
	mx_set_error_handler(MX_ERRORS_RETURN);
	return mx_board_number_to_nic_id(200, &id);
}

/* An endpoint whose handler is reset to NULL uses the global one. */
static int c_omx_endpoint_handler_null(long a)
{
	omx_endpoint_t ep;
	omx_error_handler_t prev;
	omx_status_t st;
	int rc;

	(void)a;
	ep = bad_open_omx(0, 0);
	prev = omx_set_error_handler(ep, NULL);
	BAD_CHECK(prev == bad_omx_ep, "omx_set_error_handler(ep) returned %p, not the endpoint handler", (void *)prev);
	bad_arm();
	rc = omx_test_any(ep, 0, 0, &st, NULL);
	omx_close_endpoint(ep);
	return rc;
}

/* An endpoint handler set after open with omx_set_error_handler is used. */
static int c_omx_endpoint_handler_set(long a)
{
	omx_endpoint_t ep = NULL;
	omx_error_handler_t prev;
	omx_status_t st;
	int rc;

	(void)a;
	BAD_MUST(omx_open_endpoint(OMX_ANY_NIC, OMX_ANY_ENDPOINT, BAD_KEY, NULL, 0, &ep));
	prev = omx_set_error_handler(ep, bad_omx_ep);
	BAD_CHECK(prev == NULL, "omx_set_error_handler(ep) returned %p for an endpoint without handler", (void *)prev);
	bad_arm();
	rc = omx_test_any(ep, 0, 0, &st, NULL);
	omx_close_endpoint(ep);
	return rc;
}

/* ---- strerror ---- */

static int c_strerror(long which)
{
	const char *s;

	switch (which) {
	case 0:
		s = omx_strerror((omx_return_t)1000);
		break;
	case 1:
		s = omx_strerror((omx_return_t)2); /* a hole in the table */
		break;
	case 2:
		s = mx_strerror((mx_return_t)200);
		break;
	default:
		s = mx_strstatus((mx_status_code_t)200);
		break;
	}
	BAD_CHECK(s != NULL && strcmp(s, "Unknown Return Code") == 0, "got \"%s\"", s ? s : "(null)");
	return 0;
}

/* ---- raw API without a raw endpoint ---- */

enum {
	RAW_OPEN = 1, RAW_CLOSE, RAW_SEND, RAW_NEXT_EVENT, RAW_NUM_PORTS, RAW_LINE_SPEED, RAW_ROUTE_BEGIN,
	RAW_ROUTE_END, RAW_SET_ROUTE, RAW_SET_ROUTE_MAG, RAW_CLEAR_ROUTES, RAW_REMOVE_PEER, RAW_MAP_VERSION,
	RAW_PEER_NAME, RAW_HOSTNAME, RAW_REPLY_INFO, RAW_HANDLE
};

static int c_raw(long which)
{
	char pkt[64], name[] = "raw-test";
	uint32_t u32 = 0, port = 0, len = sizeof(pkt);
	void *ctx = NULL;
	mx_raw_status_t st = 0;
	mx_line_speed_t speed;
	mx_raw_endpoint_t raw = NULL;
	int rc;

	memset(pkt, 0, sizeof(pkt));
	switch (which) {
	case RAW_OPEN:
		need_board();
		rc = mx_raw_open_endpoint(board, NULL, 0, &raw);
		BAD_CHECK(raw == NULL, "a failed open returned a raw endpoint");
		return rc;
	case RAW_CLOSE:
		return mx_raw_close_endpoint(NULL);
	case RAW_SEND:
		return mx_raw_send(NULL, 0, NULL, 0, pkt, sizeof(pkt), NULL);
	case RAW_NEXT_EVENT:
		return mx_raw_next_event(NULL, &port, &ctx, pkt, &len, 10, &st);
	case RAW_NUM_PORTS:
		return mx_raw_num_ports(NULL, &u32);
	case RAW_LINE_SPEED:
		return mx_raw_line_speed(NULL, &speed);
	case RAW_ROUTE_BEGIN:
		return mx_raw_set_route_begin(NULL);
	case RAW_ROUTE_END:
		return mx_raw_set_route_end(NULL);
	case RAW_SET_ROUTE:
		return mx_raw_set_route(NULL, UNKNOWN_NIC, pkt, 0, 0, 0, MX_HOST_MX);
	case RAW_SET_ROUTE_MAG:
		return mx_raw_set_route_mag(NULL, UNKNOWN_NIC, pkt, 0, 0, 0, MX_HOST_MX, 0);
	case RAW_CLEAR_ROUTES:
		return mx_raw_clear_routes(NULL, UNKNOWN_NIC, 0);
	case RAW_REMOVE_PEER:
		return mx_raw_remove_peer(NULL, UNKNOWN_NIC);
	case RAW_MAP_VERSION:
		return mx_raw_set_map_version(NULL, 0, UNKNOWN_NIC, 1, 1, 1);
	case RAW_PEER_NAME:
		return mx_raw_set_peer_name(NULL, UNKNOWN_NIC, name);
	case RAW_HOSTNAME:
		return mx_raw_set_hostname(NULL, name);
	case RAW_REPLY_INFO:
		return mx_raw_set_nic_reply_info(NULL, pkt, sizeof(pkt));
	default:
		/* mx_raw_handle cannot report an error: it must only survive. */
		(void)mx_raw_handle(NULL);
		return 0;
	}
}

static const struct bad_case cases[] = {
	/* Not initialized yet. */
	CASE("omx_open_endpoint.before_init", c_omx_open, 0, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("mx_open_endpoint.before_init", c_mx_open, 0, API_MX, MX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_board_number_to_nic_id.before_init", c_omx_conv_before_init, 0, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_nic_id_to_board_number.before_init", c_omx_conv_before_init, 1, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_hostname_to_nic_id.before_init", c_omx_conv_before_init, 2, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_nic_id_to_hostname.before_init", c_omx_conv_before_init, 3, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("mx_board_number_to_nic_id.before_init", c_mx_conv_before_init, 0, API_MX, MX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("mx_nic_id_to_board_number.before_init", c_mx_conv_before_init, 1, API_MX, MX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("mx_hostname_to_nic_id.before_init", c_mx_conv_before_init, 2, API_MX, MX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("mx_nic_id_to_hostname.before_init", c_mx_conv_before_init, 3, API_MX, MX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_get_info.board_max.before_init", c_omx_info_before_init, OMX_INFO_BOARD_MAX, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_get_info.endpoint_max.before_init", c_omx_info_before_init, OMX_INFO_ENDPOINT_MAX, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_get_info.board_count.before_init", c_omx_info_before_init, OMX_INFO_BOARD_COUNT, API_OMX, OMX_NOT_INITIALIZED, VIA_NONE),
	CASE("mx_get_info.nic_count.before_init", c_mx_info_before_init, MX_NIC_COUNT, API_MX, MX_NOT_INITIALIZED, VIA_NONE),
	CASE("mx_get_info.max_native_endpoints.before_init", c_mx_info_before_init, MX_MAX_NATIVE_ENDPOINTS, API_MX, MX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_finalize.before_init", c_omx_finalize, 0, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("mx_finalize.before_init", c_mx_finalize, 0, API_MX, MX_SUCCESS, VIA_NONE),
	CASE("omx__init_api.api_0x201", c_omx_init_api, 0x201, API_OMX, OMX_BAD_LIB_ABI, VIA_GLOBAL),
	CASE("omx__init_api.api_0", c_omx_init_api, 0, API_OMX, OMX_BAD_LIB_ABI, VIA_GLOBAL),
	CASE("mx__init_api.api_0x401", c_mx_init_api, 0x401, API_MX, MX_BAD_LIB_VERSION, VIA_GLOBAL),
	CASE("omx_open_endpoint.after_failed_init", c_omx_open, 0, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),

	/* Init, twice. */
	CASE("omx_init.first", c_omx_init, 0, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("omx_init.second", c_omx_init, 0, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("mx_init.while_initialized", c_mx_init, 0, API_MX, MX_SUCCESS, VIA_NONE),

	/* Conversions. */
	CASE("omx_board_number_to_nic_id.missing_board", c_omx_board_to_nic, B_MISSING, API_OMX, OMX_BOARD_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_board_number_to_nic_id.board_200", c_omx_board_to_nic, B_200, API_OMX, OMX_BOARD_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_board_number_to_nic_id.null_out", c_omx_board_to_nic, OUT_NULL, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_nic_id_to_board_number.unknown_nic", c_omx_nic_to_board, N_UNKNOWN, API_OMX, OMX_BOARD_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_nic_id_to_board_number.null_out", c_omx_nic_to_board, OUT_NULL, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_hostname_to_nic_id.unknown", c_omx_host_to_nic, H_UNKNOWN, API_OMX, OMX_PEER_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_hostname_to_nic_id.null_hostname", c_omx_host_to_nic, H_NULL, API_OMX, OMX_PEER_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_hostname_to_nic_id.80_chars", c_omx_host_to_nic, H_80, API_OMX, OMX_PEER_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_hostname_to_nic_id.1000_chars", c_omx_host_to_nic, H_1000, API_OMX, OMX_PEER_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_hostname_to_nic_id.local_name_plus_100_chars", c_omx_host_to_nic, H_PREFIXED, API_OMX, OMX_PEER_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_hostname_to_nic_id.name_before_unmapped_page", c_omx_host_to_nic, H_PAGE_END, API_OMX, OMX_PEER_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_hostname_to_nic_id.null_out", c_omx_host_to_nic, OUT_NULL, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_nic_id_to_hostname.unknown_nic", c_omx_nic_to_host, N_UNKNOWN, API_OMX, OMX_PEER_NOT_FOUND, VIA_GLOBAL),
	CASE("omx_nic_id_to_hostname.null_buffer", c_omx_nic_to_host, OUT_NULL, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_board_number_to_nic_id.missing_board", c_mx_board_to_nic, B_MISSING, API_MX, MX_BOARD_UNKNOWN, VIA_GLOBAL),
	CASE("mx_board_number_to_nic_id.board_200", c_mx_board_to_nic, B_200, API_MX, MX_BOARD_UNKNOWN, VIA_GLOBAL),
	CASE("mx_board_number_to_nic_id.null_out", c_mx_board_to_nic, OUT_NULL, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_nic_id_to_board_number.unknown_nic", c_mx_nic_to_board, N_UNKNOWN, API_MX, MX_BOARD_UNKNOWN, VIA_GLOBAL),
	CASE("mx_nic_id_to_board_number.null_out", c_mx_nic_to_board, OUT_NULL, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_hostname_to_nic_id.unknown", c_mx_host_to_nic, H_UNKNOWN, API_MX, MX_HOST_NOT_FOUND, VIA_GLOBAL),
	CASE("mx_hostname_to_nic_id.null_hostname", c_mx_host_to_nic, H_NULL, API_MX, MX_HOST_NOT_FOUND, VIA_GLOBAL),
	CASE("mx_hostname_to_nic_id.80_chars", c_mx_host_to_nic, H_80, API_MX, MX_HOST_NOT_FOUND, VIA_GLOBAL),
	CASE("mx_hostname_to_nic_id.1000_chars", c_mx_host_to_nic, H_1000, API_MX, MX_HOST_NOT_FOUND, VIA_GLOBAL),
	CASE("mx_hostname_to_nic_id.null_out", c_mx_host_to_nic, OUT_NULL, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),
	CASE("mx_nic_id_to_hostname.unknown_nic", c_mx_nic_to_host, N_UNKNOWN, API_MX, MX_HOST_NOT_FOUND, VIA_GLOBAL),
	CASE("mx_nic_id_to_hostname.null_buffer", c_mx_nic_to_host, OUT_NULL, API_MX, MX_BAD_REQUEST, VIA_GLOBAL),

	/* The handler's reply is what the call returns. */
	CASE_REPLY("omx_board_number_to_nic_id.handler_returns_success", c_omx_board_to_nic, B_200, API_OMX, OMX_BOARD_NOT_FOUND, VIA_GLOBAL, OMX_SUCCESS),
	CASE_REPLY("omx_board_number_to_nic_id.handler_returns_busy", c_omx_board_to_nic, B_200, API_OMX, OMX_BOARD_NOT_FOUND, VIA_GLOBAL, OMX_BUSY),
	CASE_REPLY("mx_board_number_to_nic_id.handler_returns_success", c_mx_board_to_nic, B_200, API_MX, MX_BOARD_UNKNOWN, VIA_GLOBAL, MX_SUCCESS),
	CASE_REPLY("mx_board_number_to_nic_id.handler_returns_busy", c_mx_board_to_nic, B_200, API_MX, MX_BOARD_UNKNOWN, VIA_GLOBAL, MX_BUSY),
	CASE("omx_set_error_handler.returns_previous", c_omx_set_error_handler_previous, 0, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("mx_set_error_handler.returns_previous", c_mx_set_error_handler_previous, 0, API_MX, MX_SUCCESS, VIA_NONE),
	CASE("OMX_ERRORS_RETURN", c_omx_errors_return, 0, API_OMX, OMX_BOARD_NOT_FOUND, VIA_NONE),
	CASE("MX_ERRORS_RETURN", c_mx_errors_return, 0, API_MX, MX_BOARD_UNKNOWN, VIA_NONE),
	CASE("omx_set_error_handler.endpoint_null_uses_global", c_omx_endpoint_handler_null, 0, API_OMX, OMX_BAD_REQUEST, VIA_GLOBAL),
	CASE("omx_set_error_handler.endpoint_after_open", c_omx_endpoint_handler_set, 0, API_OMX, OMX_BAD_REQUEST, VIA_EP),

	/* strerror of unknown codes. */
	CASE("omx_strerror.1000", c_strerror, 0, API_OMX, 0, VIA_NONE),
	CASE("omx_strerror.2", c_strerror, 1, API_OMX, 0, VIA_NONE),
	CASE("mx_strerror.200", c_strerror, 2, API_MX, 0, VIA_NONE),
	CASE("mx_strstatus.200", c_strerror, 3, API_MX, 0, VIA_NONE),

	/* The raw API: no raw endpoint can be opened yet; NULL raw endpoints. */
	CASE("mx_raw_open_endpoint.unavailable", c_raw, RAW_OPEN, API_MX, MX_NO_DRIVER, VIA_ANY),
	CASE("mx_raw_close_endpoint.null", c_raw, RAW_CLOSE, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_send.null", c_raw, RAW_SEND, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_next_event.null", c_raw, RAW_NEXT_EVENT, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_num_ports.null", c_raw, RAW_NUM_PORTS, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_line_speed.null", c_raw, RAW_LINE_SPEED, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_set_route_begin.null", c_raw, RAW_ROUTE_BEGIN, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_set_route_end.null", c_raw, RAW_ROUTE_END, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_set_route.null", c_raw, RAW_SET_ROUTE, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_set_route_mag.null", c_raw, RAW_SET_ROUTE_MAG, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_clear_routes.null", c_raw, RAW_CLEAR_ROUTES, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_remove_peer.null", c_raw, RAW_REMOVE_PEER, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_set_map_version.null", c_raw, RAW_MAP_VERSION, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_set_peer_name.null", c_raw, RAW_PEER_NAME, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_set_hostname.null", c_raw, RAW_HOSTNAME, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_set_nic_reply_info.null", c_raw, RAW_REPLY_INFO, API_MX, MX_BAD_ENDPOINT, VIA_ANY),
	CASE("mx_raw_handle.null", c_raw, RAW_HANDLE, API_MX, 0, VIA_ANY),

	/* Finalize, use after finalize, finalize twice, init again. */
	CASE("omx_finalize.after_init", c_omx_finalize, 0, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("omx_open_endpoint.after_finalize", c_omx_open, 0, API_OMX, OMX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("mx_open_endpoint.after_finalize", c_mx_open, 0, API_MX, MX_NOT_INITIALIZED, VIA_GLOBAL),
	CASE("omx_finalize.twice", c_omx_finalize, 0, API_OMX, OMX_SUCCESS, VIA_NONE),
	CASE("mx_init.after_finalize", c_mx_init, 0, API_MX, MX_SUCCESS, VIA_NONE),
	CASE("mx_open_endpoint.after_reinit", c_mx_open, 0, API_MX, MX_SUCCESS, VIA_NONE),
	CASE("mx_finalize.after_init", c_mx_finalize, 0, API_MX, MX_SUCCESS, VIA_NONE),
	CASE("mx_finalize.twice", c_mx_finalize, 0, API_MX, MX_SUCCESS, VIA_NONE),
};

/* ---- fatal modes ---- */

static int fatal_mode(const char *mode)
{
	int rc;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(mode, "fatal-before-init") == 0) {
		omx_endpoint_t ep = NULL;
		rc = omx_open_endpoint(OMX_ANY_NIC, OMX_ANY_ENDPOINT, BAD_KEY, NULL, 0, &ep);
	} else if (strcmp(mode, "fatal-omx") == 0 || strcmp(mode, "fatal-off") == 0) {
		if (omx_init() != OMX_SUCCESS) {
			printf("omx_init failed\n");
			return 2;
		}
		rc = omx_close_endpoint(NULL);
	} else if (strcmp(mode, "fatal-explicit-omx") == 0) {
		omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
		if (omx_init() != OMX_SUCCESS) {
			printf("omx_init failed\n");
			return 2;
		}
		omx_set_error_handler(NULL, OMX_ERRORS_ARE_FATAL);
		rc = omx_close_endpoint(NULL);
	} else if (strcmp(mode, "fatal-mx") == 0) {
		if (mx_init() != MX_SUCCESS) {
			printf("mx_init failed\n");
			return 2;
		}
		rc = mx_close_endpoint(NULL);
	} else if (strcmp(mode, "fatal-explicit-mx") == 0) {
		mx_set_error_handler(MX_ERRORS_RETURN);
		if (mx_init() != MX_SUCCESS) {
			printf("mx_init failed\n");
			return 2;
		}
		mx_set_error_handler(MX_ERRORS_ARE_FATAL);
		rc = mx_close_endpoint(NULL);
	} else {
		printf("unknown mode %s\n", mode);
		return 2;
	}
	/* Only fatal-off gets here on a correct library. */
	printf("returned %d\n", rc);
	omx_finalize();
	return strcmp(mode, "fatal-off") == 0 && rc == OMX_BAD_ENDPOINT ? 0 : 3;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strncmp(argv[1], "fatal-", 6) == 0)
		return fatal_mode(argv[1]);
	return bad_main(cases, sizeof(cases) / sizeof(cases[0]), NULL, NULL, argc, argv);
}
