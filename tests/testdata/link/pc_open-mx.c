/*
 * Built by tests/install_test.go with the flags of
 * "pkg-config --cflags --libs open-mx" of an installed tree: it includes the
 * installed <open-mx.h>, initializes and finalizes the library and prints
 * the codes ("init <code>", "finalize <code>") and the file defining
 * omx_finalize ("lib <file>").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <open-mx.h>

int main(void)
{
	Dl_info info;
	omx_return_t rc;

	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	rc = omx_init();
	printf("init %d\n", (int)rc);
	rc = omx_finalize();
	printf("finalize %d\n", (int)rc);
	if (!dladdr((void *)omx_finalize, &info) || info.dli_fname == NULL)
		return 2;
	printf("lib %s\n", info.dli_fname);
	return 0;
}
