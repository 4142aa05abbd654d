/* gzlocate.c — see gzlocate.h. */
#include "editor/container/gzlocate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <isa-l/crc.h>

#include "editor/container/sparse.h"

#define IN_BUF (64u << 10)
#define OUT_BUF (256u << 10)

struct found {
	struct gm_gzpoint *p;
	size_t n, cap;
};

static int keep(struct found *f, const struct gm_gzpoint *pt)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct gm_gzpoint *np = realloc(f->p, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		f->p = np;
		f->cap = cap;
	}
	f->p[f->n++] = *pt;
	return 0;
}

/* The access point a scan for w starts from: the last one before w.u
 * (BEFORE: strictly, so that a member ending at w.u is scanned to its
 * end), or SIZE_MAX. */
static size_t start_point(const struct gm_gzpoints *ap, const struct gm_gzwant *w)
{
	size_t lo = 0, hi = ap->n;

	while (lo < hi) {              /* first point beyond the limit */
		size_t mid = lo + (hi - lo) / 2;
		bool beyond = w->side == GM_WANT_BEFORE ? ap->p[mid].uoff >= w->u
							: ap->p[mid].uoff > w->u;

		if (beyond)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo ? lo - 1 : SIZE_MAX;
}

struct scan {
	int fd;
	unsigned char *in, *out, *win;
};

/* Decodes from access point i until w is answered, keeping every boundary
 * seen; *below gets how many of them (the access point included) are at or
 * before w->u. */
static int scan_from(struct scan *sc, const struct gm_gzpoints *ap, size_t i,
		     const struct gm_gzwant *w, struct found *f, unsigned *below)
{
	const struct gm_gzap *a = &ap->p[i];
	uint64_t pos = a->cbit / 8, u = a->uoff;
	uint32_t crc = a->crc;
	unsigned after = 0;
	z_stream zs;
	int rc, zr = Z_OK;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -15) != Z_OK)
		return -ENOMEM;
	inflateValidate(&zs, 0);
	if (a->cbit % 8) {
		unsigned char c;

		if (gm_pread_full(sc->fd, &c, 1, pos) != 1) {
			rc = -EIO;
			goto out;
		}
		inflatePrime(&zs, (int)(8 - a->cbit % 8), c >> (a->cbit % 8));
		pos++;
	}
	if ((rc = gm_gzpoints_window(ap, i, sc->win)))
		goto out;
	if (a->wlen && inflateSetDictionary(&zs, sc->win, a->wlen) != Z_OK) {
		rc = -EINVAL;
		goto out;
	}
	/* the access point is a boundary too (inflate reports those after it) */
	if ((rc = keep(f, &(struct gm_gzpoint){ .cbit = a->cbit, .uoff = a->uoff, .crc = a->crc,
						.member = a->member })))
		goto out;
	*below = 1;
	for (;;) {
		if (zs.avail_in == 0) {
			ssize_t n = gm_pread_full(sc->fd, sc->in, IN_BUF, pos);

			if (n <= 0) {
				rc = n < 0 ? (int)n : -EINVAL;   /* the file ends inside the member */
				goto out;
			}
			pos += (uint64_t)n;
			zs.next_in = sc->in;
			zs.avail_in = (uInt)n;
		}
		zs.next_out = sc->out;
		zs.avail_out = OUT_BUF;
		zr = inflate(&zs, Z_BLOCK);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			rc = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
			goto out;
		}
		crc = crc32_gzip_refl(crc, sc->out, OUT_BUF - zs.avail_out);
		u += OUT_BUF - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;                 /* after the end point: the member's data is over */
		if (zs.data_type & 128) {
			struct gm_gzpoint pt = {
				.cbit = (pos - zs.avail_in) * 8 - (uint64_t)(zs.data_type & 7),
				.uoff = u, .crc = crc, .member = a->member,
				.end = (zs.data_type & 64) ? 1 : 0,
			};

			if ((rc = keep(f, &pt)))
				goto out;
			*below += u <= w->u;
			if (pt.end)
				break;
			if (w->side == GM_WANT_AFTER ? u >= w->u && ++after == 2 : u > w->u)
				break;
		}
	}
	rc = 0;
out:
	inflateEnd(&zs);
	return rc;
}

static int by_cbit(const void *x, const void *y)
{
	const struct gm_gzpoint *a = x, *b = y;

	return a->cbit < b->cbit ? -1 : a->cbit > b->cbit;
}

int gm_gzlocate(int gz_fd, const struct gm_gzpoints *ap, struct gm_gzwant *want, size_t n,
		struct gm_gzindex *out)
{
	struct scan sc = { .fd = gz_fd, .in = malloc(IN_BUF), .out = malloc(OUT_BUF),
			   .win = malloc(GM_INFLATE_WINDOW) };
	struct gm_gzindex ix = GM_GZINDEX_INIT;
	struct found f = { 0 };
	int rc = 0;

	if (!sc.in || !sc.out || !sc.win) {
		rc = -ENOMEM;
		goto out;
	}
	/* every member's start */
	for (size_t i = 0; !rc && i < ap->n; i++)
		if (i == 0 || ap->p[i].member != ap->p[i - 1].member)
			rc = keep(&f, &(struct gm_gzpoint){ .cbit = ap->p[i].cbit, .uoff = ap->p[i].uoff,
							    .member = ap->p[i].member });
	for (size_t k = 0; !rc && k < n; k++) {
		size_t i = start_point(ap, &want[k]);
		unsigned below = 0;

		if (i == SIZE_MAX)
			continue;
		rc = scan_from(&sc, ap, i, &want[k], &f, &below);
		/* BEFORE wants the boundary before the last one too (the splice
		 * checks a copy's last block): from the access point before */
		if (!rc && want[k].side == GM_WANT_BEFORE && below < 2 && i > 0 &&
		    ap->p[i - 1].member == ap->p[i].member)
			rc = scan_from(&sc, ap, i - 1, &want[k], &f, &below);
	}
	if (rc)
		goto out;
	qsort(f.p, f.n, sizeof(*f.p), by_cbit);
	for (size_t i = 0; !rc && i < f.n; i++)
		if (!ix.n || f.p[i].cbit != ix.p[ix.n - 1].cbit)
			rc = gm_gzindex_add(&ix, &f.p[i]);
	if (rc)
		goto out;
	ix.file_size = ap->file_size;
	memcpy(ix.tail, ap->tail, sizeof(ix.tail));
	ix.usize = ap->usize;
	ix.members = ap->members;
	gm_gzindex_free(out);
	*out = ix;
	ix = (struct gm_gzindex)GM_GZINDEX_INIT;
out:
	gm_gzindex_free(&ix);
	free(f.p);
	free(sc.in);
	free(sc.out);
	free(sc.win);
	return rc;
}
