/* splice.c — see splice.h. */
#include "editor/container/splice.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define WINDOW 32768u
#define IO_BUF (1u << 20)

void gm_splice_free(struct gm_splice *sp)
{
	if (!sp)
		return;
	free(sp->op);
	memset(sp, 0, sizeof(*sp));
}

static int add_op(struct gm_splice *sp, const struct gm_splice_op *op)
{
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 64;
		struct gm_splice_op *no = realloc(sp->op, cap * sizeof(*no));

		if (!no)
			return -ENOMEM;
		sp->op = no;
		sp->cap = cap;
	}
	sp->op[sp->n++] = *op;
	return 0;
}

/* First point with uoff >= u. */
static size_t lower_bound(const struct gm_gzindex *ix, uint64_t u)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->p[mid].uoff < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The copies inside one run: t..t+len of the new stream equals s..s+len of
 * the original. mstart[m] is the uncompressed offset where member m starts. */
static int plan_run(const struct gm_gzindex *ix, const uint64_t *mstart, uint64_t t, uint64_t s,
		    uint64_t len, struct gm_splice *sp)
{
	uint64_t end = s + len;
	size_t i = lower_bound(ix, s);

	while (i < ix->n && ix->p[i].uoff < end) {
		const struct gm_gzpoint *a = &ix->p[i];
		size_t b = i;
		int rc;

		/* a start needs 32 KiB of equal bytes before it, or a member start
		 * inside the run, and a block after it */
		if (a->end || (a->uoff - s < WINDOW && mstart[a->member] < s)) {
			i++;
			continue;
		}
		while (b + 1 < ix->n && ix->p[b + 1].member == a->member && ix->p[b + 1].uoff <= end &&
		       !ix->p[b].end)
			b++;
		if (b > i && ix->p[b].uoff - a->uoff >= GM_SPLICE_MIN_COPY) {
			struct gm_splice_op op = {
				.from = i, .to = b, .t_start = t + (a->uoff - s),
				.t_end = t + (ix->p[b].uoff - s),
			};

			if ((rc = add_op(sp, &op)))
				return rc;
			sp->copied += op.t_end - op.t_start;
		}
		/* on from the last point reached (an end point is skipped above,
		 * so the next member's first point is tried next) */
		i = b > i ? b : i + 1;
	}
	return 0;
}

/* Calls fn for every run of the plan: t..t+len of the new stream equals
 * s..s+len of the original (consecutive pieces contiguous in both). */
static int each_run(const struct gm_tarplan *pl, int (*fn)(void *priv, uint64_t t, uint64_t s,
							   uint64_t len), void *priv)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < pl->n;) {
		uint64_t t, s, len;
		size_t k = i;

		if (pl->p[i].old_toff == GM_SRC_NONE) {
			i++;
			continue;
		}
		t = pl->p[i].toff;
		s = pl->p[i].old_toff;
		len = pl->p[i].len;
		while (k + 1 < pl->n && pl->p[k + 1].old_toff == s + len) {
			k++;
			len += pl->p[k].len;
		}
		rc = fn(priv, t, s, len);
		i = k + 1;
	}
	return rc;
}

struct plan_ctx {
	const struct gm_gzindex *ix;
	const uint64_t *mstart;
	struct gm_splice *sp;
};

static int plan_one(void *priv, uint64_t t, uint64_t s, uint64_t len)
{
	const struct plan_ctx *c = priv;

	return plan_run(c->ix, c->mstart, t, s, len, c->sp);
}

int gm_splice_plan(const struct gm_tarplan *pl, const struct gm_gzindex *ix,
		   struct gm_splice *out)
{
	uint64_t *mstart = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ix || !ix->n || !ix->members)
		return 0;
	mstart = calloc(ix->members, sizeof(*mstart));
	if (!mstart)
		return -ENOMEM;
	for (size_t i = ix->n; i-- > 0;)
		if (ix->p[i].member < ix->members)
			mstart[ix->p[i].member] = ix->p[i].uoff;   /* the first point wins */
	rc = each_run(pl, plan_one, &(struct plan_ctx){ ix, mstart, out });
	free(mstart);
	if (rc)
		gm_splice_free(out);
	return rc;
}

struct wants_ctx {
	const struct gm_gzpoints *ap;
	struct gm_gzwant *w;
	size_t n, cap;
};

static int want(struct wants_ctx *c, uint64_t u, enum gm_gzwant_side side)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct gm_gzwant *nw = realloc(c->w, cap * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		c->w = nw;
		c->cap = cap;
	}
	c->w[c->n++] = (struct gm_gzwant){ u, side };
	return 0;
}

/* For one run: per member it overlaps, where a copy could start (32 KiB in,
 * or the member's start inside the run) and where it must end. */
static int wants_one(void *priv, uint64_t t, uint64_t s, uint64_t len)
{
	struct wants_ctx *c = priv;
	const struct gm_gzpoints *ap = c->ap;
	uint64_t end = s + len;
	int rc = 0;

	(void)t;
	for (size_t i = 0; !rc && i < ap->n; i++) {
		uint64_t ms, me, a, b;
		size_t j;

		if (i && ap->p[i].member == ap->p[i - 1].member)
			continue;            /* members' first points only */
		ms = ap->p[i].uoff;
		for (j = i + 1; j < ap->n && ap->p[j].member == ap->p[i].member; j++)
			;
		me = j < ap->n ? ap->p[j].uoff : ap->usize;
		if (me <= s || ms >= end)
			continue;
		a = ms >= s ? ms : s + WINDOW;
		b = me < end ? me : end;
		if (a >= b || b - a < GM_SPLICE_MIN_COPY)
			continue;
		rc = want(c, a, GM_WANT_AFTER);
		if (!rc)
			rc = want(c, b, GM_WANT_BEFORE);
	}
	return rc;
}

int gm_splice_wants(const struct gm_tarplan *pl, const struct gm_gzpoints *ap,
		    struct gm_gzwant **out, size_t *n)
{
	struct wants_ctx c = { .ap = ap };
	int rc = each_run(pl, wants_one, &c);

	if (rc) {
		free(c.w);
		return rc;
	}
	*out = c.w;
	*n = c.n;
	return 0;
}

/* Deflates [from, to) of the plan's stream. */
static int put_new(struct gm_gzout *g, const struct gm_tarplan *pl, unsigned char *buf,
		   uint64_t from, uint64_t to)
{
	int rc = 0;

	while (!rc && from < to) {
		size_t k = to - from < IO_BUF ? (size_t)(to - from) : IO_BUF;

		rc = gm_tarplan_read(pl, from, buf, k);
		if (!rc)
			rc = gm_gzout_write(g, buf, k);
		from += k;
	}
	return rc;
}

int gm_splice_write(struct gm_gzout *g, const struct gm_tarplan *pl, int old_fd,
		    const struct gm_gzindex *ix, const struct gm_splice *sp)
{
	unsigned char *buf = malloc(IO_BUF);
	uint64_t cur = 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; !rc && sp && i < sp->n; i++) {
		const struct gm_splice_op *op = &sp->op[i];
		size_t dlen = op->t_end - op->t_start < WINDOW ? (size_t)(op->t_end - op->t_start) : WINDOW;

		rc = put_new(g, pl, buf, cur, op->t_start);
		if (!rc)   /* the next chunk's dictionary: the last 32 KiB copied */
			rc = gm_tarplan_read(pl, op->t_end - dlen, buf, dlen);
		if (!rc)
			rc = gm_gzout_copy(g, old_fd, &ix->p[op->from], &ix->p[op->to], buf, dlen);
		cur = op->t_end;
	}
	if (!rc)
		rc = put_new(g, pl, buf, cur, pl->size);
	free(buf);
	return rc;
}

/* Inflates the new file from index point p until the stream reaches
 * uncompressed offset b (or its end when b is the plan's size), comparing
 * every byte with the plan. */
static int verify_from(int fd, const struct gm_gzpoint *p, uint64_t b,
		       const struct gm_tarplan *pl, unsigned char *in, unsigned char *out,
		       unsigned char *want)
{
	uint64_t pos = p->cbit / 8, u = p->uoff;
	size_t dl = u < WINDOW ? (size_t)u : WINDOW;
	bool to_end = b == pl->size;      /* then through the end of the stream */
	z_stream zs;
	int rc = 0, zr = Z_OK;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -15) != Z_OK)
		return -ENOMEM;
	if (p->cbit % 8) {
		unsigned char c;

		if (pread(fd, &c, 1, (off_t)pos) != 1) {
			rc = -EIO;
			goto out;
		}
		inflatePrime(&zs, (int)(8 - p->cbit % 8), c >> (p->cbit % 8));
		pos++;
	}
	if (dl && ((rc = gm_tarplan_read(pl, u - dl, want, dl)) ||
		   inflateSetDictionary(&zs, want, (uInt)dl) != Z_OK)) {
		rc = rc ? rc : -EIO;
		goto out;
	}
	while (zr != Z_STREAM_END && (u < b || to_end)) {
		ssize_t n = pread(fd, in, IO_BUF, (off_t)pos);

		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		pos += (uint64_t)n;
		zs.next_in = in;
		zs.avail_in = (uInt)n;
		for (;;) {
			size_t got;

			zs.next_out = out;
			zs.avail_out = IO_BUF;
			zr = inflate(&zs, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
				rc = -EIO;
				goto out;
			}
			got = IO_BUF - zs.avail_out;
			if (got > pl->size - u) {
				rc = -EIO;          /* more data than the plan */
				goto out;
			}
			if (got && ((rc = gm_tarplan_read(pl, u, want, got)) || memcmp(out, want, got))) {
				rc = rc ? rc : -EIO;
				goto out;
			}
			u += got;
			if (zr == Z_STREAM_END || (u >= b && !to_end) || (!zs.avail_in && zs.avail_out))
				break;          /* done, or more input needed */
		}
	}
	if (u < b || (to_end && (zr != Z_STREAM_END || u != pl->size)))
		rc = -EIO;
out:
	inflateEnd(&zs);
	return rc;
}

int gm_splice_verify(int fd, const struct gm_gzindex *newix, const struct gm_tarplan *pl,
		     const struct gm_gzindex *oldix, const struct gm_splice *sp)
{
	unsigned char *in = malloc(IO_BUF), *out = malloc(IO_BUF), *want = malloc(IO_BUF);
	uint64_t a = 0;
	int rc = 0;

	if (!in || !out || !want) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; !rc && i <= sp->n; i++) {
		uint64_t b = pl->size, next = pl->size;
		size_t k;

		if (i < sp->n) {   /* the copy's interior: all but its first and last block */
			const struct gm_splice_op *op = &sp->op[i];
			const struct gm_gzpoint *f = &oldix->p[op->from], *t = &oldix->p[op->to];

			b = op->t_start + (f[1].uoff - f[0].uoff);
			next = op->t_end - (t[0].uoff - t[-1].uoff);
			if (next <= b) {
				continue;       /* one block: checked with the next range */
			}
		}
		/* the last index point at or before a */
		for (k = newix->n; k > 0 && newix->p[k - 1].uoff > a; k--)
			;
		if (k == 0) {
			rc = -EIO;
			break;
		}
		rc = verify_from(fd, &newix->p[k - 1], b, pl, in, out, want);
		a = next;
	}
out:
	free(in);
	free(out);
	free(want);
	return rc;
}
