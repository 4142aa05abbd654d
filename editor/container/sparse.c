/* sparse.c — see sparse.h. */
#include "editor/container/sparse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCAN_BUF (4u << 20)

bool gm_is_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t head = n < 16 ? n : 16;

	for (size_t i = 0; i < head; i++)
		if (c[i])
			return false;
	return n <= 16 || memcmp(c, c + 16, n - 16) == 0;
}

ssize_t gm_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* Adds the non-zero 4 KiB blocks of [off, off+len) (block aligned start). */
static int scan_region(int fd, uint64_t off, uint64_t end, unsigned char *buf,
		       struct gm_rangeset *out, uint64_t size, gm_progress_fn progress,
		       void *priv)
{
	while (off < end) {
		size_t want = end - off < SCAN_BUF ? (size_t)(end - off) : SCAN_BUF;
		ssize_t got = gm_pread_full(fd, buf, want, off);
		int rc;

		if (got < 0)
			return (int)got;
		if (got == 0)
			return -EIO;   /* the file shrank under us */
		for (size_t i = 0; i < (size_t)got; i += GM_SPARSE_BLOCK) {
			size_t k = (size_t)got - i < GM_SPARSE_BLOCK ? (size_t)got - i : GM_SPARSE_BLOCK;

			if (!gm_is_zero(buf + i, k) && (rc = gm_rangeset_add(out, off + i, k)))
				return rc;
		}
		off += (uint64_t)got;
		if (progress)
			progress(priv, "scan", off, size);
	}
	return 0;
}

/* Data regions of fd inside [from, to) (4 KiB aligned), added to out. */
static int scan_span(int fd, uint64_t from, uint64_t to, uint64_t size, unsigned char *buf,
		     struct gm_rangeset *out, gm_progress_fn progress, void *priv)
{
	uint64_t pos = from;
	int rc;

	while (pos < to) {
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA), h;
		uint64_t start, end;

		if (d < 0 && errno == ENXIO)
			break;                     /* only a hole from here on */
		if (d < 0)
			return -errno;
		if ((uint64_t)d >= to)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		start = (uint64_t)d / GM_SPARSE_BLOCK * GM_SPARSE_BLOCK;
		end = ((uint64_t)h + GM_SPARSE_BLOCK - 1) / GM_SPARSE_BLOCK * GM_SPARSE_BLOCK;
		if (end > to)
			end = to;
		if (start < pos)
			start = pos;
		if (start < end && (rc = scan_region(fd, start, end, buf, out, size, progress, priv)))
			return rc;
		if (end <= pos)
			break;
		pos = end;
	}
	return 0;
}

int gm_sparse_scan(int fd, uint64_t size, struct gm_rangeset *out,
		   gm_progress_fn progress, void *priv)
{
	unsigned char *buf = malloc(SCAN_BUF);
	int rc;

	if (!buf)
		return -ENOMEM;
	gm_rangeset_clear(out);
	rc = scan_span(fd, 0, size, size, buf, out, progress, priv);
	free(buf);
	return rc;
}

int gm_sparse_widen(const struct gm_rangeset *changed, uint64_t size, struct gm_rangeset *out)
{
	int rc;

	gm_rangeset_clear(out);
	for (size_t i = 0; changed && i < changed->n; i++) {
		uint64_t s = changed->r[i].off / GM_SPARSE_BLOCK * GM_SPARSE_BLOCK;
		uint64_t e = changed->r[i].off + changed->r[i].len;

		e = (e + GM_SPARSE_BLOCK - 1) / GM_SPARSE_BLOCK * GM_SPARSE_BLOCK;
		if (e > size || e < s)
			e = size;
		if (s < e && (rc = gm_rangeset_add(out, s, e - s)))
			return rc;
	}
	return 0;
}

int gm_sparse_plan_map(int fd, uint64_t size, const struct gm_rangeset *keep,
		       const struct gm_rangeset *changed, const struct gm_rangeset *holes,
		       struct gm_rangeset *out, gm_progress_fn progress, void *priv)
{
	struct gm_rangeset in = GM_RANGESET_INIT, part = GM_RANGESET_INIT;
	unsigned char *buf = NULL;
	int rc = 0;

	if (!keep) {
		rc = gm_sparse_scan(fd, size, out, progress, priv);
		return rc ? rc : gm_sparse_subtract(out, holes);
	}
	if ((rc = gm_sparse_widen(changed, size, &in)))
		goto out;
	buf = malloc(SCAN_BUF);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	/* inside them: what is there now, free blocks dropped */
	for (size_t i = 0; i < in.n; i++)
		if ((rc = scan_span(fd, in.r[i].off, in.r[i].off + in.r[i].len, size, buf, &part,
				    progress, priv)))
			goto out;
	if ((rc = gm_sparse_subtract(&part, holes)))
		goto out;
	/* outside them: the original's map, as it was */
	if ((rc = gm_rangeset_copy(out, keep)))
		goto out;
	for (size_t i = 0; i < in.n; i++)
		if ((rc = gm_rangeset_remove(out, in.r[i].off, in.r[i].len)))
			goto out;
	for (size_t i = 0; i < part.n; i++)
		if ((rc = gm_rangeset_add(out, part.r[i].off, part.r[i].len)))
			goto out;
out:
	free(buf);
	gm_rangeset_free(&in);
	gm_rangeset_free(&part);
	return rc;
}

int gm_sparse_subtract(struct gm_rangeset *map, const struct gm_rangeset *holes)
{
	if (!holes)
		return 0;
	for (size_t i = 0; i < holes->n; i++) {
		uint64_t s = (holes->r[i].off + GM_SPARSE_BLOCK - 1) / GM_SPARSE_BLOCK * GM_SPARSE_BLOCK;
		uint64_t e = (holes->r[i].off + holes->r[i].len) / GM_SPARSE_BLOCK * GM_SPARSE_BLOCK;
		int rc;

		if (e > s && (rc = gm_rangeset_remove(map, s, e - s)))
			return rc;
	}
	return 0;
}

int gm_pread_zfill(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = gm_pread_full(fd, buf, len, off);

	if (n < 0)
		return (int)n;
	memset((char *)buf + n, 0, len - (size_t)n);
	return 0;
}

int gm_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		done += (size_t)w;
	}
	return 0;
}

int gm_sparse_pwrite(int fd, const void *buf, size_t len, uint64_t off, uint64_t *written)
{
	const unsigned char *p = buf;
	size_t i = 0, run = 0, run_len = 0;
	uint64_t total = 0;
	int rc;

	while (i < len) {
		/* piece: up to the next 4 KiB boundary of the file */
		size_t k = GM_SPARSE_BLOCK - (size_t)((off + i) % GM_SPARSE_BLOCK);

		if (k > len - i)
			k = len - i;
		if (gm_is_zero(p + i, k)) {
			if (run_len && (rc = gm_pwrite_full(fd, p + run, run_len, off + run)))
				return rc;
			total += run_len;
			run_len = 0;
		} else {
			if (!run_len)
				run = i;
			run_len += k;
		}
		i += k;
	}
	if (run_len && (rc = gm_pwrite_full(fd, p + run, run_len, off + run)))
		return rc;
	total += run_len;
	if (written)
		*written = total;
	return 0;
}

int gm_sparse_copy(int src, int dst, uint64_t size, const struct gm_rangeset *map)
{
	unsigned char *buf = malloc(SCAN_BUF);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	if (ftruncate(dst, 0) < 0 || ftruncate(dst, (off_t)size) < 0) {
		rc = -errno;
		goto out;
	}
	for (size_t i = 0; i < map->n; i++) {
		uint64_t off = map->r[i].off, end = off + map->r[i].len;

		while (off < end) {
			size_t want = end - off < SCAN_BUF ? (size_t)(end - off) : SCAN_BUF;
			ssize_t got = gm_pread_full(src, buf, want, off);

			if (got <= 0) {
				rc = got < 0 ? (int)got : -EIO;
				goto out;
			}
			if ((rc = gm_pwrite_full(dst, buf, (size_t)got, off)))
				goto out;
			off += (uint64_t)got;
		}
	}
out:
	free(buf);
	return rc;
}
