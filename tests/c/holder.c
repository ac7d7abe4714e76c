/* holder: opens one endpoint and reports it, for the cross-process
 * endpoint registry tests.
 *
 *   holder <index|any> [hold]
 *
 * Prints "open <code> <index>" (code = omx_return_t, index = the endpoint
 * index that was opened, or -1), then with "hold" keeps the endpoint open
 * until killed; otherwise closes it and exits 0. */
#include <open-mx.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	omx_endpoint_t ep;
	omx_endpoint_addr_t addr;
	uint64_t nic;
	uint32_t index = OMX_ANY_ENDPOINT, eid;
	omx_return_t ret;

	if (argc < 2) {
		fprintf(stderr, "usage: holder <index|any> [hold]\n");
		return 2;
	}
	if (strcmp(argv[1], "any") != 0)
		index = (uint32_t)atoi(argv[1]);
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	if (omx_init() != OMX_SUCCESS)
		return 1;
	ret = omx_open_endpoint(0, index, 0x1234, NULL, 0, &ep);
	if (ret != OMX_SUCCESS) {
		printf("open %d -1\n", (int)ret);
		fflush(stdout);
		return 0;
	}
	omx_get_endpoint_addr(ep, &addr);
	omx_decompose_endpoint_addr(addr, &nic, &eid);
	printf("open %d %u\n", (int)ret, eid);
	fflush(stdout);
	if (argc > 2 && strcmp(argv[2], "hold") == 0)
		for (;;)
			pause();
	omx_close_endpoint(ep);
	omx_finalize();
	return 0;
}
