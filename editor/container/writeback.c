/* writeback.c — see writeback.h. */
#include "editor/container/writeback.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "editor/container/cache.h"
#include "editor/clock.h"
#include "editor/container/gzout.h"
#include "editor/container/sparse.h"
#include "editor/container/tar_write.h"

#define IO_BUF (1u << 20)
#define TEMP_TAG ".gcemount-"

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

static char *temp_template(const char *target)
{
	char *d = strdup(target), *b = strdup(target), *t = NULL;

	if (d && b && asprintf(&t, "%s/.%s" TEMP_TAG "XXXXXX", dirname(d), basename(b)) < 0)
		t = NULL;
	free(d);
	free(b);
	return t;
}

int gm_pack_atomic(const struct gm_pack_args *a, struct gm_error *err)
{
	struct packer p = { .a = a };
	struct gm_rangeset map = GM_RANGESET_INIT;
	char *tmp = temp_template(a->target), *dir = NULL;
	uint64_t tar_bytes = 0, vbytes = 0;
	uint32_t crc = 0, vcrc = 0;
	struct stat st;
	int fd = -1, rc;
	mode_t mode;

	p.buf = malloc(IO_BUF);
	if (!tmp || !p.buf) {
		rc = gm_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	bool have_owner = false;

	if (stat(a->target, &st) == 0) {
		mode = st.st_mode & 07777;
		have_owner = true;
	} else {
		mode_t um = umask(0);

		umask(um);
		mode = 0644 & ~um;
	}
	rc = gm_sparse_scan(a->disk_fd, a->disk_size, &map, a->progress, a->progress_priv);
	if (!rc)
		rc = gm_sparse_subtract(&map, a->holes);
	if (rc) {
		gm_error_set(err, rc, "%s: scanning the cache disk: %s", a->image, strerror(-rc));
		goto out;
	}
	p.data_total = gm_rangeset_total(&map);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = gm_error_set(err, -errno, "%s: cannot create a temp file beside %s: %s",
				  a->image, a->target, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	/* keep the owner of a replaced file where we may (root); else ours */
	if (have_owner && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM) {
		rc = gm_error_set(err, -errno, "%s: chown %s: %s", a->image, tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		rc = gm_error_set(err, -errno, "%s: chmod %s: %s", a->image, tmp, strerror(errno));
		goto out;
	}
	if (a->targz)
		rc = write_targz(&p, fd, &map, &tar_bytes, &crc);
	else
		rc = gm_sparse_copy(a->disk_fd, fd, a->disk_size, &map);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG) {
		gm_error_set(err, rc, "%s: no space left writing %s (%s); the image is unchanged",
			     a->image, a->target, strerror(-rc));
		goto out;
	}
	if (rc) {
		gm_error_set(err, rc, "%s: writing %s: %s; the image is unchanged", a->image, tmp,
			     strerror(-rc));
		goto out;
	}
	if (a->targz) {
		if (a->progress)
			a->progress(a->progress_priv, "verify", 0, tar_bytes);
		rc = gm_gzip_verify(fd, &vbytes, &vcrc);
		if (a->progress)
			a->progress(a->progress_priv, "verify", vbytes, tar_bytes);
		if (!rc && (vbytes != tar_bytes || vcrc != crc))
			rc = -EIO;
		if (rc) {
			gm_error_set(err, rc, "%s: the written %s does not read back (%s); the image "
				     "is unchanged", a->image, tmp, strerror(-rc));
			goto out;
		}
	}
	if (rename(tmp, a->target) < 0) {
		rc = gm_error_set(err, -errno, "%s: rename %s to %s: %s; the image is unchanged",
				  a->image, tmp, a->target, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	dir = strdup(a->target);
	if (!dir || (rc = gm_fsync_dir(dirname(dir))))
		gm_error_set(err, rc ? rc : -ENOMEM, "%s: fsync of the directory of %s failed",
			     a->image, a->target);
out:
	if (fd >= 0)
		close(fd);
	if (tmp && fd >= 0)
		unlink(tmp);
	gm_rangeset_free(&map);
	free(p.buf);
	free(tmp);
	free(dir);
	return rc;
}

int gm_pack_clean_temps(const char *path)
{
	char *d = strdup(path), *b = strdup(path), *prefix = NULL;
	DIR *dh = NULL;
	struct dirent *de;
	int n = 0;

	if (!d || !b || asprintf(&prefix, ".%s" TEMP_TAG, basename(b)) < 0) {
		prefix = NULL;
		goto out;
	}
	dh = opendir(dirname(d));
	if (!dh)
		goto out;
	while ((de = readdir(dh))) {
		size_t pl = strlen(prefix);

		if (!strncmp(de->d_name, prefix, pl) && strlen(de->d_name) == pl + 6 &&
		    unlinkat(dirfd(dh), de->d_name, 0) == 0)
			n++;
	}
out:
	if (dh)
		closedir(dh);
	free(d);
	free(b);
	free(prefix);
	return n;
}
