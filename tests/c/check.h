/*
 * check.h: tiny assertion and helper kit shared by the C test programs of
 * tests/c/.  Header-only; every helper is static inline so that programs
 * using only a few of them still build with -Wall -Wextra -Werror.
 *
 * On a failed check the program prints one line
 *     FAIL: <file>:<line>: <what>: <values>
 * on stderr and exits with status 1.  Programs exit 0 on success.
 *
 * A program may define CHECK_CODE_NAME(code) before including this file to
 * render library return codes as text in failure messages (for example with
 * mx_strerror or omx_strerror).
 */
#ifndef OMX_TESTS_CHECK_H
#define OMX_TESTS_CHECK_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CHECK_CODE_NAME
#define CHECK_CODE_NAME(code) ((void)(code), "?")
#endif

/* FAILF prints a FAIL line with a printf-style explanation and exits 1. */
#define FAILF(...)                                                      \
	do {                                                            \
		fprintf(stderr, "FAIL: %s:%d: ", __FILE__, __LINE__);   \
		fprintf(stderr, __VA_ARGS__);                           \
		fputc('\n', stderr);                                    \
		fflush(stderr);                                         \
		exit(1);                                                \
	} while (0)

/*
 * check_soft_failures counts the failures reported by CHECK_SOFT, which
 * prints the FAIL line but lets the program go on; a program using it ends
 * with "return check_soft_failures ? 1 : 0" (or CHECK_SOFT_DONE()).
 */
static int check_soft_failures __attribute__((unused));

/* CHECK_SOFT reports a failed condition without stopping the program. */
#define CHECK_SOFT(cond, ...)                                           \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "FAIL: %s:%d: check failed: %s: ", \
				__FILE__, __LINE__, #cond);             \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			fflush(stderr);                                 \
			check_soft_failures++;                          \
		}                                                       \
	} while (0)

/* CHECK_SOFT_DONE exits 1 if a CHECK_SOFT failed. */
#define CHECK_SOFT_DONE()                                               \
	do {                                                            \
		if (check_soft_failures) {                              \
			fprintf(stderr, "FAIL: %d soft check(s) failed\n", \
				check_soft_failures);                   \
			exit(1);                                        \
		}                                                       \
	} while (0)

/* CHECK fails when cond is false. */
#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond))                                            \
			FAILF("check failed: %s", #cond);               \
	} while (0)

/* CHECK_MSG fails with an extra printf-style explanation. */
#define CHECK_MSG(cond, ...)                                            \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "FAIL: %s:%d: check failed: %s: ", \
				__FILE__, __LINE__, #cond);             \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			fflush(stderr);                                 \
			exit(1);                                        \
		}                                                       \
	} while (0)

/* CHECK_EQ compares two integers (any integer type up to 64 bits). */
#define CHECK_EQ(got, want)                                             \
	do {                                                            \
		uint64_t got_ = (uint64_t)(got);                        \
		uint64_t want_ = (uint64_t)(want);                      \
		if (got_ != want_)                                      \
			FAILF("%s == %s: got %" PRIu64 " (0x%" PRIx64   \
			      "), want %" PRIu64 " (0x%" PRIx64 ")",    \
			      #got, #want, got_, got_, want_, want_);   \
	} while (0)

/* CHECK_NE fails when two integers are equal. */
#define CHECK_NE(got, bad)                                              \
	do {                                                            \
		uint64_t got_ = (uint64_t)(got);                        \
		uint64_t bad_ = (uint64_t)(bad);                        \
		if (got_ == bad_)                                       \
			FAILF("%s != %s: both are %" PRIu64 " (0x%" PRIx64 ")", \
			      #got, #bad, got_, got_);                  \
	} while (0)

/* CHECK_PTR_EQ compares two pointers. */
#define CHECK_PTR_EQ(got, want)                                         \
	do {                                                            \
		const void *gotp_ = (const void *)(got);                \
		const void *wantp_ = (const void *)(want);              \
		if (gotp_ != wantp_)                                    \
			FAILF("%s == %s: got %p, want %p", #got, #want, \
			      gotp_, wantp_);                           \
	} while (0)

/* CHECK_STR_EQ compares two NUL-terminated strings. */
#define CHECK_STR_EQ(got, want)                                         \
	do {                                                            \
		const char *gots_ = (got);                              \
		const char *wants_ = (want);                            \
		if (gots_ == NULL || strcmp(gots_, wants_) != 0)        \
			FAILF("%s == %s: got \"%s\", want \"%s\"", #got, \
			      #want, gots_ ? gots_ : "(null)", wants_); \
	} while (0)

/* CHECK_RC evaluates a library call and compares its return code. */
#define CHECK_RC(call, want)                                            \
	do {                                                            \
		int rc_ = (int)(call);                                  \
		int wantrc_ = (int)(want);                              \
		if (rc_ != wantrc_)                                     \
			FAILF("%s returned %d (%s), want %d (%s)", #call, \
			      rc_, CHECK_CODE_NAME(rc_), wantrc_,       \
			      CHECK_CODE_NAME(wantrc_));                \
	} while (0)

/* CHECK_OK evaluates a library call that must return success (0). */
#define CHECK_OK(call) CHECK_RC(call, 0)

/* now_us returns a monotonic time in microseconds. */
static inline double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* now_ms returns a monotonic time in milliseconds. */
static inline double now_ms(void)
{
	return now_us() / 1e3;
}

/* sleep_ms sleeps for ms milliseconds (restarting after signals). */
static inline void sleep_ms(unsigned ms)
{
	struct timespec ts;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * pattern_byte is the payload byte at offset i of a buffer filled with
 * seed: a cheap hash, so that shifted, truncated or swapped data is caught.
 */
static inline uint8_t pattern_byte(uint32_t seed, size_t i)
{
	uint32_t x = (uint32_t)i * 2654435761u + seed * 0x9e3779b9u + 0x7f4a7c15u;
	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (uint8_t)(x ^ (x >> 8) ^ (uint32_t)(i >> 16));
}

/* fill_pattern fills len bytes of buf with the pattern of seed. */
static inline void fill_pattern(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(seed, i);
}

/*
 * pattern_mismatch returns the first offset where buf differs from the
 * pattern of seed (counted from offset start of the pattern), or -1.
 */
static inline long pattern_mismatch_at(const void *buf, size_t len, uint32_t seed, size_t start)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(seed, start + i))
			return (long)i;
	return -1;
}

static inline long pattern_mismatch(const void *buf, size_t len, uint32_t seed)
{
	return pattern_mismatch_at(buf, len, seed, 0);
}

/* CHECK_PATTERN fails when buf[0..len) is not the pattern of seed. */
#define CHECK_PATTERN(buf, len, seed)                                   \
	do {                                                            \
		size_t plen_ = (size_t)(len);                           \
		uint32_t pseed_ = (uint32_t)(seed);                     \
		long pat_ = pattern_mismatch((buf), plen_, pseed_);     \
		if (pat_ >= 0)                                          \
			FAILF("payload %s (len %zu, seed 0x%x) differs at offset %ld: got 0x%02x, want 0x%02x", \
			      #buf, plen_, pseed_, pat_,                \
			      ((const uint8_t *)(buf))[pat_],           \
			      pattern_byte(pseed_, (size_t)pat_));      \
	} while (0)

/* bytes_not returns the first offset in buf[0..len) that is not c, or -1. */
static inline long bytes_not(const void *buf, size_t len, uint8_t c)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return (long)i;
	return -1;
}

/* CHECK_BYTES fails unless buf[0..len) all hold the byte c (guards). */
#define CHECK_BYTES(buf, len, c)                                        \
	do {                                                            \
		long gb_ = bytes_not((buf), (size_t)(len), (uint8_t)(c)); \
		if (gb_ >= 0)                                           \
			FAILF("guard %s (len %zu) overwritten at offset %ld: 0x%02x instead of 0x%02x", \
			      #buf, (size_t)(len), gb_,                 \
			      ((const uint8_t *)(buf))[gb_], (unsigned)(uint8_t)(c)); \
	} while (0)

/* xmalloc allocates or fails the test. */
static inline void *xmalloc(size_t len)
{
	void *p = malloc(len ? len : 1);
	if (p == NULL)
		FAILF("malloc(%zu) failed", len);
	return p;
}

/* GUARD is the byte written around receive buffers. */
#define GUARD 0xa5


#if defined(MYRIEXPRESS_H) && defined(__open_mx_h__)
/* Error handlers that count their calls and remember the last code and
 * message, for programs using both APIs. */
static int handler_calls;
static int handler_last_code;
static char handler_last_msg[300];

static __attribute__((unused)) omx_return_t counting_handler(char *msg, omx_return_t code)
{
	handler_calls++;
	handler_last_code = (int)code;
	snprintf(handler_last_msg, sizeof(handler_last_msg), "%s", msg ? msg : "(null)");
	return code;
}

static __attribute__((unused)) mx_return_t mx_counting_handler(char *msg, mx_return_t code)
{
	return (mx_return_t)counting_handler(msg, (omx_return_t)code);
}
#endif

/*
 * proc_state returns the scheduler state letter (R running, S sleeping,
 * T stopped, ...) in the stat file of a process or thread,
 * "/proc/<pid>/stat" or "/proc/self/task/<tid>/stat", or '?' if it cannot
 * be read.
 */
static inline char proc_state(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	char *p;

	if (f == NULL)
		return '?';
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL || p[1] != ' ')
		return '?';
	return p[2];
}

#endif /* OMX_TESTS_CHECK_H */
