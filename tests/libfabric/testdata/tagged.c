/*
 * tagged.c - exercises the "omx" libfabric provider's tagged and message
 * paths in one process: two domains (each its own Open-MX endpoint), each
 * with an RDM endpoint, a tagged-format CQ and an address vector holding
 * the other. Prints "ok <step>" per step and "PASS" at the end; exits 1 on
 * the first failure.
 */
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

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "FAIL line %d: ", __LINE__);       \
			fprintf(stderr, __VA_ARGS__);                      \
			fprintf(stderr, "\n");                             \
			exit(1);                                           \
		}                                                          \
	} while (0)

#define FI(call)                                                           \
	do {                                                               \
		int r_ = (int)(call);                                      \
		CHECK(r_ == 0, "%s: %d (%s)", #call, r_, fi_strerror(-r_)); \
	} while (0)

struct side {
	struct fid_domain *dom;
	struct fid_ep *ep;
	struct fid_cq *cq;
	struct fid_av *av;
	fi_addr_t peer;
	char name[64];
	size_t namelen;
};

static struct fi_info *info;
static struct fid_fabric *fabric;

static void open_side(struct side *s)
{
	struct fi_cq_attr cqa = { .format = FI_CQ_FORMAT_TAGGED, .wait_obj = FI_WAIT_NONE };
	struct fi_av_attr ava = { .type = FI_AV_MAP };

	FI(fi_domain(fabric, info, &s->dom, NULL));
	FI(fi_cq_open(s->dom, &cqa, &s->cq, NULL));
	FI(fi_av_open(s->dom, &ava, &s->av, NULL));
	FI(fi_endpoint(s->dom, info, &s->ep, NULL));
	FI(fi_ep_bind(s->ep, &s->cq->fid, FI_TRANSMIT | FI_RECV));
	FI(fi_ep_bind(s->ep, &s->av->fid, 0));
	FI(fi_enable(s->ep));
	s->namelen = 1;
	CHECK(fi_getname(&s->ep->fid, s->name, &s->namelen) == -FI_ETOOSMALL,
	      "fi_getname with a short buffer");
	CHECK(s->namelen <= sizeof(s->name), "name length %zu", s->namelen);
	FI(fi_getname(&s->ep->fid, s->name, &s->namelen));
}

static void close_side(struct side *s)
{
	FI(fi_close(&s->ep->fid));
	FI(fi_close(&s->av->fid));
	FI(fi_close(&s->cq->fid));
	FI(fi_close(&s->dom->fid));
}

/* Reads one completion from cq, driving progress on both sides (the other
 * side's sends need progress too). Returns 0, or -FI_EAVAIL with *err. */
static struct side *sides[2];

static int wait_comp(struct side *s, struct fi_cq_tagged_entry *e,
		     struct fi_cq_err_entry *err)
{
	struct fi_cq_tagged_entry junk;
	time_t start = time(NULL);

	for (;;) {
		ssize_t n = fi_cq_read(s->cq, e, 1);

		if (n == 1)
			return 0;
		if (n == -FI_EAVAIL) {
			memset(err, 0, sizeof(*err));
			CHECK(fi_cq_readerr(s->cq, err, 0) == 1, "fi_cq_readerr");
			return -FI_EAVAIL;
		}
		CHECK(n == -FI_EAGAIN, "fi_cq_read: %zd", n);
		/* progress the other side without consuming its completions:
		 * a zero-count read still progresses */
		(void)junk;
		fi_cq_read(sides[s == sides[0]]->cq, &junk, 0);
		CHECK(time(NULL) - start < 20, "no completion in 20 s");
	}
}

static void expect_ok(struct side *s, void *ctx, uint64_t flags, size_t len,
		      uint64_t tag, const char *what)
{
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;

	CHECK(wait_comp(s, &e, &err) == 0, "%s: error completion %d (%s)", what,
	      err.err, fi_strerror(err.err));
	CHECK(e.op_context == ctx, "%s: context %p, want %p", what, e.op_context, ctx);
	CHECK((e.flags & flags) == flags, "%s: flags %#llx, want %#llx", what,
	      (unsigned long long)e.flags, (unsigned long long)flags);
	if (flags & FI_RECV) {
		CHECK(e.len == len, "%s: len %zu, want %zu", what, e.len, len);
		if (flags & FI_TAGGED)
			CHECK(e.tag == tag, "%s: tag %#llx, want %#llx", what,
			      (unsigned long long)e.tag, (unsigned long long)tag);
	}
}

static int no_comp(struct side *s)
{
	struct fi_cq_tagged_entry e;
	int i;

	for (i = 0; i < 2000; i++) {
		fi_cq_read(sides[s == sides[0]]->cq, &e, 0);
		if (fi_cq_read(s->cq, &e, 1) != -FI_EAGAIN)
			return 0;
	}
	return 1;
}

int main(void)
{
	struct fi_info *hints = fi_allocinfo();
	struct side a, b;
	char small[64], big_ctx, c1, c2, c3, c4, c5, c6, c7, c8;
	static char sbuf[1 << 20], rbuf[1 << 20];
	struct fi_cq_tagged_entry e;
	struct fi_cq_err_entry err;
	size_t i;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	sides[0] = &a;
	sides[1] = &b;
	hints->caps = FI_TAGGED | FI_MSG | FI_SEND | FI_RECV;
	hints->ep_attr->type = FI_EP_RDM;
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	hints->domain_attr->av_type = FI_AV_MAP;
	hints->domain_attr->threading = FI_THREAD_DOMAIN;
	hints->fabric_attr->prov_name = strdup("omx");
	FI(fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, hints, &info));
	CHECK(info->next == NULL, "more than one info");
	CHECK(strcmp(info->fabric_attr->prov_name, "omx") == 0, "provider %s",
	      info->fabric_attr->prov_name);
	CHECK((info->caps & (FI_TAGGED | FI_MSG)) == (FI_TAGGED | FI_MSG), "caps");
	CHECK(info->ep_attr->type == FI_EP_RDM, "ep type");
	printf("ok getinfo\n");

	FI(fi_fabric(info->fabric_attr, &fabric, NULL));
	open_side(&a);
	open_side(&b);
	CHECK(fi_av_insert(a.av, b.name, 1, &a.peer, 0, NULL) == 1, "av_insert a");
	CHECK(fi_av_insert(b.av, a.name, 1, &b.peer, 0, NULL) == 1, "av_insert b");
	printf("ok setup\n");

	/* Tag matching with ignore bits; the expected path. */
	FI(fi_trecv(b.ep, small, sizeof(small), NULL, FI_ADDR_UNSPEC, 0x1200, 0xff, &c1));
	FI(fi_tsend(a.ep, "hello", 6, NULL, a.peer, 0x1234, &c2));
	expect_ok(&b, &c1, FI_TAGGED | FI_RECV, 6, 0x1234, "trecv");
	CHECK(strcmp(small, "hello") == 0, "data %s", small);
	expect_ok(&a, &c2, FI_TAGGED | FI_SEND, 0, 0, "tsend");
	printf("ok tsend/trecv ignore\n");

	/* A non-matching receive stays posted. */
	FI(fi_trecv(b.ep, small, sizeof(small), NULL, FI_ADDR_UNSPEC, 0x20, 0, &c1));
	FI(fi_tinject(a.ep, "inj", 4, a.peer, 0x10));
	CHECK(no_comp(&b), "tag 0x10 matched a receive for 0x20");
	FI(fi_trecv(b.ep, small + 32, 32, NULL, FI_ADDR_UNSPEC, 0x10, 0, &c3));
	expect_ok(&b, &c3, FI_TAGGED | FI_RECV, 4, 0x10, "tinject unexpected");
	CHECK(strcmp(small + 32, "inj") == 0, "data");
	CHECK(no_comp(&a), "fi_tinject generated a completion");
	printf("ok tinject unexpected, no false match\n");

	/* Cancel the receive for 0x20. */
	FI(fi_cancel(&b.ep->fid, &c1));
	CHECK(wait_comp(&b, &e, &err) == -FI_EAVAIL, "cancel: no error completion");
	CHECK(err.err == FI_ECANCELED && err.op_context == &c1, "cancel: err %d", err.err);
	printf("ok cancel\n");

	/* Truncation. */
	FI(fi_trecv(b.ep, small, 4, NULL, FI_ADDR_UNSPEC, 7, 0, &c4));
	FI(fi_tsend(a.ep, sbuf, 100, NULL, a.peer, 7, &c5));
	CHECK(wait_comp(&b, &e, &err) == -FI_EAVAIL, "truncation: no error");
	CHECK(err.err == FI_ETRUNC, "truncation: err %d", err.err);
	CHECK(err.op_context == &c4 && err.len == 4 && err.olen == 96 && err.tag == 7,
	      "truncation: ctx %p len %zu olen %zu tag %llu", err.op_context, err.len,
	      err.olen, (unsigned long long)err.tag);
	expect_ok(&a, &c5, FI_TAGGED | FI_SEND, 0, 0, "truncated send");
	printf("ok truncation\n");

	/* tsendmsg/trecvmsg, 1 MiB in two pieces each. */
	for (i = 0; i < sizeof(sbuf); i++)
		sbuf[i] = (char)(i * 7 + 3);
	{
		struct iovec riov[2] = { { rbuf, 1000 }, { rbuf + 1000, sizeof(rbuf) - 1000 } };
		struct iovec siov[2] = { { sbuf, 12345 }, { sbuf + 12345, sizeof(sbuf) - 12345 } };
		struct fi_msg_tagged rm = { .msg_iov = riov, .iov_count = 2, .addr = FI_ADDR_UNSPEC,
					    .tag = 0xabc00, .ignore = 0xff, .context = &c6 };
		struct fi_msg_tagged sm = { .msg_iov = siov, .iov_count = 2, .addr = a.peer,
					    .tag = 0xabc42, .context = &c7 };

		FI(fi_trecvmsg(b.ep, &rm, FI_COMPLETION));
		FI(fi_tsendmsg(a.ep, &sm, FI_COMPLETION));
		expect_ok(&b, &c6, FI_TAGGED | FI_RECV, sizeof(rbuf), 0xabc42, "trecvmsg");
		expect_ok(&a, &c7, FI_TAGGED | FI_SEND, 0, 0, "tsendmsg");
		CHECK(memcmp(sbuf, rbuf, sizeof(rbuf)) == 0, "1 MiB data differs");
	}
	printf("ok tsendmsg/trecvmsg 1 MiB\n");

	/* FI_MSG and tagged messages never match each other. */
	FI(fi_trecv(b.ep, small, sizeof(small), NULL, FI_ADDR_UNSPEC, 0, ~0ULL >> 1, &c1));
	FI(fi_send(a.ep, "msg", 4, NULL, a.peer, &c8));
	CHECK(no_comp(&b), "an FI_MSG message matched a tagged receive");
	FI(fi_recv(b.ep, small + 32, 32, NULL, FI_ADDR_UNSPEC, &big_ctx));
	expect_ok(&b, &big_ctx, FI_MSG | FI_RECV, 4, 0, "recv");
	CHECK(strcmp(small + 32, "msg") == 0, "msg data");
	expect_ok(&a, &c8, FI_MSG | FI_SEND, 0, 0, "send");
	FI(fi_tsend(a.ep, "tag", 4, NULL, a.peer, 0x77, &c2));
	expect_ok(&b, &c1, FI_TAGGED | FI_RECV, 4, 0x77, "trecv any tag");
	expect_ok(&a, &c2, FI_TAGGED | FI_SEND, 0, 0, "tsend");
	CHECK(fi_tsend(a.ep, "x", 1, NULL, a.peer, 1ULL << 63, &c2) == -FI_EINVAL,
	      "the reserved tag bit was accepted");
	printf("ok msg/tagged separation\n");

	close_side(&a);
	close_side(&b);
	FI(fi_close(&fabric->fid));
	fi_freeinfo(info);

	/* Tagged only (no FI_MSG): all 64 bits are tag bits. */
	hints->caps = FI_TAGGED;
	FI(fi_getinfo(FI_VERSION(1, 17), NULL, NULL, 0, hints, &info));
	CHECK(!(info->caps & FI_MSG), "FI_MSG granted though not asked for");
	CHECK(info->ep_attr->mem_tag_format == ~0ULL, "mem_tag_format %#llx",
	      (unsigned long long)info->ep_attr->mem_tag_format);
	FI(fi_fabric(info->fabric_attr, &fabric, NULL));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	open_side(&a);
	open_side(&b);
	CHECK(fi_av_insert(a.av, b.name, 1, &a.peer, 0, NULL) == 1, "av_insert a");
	FI(fi_trecv(b.ep, small, sizeof(small), NULL, FI_ADDR_UNSPEC, 1ULL << 63, 0xff, &c1));
	FI(fi_tsend(a.ep, "top", 4, NULL, a.peer, (1ULL << 63) | 0x42, &c2));
	expect_ok(&b, &c1, FI_TAGGED | FI_RECV, 4, (1ULL << 63) | 0x42, "64-bit tag");
	expect_ok(&a, &c2, FI_TAGGED | FI_SEND, 0, 0, "64-bit tag send");
	CHECK(fi_send(a.ep, "x", 1, NULL, a.peer, &c2) == -FI_EOPNOTSUPP,
	      "fi_send without FI_MSG");
	close_side(&a);
	close_side(&b);
	FI(fi_close(&fabric->fid));
	fi_freeinfo(info);
	printf("ok 64-bit tags without FI_MSG\n");

	fi_freeinfo(hints);
	printf("PASS\n");
	return 0;
}
