/* writeback.c — see writeback.h. The bytes of the new image; where they go
 * (temp file and rename, or a stream) is output.c's. */
#include "editor/container/writeback.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "editor/container/cache.h"
#include "editor/container/output.h"
#include "editor/clock.h"
#include "editor/container/gzout.h"
#include "editor/container/sparse.h"
#include "editor/container/tar_write.h"

#define IO_BUF (1u << 20)

int64_t gm_pack_mtime(void)
{
	struct timespec now;

	gm_clock_now(&now);
	return (int64_t)now.tv_sec;
}

struct packer {
	const struct gm_pack_args *a;
	struct gm_gzout *gz;
	unsigned char *buf;
	uint64_t tar_bytes, data_done, data_total;
};

static int put(struct packer *p, const void *b, size_t n)
{
	p->tar_bytes += n;
	return gm_gzout_write(p->gz, b, n);
}

static int pad_block(struct packer *p)
{
	static const unsigned char zero[GM_TAR_BLOCK];
	size_t r = (size_t)(p->tar_bytes % GM_TAR_BLOCK);

	return r ? put(p, zero, GM_TAR_BLOCK - r) : 0;
}

/* Streams [off, off+len) of fd. */
static int put_file_range(struct packer *p, int fd, uint64_t off, uint64_t len, bool progress)
{
	while (len) {
		size_t want = len < IO_BUF ? (size_t)len : IO_BUF;
		ssize_t got = pread(fd, p->buf, want, (off_t)off);
		int rc;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EIO;              /* shorter than announced */
		if ((rc = put(p, p->buf, (size_t)got)))
			return rc;
		off += (uint64_t)got;
		len -= (uint64_t)got;
		if (progress) {
			p->data_done += (uint64_t)got;
			if (p->a->progress)
				p->a->progress(p->a->progress_priv, "write", p->data_done, p->data_total);
		}
	}
	return 0;
}

static int put_disk(struct packer *p, const struct gm_rangeset *map)
{
	const struct gm_pack_args *a = p->a;
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
		rc = put(p, hb.p, hb.len);
	gm_tarbuf_free(&hb);
	for (size_t i = 0; !rc && i < map->n; i++)
		rc = put_file_range(p, a->disk_fd, map->r[i].off, map->r[i].len, true);
	return rc ? rc : pad_block(p);
}

static int put_member(struct packer *p, size_t idx, const struct gm_member *m)
{
	struct gm_tarbuf hb = { 0 };
	char *path = NULL;
	int fd = -1, rc;
	struct stat st;

	rc = gm_tar_encode_header(&hb, &m->h);
	if (!rc)
		rc = put(p, hb.p, hb.len);
	gm_tarbuf_free(&hb);
	if (rc || m->h.type != '0' || !m->h.size)
		return rc;
	path = gm_members_data_path(p->a->cache_dir, idx);
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_size != m->h.size)
		rc = fd < 0 ? -errno : -EIO;     /* the kept copy is missing or damaged */
	if (!rc)
		rc = put_file_range(p, fd, 0, m->h.size, false);
	if (!rc)
		rc = pad_block(p);
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static int write_targz(struct packer *p, int fd, const struct gm_rangeset *map,
		       uint64_t *tar_bytes, uint32_t *crc)
{
	const struct gm_pack_args *a = p->a;
	static const unsigned char zero[GM_TAR_BLOCK];
	int rc = gm_gzout_new(fd, 6, 0, &p->gz);
	bool disk_done = false;

	if (rc)
		return rc;
	for (size_t i = 0; !rc && a->ms && i < a->ms->n; i++) {
		if (a->ms->m[i].is_disk) {
			rc = disk_done ? -EINVAL : put_disk(p, map);
			disk_done = true;
		} else {
			rc = put_member(p, i, &a->ms->m[i]);
		}
	}
	if (!rc && !disk_done)
		rc = put_disk(p, map);
	/* two zero blocks, then pad to a whole 10240-byte record, as GNU tar */
	for (int i = 0; !rc && i < 2; i++)
		rc = put(p, zero, sizeof(zero));
	while (!rc && p->tar_bytes % GM_TAR_RECORD)
		rc = put(p, zero, sizeof(zero));
	if (!rc)
		rc = gm_gzout_finish(p->gz, tar_bytes, crc, NULL);
	gm_gzout_free(p->gz);
	p->gz = NULL;
	return rc;
}

/* Write errors: what the image and the output are left as. */
static int write_failed(const struct gm_pack_args *a, const struct gm_output *o, int rc,
			struct gm_error *err)
{
	if (!gm_output_rereadable(o))
		return gm_error_set(err, rc, "%s: writing to %s: %s; the output is incomplete",
				    a->image, gm_output_name(o), strerror(-rc));
	if (rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG)
		return gm_error_set(err, rc, "%s: no space left writing %s (%s); the image is "
				    "unchanged", a->image, a->target->path, strerror(-rc));
	return gm_error_set(err, rc, "%s: writing %s: %s; the image is unchanged", a->image,
			    gm_output_name(o), strerror(-rc));
}

int gm_pack(const struct gm_pack_args *a, struct gm_error *err)
{
	struct packer p = { .a = a };
	struct gm_rangeset map = GM_RANGESET_INIT;
	struct gm_output *o = NULL;
	uint64_t tar_bytes = 0, vbytes = 0;
	uint32_t crc = 0, vcrc = 0;
	int rc;

	p.buf = malloc(IO_BUF);
	if (!p.buf) {
		rc = gm_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = gm_sparse_scan(a->disk_fd, a->disk_size, &map, a->progress, a->progress_priv);
	if (!rc)
		rc = gm_sparse_subtract(&map, a->holes);
	if (rc) {
		gm_error_set(err, rc, "%s: scanning the cache disk: %s", a->image, strerror(-rc));
		goto out;
	}
	p.data_total = gm_rangeset_total(&map);
	if ((rc = gm_output_open(a->target, a->image, &o, err)))
		goto out;
	if (a->targz)
		rc = write_targz(&p, gm_output_fd(o), &map, &tar_bytes, &crc);
	else
		rc = gm_sparse_copy(a->disk_fd, gm_output_fd(o), a->disk_size, &map);
	if (rc) {
		write_failed(a, o, rc, err);
		goto out;
	}
	if (a->targz && gm_output_rereadable(o)) {
		if (a->progress)
			a->progress(a->progress_priv, "verify", 0, tar_bytes);
		rc = gm_gzip_verify(gm_output_fd(o), &vbytes, &vcrc);
		if (a->progress)
			a->progress(a->progress_priv, "verify", vbytes, tar_bytes);
		if (!rc && (vbytes != tar_bytes || vcrc != crc))
			rc = -EIO;
		if (rc) {
			gm_error_set(err, rc, "%s: the written %s does not read back (%s); the image "
				     "is unchanged", a->image, gm_output_name(o), strerror(-rc));
			goto out;
		}
	}
	rc = gm_output_commit(o, err);
	o = NULL;
out:
	gm_output_abort(o);
	gm_rangeset_free(&map);
	free(p.buf);
	return rc;
}
