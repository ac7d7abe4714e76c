/*
 * A stand-in for Myricom's libmyriexpress.so.0, used by
 * tests/compat_link_test.go: it defines the symbols a program linked against
 * real MX imports with versions (plus mx_finalize, unversioned), and each
 * returns FAKE_MX_ANSWER so a test can tell this library from ours.
 * Built with fakemx.map, so a program linked against it records
 * mx_open_endpoint@MX_0.9, mx__init_api@MX_0.92 and so on.
 */

#define FAKE_MX_ANSWER 77

int mx_open_endpoint(void);
int mx_decompose_endpoint_addr(void);
int mx_get_info(void);
int mx_test(void);
int mx_wait(void);
int mx_iprobe(void);
int mx__init_api(int api);
int mx_finalize(void);

int mx_open_endpoint(void) { return FAKE_MX_ANSWER; }
int mx_decompose_endpoint_addr(void) { return FAKE_MX_ANSWER; }
int mx_get_info(void) { return FAKE_MX_ANSWER; }
int mx_test(void) { return FAKE_MX_ANSWER; }
int mx_wait(void) { return FAKE_MX_ANSWER; }
int mx_iprobe(void) { return FAKE_MX_ANSWER; }
int mx__init_api(int api) { (void)api; return FAKE_MX_ANSWER; }
int mx_finalize(void) { return FAKE_MX_ANSWER; }
