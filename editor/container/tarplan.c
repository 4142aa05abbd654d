/* tarplan.c — see tarplan.h. */
#include "editor/container/tarplan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int add_piece(struct gm_tarplan *pl, uint64_t len, int fd, uint64_t off, uint64_t old)
{
	struct gm_piece *last = pl->n ? &pl->p[pl->n - 1] : NULL;

	if (!len)
		return 0;
	if (last && last->fd == fd && (fd == GM_PIECE_ZERO || last->off + last->len == off) &&
	    ((last->old_toff == GM_SRC_NONE && old == GM_SRC_NONE) ||
	     (last->old_toff != GM_SRC_NONE && old != GM_SRC_NONE &&
	      last->old_toff + last->len == old))) {
		last->len += len;
		pl->size += len;
		return 0;
	}
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? pl->cap * 2 : 256;
		struct gm_piece *np = realloc(pl->p, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		pl->p = np;
		pl->cap = cap;
	}
	pl->p[pl->n++] = (struct gm_piece){ pl->size, len, fd, off, old };
	pl->size += len;
	return 0;
}

static int add_mem(struct gm_tarplan *pl, const struct gm_tarbuf *b)
{
	size_t at = pl->mem.len;

	if (!b->len)
		return 0;
	if (pl->mem.len + b->len > pl->mem.cap) {
		size_t cap = (pl->mem.len + b->len) * 2;
		unsigned char *np = realloc(pl->mem.p, cap);

		if (!np)
			return -ENOMEM;
		pl->mem.p = np;
		pl->mem.cap = cap;
	}
	memcpy(pl->mem.p + at, b->p, b->len);
	pl->mem.len += b->len;
	return add_piece(pl, b->len, GM_PIECE_MEM, at, GM_SRC_NONE);
}

static int pad(struct gm_tarplan *pl, uint64_t unit)
{
	uint64_t r = pl->size % unit;

	return r ? add_piece(pl, unit - r, GM_PIECE_ZERO, 0, GM_SRC_NONE) : 0;
}

/* End of the changed range holding pos, or 0 when pos is not changed; in
 * *next the start of the next changed range after pos (UINT64_MAX: none). */
static uint64_t changed_at(const struct gm_rangeset *ch, uint64_t pos, uint64_t *next)
{
	size_t lo = 0, hi = ch ? ch->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ch->r[mid].off + ch->r[mid].len <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!ch || lo == ch->n) {
		*next = UINT64_MAX;
		return 0;
	}
	if (ch->r[lo].off <= pos)
		return ch->r[lo].off + ch->r[lo].len;
	*next = ch->r[lo].off;
	return 0;
}

/* One data region [s, e) of the disk, cut where its bytes stop matching the
 * original's stream position. */
static int add_disk_range(struct gm_tarplan *pl, const struct gm_pack_args *a, uint64_t s,
			  uint64_t e, const struct gm_srcmap *old, const struct gm_rangeset *ch)
{
	int rc = gm_srcmap_add_region(&pl->map, s, e - s, pl->size);

	while (!rc && s < e) {
		uint64_t next = UINT64_MAX, end = changed_at(ch, s, &next), old_toff = GM_SRC_NONE;
		uint64_t stop, run;

		if (end) {
			stop = end < e ? end : e;       /* changed: new bytes */
		} else {
			stop = next < e ? next : e;
			if (old) {
				old_toff = gm_srcmap_disk_toff(old, s, &run);
				if (run < stop - s)
					stop = s + run;
			}
		}
		rc = add_piece(pl, stop - s, a->disk_fd, s, old_toff);
		s = stop;
	}
	return rc;
}

static int add_disk(struct gm_tarplan *pl, const struct gm_pack_args *a,
		    const struct gm_rangeset *map, const struct gm_srcmap *old,
		    const struct gm_rangeset *ch)
{
	struct gm_tar_hdr h = {
		.name = "disk.raw", .type = '0', .mode = 0644, .uname = "root",
		.gname = "root", .mtime = a->mtime, .size = a->disk_size,
	};
	struct gm_tarbuf hb = { 0 };
	bool full = map->n == 1 && map->r[0].off == 0 && map->r[0].len == a->disk_size;
	int rc;

	rc = (full || a->disk_size == 0) ? gm_tar_encode_header(&hb, &h)
					 : gm_tar_encode_sparse(&hb, &h, map, a->disk_size);
	if (!rc)
		rc = add_mem(pl, &hb);
	gm_tarbuf_free(&hb);
	for (size_t i = 0; !rc && i < map->n; i++)
		rc = add_disk_range(pl, a, map->r[i].off, map->r[i].off + map->r[i].len, old, ch);
	return rc ? rc : pad(pl, GM_TAR_BLOCK);
}

static int add_member(struct gm_tarplan *pl, const struct gm_pack_args *a, size_t idx,
		      const struct gm_member *m, const struct gm_srcmap *old)
{
	struct gm_tarbuf hb = { 0 };
	char *path = NULL;
	struct stat st;
	int fd = -1, rc, *nf;

	rc = gm_tar_encode_header(&hb, &m->h);
	if (!rc)
		rc = add_mem(pl, &hb);
	gm_tarbuf_free(&hb);
	if (rc || m->h.type != '0' || !m->h.size)
		return rc;
	path = gm_members_data_path(a->cache_dir, idx);
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != m->h.size) {
		rc = fd < 0 ? -errno : -EIO;     /* the kept copy is missing or damaged */
		goto fail;
	}
	nf = realloc(pl->fds, (pl->nfds + 1) * sizeof(*nf));
	if (!nf) {
		rc = -ENOMEM;
		goto fail;
	}
	pl->fds = nf;
	pl->fds[pl->nfds++] = fd;
	rc = gm_srcmap_set_member(&pl->map, idx, pl->size);
	if (!rc)
		rc = add_piece(pl, m->h.size, fd, 0, old ? gm_srcmap_member(old, idx) : GM_SRC_NONE);
	return rc ? rc : pad(pl, GM_TAR_BLOCK);
fail:
	if (fd >= 0)
		close(fd);
	return rc;
}

int gm_tarplan_build(struct gm_tarplan *pl, const struct gm_pack_args *a,
		     const struct gm_rangeset *map, const struct gm_srcmap *old,
		     const struct gm_rangeset *changed)
{
	bool disk_done = false;
	int rc = 0;

	memset(pl, 0, sizeof(*pl));
	pl->map.gnu_sparse = true;
	for (size_t i = 0; !rc && a->ms && i < a->ms->n; i++) {
		if (a->ms->m[i].is_disk) {
			rc = disk_done ? -EINVAL : add_disk(pl, a, map, old, changed);
			disk_done = true;
		} else {
			rc = add_member(pl, a, i, &a->ms->m[i], old);
		}
	}
	if (!rc && !disk_done)
		rc = add_disk(pl, a, map, old, changed);
	/* two zero blocks, then pad to a whole 10240-byte record, as GNU tar */
	if (!rc)
		rc = add_piece(pl, 2 * GM_TAR_BLOCK, GM_PIECE_ZERO, 0, GM_SRC_NONE);
	if (!rc)
		rc = pad(pl, GM_TAR_RECORD);
	pl->map.tar_size = pl->size;
	if (rc)
		gm_tarplan_free(pl);
	return rc;
}

int gm_tarplan_read(const struct gm_tarplan *pl, uint64_t toff, void *buf, size_t len)
{
	size_t lo = 0, hi = pl->n;
	unsigned char *b = buf;

	if (toff > pl->size || len > pl->size - toff)
		return -EINVAL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pl->p[mid].toff + pl->p[mid].len <= toff)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; len; i++) {
		const struct gm_piece *p = &pl->p[i];
		uint64_t in = toff - p->toff;
		size_t k = p->len - in < len ? (size_t)(p->len - in) : len;

		if (p->fd == GM_PIECE_ZERO) {
			memset(b, 0, k);
		} else if (p->fd == GM_PIECE_MEM) {
			memcpy(b, pl->mem.p + p->off + in, k);
		} else {
			size_t done = 0;

			while (done < k) {
				ssize_t r = pread(p->fd, b + done, k - done, (off_t)(p->off + in + done));

				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					return r < 0 ? -errno : -EIO;   /* shorter than announced */
				done += (size_t)r;
			}
		}
		b += k;
		toff += k;
		len -= k;
	}
	return 0;
}

void gm_tarplan_free(struct gm_tarplan *pl)
{
	if (!pl)
		return;
	for (size_t i = 0; i < pl->nfds; i++)
		close(pl->fds[i]);
	free(pl->fds);
	free(pl->p);
	gm_tarbuf_free(&pl->mem);
	gm_srcmap_free(&pl->map);
	memset(pl, 0, sizeof(*pl));
}
