/*
 * Built by tests/install_test.go with the flags of
 * "pkg-config --cflags --libs myriexpress" of an installed tree: it includes
 * the installed <myriexpress.h>, initializes and finalizes the library and
 * prints the codes ("init <code>", "finalize <code>") and the file defining
 * mx_finalize ("lib <file>").
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <myriexpress.h>

int main(void)
{
	Dl_info info;
	mx_return_t rc;

	mx_set_error_handler(MX_ERRORS_RETURN);
	rc = mx_init();
	printf("init %d\n", (int)rc);
	rc = mx_finalize();
	printf("finalize %d\n", (int)rc);
	if (!dladdr((void *)mx_finalize, &info) || info.dli_fname == NULL)
		return 2;
	printf("lib %s\n", info.dli_fname);
	return 0;
}
