/*
 * A program "built against Myricom's MX", for tests/compat_link_test.go.
 * It is linked against the fake libmyriexpress.so.0 (fakemx.c), so it
 * records the MX symbol versions, then run against whatever library the
 * dynamic loader finds. It prints, for each MX symbol, the file that defines
 * it ("sym <name> <file>"), then the codes returned by mx__init_api(MX_API)
 * and mx_finalize() ("init <code>", "finalize <code>").
 *
 * The prototypes are written here instead of taken from include/: this
 * program stands for a binary built with MX's own headers. Only mx__init_api
 * and mx_finalize are called; the other symbols are only referenced, which
 * is enough to import them with their versions.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

typedef unsigned int mx_return_t;

mx_return_t mx__init_api(int api);
mx_return_t mx_finalize(void);
void mx_open_endpoint(void);
void mx_decompose_endpoint_addr(void);
void mx_get_info(void);
void mx_test(void);
void mx_wait(void);
void mx_iprobe(void);

#define MX_API 0x301

static const struct {
	const char *name;
	void *addr;
} syms[] = {
	{ "mx_open_endpoint", (void *)mx_open_endpoint },
	{ "mx_decompose_endpoint_addr", (void *)mx_decompose_endpoint_addr },
	{ "mx_get_info", (void *)mx_get_info },
	{ "mx_test", (void *)mx_test },
	{ "mx_wait", (void *)mx_wait },
	{ "mx_iprobe", (void *)mx_iprobe },
	{ "mx__init_api", (void *)mx__init_api },
	{ "mx_finalize", (void *)mx_finalize },
};

int main(void)
{
	unsigned i;

	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		Dl_info info;

		if (!dladdr(syms[i].addr, &info) || info.dli_fname == NULL) {
			fprintf(stderr, "dladdr(%s) failed\n", syms[i].name);
			return 2;
		}
		printf("sym %s %s\n", syms[i].name, info.dli_fname);
	}
	printf("init %u\n", mx__init_api(MX_API));
	printf("finalize %u\n", mx_finalize());
	return 0;
}
