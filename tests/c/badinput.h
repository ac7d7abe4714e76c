/*
 * badinput.h: the table runner shared by the bad-input programs
 * (tests/c/bad_*.c, run by tests/badinput_test.go).
 *
 * Each program holds one table of cases. A case names one library call made
 * with one bad argument and the single code that call must produce:
 *
 *   CASE("omx_test.null_status", o_test, P_NULL_STATUS, API_OMX, OMX_BAD_REQUEST, VIA_EP),
 *
 * The runner installs counting error handlers (a global one of the case's API
 * family, and per-endpoint ones the program installs when it opens its
 * endpoints), calls the case function, then checks:
 *   - the call returned the expected code (or the handler's reply, see below);
 *   - the expected handler (global, endpoint, or none) was called exactly
 *     once, with that code, and no other handler was called;
 *   - the message handed to the handler was non-NULL and at most 255 chars;
 *   - nothing the case function checked itself failed (bad_failf).
 * It prints "ok <name>" or "FAIL <name>: <why>" per case and exits 1 if any
 * case failed. "--list" prints the case names only (no library call);
 * giving case names as arguments runs only those cases.
 *
 * The program's setup and teardown run around the cases; a failure there
 * prints "FAIL setup: ..." / "FAIL teardown: ..." and exits 1. A setup that
 * finds no usable board prints "SKIP: <reason>" and exits 77.
 *
 * Everything here is static: each program is a single translation unit.
 */
#ifndef BADINPUT_H
#define BADINPUT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "open-mx.h"
#include "myriexpress.h"
#include "mx_extensions.h"

#define BAD_UNUSED __attribute__((unused))

/* BAD_KEY is the application key every program opens its endpoints with. */
#define BAD_KEY 0x0badc0deU

/* BAD_SHORT_MS bounds every blocking call the cases make (OMX and MX both
 * take milliseconds; MX_INFINITE is 0, so 0 must never be used with mx_*). */
#define BAD_SHORT_MS 50

/* BAD_SKIP is the exit status of a program that cannot run here. */
#define BAD_SKIP 77

enum bad_api { API_OMX, API_MX };

/* Which error handler a case's call must go through. */
enum bad_via {
	VIA_NONE,   /* returned directly: no handler is called */
	VIA_GLOBAL, /* the global handler, exactly once */
	VIA_EP,     /* the endpoint's own handler, exactly once */
	VIA_ANY     /* not specified: at most one handler call, not checked further */
};

struct bad_case {
	const char *name;
	int (*call)(long arg); /* performs the one call under test, returns its code */
	long arg;              /* selects the bad argument; meaning is the program's */
	enum bad_api api;      /* the family of the global handler installed */
	int expect;            /* the code returned, and seen by the handler (unless VIA_NONE) */
	enum bad_via via;
	int reply_set;         /* non-zero: the handler returns reply instead of its code, */
	int reply;             /* and the call must return reply */
};

/* CASE is one table line; CASE_REPLY makes the handler return r, which the
 * call must then return (the handler still sees expect). */
#define CASE(name, fn, arg, api, expect, via) { name, fn, arg, api, expect, via, .reply_set = 0 }
#define CASE_REPLY(name, fn, arg, api, expect, via, r) \
	{ name, fn, arg, api, expect, via, .reply_set = 1, .reply = (r) }

static struct {
	int global_calls, ep_calls;
	int global_code, ep_code;
	int global_mx, ep_mx; /* the call went to the MX-typed handler */
	int reply_set, reply;
	char bad_msg[160];    /* a handler got a NULL or overlong message */
	char failmsg[512];    /* first failure noted by bad_failf */
	const char *current;  /* the case running, or "setup" / "teardown" */
} bad;

/* bad_failf records a failure of the running case (the first one is kept). */
static BAD_UNUSED __attribute__((format(printf, 1, 2))) void bad_failf(const char *fmt, ...)
{
	va_list ap;

	if (bad.failmsg[0])
		return;
	va_start(ap, fmt);
	vsnprintf(bad.failmsg, sizeof(bad.failmsg), fmt, ap);
	va_end(ap);
}

/* bad_arm forgets every handler call seen so far: a case function that needs
 * library calls to prepare its bad argument calls it right before the call
 * under test. The runner arms before calling the case function. */
static BAD_UNUSED void bad_arm(void)
{
	bad.global_calls = bad.ep_calls = 0;
	bad.global_code = bad.ep_code = -1;
	bad.global_mx = bad.ep_mx = 0;
	bad.bad_msg[0] = 0;
}

static int bad_handler_common(const char *msg, int code)
{
	if (msg == NULL)
		snprintf(bad.bad_msg, sizeof(bad.bad_msg), "handler got a NULL message for code %d", code);
	else if (strlen(msg) > 255)
		snprintf(bad.bad_msg, sizeof(bad.bad_msg), "handler message longer than 255 chars (%zu)", strlen(msg));
	return bad.reply_set ? bad.reply : code;
}

static BAD_UNUSED omx_return_t bad_omx_global(char *msg, omx_return_t code)
{
	bad.global_calls++;
	bad.global_code = (int)code;
	return (omx_return_t)bad_handler_common(msg, (int)code);
}

static BAD_UNUSED mx_return_t bad_mx_global(char *msg, mx_return_t code)
{
	bad.global_calls++;
	bad.global_code = (int)code;
	bad.global_mx = 1;
	return (mx_return_t)bad_handler_common(msg, (int)code);
}

static BAD_UNUSED omx_return_t bad_omx_ep(char *msg, omx_return_t code)
{
	bad.ep_calls++;
	bad.ep_code = (int)code;
	return (omx_return_t)bad_handler_common(msg, (int)code);
}

static BAD_UNUSED mx_return_t bad_mx_ep(char *msg, mx_return_t code)
{
	bad.ep_calls++;
	bad.ep_code = (int)code;
	bad.ep_mx = 1;
	return (mx_return_t)bad_handler_common(msg, (int)code);
}

/* bad_global installs the counting global handler of one API family. */
static BAD_UNUSED void bad_global(enum bad_api api)
{
	if (api == API_MX)
		mx_set_error_handler(bad_mx_global);
	else
		omx_set_error_handler(NULL, bad_omx_global);
}

/* BAD_MUST runs a preparation call that must succeed. */
#define BAD_MUST(expr)                                                            \
	do {                                                                      \
		int bad_rc_ = (int)(expr);                                        \
		if (bad_rc_ != 0)                                                 \
			bad_failf("%s:%d: %s returned %d", __FILE__, __LINE__, #expr, bad_rc_); \
	} while (0)

/* BAD_CHECK notes a failure unless cond holds. */
#define BAD_CHECK(cond, ...)                 \
	do {                                 \
		if (!(cond))                 \
			bad_failf(__VA_ARGS__); \
	} while (0)

/* bad_skip ends a program that cannot run in this environment. */
static BAD_UNUSED void bad_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	fflush(stdout);
	exit(BAD_SKIP);
}

/* bad_phase_done ends setup or teardown: exit 1 if it failed. */
static BAD_UNUSED void bad_phase_done(void)
{
	if (bad.failmsg[0]) {
		printf("FAIL %s: %s\n", bad.current, bad.failmsg);
		fflush(stdout);
		exit(1);
	}
}

static const char *bad_via_name(enum bad_via via)
{
	switch (via) {
	case VIA_NONE:
		return "no handler";
	case VIA_GLOBAL:
		return "the global handler";
	case VIA_EP:
		return "the endpoint handler";
	default:
		return "any handler";
	}
}

/* bad_verdict checks one case after its call returned rc; returns 1 if ok. */
static int bad_verdict(const struct bad_case *c, int rc)
{
	int want = c->reply_set ? c->reply : c->expect;
	int total = bad.global_calls + bad.ep_calls;

	if (rc != want) {
		printf("FAIL %s: expected %d (%s) got %d (%s)\n", c->name, want,
		       omx_strerror((omx_return_t)want), rc, omx_strerror((omx_return_t)rc));
		return 0;
	}
	if (bad.failmsg[0]) {
		printf("FAIL %s: %s\n", c->name, bad.failmsg);
		return 0;
	}
	if (bad.bad_msg[0]) {
		printf("FAIL %s: %s\n", c->name, bad.bad_msg);
		return 0;
	}
	switch (c->via) {
	case VIA_NONE:
		if (total != 0) {
			printf("FAIL %s: expected no handler call, got %d global (code %d) and %d endpoint (code %d)\n",
			       c->name, bad.global_calls, bad.global_code, bad.ep_calls, bad.ep_code);
			return 0;
		}
		break;
	case VIA_GLOBAL:
	case VIA_EP: {
		int calls = c->via == VIA_GLOBAL ? bad.global_calls : bad.ep_calls;
		int other = c->via == VIA_GLOBAL ? bad.ep_calls : bad.global_calls;
		int code = c->via == VIA_GLOBAL ? bad.global_code : bad.ep_code;
		if (calls != 1 || other != 0) {
			printf("FAIL %s: expected exactly one call of %s with code %d, got %d global (code %d) and %d endpoint (code %d)\n",
			       c->name, bad_via_name(c->via), c->expect, bad.global_calls, bad.global_code,
			       bad.ep_calls, bad.ep_code);
			return 0;
		}
		if (code != c->expect) {
			printf("FAIL %s: expected %d got %d in %s\n", c->name, c->expect, code, bad_via_name(c->via));
			return 0;
		}
		if (c->via == VIA_GLOBAL && c->api == API_MX && !bad.global_mx) {
			printf("FAIL %s: the MX global handler was not the one called\n", c->name);
			return 0;
		}
		break;
	}
	case VIA_ANY:
		if (total > 1) {
			printf("FAIL %s: %d handler calls for one error\n", c->name, total);
			return 0;
		}
		break;
	}
	printf("ok %s\n", c->name);
	return 1;
}

static int bad_selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

/*
 * bad_main runs a program's table: setup, every selected case in table
 * order (cases may rely on the state left by earlier ones), teardown.
 * Returns the process exit status.
 */
static BAD_UNUSED int bad_main(const struct bad_case *cases, size_t n, void (*setup)(void),
			       void (*teardown)(void), int argc, char **argv)
{
	size_t i;
	int failed = 0, ran = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (i = 0; i < n; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}

	/* Works before init: a bad argument never reaches the fatal default. */
	bad.current = "setup";
	bad_global(API_OMX);
	if (setup)
		setup();
	bad_phase_done();

	for (i = 0; i < n; i++) {
		const struct bad_case *c = &cases[i];
		int rc;

		if (!bad_selected(c->name, argc, argv))
			continue;
		fprintf(stderr, "# case %s\n", c->name);
		bad.current = c->name;
		bad.failmsg[0] = 0;
		bad_global(c->api);
		bad.reply_set = c->reply_set;
		bad.reply = c->reply;
		bad_arm();
		rc = c->call(c->arg);
		bad.reply_set = 0;
		ran++;
		if (!bad_verdict(c, rc))
			failed++;
	}

	bad.current = "teardown";
	bad.failmsg[0] = 0;
	bad_global(API_OMX);
	if (teardown)
		teardown();
	bad_phase_done();
	fprintf(stderr, "# %d cases, %d failed\n", ran, failed);
	return failed ? 1 : 0;
}

/* ---- shared preparation helpers ---- */

/* bad_board_info finds a board to open endpoints on and a board index that
 * does not exist (for BOARD_NOT_FOUND cases). Skips the program when the
 * library has no board. Must be called after init. */
static BAD_UNUSED void bad_board_info(uint32_t *board, uint64_t *nic, uint8_t *missing)
{
	uint32_t count = 0;
	uint64_t ids[33];
	int i;

	BAD_MUST(omx_get_info(NULL, OMX_INFO_BOARD_COUNT, NULL, 0, &count, sizeof(count)));
	if (count == 0)
		bad_skip("the library found no board (set OMX_IFNAMES)");
	if (count >= 32)
		bad_skip("32 boards: no board index is missing");
	memset(ids, 0, sizeof(ids));
	BAD_MUST(omx_get_info(NULL, OMX_INFO_BOARD_IDS, NULL, 0, ids, sizeof(ids)));
	*nic = ids[0];
	BAD_MUST(omx_nic_id_to_board_number(ids[0], board));
	/* Board indices may have holes: take the highest one that fails. */
	*missing = 255;
	for (i = 31; i >= 0; i--) {
		uint64_t id;
		if (omx_board_number_to_nic_id((uint32_t)i, &id) == OMX_BOARD_NOT_FOUND) {
			*missing = (uint8_t)i;
			break;
		}
	}
	BAD_CHECK(*missing != 255, "no missing board index below 32 with %u boards", count);
}

/* bad_open_omx opens an Open-MX endpoint on any board and endpoint index,
 * with the counting endpoint handler installed (through the parameter list).
 * bits/shift > 0 enable context ids. */
static BAD_UNUSED omx_endpoint_t bad_open_omx(uint8_t bits, uint8_t shift)
{
	omx_endpoint_param_t params[2];
	omx_endpoint_t ep = NULL;
	uint32_t n = 1;

	memset(params, 0, sizeof(params));
	params[0].key = OMX_ENDPOINT_PARAM_ERROR_HANDLER;
	params[0].val.error_handler = bad_omx_ep;
	if (bits) {
		params[1].key = OMX_ENDPOINT_PARAM_CONTEXT_ID;
		params[1].val.context_id.bits = bits;
		params[1].val.context_id.shift = shift;
		n = 2;
	}
	BAD_MUST(omx_open_endpoint(OMX_ANY_NIC, OMX_ANY_ENDPOINT, BAD_KEY, params, n, &ep));
	BAD_CHECK(ep != NULL, "omx_open_endpoint succeeded with a NULL handle");
	return ep;
}

/* bad_open_mx is bad_open_omx with the MX API and the MX endpoint handler. */
static BAD_UNUSED mx_endpoint_t bad_open_mx(void)
{
	mx_param_t param;
	mx_endpoint_t ep = NULL;

	memset(&param, 0, sizeof(param));
	param.key = MX_PARAM_ERROR_HANDLER;
	param.val.error_handler = bad_mx_ep;
	BAD_MUST(mx_open_endpoint(MX_ANY_NIC, MX_ANY_ENDPOINT, BAD_KEY, &param, 1, &ep));
	BAD_CHECK(ep != NULL, "mx_open_endpoint succeeded with a NULL handle");
	return ep;
}

/* bad_wait_omx waits (bounded) for a request that must complete successfully. */
static BAD_UNUSED void bad_wait_omx(omx_endpoint_t ep, omx_request_t *req)
{
	omx_status_t st;
	uint32_t res = 0;

	BAD_MUST(omx_wait(ep, req, &st, &res, 5000));
	BAD_CHECK(res == 1, "omx_wait: request not completed within 5 s");
	BAD_CHECK(res != 1 || st.code == OMX_SUCCESS, "omx_wait: status %d", (int)st.code);
}

static BAD_UNUSED void bad_wait_mx(mx_endpoint_t ep, mx_request_t *req)
{
	mx_status_t st;
	uint32_t res = 0;

	BAD_MUST(mx_wait(ep, req, 5000, &st, &res));
	BAD_CHECK(res == 1, "mx_wait: request not completed within 5 s");
	BAD_CHECK(res != 1 || st.code == MX_STATUS_SUCCESS, "mx_wait: status %d", (int)st.code);
}

#endif /* BADINPUT_H */
