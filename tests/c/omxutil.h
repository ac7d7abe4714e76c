/*
 * omxutil.h: helpers for the C test programs written against the native
 * Open-MX API (open-mx.h).  Include it instead of check.h.
 */
#ifndef OMX_TESTS_OMXUTIL_H
#define OMX_TESTS_OMXUTIL_H

#include <open-mx.h>

#define CHECK_CODE_NAME(c) omx_strerror((omx_return_t)(c))
#include "check.h"

/* OMXU_KEY is the endpoint key used by every test endpoint. */
#define OMXU_KEY 0x12345678u
/* OMXU_WAIT_MS bounds every wait that is expected to complete. */
#define OMXU_WAIT_MS 30000u

/* omxu_ep is an open endpoint with its own address decomposed. */
struct omxu_ep {
	omx_endpoint_t ep;
	omx_endpoint_addr_t addr;
	uint64_t nic;
	uint32_t eid;
};

/*
 * omxu_open opens an endpoint on board 0 (any index, so that concurrent
 * test programs never collide) and checks its address.
 */
static inline void omxu_open_params(struct omxu_ep *e, omx_endpoint_param_t *params, uint32_t nparams)
{
	uint64_t nic0 = ~(uint64_t)0;

	CHECK_OK(omx_open_endpoint(0, OMX_ANY_ENDPOINT, OMXU_KEY, params, nparams, &e->ep));
	CHECK(e->ep != NULL);
	CHECK_OK(omx_get_endpoint_addr(e->ep, &e->addr));
	CHECK_OK(omx_decompose_endpoint_addr(e->addr, &e->nic, &e->eid));
	CHECK_OK(omx_board_number_to_nic_id(0, &nic0));
	CHECK_EQ(e->nic, nic0);
}

static inline void omxu_open(struct omxu_ep *e)
{
	omxu_open_params(e, NULL, 0);
}

/* omxu_connect connects from to the endpoint to (blocking, bounded). */
static inline void omxu_connect(struct omxu_ep *from, const struct omxu_ep *to, omx_endpoint_addr_t *addr)
{
	uint64_t nic;
	uint32_t eid;

	CHECK_OK(omx_connect(from->ep, to->nic, to->eid, OMXU_KEY, 10000, addr));
	CHECK_OK(omx_decompose_endpoint_addr(*addr, &nic, &eid));
	CHECK_EQ(nic, to->nic);
	CHECK_EQ(eid, to->eid);
}

/* omxu_wait waits for a request that must complete (bounded). */
static inline void omxu_wait(omx_endpoint_t ep, omx_request_t *req, omx_status_t *st, const char *what)
{
	uint32_t result = 0;

	CHECK_OK(omx_wait(ep, req, st, &result, OMXU_WAIT_MS));
	if (!result)
		FAILF("omx_wait(%s) did not complete within %u ms", what, OMXU_WAIT_MS);
	CHECK_PTR_EQ(*req, NULL);
}

/* OMXU_CHECK_STATUS checks the code and lengths of a completed status. */
#define OMXU_CHECK_STATUS(st, want_code, want_msg, want_xfer)                    \
	do {                                                                     \
		const omx_status_t *s_ = &(st);                                  \
		if ((int)s_->code != (int)(want_code) ||                         \
		    s_->msg_length != (uint32_t)(want_msg) ||                    \
		    s_->xfer_length != (uint32_t)(want_xfer))                    \
			FAILF("status %s: code %d (%s) msg_length %u xfer_length %u, " \
			      "want code %d (%s) msg_length %u xfer_length %u",  \
			      #st, (int)s_->code, omx_strerror(s_->code),        \
			      s_->msg_length, s_->xfer_length, (int)(want_code), \
			      omx_strerror((omx_return_t)(want_code)),           \
			      (uint32_t)(want_msg), (uint32_t)(want_xfer));      \
	} while (0)

/* omxu_addr_is checks that addr designates the endpoint who. */
static inline void omxu_addr_is(omx_endpoint_addr_t addr, const struct omxu_ep *who, const char *what)
{
	uint64_t nic;
	uint32_t eid;

	CHECK_OK(omx_decompose_endpoint_addr(addr, &nic, &eid));
	if (nic != who->nic || eid != who->eid)
		FAILF("%s: address decomposes to nic 0x%" PRIx64 " eid %u, want nic 0x%" PRIx64 " eid %u",
		      what, nic, eid, who->nic, who->eid);
}

/* omxu_progress_until polls ep until *flag is non-zero or ms elapse. */
static inline int omxu_progress_until(omx_endpoint_t ep, volatile int *flag, unsigned ms)
{
	double end = now_ms() + ms;

	while (!*flag) {
		CHECK_OK(omx_progress(ep));
		if (now_ms() > end)
			return 0;
	}
	return 1;
}

#endif /* OMX_TESTS_OMXUTIL_H */
