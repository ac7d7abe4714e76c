/*
 * unexp_handler.c: the unexpected handler (omx_unexp_handler_test scenario)
 * through the Open-MX API.
 *
 * One endpoint sends to its own address, with no receive posted, so every
 * message goes to the unexpected handler.  Lengths 0, 16, 100, 1024, 10000
 * and 1 MiB, sent with isend, issend and a 2-segment isendv; the handler
 * either returns FINISHED, or posts a forgotten 0-byte irecv matching the
 * message and returns CONTINUE.  Checked: one handler call per message with
 * the right source, match_info and length; data_if_available; the sender's
 * status; nothing left in the unexpected queue or the done queue.
 *
 * Default mode sets OMX_DISABLE_SELF=1 and OMX_DISABLE_SHARED=1 (as the
 * original test does) so the network thresholds apply:
 *   - data_if_available is the payload for eager, one-fragment messages
 *     (here: non-synchronous and <= 8192 bytes, including length 0), NULL
 *     for synchronous, multi-fragment and rendezvous messages;
 *   - isend completes with success (xfer = length) up to 32768 bytes and
 *     TRUNCATED (xfer 0) above; issend is TRUNCATED (xfer 0) unless the
 *     length is 0.
 * -S (self mode) unsets them: self messages give the sender's buffer when
 * the send has a single segment (for 0 bytes: any non-NULL pointer), NULL
 * otherwise; FINISHED completes the send
 * with success and xfer = length; CONTINUE + 0-byte receive truncates it
 * (TRUNCATED, xfer 0) unless the length is 0.
 *
 * The endpoint error handler and the global handler are OMX_ERRORS_RETURN.
 */
#include "omxutil.h"

#include <unistd.h>

enum send_kind { SEND_ISEND, SEND_ISSEND, SEND_ISENDV };
static const char *kind_names[] = { "isend", "issend", "isendv" };

struct hctx {
	struct omxu_ep *e;
	size_t len;
	uint32_t seed;
	uint64_t match;
	enum send_kind kind;
	int finish;
	const void *sbuf;
	volatile int calls;
	char err[512];
};

static int self_mode;

static void herr(struct hctx *h, const char *msg)
{
	if (h->err[0] == '\0')
		snprintf(h->err, sizeof(h->err), "%s", msg);
}

static omx_unexp_handler_action_t handler(void *context, omx_endpoint_addr_t source, uint64_t match_info,
					  uint32_t msg_length, void *data)
{
	struct hctx *h = context;
	uint64_t nic = 0;
	uint32_t eid = 0;
	int want_data;
	char msg[256];

	h->calls++;
	if (omx_decompose_endpoint_addr(source, &nic, &eid) != OMX_SUCCESS)
		herr(h, "decompose_endpoint_addr failed on the handler's source");
	if (nic != h->e->nic || eid != h->e->eid) {
		snprintf(msg, sizeof(msg), "handler source nic 0x%" PRIx64 " eid %u, want 0x%" PRIx64 " eid %u",
			 nic, eid, h->e->nic, h->e->eid);
		herr(h, msg);
	}
	if (match_info != h->match) {
		snprintf(msg, sizeof(msg), "handler match_info 0x%" PRIx64 ", want 0x%" PRIx64, match_info, h->match);
		herr(h, msg);
	}
	if (msg_length != h->len) {
		snprintf(msg, sizeof(msg), "handler msg_length %u, want %zu", msg_length, h->len);
		herr(h, msg);
	}

	if (self_mode && h->kind != SEND_ISENDV && h->len == 0) {
		/* nothing can be read through it: any non-NULL pointer will do */
		if (data == NULL)
			herr(h, "self mode: data_if_available is NULL for a 0-byte single-segment message");
	} else if (self_mode) {
		const void *want = h->kind == SEND_ISENDV ? NULL : h->sbuf;
		if (data != want) {
			snprintf(msg, sizeof(msg), "self mode: data_if_available %p, want %p (%s)", data, want,
				 h->kind == SEND_ISENDV ? "multi-segment send: NULL" : "the sender's buffer");
			herr(h, msg);
		}
	} else {
		want_data = h->kind != SEND_ISSEND && h->len <= 8192;
		if (want_data && data == NULL) {
			snprintf(msg, sizeof(msg), "data_if_available is NULL for an eager %zu-byte message", h->len);
			herr(h, msg);
		} else if (!want_data && data != NULL) {
			snprintf(msg, sizeof(msg), "data_if_available is %p, want NULL for this %zu-byte %s message",
				 data, h->len, kind_names[h->kind]);
			herr(h, msg);
		} else if (data != NULL && pattern_mismatch(data, h->len, h->seed) >= 0) {
			snprintf(msg, sizeof(msg), "data_if_available content differs at offset %ld",
				 pattern_mismatch(data, h->len, h->seed));
			herr(h, msg);
		}
	}

	if (h->finish)
		return OMX_UNEXP_HANDLER_RECV_FINISHED;

	/* post a forgotten 0-byte receive for this very message, then CONTINUE */
	{
		omx_return_t rc = omx_irecv(h->e->ep, NULL, 0, h->match, ~(uint64_t)0, NULL, NULL);
		if (rc != OMX_SUCCESS) {
			snprintf(msg, sizeof(msg), "irecv inside the handler returned %d (%s)", rc, omx_strerror(rc));
			herr(h, msg);
		}
	}
	return OMX_UNEXP_HANDLER_RECV_CONTINUE;
}

static void run_one(struct omxu_ep *e, size_t len, enum send_kind kind, int finish, int iter)
{
	static struct hctx h;
	char *sbuf = xmalloc(len);
	omx_request_t sreq = NULL;
	omx_status_t st;
	uint32_t result;
	int want_code;
	uint32_t want_xfer;
	static char sctx;
	const char *mode = finish ? "FINISHED" : "CONTINUE";

	memset(&h, 0, sizeof(h));
	h.e = e;
	h.len = len;
	h.seed = (uint32_t)(len + (size_t)iter * 1000 + 5);
	h.match = 0x4400000000000000ull | ((uint64_t)iter << 8);
	h.kind = kind;
	h.finish = finish;
	h.sbuf = sbuf;
	fill_pattern(sbuf, len, h.seed);
	CHECK_OK(omx_register_unexp_handler(e->ep, handler, &h));

	switch (kind) {
	case SEND_ISEND:
		CHECK_OK(omx_isend(e->ep, sbuf, len, e->addr, h.match, &sctx, &sreq));
		break;
	case SEND_ISSEND:
		CHECK_OK(omx_issend(e->ep, sbuf, len, e->addr, h.match, &sctx, &sreq));
		break;
	case SEND_ISENDV: {
		omx_seg_t segs[2];
		segs[0].ptr = sbuf;
		segs[0].len = (uint32_t)(len * 2 / 5);
		segs[1].ptr = sbuf + len * 2 / 5;
		segs[1].len = (uint32_t)(len - len * 2 / 5);
		CHECK_OK(omx_isendv(e->ep, segs, 2, e->addr, h.match, &sctx, &sreq));
		break;
	}
	}

	if (!omxu_progress_until(e->ep, &h.calls, OMXU_WAIT_MS))
		FAILF("%s of %zu bytes (%s): the unexpected handler was never called", kind_names[kind], len, mode);
	omxu_wait(e->ep, &sreq, &st, "send to self");
	if (h.err[0] != '\0')
		FAILF("%s of %zu bytes (%s): %s", kind_names[kind], len, mode, h.err);
	CHECK_MSG(h.calls == 1, "%s of %zu bytes (%s): handler called %d times", kind_names[kind], len, mode,
		  h.calls);

	if (self_mode) {
		if (finish || len == 0) {
			want_code = OMX_SUCCESS;
			want_xfer = (uint32_t)len;
		} else {
			want_code = OMX_MESSAGE_TRUNCATED;
			want_xfer = 0;
		}
	} else if (kind == SEND_ISSEND) {
		want_code = len == 0 ? OMX_SUCCESS : OMX_MESSAGE_TRUNCATED;
		want_xfer = 0;
	} else if (len <= 32768) {
		want_code = OMX_SUCCESS;
		want_xfer = (uint32_t)len;
	} else {
		want_code = OMX_MESSAGE_TRUNCATED;
		want_xfer = 0;
	}
	if ((int)st.code != want_code || st.msg_length != len || st.xfer_length != want_xfer)
		FAILF("%s of %zu bytes (%s): sender status code %d (%s) msg_length %u xfer_length %u, "
		      "want code %d (%s) msg_length %zu xfer_length %u",
		      kind_names[kind], len, mode, st.code, omx_strerror(st.code), st.msg_length, st.xfer_length,
		      want_code, omx_strerror((omx_return_t)want_code), len, want_xfer);
	CHECK_EQ(st.match_info, h.match);
	CHECK_PTR_EQ(st.context, &sctx);
	omxu_addr_is(st.addr, e, "send status destination");

	/* nothing may be left behind: no unexpected message, nothing done */
	CHECK_OK(omx_register_unexp_handler(e->ep, NULL, NULL));
	for (int i = 0; i < 5; i++)
		CHECK_OK(omx_progress(e->ep));
	result = 7;
	CHECK_OK(omx_iprobe(e->ep, 0, 0, &st, &result));
	CHECK_MSG(result == 0, "%s of %zu bytes (%s): message left in the unexpected queue (match 0x%" PRIx64 ")",
		  kind_names[kind], len, mode, st.match_info);
	result = 7;
	CHECK_OK(omx_test_any(e->ep, 0, 0, &st, &result));
	CHECK_MSG(result == 0, "%s of %zu bytes (%s): unexpected completion in the done queue (match 0x%" PRIx64
		  ")", kind_names[kind], len, mode, st.match_info);
	free(sbuf);
}

int main(int argc, char **argv)
{
	static const size_t lens[] = { 0, 16, 100, 1024, 10000, 1048576 };
	omx_endpoint_param_t param;
	struct omxu_ep e;
	int iter = 0;
	int c;

	while ((c = getopt(argc, argv, "S")) != -1) {
		if (c == 'S')
			self_mode = 1;
		else {
			fprintf(stderr, "usage: %s [-S]\n", argv[0]);
			return 2;
		}
	}
	if (self_mode) {
		unsetenv("OMX_DISABLE_SELF");
		unsetenv("OMX_DISABLE_SHARED");
		unsetenv("MX_DISABLE_SELF");
		unsetenv("MX_DISABLE_SHMEM");
	} else {
		setenv("OMX_DISABLE_SELF", "1", 1);
		setenv("OMX_DISABLE_SHARED", "1", 1);
	}

	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	CHECK_OK(omx_init());
	memset(&param, 0, sizeof(param));
	param.key = OMX_ENDPOINT_PARAM_ERROR_HANDLER;
	param.val.error_handler = OMX_ERRORS_RETURN;
	omxu_open_params(&e, &param, 1);
	printf("unexp_handler: %s mode, endpoint %u\n", self_mode ? "self" : "network", e.eid);

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int k = SEND_ISEND; k <= SEND_ISENDV; k++) {
			for (int finish = 1; finish >= 0; finish--) {
				run_one(&e, lens[i], (enum send_kind)k, finish, iter++);
			}
		}
		printf("length %zu: ok\n", lens[i]);
	}

	CHECK_OK(omx_close_endpoint(e.ep));
	CHECK_OK(omx_finalize());
	printf("unexp_handler: PASS\n");
	return 0;
}
