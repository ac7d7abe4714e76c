/*
 * omx_fi.c - a libfabric provider named "omx": a thin layer over the
 * Open-MX API of libopen-mx.so (issue 12, section 1, first slice).
 *
 * Loaded by libfabric as an external provider (FI_PROVIDER_PATH pointing at
 * the directory holding libomx-fi.so; entry point fi_prov_ini).
 *
 * Model:
 *  - one endpoint type, FI_EP_RDM, caps FI_TAGGED | FI_MSG | FI_SEND |
 *    FI_RECV, FI_THREAD_DOMAIN, manual progress;
 *  - a domain owns one Open-MX endpoint (opened by fi_domain), so an address
 *    vector can connect peers as soon as it is opened; one fi endpoint per
 *    domain;
 *  - addresses (fi_getname, fi_av_insert) are struct omxfi_addr: the NIC id,
 *    the endpoint index and the connection key (addr_format
 *    FI_FORMAT_UNSPEC, 16 bytes);
 *  - fi_addr_t is the index of the connected omx_endpoint_addr_t in the
 *    address vector's table (FI_AV_MAP and FI_AV_TABLE both accepted);
 *  - a tag is the 64-bit MX match information; when the endpoint has FI_MSG
 *    too, bit 63 is reserved: tagged messages have it clear, FI_MSG messages
 *    have it set (tag 0), so the two never match each other (mem_tag_format
 *    says 63 bits then, else 64); ignore bits are the inverse of the MX
 *    mask;
 *  - progress is driven by fi_cq_read/fi_cq_sread: completed Open-MX
 *    requests (omx_test_any) are moved into the CQs bound to the endpoint.
 *
 * Not offered (getinfo gives no info when hints ask for them):
 * FI_DIRECTED_RECV and FI_SOURCE (MX matching knows no source: receives
 * ignore src_addr), remote CQ data, RMA, atomics, counters, wait objects,
 * FI_THREAD_SAFE/FI_THREAD_FID, FI_EP_MSG/FI_EP_DGRAM.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>
#include <rdma/providers/fi_prov.h>

#include "open-mx.h"

#define OMXFI_NAME "omx"
#define OMXFI_VERSION FI_VERSION(0, 1)
#define OMXFI_KEY 0x0fab0fabU
#define OMXFI_MSG_BIT (1ULL << 63)
#define OMXFI_TAG_BITS (OMXFI_MSG_BIT - 1)
#define OMXFI_CAPS (FI_TAGGED | FI_MSG | FI_SEND | FI_RECV)
#define OMXFI_INJECT 64
#define OMXFI_QUEUE 4096
#define OMXFI_MAX_MSG (1UL << 30)
#define OMXFI_CONNECT_MS 5000

/* The address fi_getname gives and fi_av_insert takes. */
struct omxfi_addr {
	uint64_t nic_id;
	uint32_t endpoint;
	uint32_t key;
};

struct omxfi_domain;
struct omxfi_ep;

struct omxfi_fabric {
	struct fid_fabric f;
};

struct omxfi_eq {
	struct fid_eq e;
};

/* A completion waiting in a CQ. */
struct omxfi_comp {
	struct omxfi_comp *next;
	struct fi_cq_err_entry e; /* e.err == 0: a normal completion */
};

#define OMXFI_CQ_EPS 8

struct omxfi_cq {
	struct fid_cq c;
	struct omxfi_domain *dom;
	enum fi_cq_format format;
	size_t entry_size;
	struct omxfi_comp *head, *tail;
	struct omxfi_ep *eps[OMXFI_CQ_EPS];
	int neps;
};

struct omxfi_av {
	struct fid_av a;
	struct omxfi_domain *dom;
	omx_endpoint_addr_t *peers;
	struct omxfi_addr *names;
	size_t count, cap;
};

struct omxfi_domain {
	struct fid_domain d;
	omx_endpoint_t oep;
	struct omxfi_addr self;
	struct omxfi_av *av;
	int neps;
};

enum { OMXFI_SEND, OMXFI_RECV, OMXFI_INJECT_SEND };

/* One posted operation: the Open-MX request context. */
struct omxfi_req {
	struct omxfi_req *next, *prev;
	omx_request_t oreq;
	struct omxfi_ep *ep;
	int kind;
	void *op_context;
	uint64_t flags;
	void *buf;
	size_t len;
	unsigned char data[]; /* inject copy */
};

struct omxfi_ep {
	struct fid_ep e;
	struct omxfi_domain *dom;
	struct omxfi_cq *txcq, *rxcq;
	uint64_t txsel, rxsel; /* FI_SELECTIVE_COMPLETION from the bind */
	struct omxfi_av *av;
	int enabled;
	uint64_t msgbit;  /* OMXFI_MSG_BIT with FI_MSG, else 0 */
	uint64_t tagbits; /* the tag bits: ~msgbit */
	struct omxfi_req pending; /* list head */
};

static struct fi_provider omxfi_prov;

/* Unsupported operation: returns -FI_ENOSYS whatever the signature (the
 * callers read an int or ssize_t return value). */
static ssize_t omxfi_nosys(void) { return -FI_ENOSYS; }
#define NOSYS(type) ((type)(void (*)(void))omxfi_nosys)

static int omxfi_err(omx_return_t r)
{
	switch (r) {
	case OMX_SUCCESS: return 0;
	case OMX_NO_RESOURCES:
	case OMX_NO_SYSTEM_RESOURCES: return -FI_EAGAIN;
	case OMX_BOARD_NOT_FOUND:
	case OMX_NO_DEVICE_FILE:
	case OMX_NO_DRIVER: return -FI_ENODEV;
	case OMX_ACCESS_DENIED: return -FI_EACCES;
	case OMX_TIMEOUT: return -FI_ETIMEDOUT;
	case OMX_MESSAGE_TRUNCATED: return -FI_ETRUNC;
	case OMX_CANCELLED: return -FI_ECANCELED;
	case OMX_BUSY: return -FI_EBUSY;
	case OMX_PEER_NOT_FOUND:
	case OMX_NIC_ID_NOT_FOUND:
	case OMX_REMOTE_ENDPOINT_BAD_ID:
	case OMX_REMOTE_ENDPOINT_CLOSED:
	case OMX_REMOTE_ENDPOINT_UNREACHABLE:
	case OMX_REMOTE_ENDPOINT_BAD_CONNECTION_KEY:
	case OMX_REMOTE_ENDPOINT_BAD_SESSION: return -FI_EHOSTUNREACH;
	case OMX_NOT_IMPLEMENTED: return -FI_ENOSYS;
	default: return -FI_EIO;
	}
}

static int omxfi_lib_init(void)
{
	static int done;
	omx_return_t r;

	if (done)
		return 0;
	omx_set_error_handler(NULL, OMX_ERRORS_RETURN);
	r = omx_init();
	if (r != OMX_SUCCESS && r != OMX_ALREADY_INITIALIZED)
		return omxfi_err(r);
	done = 1;
	return 0;
}

/* ---- completions ---- */

static void omxfi_cq_push(struct omxfi_cq *cq, const struct fi_cq_err_entry *e)
{
	struct omxfi_comp *c = calloc(1, sizeof(*c));

	if (!c)
		return; /* lost: nothing better to do without memory */
	c->e = *e;
	if (cq->tail)
		cq->tail->next = c;
	else
		cq->head = c;
	cq->tail = c;
}

static void omxfi_req_unlink(struct omxfi_req *q)
{
	q->prev->next = q->next;
	q->next->prev = q->prev;
}

static void omxfi_complete(struct omxfi_req *q, const omx_status_t *st)
{
	struct omxfi_ep *ep = q->ep;
	struct fi_cq_err_entry e;
	struct omxfi_cq *cq;
	uint64_t sel;

	omxfi_req_unlink(q);
	memset(&e, 0, sizeof(e));
	e.op_context = q->op_context;
	e.flags = q->flags & (FI_TAGGED | FI_MSG | FI_SEND | FI_RECV);
	if (q->kind == OMXFI_RECV) {
		cq = ep->rxcq;
		sel = ep->rxsel;
		e.len = st ? st->xfer_length : 0;
		e.buf = q->buf;
		if ((q->flags & FI_TAGGED) && st)
			e.tag = st->match_info & ep->tagbits;
	} else {
		cq = ep->txcq;
		sel = ep->txsel;
	}
	if (!st) {
		e.err = FI_ECANCELED;
		e.prov_errno = OMX_CANCELLED;
	} else if (st->code != OMX_SUCCESS) {
		e.err = -omxfi_err(st->code);
		if (e.err == 0)
			e.err = FI_EIO;
		e.prov_errno = st->code;
		if (st->code == OMX_MESSAGE_TRUNCATED)
			e.olen = st->msg_length > st->xfer_length ?
				 st->msg_length - st->xfer_length : 0;
	}
	if (q->kind == OMXFI_INJECT_SEND)
		cq = NULL; /* fi_inject never generates a completion */
	else if (sel && !(q->flags & FI_COMPLETION) && !e.err)
		cq = NULL;
	if (cq)
		omxfi_cq_push(cq, &e);
	free(q);
}

static void omxfi_progress(struct omxfi_ep *ep)
{
	omx_status_t st;
	uint32_t res;
	int i;

	for (i = 0; i < 64; i++) {
		res = 0;
		if (omx_test_any(ep->dom->oep, 0, 0, &st, &res) != OMX_SUCCESS || !res)
			break;
		if (st.context)
			omxfi_complete(st.context, &st);
	}
}

static void omxfi_cq_progress(struct omxfi_cq *cq)
{
	int i;

	for (i = 0; i < cq->neps; i++)
		omxfi_progress(cq->eps[i]);
}

static ssize_t omxfi_cq_read(struct fid_cq *fcq, void *buf, size_t count)
{
	struct omxfi_cq *cq = (struct omxfi_cq *)fcq;
	struct fi_cq_tagged_entry t;
	size_t n = 0;

	if (count == 0) {
		omxfi_cq_progress(cq);
		return 0;
	}
	if (!cq->head)
		omxfi_cq_progress(cq);
	if (!cq->head)
		return -FI_EAGAIN;
	while (n < count && cq->head && !cq->head->e.err) {
		struct omxfi_comp *c = cq->head;

		t.op_context = c->e.op_context;
		t.flags = c->e.flags;
		t.len = c->e.len;
		t.buf = c->e.buf;
		t.data = c->e.data;
		t.tag = c->e.tag;
		memcpy((char *)buf + n * cq->entry_size, &t, cq->entry_size);
		cq->head = c->next;
		if (!cq->head)
			cq->tail = NULL;
		free(c);
		n++;
	}
	if (n == 0)
		return -FI_EAVAIL;
	return (ssize_t)n;
}

static ssize_t omxfi_cq_readfrom(struct fid_cq *fcq, void *buf, size_t count,
				 fi_addr_t *src)
{
	ssize_t n = omxfi_cq_read(fcq, buf, count), i;

	for (i = 0; src && i < n; i++)
		src[i] = FI_ADDR_NOTAVAIL;
	return n;
}

static ssize_t omxfi_cq_readerr(struct fid_cq *fcq, struct fi_cq_err_entry *buf,
				uint64_t flags)
{
	struct omxfi_cq *cq = (struct omxfi_cq *)fcq;
	struct omxfi_comp *c = cq->head;

	(void)flags;
	if (!c || !c->e.err)
		return -FI_EAGAIN;
	/* err_data is not provided: keep the caller's err_data fields. */
	buf->op_context = c->e.op_context;
	buf->flags = c->e.flags;
	buf->len = c->e.len;
	buf->buf = c->e.buf;
	buf->data = c->e.data;
	buf->tag = c->e.tag;
	buf->olen = c->e.olen;
	buf->err = c->e.err;
	buf->prov_errno = c->e.prov_errno;
	buf->err_data_size = 0;
	cq->head = c->next;
	if (!cq->head)
		cq->tail = NULL;
	free(c);
	return 1;
}

static ssize_t omxfi_cq_sread(struct fid_cq *fcq, void *buf, size_t count,
			      const void *cond, int timeout)
{
	struct timespec a, b;
	ssize_t n;

	(void)cond;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (;;) {
		n = omxfi_cq_read(fcq, buf, count);
		if (n != -FI_EAGAIN)
			return n;
		if (timeout >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &b);
			if ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= timeout)
				return -FI_EAGAIN;
		}
	}
}

static ssize_t omxfi_cq_sreadfrom(struct fid_cq *fcq, void *buf, size_t count,
				  fi_addr_t *src, const void *cond, int timeout)
{
	ssize_t n = omxfi_cq_sread(fcq, buf, count, cond, timeout), i;

	for (i = 0; src && i < n; i++)
		src[i] = FI_ADDR_NOTAVAIL;
	return n;
}

static const char *omxfi_cq_strerror(struct fid_cq *cq, int prov_errno,
				     const void *err_data, char *buf, size_t len)
{
	const char *s = omx_strerror((omx_return_t)prov_errno);

	(void)cq;
	(void)err_data;
	if (buf && len) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	return s;
}

static int omxfi_cq_close(struct fid *fid)
{
	struct omxfi_cq *cq = (struct omxfi_cq *)fid;
	struct omxfi_comp *c, *n;

	if (cq->neps)
		return -FI_EBUSY;
	for (c = cq->head; c; c = n) {
		n = c->next;
		free(c);
	}
	free(cq);
	return 0;
}

static struct fi_ops omxfi_cq_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = omxfi_cq_close,
	.bind = NOSYS(int (*)(struct fid *, struct fid *, uint64_t)),
	.control = NOSYS(int (*)(struct fid *, int, void *)),
	.ops_open = NOSYS(int (*)(struct fid *, const char *, uint64_t, void **, void *)),
};

static struct fi_ops_cq omxfi_cq_ops = {
	.size = sizeof(struct fi_ops_cq),
	.read = omxfi_cq_read,
	.readfrom = omxfi_cq_readfrom,
	.readerr = omxfi_cq_readerr,
	.sread = omxfi_cq_sread,
	.sreadfrom = omxfi_cq_sreadfrom,
	.signal = NOSYS(int (*)(struct fid_cq *)),
	.strerror = omxfi_cq_strerror,
};

static int omxfi_cq_open(struct fid_domain *fdom, struct fi_cq_attr *attr,
			 struct fid_cq **out, void *context)
{
	struct omxfi_cq *cq;
	enum fi_cq_format fmt = attr ? attr->format : FI_CQ_FORMAT_UNSPEC;
	size_t sz;

	switch (fmt) {
	case FI_CQ_FORMAT_UNSPEC:
	case FI_CQ_FORMAT_CONTEXT: sz = sizeof(struct fi_cq_entry); fmt = FI_CQ_FORMAT_CONTEXT; break;
	case FI_CQ_FORMAT_MSG: sz = sizeof(struct fi_cq_msg_entry); break;
	case FI_CQ_FORMAT_DATA: sz = sizeof(struct fi_cq_data_entry); break;
	case FI_CQ_FORMAT_TAGGED: sz = sizeof(struct fi_cq_tagged_entry); break;
	default: return -FI_ENOSYS;
	}
	if (attr && attr->wait_obj != FI_WAIT_NONE && attr->wait_obj != FI_WAIT_UNSPEC)
		return -FI_ENOSYS;
	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return -FI_ENOMEM;
	cq->c.fid.fclass = FI_CLASS_CQ;
	cq->c.fid.context = context;
	cq->c.fid.ops = &omxfi_cq_fi_ops;
	cq->c.ops = &omxfi_cq_ops;
	cq->dom = (struct omxfi_domain *)fdom;
	cq->format = fmt;
	cq->entry_size = sz;
	*out = &cq->c;
	return 0;
}

/* ---- address vector ---- */

static int omxfi_av_insert(struct fid_av *fav, const void *addr, size_t count,
			   fi_addr_t *fi_addr, uint64_t flags, void *context)
{
	struct omxfi_av *av = (struct omxfi_av *)fav;
	const struct omxfi_addr *a = addr;
	size_t i;
	int done = 0;

	(void)flags;
	(void)context;
	for (i = 0; i < count; i++) {
		omx_endpoint_addr_t peer;
		omx_return_t r;

		if (av->count == av->cap) {
			size_t cap = av->cap ? av->cap * 2 : 16;
			void *p = realloc(av->peers, cap * sizeof(*av->peers));

			if (!p)
				return done ? done : -FI_ENOMEM;
			av->peers = p;
			p = realloc(av->names, cap * sizeof(*av->names));
			if (!p)
				return done ? done : -FI_ENOMEM;
			av->names = p;
			av->cap = cap;
		}
		r = omx_connect(av->dom->oep, a[i].nic_id, a[i].endpoint, a[i].key,
				OMXFI_CONNECT_MS, &peer);
		if (r != OMX_SUCCESS) {
			if (fi_addr)
				fi_addr[i] = FI_ADDR_NOTAVAIL;
			continue;
		}
		av->peers[av->count] = peer;
		av->names[av->count] = a[i];
		if (fi_addr)
			fi_addr[i] = av->count;
		av->count++;
		done++;
	}
	return done;
}

static int omxfi_av_remove(struct fid_av *fav, fi_addr_t *fi_addr, size_t count,
			   uint64_t flags)
{
	(void)fav; (void)fi_addr; (void)count; (void)flags;
	return 0; /* entries stay (indexes are never reused) */
}

static int omxfi_av_lookup(struct fid_av *fav, fi_addr_t fi_addr, void *addr,
			   size_t *addrlen)
{
	struct omxfi_av *av = (struct omxfi_av *)fav;
	size_t n = *addrlen;

	if (fi_addr >= av->count)
		return -FI_EINVAL;
	if (n > sizeof(struct omxfi_addr))
		n = sizeof(struct omxfi_addr);
	memcpy(addr, &av->names[fi_addr], n);
	*addrlen = sizeof(struct omxfi_addr);
	return 0;
}

static const char *omxfi_av_straddr(struct fid_av *av, const void *addr,
				    char *buf, size_t *len)
{
	const struct omxfi_addr *a = addr;
	char s[64];
	int n;

	(void)av;
	n = snprintf(s, sizeof(s), "omx://%012llx:%u:%x",
		     (unsigned long long)a->nic_id, a->endpoint, a->key);
	if (*len)
		snprintf(buf, *len, "%s", s);
	*len = (size_t)n + 1;
	return buf;
}

static int omxfi_av_close(struct fid *fid)
{
	struct omxfi_av *av = (struct omxfi_av *)fid;

	if (av->dom->av == av)
		av->dom->av = NULL;
	free(av->peers);
	free(av->names);
	free(av);
	return 0;
}

static struct fi_ops omxfi_av_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = omxfi_av_close,
	.bind = NOSYS(int (*)(struct fid *, struct fid *, uint64_t)),
	.control = NOSYS(int (*)(struct fid *, int, void *)),
	.ops_open = NOSYS(int (*)(struct fid *, const char *, uint64_t, void **, void *)),
};

static struct fi_ops_av omxfi_av_ops = {
	.size = sizeof(struct fi_ops_av),
	.insert = omxfi_av_insert,
	.insertsvc = NOSYS(int (*)(struct fid_av *, const char *, const char *, fi_addr_t *, uint64_t, void *)),
	.insertsym = NOSYS(int (*)(struct fid_av *, const char *, size_t, const char *, size_t, fi_addr_t *, uint64_t, void *)),
	.remove = omxfi_av_remove,
	.lookup = omxfi_av_lookup,
	.straddr = omxfi_av_straddr,
	.av_set = NOSYS(int (*)(struct fid_av *, struct fi_av_set_attr *, struct fid_av_set **, void *)),
};

static int omxfi_av_open(struct fid_domain *fdom, struct fi_av_attr *attr,
			 struct fid_av **out, void *context)
{
	struct omxfi_av *av;

	if (attr && attr->type != FI_AV_UNSPEC && attr->type != FI_AV_MAP &&
	    attr->type != FI_AV_TABLE)
		return -FI_EINVAL;
	if (attr && (attr->flags & FI_EVENT))
		return -FI_ENOSYS;
	av = calloc(1, sizeof(*av));
	if (!av)
		return -FI_ENOMEM;
	av->a.fid.fclass = FI_CLASS_AV;
	av->a.fid.context = context;
	av->a.fid.ops = &omxfi_av_fi_ops;
	av->a.ops = &omxfi_av_ops;
	av->dom = (struct omxfi_domain *)fdom;
	*out = &av->a;
	return 0;
}

/* ---- endpoint: data transfers ---- */

static struct omxfi_req *omxfi_req_new(struct omxfi_ep *ep, int kind, void *ctx,
				       uint64_t flags, void *buf, size_t len,
				       size_t extra)
{
	struct omxfi_req *q = malloc(sizeof(*q) + extra);

	if (!q)
		return NULL;
	q->ep = ep;
	q->kind = kind;
	q->op_context = ctx;
	q->flags = flags;
	q->buf = buf;
	q->len = len;
	q->oreq = NULL;
	q->next = ep->pending.next;
	q->prev = &ep->pending;
	ep->pending.next->prev = q;
	ep->pending.next = q;
	return q;
}

static ssize_t omxfi_post_send(struct omxfi_ep *ep, const struct iovec *iov,
			       size_t iov_count, fi_addr_t dest, uint64_t match,
			       void *ctx, uint64_t flags, int inject)
{
	omx_seg_t segs[8];
	struct omxfi_req *q;
	omx_return_t r;
	size_t i, total = 0;

	if (!ep->enabled || !ep->av)
		return -FI_EOPBADSTATE;
	if (dest >= ep->av->count)
		return -FI_EINVAL;
	if (iov_count > 8)
		return -FI_EINVAL;
	for (i = 0; i < iov_count; i++)
		total += iov[i].iov_len;
	if (inject && total > OMXFI_INJECT)
		return -FI_EMSGSIZE;
	q = omxfi_req_new(ep, inject ? OMXFI_INJECT_SEND : OMXFI_SEND, ctx,
			  flags | FI_SEND, NULL, total, inject ? total : 0);
	if (!q)
		return -FI_EAGAIN;
	if (inject) {
		size_t off = 0;

		for (i = 0; i < iov_count; i++) {
			memcpy(q->data + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		segs[0].ptr = q->data;
		segs[0].len = (uint32_t)total;
		iov_count = 1;
	} else {
		for (i = 0; i < iov_count; i++) {
			segs[i].ptr = iov[i].iov_base;
			segs[i].len = (uint32_t)iov[i].iov_len;
		}
	}
	r = omx_isendv(ep->dom->oep, segs, (uint32_t)iov_count, ep->av->peers[dest],
		       match, q, &q->oreq);
	if (r != OMX_SUCCESS) {
		omxfi_req_unlink(q);
		free(q);
		return omxfi_err(r);
	}
	return 0;
}

static ssize_t omxfi_post_recv(struct omxfi_ep *ep, const struct iovec *iov,
			       size_t iov_count, uint64_t match, uint64_t mask,
			       void *ctx, uint64_t flags)
{
	omx_seg_t segs[8];
	struct omxfi_req *q;
	omx_return_t r;
	size_t i;

	if (!ep->enabled)
		return -FI_EOPBADSTATE;
	if (iov_count > 8)
		return -FI_EINVAL;
	q = omxfi_req_new(ep, OMXFI_RECV, ctx, flags | FI_RECV,
			  iov_count ? iov[0].iov_base : NULL,
			  iov_count ? iov[0].iov_len : 0, 0);
	if (!q)
		return -FI_EAGAIN;
	for (i = 0; i < iov_count; i++) {
		segs[i].ptr = iov[i].iov_base;
		segs[i].len = (uint32_t)iov[i].iov_len;
	}
	r = omx_irecvv(ep->dom->oep, segs, (uint32_t)iov_count, match & mask, mask,
		       q, &q->oreq);
	if (r != OMX_SUCCESS) {
		omxfi_req_unlink(q);
		free(q);
		return omxfi_err(r);
	}
	return 0;
}

#define EP(fep) ((struct omxfi_ep *)(fep))

static uint64_t omxfi_tmask(struct fid_ep *ep, uint64_t ignore)
{
	return (~ignore & EP(ep)->tagbits) | EP(ep)->msgbit;
}

static ssize_t omxfi_trecv(struct fid_ep *ep, void *buf, size_t len, void *desc,
			   fi_addr_t src, uint64_t tag, uint64_t ignore, void *ctx)
{
	struct iovec v = { buf, len };

	(void)desc; (void)src;
	return omxfi_post_recv(EP(ep), &v, 1, tag & EP(ep)->tagbits,
			       omxfi_tmask(ep, ignore), ctx, FI_TAGGED);
}

static ssize_t omxfi_trecvv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			    size_t count, fi_addr_t src, uint64_t tag,
			    uint64_t ignore, void *ctx)
{
	(void)desc; (void)src;
	return omxfi_post_recv(EP(ep), iov, count, tag & EP(ep)->tagbits,
			       omxfi_tmask(ep, ignore), ctx, FI_TAGGED);
}

static ssize_t omxfi_trecvmsg(struct fid_ep *ep, const struct fi_msg_tagged *m,
			      uint64_t flags)
{
	if (flags & (FI_PEEK | FI_CLAIM | FI_MULTI_RECV))
		return -FI_ENOSYS;
	return omxfi_post_recv(EP(ep), m->msg_iov, m->iov_count,
			       m->tag & EP(ep)->tagbits, omxfi_tmask(ep, m->ignore),
			       m->context, FI_TAGGED | (flags & FI_COMPLETION));
}

static ssize_t omxfi_tsend(struct fid_ep *ep, const void *buf, size_t len,
			   void *desc, fi_addr_t dest, uint64_t tag, void *ctx)
{
	struct iovec v = { (void *)buf, len };

	(void)desc;
	if (tag & EP(ep)->msgbit)
		return -FI_EINVAL;
	return omxfi_post_send(EP(ep), &v, 1, dest, tag, ctx, FI_TAGGED, 0);
}

static ssize_t omxfi_tsendv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			    size_t count, fi_addr_t dest, uint64_t tag, void *ctx)
{
	(void)desc;
	if (tag & EP(ep)->msgbit)
		return -FI_EINVAL;
	return omxfi_post_send(EP(ep), iov, count, dest, tag, ctx, FI_TAGGED, 0);
}

static ssize_t omxfi_tsendmsg(struct fid_ep *ep, const struct fi_msg_tagged *m,
			      uint64_t flags)
{
	if (m->tag & EP(ep)->msgbit)
		return -FI_EINVAL;
	return omxfi_post_send(EP(ep), m->msg_iov, m->iov_count, m->addr, m->tag,
			       m->context, FI_TAGGED | (flags & FI_COMPLETION), 0);
}

static ssize_t omxfi_tinject(struct fid_ep *ep, const void *buf, size_t len,
			     fi_addr_t dest, uint64_t tag)
{
	struct iovec v = { (void *)buf, len };

	if (tag & EP(ep)->msgbit)
		return -FI_EINVAL;
	return omxfi_post_send(EP(ep), &v, 1, dest, tag, NULL, FI_TAGGED, 1);
}

static ssize_t omxfi_recv(struct fid_ep *ep, void *buf, size_t len, void *desc,
			  fi_addr_t src, void *ctx)
{
	struct iovec v = { buf, len };

	(void)desc; (void)src;
	if (!EP(ep)->msgbit)
		return -FI_EOPNOTSUPP;
	return omxfi_post_recv(EP(ep), &v, 1, OMXFI_MSG_BIT, OMXFI_MSG_BIT, ctx, FI_MSG);
}

static ssize_t omxfi_recvv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			   size_t count, fi_addr_t src, void *ctx)
{
	(void)desc; (void)src;
	if (!EP(ep)->msgbit)
		return -FI_EOPNOTSUPP;
	return omxfi_post_recv(EP(ep), iov, count, OMXFI_MSG_BIT, OMXFI_MSG_BIT, ctx, FI_MSG);
}

static ssize_t omxfi_recvmsg(struct fid_ep *ep, const struct fi_msg *m, uint64_t flags)
{
	if (flags & FI_MULTI_RECV)
		return -FI_ENOSYS;
	if (!EP(ep)->msgbit)
		return -FI_EOPNOTSUPP;
	return omxfi_post_recv(EP(ep), m->msg_iov, m->iov_count, OMXFI_MSG_BIT,
			       OMXFI_MSG_BIT, m->context, FI_MSG | (flags & FI_COMPLETION));
}

static ssize_t omxfi_send(struct fid_ep *ep, const void *buf, size_t len, void *desc,
			  fi_addr_t dest, void *ctx)
{
	struct iovec v = { (void *)buf, len };

	(void)desc;
	if (!EP(ep)->msgbit)
		return -FI_EOPNOTSUPP;
	return omxfi_post_send(EP(ep), &v, 1, dest, OMXFI_MSG_BIT, ctx, FI_MSG, 0);
}

static ssize_t omxfi_sendv(struct fid_ep *ep, const struct iovec *iov, void **desc,
			   size_t count, fi_addr_t dest, void *ctx)
{
	(void)desc;
	if (!EP(ep)->msgbit)
		return -FI_EOPNOTSUPP;
	return omxfi_post_send(EP(ep), iov, count, dest, OMXFI_MSG_BIT, ctx, FI_MSG, 0);
}

static ssize_t omxfi_sendmsg(struct fid_ep *ep, const struct fi_msg *m, uint64_t flags)
{
	if (!EP(ep)->msgbit)
		return -FI_EOPNOTSUPP;
	return omxfi_post_send(EP(ep), m->msg_iov, m->iov_count, m->addr, OMXFI_MSG_BIT,
			       m->context, FI_MSG | (flags & FI_COMPLETION), 0);
}

static ssize_t omxfi_inject(struct fid_ep *ep, const void *buf, size_t len,
			    fi_addr_t dest)
{
	struct iovec v = { (void *)buf, len };

	if (!EP(ep)->msgbit)
		return -FI_EOPNOTSUPP;
	return omxfi_post_send(EP(ep), &v, 1, dest, OMXFI_MSG_BIT, NULL, FI_MSG, 1);
}

static struct fi_ops_tagged omxfi_tagged_ops = {
	.size = sizeof(struct fi_ops_tagged),
	.recv = omxfi_trecv,
	.recvv = omxfi_trecvv,
	.recvmsg = omxfi_trecvmsg,
	.send = omxfi_tsend,
	.sendv = omxfi_tsendv,
	.sendmsg = omxfi_tsendmsg,
	.inject = omxfi_tinject,
	.senddata = NOSYS(ssize_t (*)(struct fid_ep *, const void *, size_t, void *, uint64_t, fi_addr_t, uint64_t, void *)),
	.injectdata = NOSYS(ssize_t (*)(struct fid_ep *, const void *, size_t, uint64_t, fi_addr_t, uint64_t)),
};

static struct fi_ops_msg omxfi_msg_ops = {
	.size = sizeof(struct fi_ops_msg),
	.recv = omxfi_recv,
	.recvv = omxfi_recvv,
	.recvmsg = omxfi_recvmsg,
	.send = omxfi_send,
	.sendv = omxfi_sendv,
	.sendmsg = omxfi_sendmsg,
	.inject = omxfi_inject,
	.senddata = NOSYS(ssize_t (*)(struct fid_ep *, const void *, size_t, void *, uint64_t, fi_addr_t, void *)),
	.injectdata = NOSYS(ssize_t (*)(struct fid_ep *, const void *, size_t, uint64_t, fi_addr_t)),
};

/* ---- endpoint: control ---- */

static ssize_t omxfi_ep_cancel(fid_t fid, void *context)
{
	struct omxfi_ep *ep = (struct omxfi_ep *)fid;
	struct omxfi_req *q;

	for (q = ep->pending.next; q != &ep->pending; q = q->next) {
		uint32_t res = 0;

		if (q->kind != OMXFI_RECV || q->op_context != context)
			continue;
		if (omx_cancel(ep->dom->oep, &q->oreq, &res) == OMX_SUCCESS && res) {
			omxfi_complete(q, NULL);
			return 0;
		}
		return 0; /* already matched: it completes normally */
	}
	return -FI_ENOENT;
}

static int omxfi_ep_getopt(fid_t fid, int level, int name, void *val, size_t *len)
{
	(void)fid; (void)level; (void)name; (void)val; (void)len;
	return -FI_ENOPROTOOPT;
}

static int omxfi_ep_setopt(fid_t fid, int level, int name, const void *val, size_t len)
{
	(void)fid; (void)level; (void)name; (void)val; (void)len;
	return -FI_ENOPROTOOPT;
}

static ssize_t omxfi_size_left(struct fid_ep *ep)
{
	(void)ep;
	return OMXFI_QUEUE;
}

static struct fi_ops_ep omxfi_ep_ops = {
	.size = sizeof(struct fi_ops_ep),
	.cancel = omxfi_ep_cancel,
	.getopt = omxfi_ep_getopt,
	.setopt = omxfi_ep_setopt,
	.tx_ctx = NOSYS(int (*)(struct fid_ep *, int, struct fi_tx_attr *, struct fid_ep **, void *)),
	.rx_ctx = NOSYS(int (*)(struct fid_ep *, int, struct fi_rx_attr *, struct fid_ep **, void *)),
	.rx_size_left = omxfi_size_left,
	.tx_size_left = omxfi_size_left,
};

static int omxfi_getname(fid_t fid, void *addr, size_t *addrlen)
{
	struct omxfi_domain *dom;
	size_t n = *addrlen;

	if (fid->fclass == FI_CLASS_EP)
		dom = ((struct omxfi_ep *)fid)->dom;
	else
		return -FI_EINVAL;
	*addrlen = sizeof(struct omxfi_addr);
	if (n < sizeof(struct omxfi_addr))
		return -FI_ETOOSMALL;
	memcpy(addr, &dom->self, sizeof(struct omxfi_addr));
	return 0;
}

static struct fi_ops_cm omxfi_cm_ops = {
	.size = sizeof(struct fi_ops_cm),
	.setname = NOSYS(int (*)(fid_t, void *, size_t)),
	.getname = omxfi_getname,
	.getpeer = NOSYS(int (*)(struct fid_ep *, void *, size_t *)),
	.connect = NOSYS(int (*)(struct fid_ep *, const void *, const void *, size_t)),
	.listen = NOSYS(int (*)(struct fid_pep *)),
	.accept = NOSYS(int (*)(struct fid_ep *, const void *, size_t)),
	.reject = NOSYS(int (*)(struct fid_pep *, fid_t, const void *, size_t)),
	.shutdown = NOSYS(int (*)(struct fid_ep *, uint64_t)),
	.join = NOSYS(int (*)(struct fid_ep *, const void *, uint64_t, struct fid_mc **, void *)),
};

static void omxfi_cq_detach(struct omxfi_cq *cq, struct omxfi_ep *ep)
{
	int i;

	for (i = 0; cq && i < cq->neps; i++) {
		if (cq->eps[i] == ep) {
			cq->eps[i] = cq->eps[--cq->neps];
			return;
		}
	}
}

static int omxfi_ep_close(struct fid *fid)
{
	struct omxfi_ep *ep = (struct omxfi_ep *)fid;
	struct omxfi_req *q, *n;

	/* Cancel the receives still posted; forget the sends. */
	for (q = ep->pending.next; q != &ep->pending; q = n) {
		uint32_t res = 0;

		n = q->next;
		if (q->kind == OMXFI_RECV && q->oreq &&
		    omx_cancel(ep->dom->oep, &q->oreq, &res) == OMX_SUCCESS && res) {
			omxfi_req_unlink(q);
			free(q);
		} else if (q->oreq) {
			omx_forget(ep->dom->oep, &q->oreq);
			/* The library still holds q as its context: keep it
			 * (leaked) rather than free it under a live request. */
			omxfi_req_unlink(q);
			q->next = q->prev = q;
		}
	}
	if (ep->txcq)
		omxfi_cq_detach(ep->txcq, ep);
	if (ep->rxcq && ep->rxcq != ep->txcq)
		omxfi_cq_detach(ep->rxcq, ep);
	ep->dom->neps--;
	free(ep);
	return 0;
}

static int omxfi_cq_attach(struct omxfi_cq *cq, struct omxfi_ep *ep)
{
	int i;

	for (i = 0; i < cq->neps; i++)
		if (cq->eps[i] == ep)
			return 0;
	if (cq->neps == OMXFI_CQ_EPS)
		return -FI_ENOSPC;
	cq->eps[cq->neps++] = ep;
	return 0;
}

static int omxfi_ep_bind(struct fid *fid, struct fid *bfid, uint64_t flags)
{
	struct omxfi_ep *ep = (struct omxfi_ep *)fid;
	int ret;

	switch (bfid->fclass) {
	case FI_CLASS_AV:
		ep->av = (struct omxfi_av *)bfid;
		return 0;
	case FI_CLASS_CQ: {
		struct omxfi_cq *cq = (struct omxfi_cq *)bfid;

		if (!(flags & (FI_TRANSMIT | FI_RECV)))
			return -FI_EINVAL;
		ret = omxfi_cq_attach(cq, ep);
		if (ret)
			return ret;
		if (flags & FI_TRANSMIT) {
			ep->txcq = cq;
			ep->txsel = flags & FI_SELECTIVE_COMPLETION;
		}
		if (flags & FI_RECV) {
			ep->rxcq = cq;
			ep->rxsel = flags & FI_SELECTIVE_COMPLETION;
		}
		return 0;
	}
	case FI_CLASS_EQ:
		return 0;
	default:
		return -FI_ENOSYS;
	}
}

static int omxfi_ep_control(struct fid *fid, int command, void *arg)
{
	struct omxfi_ep *ep = (struct omxfi_ep *)fid;

	(void)arg;
	switch (command) {
	case FI_ENABLE:
		if (!ep->txcq || !ep->rxcq || !ep->av)
			return -FI_ENOCQ;
		ep->enabled = 1;
		return 0;
	default:
		return -FI_ENOSYS;
	}
}

static struct fi_ops omxfi_ep_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = omxfi_ep_close,
	.bind = omxfi_ep_bind,
	.control = omxfi_ep_control,
	.ops_open = NOSYS(int (*)(struct fid *, const char *, uint64_t, void **, void *)),
};

static int omxfi_endpoint(struct fid_domain *fdom, struct fi_info *info,
			  struct fid_ep **out, void *context)
{
	struct omxfi_domain *dom = (struct omxfi_domain *)fdom;
	struct omxfi_ep *ep;

	if (info && info->ep_attr && info->ep_attr->type != FI_EP_RDM &&
	    info->ep_attr->type != FI_EP_UNSPEC)
		return -FI_ENOSYS;
	if (dom->neps)
		return -FI_EBUSY; /* one endpoint per domain */
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -FI_ENOMEM;
	ep->e.fid.fclass = FI_CLASS_EP;
	ep->e.fid.context = context;
	ep->e.fid.ops = &omxfi_ep_fi_ops;
	ep->e.ops = &omxfi_ep_ops;
	ep->e.cm = &omxfi_cm_ops;
	ep->e.msg = &omxfi_msg_ops;
	ep->e.tagged = &omxfi_tagged_ops;
	ep->dom = dom;
	/* Without FI_MSG in the caps, every one of the 64 bits is a tag. */
	ep->msgbit = OMXFI_MSG_BIT;
	if (info && (info->caps & FI_TAGGED) && !(info->caps & FI_MSG))
		ep->msgbit = 0;
	ep->tagbits = ~ep->msgbit;
	ep->pending.next = ep->pending.prev = &ep->pending;
	dom->neps++;
	*out = &ep->e;
	return 0;
}

/* ---- domain ---- */

static int omxfi_domain_close(struct fid *fid)
{
	struct omxfi_domain *dom = (struct omxfi_domain *)fid;

	if (dom->neps)
		return -FI_EBUSY;
	omx_close_endpoint(dom->oep);
	free(dom);
	return 0;
}

static struct fi_ops omxfi_domain_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = omxfi_domain_close,
	.bind = NOSYS(int (*)(struct fid *, struct fid *, uint64_t)),
	.control = NOSYS(int (*)(struct fid *, int, void *)),
	.ops_open = NOSYS(int (*)(struct fid *, const char *, uint64_t, void **, void *)),
};

static struct fi_ops_domain omxfi_domain_ops = {
	.size = sizeof(struct fi_ops_domain),
	.av_open = omxfi_av_open,
	.cq_open = omxfi_cq_open,
	.endpoint = omxfi_endpoint,
	.scalable_ep = NOSYS(int (*)(struct fid_domain *, struct fi_info *, struct fid_ep **, void *)),
	.cntr_open = NOSYS(int (*)(struct fid_domain *, struct fi_cntr_attr *, struct fid_cntr **, void *)),
	.poll_open = NOSYS(int (*)(struct fid_domain *, struct fi_poll_attr *, struct fid_poll **)),
	.stx_ctx = NOSYS(int (*)(struct fid_domain *, struct fi_tx_attr *, struct fid_stx **, void *)),
	.srx_ctx = NOSYS(int (*)(struct fid_domain *, struct fi_rx_attr *, struct fid_ep **, void *)),
	.query_atomic = NOSYS(int (*)(struct fid_domain *, enum fi_datatype, enum fi_op, struct fi_atomic_attr *, uint64_t)),
	.query_collective = NOSYS(int (*)(struct fid_domain *, enum fi_collective_op, struct fi_collective_attr *, uint64_t)),
};

static struct fi_ops_mr omxfi_mr_ops = {
	.size = sizeof(struct fi_ops_mr),
	.reg = NOSYS(int (*)(struct fid *, const void *, size_t, uint64_t, uint64_t, uint64_t, uint64_t, struct fid_mr **, void *)),
	.regv = NOSYS(int (*)(struct fid *, const struct iovec *, size_t, uint64_t, uint64_t, uint64_t, uint64_t, struct fid_mr **, void *)),
	.regattr = NOSYS(int (*)(struct fid *, const struct fi_mr_attr *, uint64_t, struct fid_mr **)),
};

static int omxfi_domain(struct fid_fabric *fab, struct fi_info *info,
			struct fid_domain **out, void *context)
{
	struct omxfi_domain *dom;
	omx_endpoint_param_t param;
	omx_endpoint_addr_t self;
	omx_return_t r;
	int ret;

	(void)fab;
	(void)info;
	ret = omxfi_lib_init();
	if (ret)
		return ret;
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return -FI_ENOMEM;
	param.key = OMX_ENDPOINT_PARAM_ERROR_HANDLER;
	param.val.error_handler = OMX_ERRORS_RETURN;
	r = omx_open_endpoint(OMX_ANY_NIC, OMX_ANY_ENDPOINT, OMXFI_KEY, &param, 1,
			      &dom->oep);
	if (r != OMX_SUCCESS) {
		free(dom);
		return omxfi_err(r);
	}
	omx_get_endpoint_addr(dom->oep, &self);
	omx_decompose_endpoint_addr(self, &dom->self.nic_id, &dom->self.endpoint);
	dom->self.key = OMXFI_KEY;
	dom->d.fid.fclass = FI_CLASS_DOMAIN;
	dom->d.fid.context = context;
	dom->d.fid.ops = &omxfi_domain_fi_ops;
	dom->d.ops = &omxfi_domain_ops;
	dom->d.mr = &omxfi_mr_ops;
	*out = &dom->d;
	return 0;
}

/* ---- event queue (accepted, never fed: RDM has no connection events) ---- */

static ssize_t omxfi_eq_read(struct fid_eq *eq, uint32_t *event, void *buf,
			     size_t len, uint64_t flags)
{
	(void)eq; (void)event; (void)buf; (void)len; (void)flags;
	return -FI_EAGAIN;
}

static ssize_t omxfi_eq_readerr(struct fid_eq *eq, struct fi_eq_err_entry *buf,
				uint64_t flags)
{
	(void)eq; (void)buf; (void)flags;
	return -FI_EAGAIN;
}

static ssize_t omxfi_eq_sread(struct fid_eq *eq, uint32_t *event, void *buf,
			      size_t len, int timeout, uint64_t flags)
{
	(void)eq; (void)event; (void)buf; (void)len; (void)timeout; (void)flags;
	return -FI_EAGAIN;
}

static const char *omxfi_eq_strerror(struct fid_eq *eq, int prov_errno,
				     const void *err_data, char *buf, size_t len)
{
	(void)eq; (void)err_data;
	return omxfi_cq_strerror(NULL, prov_errno, NULL, buf, len);
}

static int omxfi_eq_close(struct fid *fid)
{
	free(fid);
	return 0;
}

static struct fi_ops omxfi_eq_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = omxfi_eq_close,
	.bind = NOSYS(int (*)(struct fid *, struct fid *, uint64_t)),
	.control = NOSYS(int (*)(struct fid *, int, void *)),
	.ops_open = NOSYS(int (*)(struct fid *, const char *, uint64_t, void **, void *)),
};

static struct fi_ops_eq omxfi_eq_ops = {
	.size = sizeof(struct fi_ops_eq),
	.read = omxfi_eq_read,
	.readerr = omxfi_eq_readerr,
	.write = NOSYS(ssize_t (*)(struct fid_eq *, uint32_t, const void *, size_t, uint64_t)),
	.sread = omxfi_eq_sread,
	.strerror = omxfi_eq_strerror,
};

static int omxfi_eq_open(struct fid_fabric *fab, struct fi_eq_attr *attr,
			 struct fid_eq **out, void *context)
{
	struct omxfi_eq *eq;

	(void)fab;
	(void)attr;
	eq = calloc(1, sizeof(*eq));
	if (!eq)
		return -FI_ENOMEM;
	eq->e.fid.fclass = FI_CLASS_EQ;
	eq->e.fid.context = context;
	eq->e.fid.ops = &omxfi_eq_fi_ops;
	eq->e.ops = &omxfi_eq_ops;
	*out = &eq->e;
	return 0;
}

/* ---- fabric ---- */

static int omxfi_fabric_close(struct fid *fid)
{
	free(fid);
	return 0;
}

static struct fi_ops omxfi_fabric_fi_ops = {
	.size = sizeof(struct fi_ops),
	.close = omxfi_fabric_close,
	.bind = NOSYS(int (*)(struct fid *, struct fid *, uint64_t)),
	.control = NOSYS(int (*)(struct fid *, int, void *)),
	.ops_open = NOSYS(int (*)(struct fid *, const char *, uint64_t, void **, void *)),
};

static struct fi_ops_fabric omxfi_fabric_ops = {
	.size = sizeof(struct fi_ops_fabric),
	.domain = omxfi_domain,
	.passive_ep = NOSYS(int (*)(struct fid_fabric *, struct fi_info *, struct fid_pep **, void *)),
	.eq_open = omxfi_eq_open,
	.wait_open = NOSYS(int (*)(struct fid_fabric *, struct fi_wait_attr *, struct fid_wait **)),
	.trywait = NOSYS(int (*)(struct fid_fabric *, struct fid **, int)),
};

static int omxfi_fabric(struct fi_fabric_attr *attr, struct fid_fabric **out,
			void *context)
{
	struct omxfi_fabric *fab;

	if (attr && attr->name && strcmp(attr->name, OMXFI_NAME) != 0)
		return -FI_ENODATA;
	fab = calloc(1, sizeof(*fab));
	if (!fab)
		return -FI_ENOMEM;
	fab->f.fid.fclass = FI_CLASS_FABRIC;
	fab->f.fid.context = context;
	fab->f.fid.ops = &omxfi_fabric_fi_ops;
	fab->f.ops = &omxfi_fabric_ops;
	fab->f.api_version = attr ? attr->api_version : 0;
	*out = &fab->f;
	return 0;
}

/* ---- getinfo ---- */

static int omxfi_getinfo(uint32_t version, const char *node, const char *service,
			 uint64_t flags, const struct fi_info *hints,
			 struct fi_info **info)
{
	struct fi_info *fi;
	uint64_t nic;

	(void)node;
	(void)service;
	(void)flags;
	*info = NULL;
	if (omxfi_lib_init() || omx_board_number_to_nic_id(0, &nic) != OMX_SUCCESS)
		return -FI_ENODATA;
	if (hints) {
		if (hints->caps & ~(OMXFI_CAPS | FI_LOCAL_COMM | FI_REMOTE_COMM))
			return -FI_ENODATA;
		if (hints->ep_attr && hints->ep_attr->type != FI_EP_UNSPEC &&
		    hints->ep_attr->type != FI_EP_RDM)
			return -FI_ENODATA;
		if (hints->addr_format != FI_FORMAT_UNSPEC)
			return -FI_ENODATA;
		if (hints->domain_attr && hints->domain_attr->av_type != FI_AV_UNSPEC &&
		    hints->domain_attr->av_type != FI_AV_MAP &&
		    hints->domain_attr->av_type != FI_AV_TABLE)
			return -FI_ENODATA;
		/* No locks: one thread at a time per domain (one endpoint). */
		if (hints->domain_attr &&
		    (hints->domain_attr->threading == FI_THREAD_SAFE ||
		     hints->domain_attr->threading == FI_THREAD_FID))
			return -FI_ENODATA;
		if (hints->fabric_attr && hints->fabric_attr->name &&
		    strcmp(hints->fabric_attr->name, OMXFI_NAME) != 0)
			return -FI_ENODATA;
		if (hints->domain_attr && hints->domain_attr->name &&
		    strcmp(hints->domain_attr->name, OMXFI_NAME) != 0)
			return -FI_ENODATA;
	}
	fi = fi_allocinfo();
	if (!fi)
		return -FI_ENOMEM;
	fi->caps = OMXFI_CAPS | FI_LOCAL_COMM | FI_REMOTE_COMM;
	if (hints && hints->caps)
		fi->caps = hints->caps | FI_SEND | FI_RECV;
	if (!(fi->caps & (FI_TAGGED | FI_MSG)))
		fi->caps |= FI_TAGGED | FI_MSG;
	fi->mode = 0;
	fi->addr_format = FI_FORMAT_UNSPEC;
	fi->tx_attr->caps = fi->caps;
	fi->tx_attr->msg_order = FI_ORDER_SAS;
	fi->tx_attr->comp_order = FI_ORDER_NONE;
	fi->tx_attr->inject_size = OMXFI_INJECT;
	fi->tx_attr->size = OMXFI_QUEUE;
	fi->tx_attr->iov_limit = 8;
	fi->rx_attr->caps = fi->caps;
	fi->rx_attr->msg_order = FI_ORDER_SAS;
	fi->rx_attr->comp_order = FI_ORDER_NONE;
	fi->rx_attr->size = OMXFI_QUEUE;
	fi->rx_attr->iov_limit = 8;
	/* RDM only: offering FI_EP_DGRAM too would make libfabric layer its
	 * ofi_rxd utility over us, a second "omx;ofi_rxd" info. */
	fi->ep_attr->type = FI_EP_RDM;
	fi->ep_attr->protocol = FI_PROTO_UNSPEC;
	fi->ep_attr->max_msg_size = OMXFI_MAX_MSG;
	fi->ep_attr->mem_tag_format = (fi->caps & FI_MSG) ? OMXFI_TAG_BITS : ~0ULL;
	fi->ep_attr->tx_ctx_cnt = 1;
	fi->ep_attr->rx_ctx_cnt = 1;
	fi->domain_attr->name = strdup(OMXFI_NAME);
	fi->domain_attr->threading = FI_THREAD_DOMAIN;
	fi->domain_attr->control_progress = FI_PROGRESS_MANUAL;
	fi->domain_attr->data_progress = FI_PROGRESS_MANUAL;
	fi->domain_attr->resource_mgmt = FI_RM_ENABLED;
	fi->domain_attr->av_type = FI_AV_MAP;
	if (hints && hints->domain_attr && hints->domain_attr->av_type == FI_AV_TABLE)
		fi->domain_attr->av_type = FI_AV_TABLE;
	fi->domain_attr->mr_mode = version < FI_VERSION(1, 5) ? FI_MR_SCALABLE : 0;
	fi->domain_attr->cq_cnt = 64;
	fi->domain_attr->ep_cnt = 1;
	fi->domain_attr->tx_ctx_cnt = 1;
	fi->domain_attr->rx_ctx_cnt = 1;
	fi->domain_attr->max_ep_tx_ctx = 1;
	fi->domain_attr->max_ep_rx_ctx = 1;
	fi->domain_attr->cq_data_size = 0;
	fi->domain_attr->caps = FI_LOCAL_COMM | FI_REMOTE_COMM;
	fi->fabric_attr->name = strdup(OMXFI_NAME);
	fi->fabric_attr->prov_version = OMXFI_VERSION;
	*info = fi;
	return 0;
}

static void omxfi_cleanup(void)
{
}

static struct fi_provider omxfi_prov = {
	.version = OMXFI_VERSION,
	.fi_version = FI_VERSION(1, 17),
	.name = OMXFI_NAME,
	.getinfo = omxfi_getinfo,
	.fabric = omxfi_fabric,
	.cleanup = omxfi_cleanup,
};

__attribute__((visibility("default"))) struct fi_provider *fi_prov_ini(void)
{
	return &omxfi_prov;
}
