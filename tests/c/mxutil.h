/*
 * mxutil.h: helpers for the C test programs written against the MX API
 * (myriexpress.h + mx_extensions.h).  Include it instead of check.h.
 */
#ifndef OMX_TESTS_MXUTIL_H
#define OMX_TESTS_MXUTIL_H

#include <myriexpress.h>
#include <mx_extensions.h>

#define CHECK_CODE_NAME(c) mx_strerror((mx_return_t)(c))
#include "check.h"

/* MXU_KEY is the endpoint key used by every test endpoint. */
#define MXU_KEY 0x12345678u
/* MXU_WAIT_MS bounds every wait that is expected to complete. */
#define MXU_WAIT_MS 30000u

/* mxu_ep is an open endpoint with its own address decomposed. */
struct mxu_ep {
	mx_endpoint_t ep;
	mx_endpoint_addr_t addr;
	uint64_t nic;
	uint32_t eid;
};

/*
 * mxu_open opens an endpoint on board 0 (any index, so that concurrent test
 * programs never collide) and checks that its address decomposes to the nic
 * id of board 0.
 */
static inline void mxu_open_params(struct mxu_ep *e, mx_param_t *params, uint32_t nparams)
{
	uint64_t nic0 = ~(uint64_t)0;

	CHECK_OK(mx_open_endpoint(0, MX_ANY_ENDPOINT, MXU_KEY, params, nparams, &e->ep));
	CHECK(e->ep != NULL);
	CHECK_OK(mx_get_endpoint_addr(e->ep, &e->addr));
	CHECK_OK(mx_decompose_endpoint_addr(e->addr, &e->nic, &e->eid));
	CHECK_OK(mx_board_number_to_nic_id(0, &nic0));
	CHECK_EQ(e->nic, nic0);
}

static inline void mxu_open(struct mxu_ep *e)
{
	mxu_open_params(e, NULL, 0);
}

/* mxu_connect connects from to the endpoint to (blocking, bounded). */
static inline void mxu_connect(struct mxu_ep *from, const struct mxu_ep *to, mx_endpoint_addr_t *addr)
{
	uint64_t nic;
	uint32_t eid;

	CHECK_OK(mx_connect(from->ep, to->nic, to->eid, MXU_KEY, 10000, addr));
	CHECK_OK(mx_decompose_endpoint_addr(*addr, &nic, &eid));
	CHECK_EQ(nic, to->nic);
	CHECK_EQ(eid, to->eid);
}

/* mxu_wait waits for a request that must complete (bounded). */
static inline void mxu_wait(mx_endpoint_t ep, mx_request_t *req, mx_status_t *st, const char *what)
{
	uint32_t result = 0;

	CHECK_OK(mx_wait(ep, req, MXU_WAIT_MS, st, &result));
	if (!result)
		FAILF("mx_wait(%s) did not complete within %u ms", what, MXU_WAIT_MS);
	CHECK_PTR_EQ(*req, NULL);
}

/* mxu_check_status checks the code and lengths of a completed status. */
#define MXU_CHECK_STATUS(st, want_code, want_msg, want_xfer)                     \
	do {                                                                     \
		const mx_status_t *s_ = &(st);                                   \
		if ((int)s_->code != (int)(want_code) ||                         \
		    s_->msg_length != (uint32_t)(want_msg) ||                    \
		    s_->xfer_length != (uint32_t)(want_xfer))                    \
			FAILF("status %s: code %d (%s) msg_length %u xfer_length %u, " \
			      "want code %d (%s) msg_length %u xfer_length %u",  \
			      #st, (int)s_->code, mx_strstatus(s_->code),        \
			      s_->msg_length, s_->xfer_length, (int)(want_code), \
			      mx_strstatus((mx_status_code_t)(want_code)),       \
			      (uint32_t)(want_msg), (uint32_t)(want_xfer));      \
	} while (0)

/* mxu_seg builds a one-segment list. */
static inline mx_segment_t mxu_seg(void *ptr, size_t len)
{
	mx_segment_t s;
	s.segment_ptr = ptr;
	s.segment_length = (uint32_t)len;
	return s;
}

/* mxu_addr_is checks that addr designates (nic, eid). */
static inline void mxu_addr_is(mx_endpoint_addr_t addr, const struct mxu_ep *who, const char *what)
{
	uint64_t nic;
	uint32_t eid;

	CHECK_OK(mx_decompose_endpoint_addr(addr, &nic, &eid));
	if (nic != who->nic || eid != who->eid)
		FAILF("%s: address decomposes to nic 0x%" PRIx64 " eid %u, want nic 0x%" PRIx64 " eid %u",
		      what, nic, eid, who->nic, who->eid);
}

#endif /* OMX_TESTS_MXUTIL_H */
