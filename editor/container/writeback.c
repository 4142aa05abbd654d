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
#include "editor/container/splice.h"
#include "editor/container/srcmap.h"
#include "editor/container/tar_write.h"
#include "editor/container/tarplan.h"

#define TEMP_TAG ".gcemount-"

int64_t gm_pack_mtime(void)
{
	struct timespec now;

	gm_clock_now(&now);
	return (int64_t)now.tv_sec;
}

/* The original's maps, when the cache has them for the source file. */
struct source {
	struct gm_srcmap sm;
	bool have_sm;
	struct gm_gzindex ix;
	bool have_ix;
	int fd;                 /* the source image, to copy deflate blocks from */
};

static void source_free(struct source *src)
{
	gm_srcmap_free(&src->sm);
	gm_gzindex_free(&src->ix);
	if (src->fd >= 0)
		close(src->fd);
}

/* Loads <cache>/srcmap and, unless no_splice, <cache>/gzindex for the source
 * image (built now if missing: one zlib pass, saved for next time). */
static void source_load(const struct gm_pack_args *a, struct source *src)
{
	char *ixp;

	src->fd = -1;
	if (!a->ms || !a->cache_dir)
		return;
	src->have_sm = gm_srcmap_load(a->cache_dir, &src->sm) == 0;
	if (!src->have_sm || a->no_splice || !a->image)
		return;
	src->fd = open(a->image, O_RDONLY | O_CLOEXEC);
	ixp = gm_path_join(a->cache_dir, "gzindex");
	if (src->fd < 0 || !ixp) {
		free(ixp);
		return;
	}
	if (gm_gzindex_load(ixp, &src->ix) == 0 && gm_gzindex_matches(&src->ix, src->fd)) {
		src->have_ix = true;
	} else {
		gm_gzindex_free(&src->ix);
		if (a->progress)
			a->progress(a->progress_priv, "index", 0, 1);
		if (gm_gzindex_build(src->fd, NULL, &src->ix) == 0) {
			src->have_ix = true;
			gm_gzindex_save(ixp, &src->ix);
		}
		if (a->progress)
			a->progress(a->progress_priv, "index", 1, 1);
	}
	/* the index and the map must describe the same stream */
	if (src->have_ix && src->ix.usize != src->sm.tar_size) {
		src->have_ix = false;
		gm_gzindex_free(&src->ix);
	}
	free(ixp);
}

/* The new disk.raw's data map (the sparsify semantics: sparse.h) and the
 * layout of the new tar stream. */
static int make_plan(const struct gm_pack_args *a, const struct source *src,
		     struct gm_tarplan *pl)
{
	struct gm_rangeset keep = GM_RANGESET_INIT, map = GM_RANGESET_INIT;
	struct gm_rangeset changed = GM_RANGESET_INIT;
	bool use_keep = src->have_sm && src->sm.gnu_sparse && !a->resparsify;
	int rc = 0;

	if (use_keep)
		rc = gm_srcmap_disk_map(&src->sm, &keep);
	if (!rc)
		rc = gm_sparse_widen(a->changed, a->disk_size, &changed);
	if (!rc)
		rc = gm_sparse_plan_map(a->disk_fd, a->disk_size, use_keep ? &keep : NULL,
					&changed, a->holes, &map, a->progress, a->progress_priv);
	if (!rc)
		rc = gm_tarplan_build(pl, a, &map, src->have_ix ? &src->sm : NULL, &changed);
	gm_rangeset_free(&keep);
	gm_rangeset_free(&map);
	gm_rangeset_free(&changed);
	return rc;
}

/* Compresses the plan into fd: spliced from the original where at least
 * half of the new stream can be copied, else deflated anew on all cores. */
static int write_targz(const struct gm_pack_args *a, const struct source *src,
		       const struct gm_tarplan *pl, int fd, struct gm_gzindex *newix,
		       uint64_t *tar_bytes, uint32_t *crc, bool *verified)
{
	struct gm_gzindex own = GM_GZINDEX_INIT;
	struct gm_splice sp = { 0 };
	struct gm_gzout *g = NULL;
	uint64_t out_bytes = 0;
	int rc = 0;

	if (src->have_ix && (rc = gm_splice_plan(pl, &src->ix, &sp)))
		return rc;
	if (sp.copied < pl->size / 2)
		gm_splice_free(&sp);   /* most of it changed: the full path */
	rc = gm_gzout_new(fd, a->level ? a->level : 6, 0, &g);
	if (rc)
		goto out;
	if (!newix)
		newix = &own;          /* the splice's check needs the new file's points */
	gm_gzout_set_index(g, newix);
	rc = gm_splice_write(g, pl, src->fd, &src->ix, &sp);
	if (!rc)
		rc = gm_gzout_finish(g, tar_bytes, crc, &out_bytes);
	/* a spliced file is checked where it was written anew (splice.h); the
	 * full path's file is inflated whole by the caller */
	if (!rc && sp.n) {
		if (a->progress)
			a->progress(a->progress_priv, "verify", 0, 1);
		rc = gm_splice_verify(fd, newix, pl, &src->ix, &sp);
		*verified = rc == 0;
	}
	if (!rc && a->stats) {
		a->stats->tar_bytes = pl->size;
		a->stats->copied_bytes = sp.copied;
		a->stats->out_bytes = out_bytes;
	}
out:
	gm_gzout_free(g);
	gm_splice_free(&sp);
	gm_gzindex_free(&own);
	return rc;
}

/* After a write-back onto the source itself: the maps of the new file. */
static void save_maps(const struct gm_pack_args *a, const struct gm_tarplan *pl,
		      struct gm_gzindex *newix, int fd)
{
	char *ixp = gm_path_join(a->cache_dir, "gzindex");

	newix->members = 1;
	newix->usize = pl->size;
	if (ixp && gm_gzindex_stamp(fd, newix) == 0 && gm_gzindex_save(ixp, newix) == 0 &&
	    gm_srcmap_save(a->cache_dir, &pl->map) == 0) {
		free(ixp);
		return;
	}
	if (ixp)
		unlink(ixp);
	gm_srcmap_remove(a->cache_dir);
	free(ixp);
}

static void drop_maps(const char *cache_dir)
{
	char *ixp = gm_path_join(cache_dir, "gzindex");

	if (ixp)
		unlink(ixp);
	free(ixp);
	gm_srcmap_remove(cache_dir);
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
	struct source src = { .fd = -1 };
	struct gm_tarplan pl = { 0 };
	struct gm_gzindex newix = GM_GZINDEX_INIT;
	struct gm_rangeset map = GM_RANGESET_INIT;
	bool onto_source = a->save_maps && a->targz && a->ms && a->cache_dir, verified = false;
	char *tmp = temp_template(a->target), *dir = NULL;
	uint64_t tar_bytes = 0, vbytes = 0;
	uint32_t crc = 0, vcrc = 0;
	struct stat st;
	int fd = -1, rc;
	mode_t mode;

	if (!tmp) {
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
	if (a->targz) {
		source_load(a, &src);
		rc = make_plan(a, &src, &pl);
	} else {
		rc = gm_sparse_scan(a->disk_fd, a->disk_size, &map, a->progress, a->progress_priv);
		if (!rc)
			rc = gm_sparse_subtract(&map, a->holes);
	}
	if (rc) {
		gm_error_set(err, rc, "%s: scanning the cache disk: %s", a->image, strerror(-rc));
		goto out;
	}
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
		rc = write_targz(a, &src, &pl, fd, onto_source ? &newix : NULL, &tar_bytes, &crc,
				 &verified);
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
	if (a->targz && !verified) {
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
	if (onto_source)
		drop_maps(a->cache_dir);   /* they describe the file about to be replaced */
	if (rename(tmp, a->target) < 0) {
		rc = gm_error_set(err, -errno, "%s: rename %s to %s: %s; the image is unchanged",
				  a->image, tmp, a->target, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	dir = strdup(a->target);
	if (!dir || (rc = gm_fsync_dir(dirname(dir)))) {
		gm_error_set(err, rc ? rc : -ENOMEM, "%s: fsync of the directory of %s failed",
			     a->image, a->target);
		goto out;
	}
	if (onto_source)
		save_maps(a, &pl, &newix, fd);
out:
	if (fd >= 0)
		close(fd);
	if (tmp && fd >= 0)
		unlink(tmp);
	gm_rangeset_free(&map);
	gm_tarplan_free(&pl);
	gm_gzindex_free(&newix);
	source_free(&src);
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
