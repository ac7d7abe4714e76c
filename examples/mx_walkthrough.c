/*
 * mx_walkthrough.c: a guided tour of the MX API (myriexpress.h and
 * mx_extensions.h), in one process.
 *
 * It initializes the library, installs an error handler, opens two
 * endpoints on board 0, connects them, exchanges messages (an expected
 * one, an unexpected one found with mx_iprobe, completions collected with
 * mx_ipeek and mx_test_any), cancels a receive, queries board information,
 * then closes everything.  Each step prints what it does; any failure
 * prints a message and exits with status 1.
 *
 * Build (from the repository root, after "make lib"):
 *   cc -std=gnu99 -I include -o mx_walkthrough examples/mx_walkthrough.c \
 *      -L build/lib -Wl,-rpath,build/lib -lmyriexpress
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <myriexpress.h>
#include <mx_extensions.h>

/* Every endpoint of an application uses the same key; connects check it. */
#define KEY 0x4d585754u
/* MX timeouts are in milliseconds; MX_INFINITE (0) means "forever". */
#define TIMEOUT_MS 10000u

/* die reports a failed step and stops. */
static void die(const char *step, mx_return_t ret)
{
	fprintf(stderr, "mx_walkthrough: %s failed: %s\n", step, mx_strerror(ret));
	exit(1);
}

#define TRY(step, call)                              \
	do {                                         \
		mx_return_t ret_ = (call);           \
		if (ret_ != MX_SUCCESS)              \
			die(step, ret_);             \
	} while (0)

/* wait_done waits for a request and checks its completion status. */
static void wait_done(mx_endpoint_t ep, mx_request_t *req, mx_status_t *status, const char *what)
{
	uint32_t result = 0;

	TRY("mx_wait", mx_wait(ep, req, TIMEOUT_MS, status, &result));
	if (!result) {
		fprintf(stderr, "mx_walkthrough: %s did not complete in %u ms\n", what, TIMEOUT_MS);
		exit(1);
	}
	if (status->code != MX_STATUS_SUCCESS) {
		fprintf(stderr, "mx_walkthrough: %s completed with status %s\n", what, mx_strstatus(status->code));
		exit(1);
	}
}

int main(void)
{
	mx_endpoint_t a, b;
	mx_endpoint_addr_t a_addr, b_addr, a_to_b;
	uint64_t nic_id, nic;
	uint32_t eid_a, eid_b, count, result;
	char hostname[MX_MAX_HOSTNAME_LEN];
	char product[MX_MAX_STR_LEN];
	char msg[] = "hello from endpoint A";
	char buf[64];
	mx_segment_t seg;
	mx_request_t sreq, rreq, peeked;
	mx_status_t status;

	/* 1. Initialize.  mx_init() is a macro checking the API version. */
	TRY("mx_init", mx_init());
	printf("1. library initialized\n");

	/*
	 * 2. Error handler.  By default any error terminates the process
	 * (MX_ERRORS_ARE_FATAL); MX_ERRORS_RETURN makes every call return its
	 * error code instead.  The previous handler is returned.
	 */
	mx_set_error_handler(MX_ERRORS_RETURN);
	printf("2. errors are now returned to the caller\n");

	/* 3. Board information: the nic id and host name of board 0. */
	TRY("mx_get_info(MX_NIC_COUNT)", mx_get_info(NULL, MX_NIC_COUNT, NULL, 0, &count, sizeof(count)));
	TRY("mx_board_number_to_nic_id", mx_board_number_to_nic_id(0, &nic_id));
	TRY("mx_nic_id_to_hostname", mx_nic_id_to_hostname(nic_id, hostname));
	TRY("mx_get_info(MX_PRODUCT_CODE)", mx_get_info(NULL, MX_PRODUCT_CODE, NULL, 0, product, sizeof(product)));
	printf("3. %u board(s); board 0 is '%s', nic id 0x%012" PRIx64 ", product code '%s'\n", count, hostname,
	       nic_id, product);

	/* 4. Open two endpoints on board 0; the library picks free indexes. */
	TRY("mx_open_endpoint(A)", mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &a));
	TRY("mx_open_endpoint(B)", mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &b));

	/* 5. Each endpoint's own address tells its nic id and index. */
	TRY("mx_get_endpoint_addr", mx_get_endpoint_addr(a, &a_addr));
	TRY("mx_get_endpoint_addr", mx_get_endpoint_addr(b, &b_addr));
	TRY("mx_decompose_endpoint_addr", mx_decompose_endpoint_addr(a_addr, &nic, &eid_a));
	TRY("mx_decompose_endpoint_addr", mx_decompose_endpoint_addr(b_addr, &nic, &eid_b));
	printf("4-5. opened endpoints %u (A) and %u (B)\n", eid_a, eid_b);

	/* 6. Connect A to B (nic id + endpoint index + key) to get an address. */
	TRY("mx_connect", mx_connect(a, nic_id, eid_b, KEY, TIMEOUT_MS, &a_to_b));
	printf("6. A connected to B\n");

	/*
	 * 7. An expected message: B posts a receive first (match info 0x1,
	 * exact mask), A sends, both wait.  Buffers are segment lists.
	 */
	seg.segment_ptr = buf;
	seg.segment_length = sizeof(buf);
	TRY("mx_irecv", mx_irecv(b, &seg, 1, 0x1, MX_MATCH_MASK_NONE, NULL, &rreq));
	seg.segment_ptr = msg;
	seg.segment_length = sizeof(msg);
	TRY("mx_isend", mx_isend(a, &seg, 1, a_to_b, 0x1, NULL, &sreq));
	wait_done(b, &rreq, &status, "receive");
	printf("7. B received %u bytes \"%s\" (match 0x%" PRIx64 ")\n", status.xfer_length, buf, status.match_info);
	wait_done(a, &sreq, &status, "send");

	/*
	 * 8. An unexpected message: A sends before B posts anything.  B sees it
	 * with mx_iprobe (without receiving it), then receives it.
	 */
	seg.segment_ptr = msg;
	seg.segment_length = 5;
	TRY("mx_isend", mx_isend(a, &seg, 1, a_to_b, 0x2, NULL, &sreq));
	result = 0;
	for (int i = 0; i < 1000 && !result; i++)
		TRY("mx_iprobe", mx_iprobe(b, 0x2, MX_MATCH_MASK_NONE, &status, &result));
	if (!result) {
		fprintf(stderr, "mx_walkthrough: the unexpected message never showed up\n");
		return 1;
	}
	printf("8. mx_iprobe sees an unexpected %u-byte message\n", status.msg_length);
	memset(buf, 0, sizeof(buf));
	seg.segment_ptr = buf;
	seg.segment_length = sizeof(buf);
	TRY("mx_irecv", mx_irecv(b, &seg, 1, 0x2, MX_MATCH_MASK_NONE, NULL, &rreq));

	/*
	 * 9. Completions without naming the request: mx_ipeek tells which
	 * request is done, mx_test_any completes the oldest matching one.
	 */
	result = 0;
	for (int i = 0; i < 100000 && !result; i++)
		TRY("mx_ipeek", mx_ipeek(b, &peeked, &result));
	if (!result || peeked != rreq) {
		fprintf(stderr, "mx_walkthrough: mx_ipeek did not report the receive\n");
		return 1;
	}
	TRY("mx_test_any", mx_test_any(b, 0x2, MX_MATCH_MASK_NONE, &status, &result));
	if (!result) {
		fprintf(stderr, "mx_walkthrough: mx_test_any found nothing\n");
		return 1;
	}
	printf("9. mx_ipeek + mx_test_any completed the receive: \"%s\"\n", buf);
	wait_done(a, &sreq, &status, "send");

	/* 10. A receive nobody will match can be cancelled. */
	seg.segment_ptr = buf;
	seg.segment_length = sizeof(buf);
	TRY("mx_irecv", mx_irecv(b, &seg, 1, 0x3, MX_MATCH_MASK_NONE, NULL, &rreq));
	TRY("mx_cancel", mx_cancel(b, &rreq, &result));
	printf("10. cancelled a pending receive (result %u)\n", result);

	/* 11. Error codes come back as values now: an invalid mask. */
	{
		mx_return_t ret = mx_irecv(b, &seg, 1, 0x3, 0x1, NULL, &rreq);
		if (ret != MX_BAD_MATCH_MASK) {
			fprintf(stderr, "mx_walkthrough: want MX_BAD_MATCH_MASK, got \"%s\"\n", mx_strerror(ret));
			return 1;
		}
		printf("11. mx_irecv with match bits outside the mask returns \"%s\"\n", mx_strerror(ret));
	}

	/* 12. Close the endpoints and finalize. */
	TRY("mx_close_endpoint", mx_close_endpoint(b));
	TRY("mx_close_endpoint", mx_close_endpoint(a));
	TRY("mx_finalize", mx_finalize());
	printf("12. endpoints closed, library finalized\n");
	return 0;
}
