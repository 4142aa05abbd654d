/* gzpoints.c — see gzpoints.h. */
#include "editor/container/gzpoints.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "editor/container/cache.h"
#include "editor/container/gzip_index.h"
#include "editor/container/sparse.h"

#define MAGIC "gcemount-gzpoints-1\n"
#define MAX_POINTS (1u << 20)
#define TMP_NAME GM_GZPOINTS_NAME ".tmp"

struct footer {
	char magic[sizeof(MAGIC) - 1];
	unsigned char tail[8];
	uint64_t file_size, usize, n, table_off;
	uint32_t members, zero;
};

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		done += (size_t)w;
	}
	return 0;
}

static int open_in(const char *dir, const char *name, int flags)
{
	char *path = gm_path_join(dir, name);
	int fd;

	if (!path)
		return -ENOMEM;
	fd = open(path, flags | O_CLOEXEC, 0600);
	free(path);
	return fd < 0 ? -errno : fd;
}

int gm_gzpoints_begin(const char *dir, struct gm_gzpoints *ap)
{
	int fd = open_in(dir, TMP_NAME, O_RDWR | O_CREAT | O_TRUNC);

	memset(ap, 0, sizeof(*ap));
	ap->fd = -1;
	if (fd < 0)
		return fd;
	ap->fd = fd;
	return 0;
}

int gm_gzpoints_add(void *priv, const struct gm_inflate_point *pt)
{
	struct gm_gzpoints *ap = priv;
	struct gm_gzap *q;
	int rc;

	if (ap->n >= MAX_POINTS)
		return 0;              /* enough: the rest of the file goes without */
	if (ap->n == ap->cap) {
		size_t cap = ap->cap ? ap->cap * 2 : 256;

		q = realloc(ap->p, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		ap->p = q;
		ap->cap = cap;
	}
	if (pt->window_len && (rc = pwrite_all(ap->fd, pt->window, pt->window_len, ap->wend)))
		return rc;
	ap->p[ap->n++] = (struct gm_gzap){
		.cbit = pt->cbit, .uoff = pt->uoff, .woff = ap->wend, .crc = pt->crc,
		.member = pt->member, .wlen = (uint32_t)pt->window_len,
	};
	ap->wend += pt->window_len;
	return 0;
}

int gm_gzpoints_commit(const char *dir, struct gm_gzpoints *ap, int gz_fd, uint64_t usize,
		       uint32_t members)
{
	struct gm_gzindex stamp = GM_GZINDEX_INIT;
	struct footer f;
	char *from = gm_path_join(dir, TMP_NAME), *to = gm_path_join(dir, GM_GZPOINTS_NAME);
	int rc = (!from || !to) ? -ENOMEM : 0;

	memset(&f, 0, sizeof(f));       /* no stray padding bytes in the file */
	memcpy(f.magic, MAGIC, sizeof(f.magic));
	f.usize = usize;
	f.n = ap->n;
	f.table_off = ap->wend;
	f.members = members;
	if (!rc)
		rc = gm_gzindex_stamp(gz_fd, &stamp);
	f.file_size = stamp.file_size;
	memcpy(f.tail, stamp.tail, sizeof(f.tail));
	if (!rc && ap->n)
		rc = pwrite_all(ap->fd, ap->p, ap->n * sizeof(*ap->p), ap->wend);
	if (!rc)
		rc = pwrite_all(ap->fd, &f, sizeof(f), ap->wend + ap->n * sizeof(*ap->p));
	if (!rc)
		rc = gm_cache_fsync(ap->fd);
	if (!rc && rename(from, to) < 0)
		rc = -errno;
	if (!rc)
		rc = gm_fsync_dir(dir);
	if (rc && from)
		unlink(from);
	free(from);
	free(to);
	gm_gzpoints_free(ap);
	return rc;
}

void gm_gzpoints_abort(const char *dir, struct gm_gzpoints *ap)
{
	gm_gzpoints_free(ap);
	gm_file_remove(dir, TMP_NAME);
}

void gm_gzpoints_remove(const char *dir)
{
	gm_file_remove(dir, GM_GZPOINTS_NAME);
	gm_file_remove(dir, TMP_NAME);
}

void gm_gzpoints_free(struct gm_gzpoints *ap)
{
	if (!ap)
		return;
	if (ap->fd >= 0)
		close(ap->fd);
	free(ap->p);
	memset(ap, 0, sizeof(*ap));
	ap->fd = -1;
}

/* The points must be in stream order, each member starting with a point
 * that has no window, every window inside the windows region. */
static bool plausible(const struct gm_gzpoints *ap, uint64_t wend)
{
	for (size_t i = 0; i < ap->n; i++) {
		const struct gm_gzap *q = &ap->p[i], *o = i ? &ap->p[i - 1] : NULL;
		bool first = !o || q->member != o->member;

		if (q->wlen > GM_INFLATE_WINDOW || q->woff > wend || q->wlen > wend - q->woff ||
		    q->member >= ap->members || q->uoff > ap->usize ||
		    q->cbit > ap->file_size * 8 || (first && (q->wlen || q->crc)) ||
		    (!o && q->member) ||
		    (o && (q->cbit <= o->cbit || q->uoff < o->uoff || q->member < o->member ||
			   q->member > o->member + 1)))
			return false;
	}
	return true;
}

int gm_gzpoints_load(const char *dir, struct gm_gzpoints *ap)
{
	struct gm_gzpoints a = { .fd = -1 };
	struct footer f;
	struct stat st;
	int rc = -EINVAL;

	a.fd = open_in(dir, GM_GZPOINTS_NAME, O_RDONLY);
	if (a.fd < 0)
		return a.fd;
	if (fstat(a.fd, &st) < 0 || (uint64_t)st.st_size < sizeof(f) ||
	    gm_pread_full(a.fd, &f, sizeof(f), (uint64_t)st.st_size - sizeof(f)) != (ssize_t)sizeof(f) ||
	    memcmp(f.magic, MAGIC, sizeof(f.magic)) || f.n > MAX_POINTS || f.n == 0 ||
	    f.table_off > (uint64_t)st.st_size ||
	    f.table_off + f.n * sizeof(*a.p) + sizeof(f) != (uint64_t)st.st_size)
		goto out;
	a.p = malloc(f.n * sizeof(*a.p));
	if (!a.p) {
		rc = -ENOMEM;
		goto out;
	}
	a.n = a.cap = f.n;
	if (gm_pread_full(a.fd, a.p, f.n * sizeof(*a.p), f.table_off) != (ssize_t)(f.n * sizeof(*a.p)))
		goto out;
	a.file_size = f.file_size;
	memcpy(a.tail, f.tail, sizeof(a.tail));
	a.usize = f.usize;
	a.members = f.members;
	a.wend = f.table_off;
	if (!plausible(&a, f.table_off))
		goto out;
	*ap = a;
	return 0;
out:
	gm_gzpoints_free(&a);
	return rc;
}

bool gm_gzpoints_matches(const struct gm_gzpoints *ap, int fd)
{
	struct gm_gzindex now = GM_GZINDEX_INIT;

	return ap->n && gm_gzindex_stamp(fd, &now) == 0 && now.file_size == ap->file_size &&
	       !memcmp(now.tail, ap->tail, sizeof(now.tail));
}

int gm_gzpoints_window(const struct gm_gzpoints *ap, size_t i, unsigned char *buf)
{
	ssize_t n;

	if (i >= ap->n)
		return -EINVAL;
	if (!ap->p[i].wlen)
		return 0;
	n = gm_pread_full(ap->fd, buf, ap->p[i].wlen, ap->p[i].woff);
	return n == (ssize_t)ap->p[i].wlen ? 0 : n < 0 ? (int)n : -EIO;
}
