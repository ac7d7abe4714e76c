/* oed_connect: connect to an endpoint of another host and report how the
 * connect ends, for the omxoed tests.
 *
 *   oed_connect <peer board hostname> <endpoint index> <timeout ms> [omx|mx [key]]
 *
 * Prints "result <code> <elapsed ms>": the omx_connect return code (or,
 * with "mx", the mx_connect one) and the time it took. The connection key
 * is 0x0ed0ed unless given. Exits 0 once the
 * connect returned, 2 when the peer name is unknown. */
#include <open-mx.h>
#include <myriexpress.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY 0x0ed0ed

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	uint64_t nic;
	uint32_t index, timeout, key = KEY;
	double t0;
	int code;

	if (argc < 4) {
		fprintf(stderr, "usage: %s <peer> <endpoint> <timeout ms> [mx]\n", argv[0]);
		return 1;
	}
	index = (uint32_t)strtoul(argv[2], NULL, 0);
	timeout = (uint32_t)strtoul(argv[3], NULL, 0);
	if (argc > 5)
		key = (uint32_t)strtoul(argv[5], NULL, 0);
	if (argc > 4 && strcmp(argv[4], "mx") == 0) {
		mx_endpoint_t ep;
		mx_endpoint_addr_t addr;
		mx_set_error_handler(MX_ERRORS_RETURN);
		if (mx_init() != MX_SUCCESS || mx_open_endpoint(0, MX_ANY_ENDPOINT, KEY, NULL, 0, &ep) != MX_SUCCESS) {
			fprintf(stderr, "FAIL: cannot open an MX endpoint\n");
			return 1;
		}
		if (mx_hostname_to_nic_id(argv[1], &nic) != MX_SUCCESS) {
			fprintf(stderr, "FAIL: unknown peer %s\n", argv[1]);
			return 2;
		}
		t0 = now_ms();
		code = (int)mx_connect(ep, nic, index, key, timeout, &addr);
	} else {
		omx_endpoint_t ep;
		omx_endpoint_addr_t addr;
		omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
		if (omx_init() != OMX_SUCCESS || omx_open_endpoint(0, OMX_ANY_ENDPOINT, KEY, NULL, 0, &ep) != OMX_SUCCESS) {
			fprintf(stderr, "FAIL: cannot open an endpoint\n");
			return 1;
		}
		if (omx_hostname_to_nic_id(argv[1], &nic) != OMX_SUCCESS) {
			fprintf(stderr, "FAIL: unknown peer %s\n", argv[1]);
			return 2;
		}
		t0 = now_ms();
		code = (int)omx_connect(ep, nic, index, key, timeout, &addr);
	}
	printf("result %d %.0f\n", code, now_ms() - t0);
	return 0;
}
