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
#include "editor/container/gzpoints.h"
#include "editor/container/sparse.h"
#include "editor/container/splice.h"
#include "editor/container/srcmap.h"
#include "editor/container/tar_write.h"
#include "editor/container/tarplan.h"

int64_t gm_pack_mtime(void)
{
	struct timespec now;

	gm_clock_now(&now);
	return (int64_t)now.tv_sec;
}

/* The original's maps, when the cache has them for the source file: the
 * srcmap, and the block index (from the write-back that made the file) or
 * the access points (from the inflate pass) to find the boundaries with. */
struct source {
	struct gm_srcmap sm;
	bool have_sm;
	struct gm_gzindex ix;
	bool have_ix;
	struct gm_gzpoints ap;
	bool have_ap;
	const char *how;        /* where the index came from (gm_writeback_stats) */
	int fd;                 /* the source image, to copy deflate blocks from */
};

static void source_free(struct source *src)
{
	gm_srcmap_free(&src->sm);
	gm_gzindex_free(&src->ix);
	gm_gzpoints_free(&src->ap);
	if (src->fd >= 0)
		close(src->fd);
}

/* Loads <cache>/srcmap and, unless no_splice, the block index or the
 * access points for the source image (source_index() completes it). */
static void source_load(const struct gm_pack_args *a, struct source *src)
{
	char *ixp;

	src->fd = -1;
	src->ap.fd = -1;
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
	/* the index and the points must describe the stream the map does */
	if (gm_gzindex_load(ixp, &src->ix) == 0 && gm_gzindex_matches(&src->ix, src->fd) &&
	    src->ix.usize == src->sm.tar_size) {
		src->have_ix = true;
		src->how = "saved";
	} else
		gm_gzindex_free(&src->ix);
	if (!src->have_ix && gm_gzpoints_load(a->cache_dir, &src->ap) == 0 &&
	    gm_gzpoints_matches(&src->ap, src->fd) && src->ap.usize == src->sm.tar_size)
		src->have_ap = true;
	free(ixp);
}

/* The block boundaries the plan's splice needs: found near its junctions
 * from the access points (gzlocate.h), or, without them (a cache made by an
 * older gcemount), the whole original indexed with zlib and saved. */
static void source_index(const struct gm_pack_args *a, struct source *src,
			 const struct gm_tarplan *pl)
{
	struct gm_gzwant *w = NULL;
	size_t n = 0;
	char *ixp;

	if (src->have_ix || src->fd < 0 || !src->have_sm)
		return;
	if (src->have_ap) {
		if (gm_splice_wants(pl, &src->ap, &w, &n) == 0 &&
		    gm_gzlocate(src->fd, &src->ap, w, n, &src->ix) == 0) {
			src->have_ix = true;
			src->how = "located";
		}
		free(w);
		if (src->have_ix)
			return;
	}
	ixp = gm_path_join(a->cache_dir, "gzindex");
	if (a->progress)
		a->progress(a->progress_priv, "index", 0, 1);
	if (ixp && gm_gzindex_build(src->fd, NULL, &src->ix) == 0) {
		src->have_ix = src->ix.usize == src->sm.tar_size;
		if (src->have_ix) {
			gm_gzindex_save(ixp, &src->ix);
			src->how = "indexed";
		}
	}
	if (a->progress)
		a->progress(a->progress_priv, "index", 1, 1);
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
		rc = gm_tarplan_build(pl, a, &map, src->fd >= 0 ? &src->sm : NULL, &changed);
	gm_rangeset_free(&keep);
	gm_rangeset_free(&map);
	gm_rangeset_free(&changed);
	return rc;
}

/* Compresses the plan into fd: spliced from the original where at least
 * half of the new stream can be copied, else deflated anew on all cores. */
static int write_targz(const struct gm_pack_args *a, const struct source *src,
		       const struct gm_tarplan *pl, int fd, bool rereadable,
		       struct gm_gzindex *newix, uint64_t *tar_bytes, uint32_t *crc,
		       bool *verified)
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
	if (!rc && sp.n && rereadable) {
		if (a->progress)
			a->progress(a->progress_priv, "verify", 0, 1);
		rc = gm_splice_verify(fd, newix, pl, &src->ix, &sp);
		*verified = rc == 0;
	}
	if (!rc && a->stats) {
		a->stats->tar_bytes = pl->size;
		a->stats->copied_bytes = sp.copied;
		a->stats->out_bytes = out_bytes;
		snprintf(a->stats->index_source, sizeof(a->stats->index_source), "%s",
			 sp.n && src->how ? src->how : "");
	}
out:
	gm_gzout_free(g);
	gm_splice_free(&sp);
	gm_gzindex_free(&own);
	return rc;
}

static void drop_maps(const char *cache_dir)
{
	gm_file_remove(cache_dir, "gzindex");
	gm_gzpoints_remove(cache_dir);
	gm_srcmap_remove(cache_dir);
}

/* After a write-back onto the source itself: the maps of the new file
 * (newix stamped with it). */
static void save_maps(const struct gm_pack_args *a, const struct gm_tarplan *pl,
		      const struct gm_gzindex *newix)
{
	char *ixp = gm_path_join(a->cache_dir, "gzindex");

	if (ixp && gm_gzindex_save(ixp, newix) == 0 &&
	    gm_srcmap_save(a->cache_dir, &pl->map) == 0) {
		free(ixp);
		return;
	}
	free(ixp);
	drop_maps(a->cache_dir);
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
	struct source src = { .fd = -1 };
	struct gm_tarplan pl = { 0 };
	struct gm_gzindex newix = GM_GZINDEX_INIT;
	struct gm_rangeset map = GM_RANGESET_INIT;
	struct gm_output *o = NULL;
	bool onto_source = a->save_maps && a->targz && a->ms && a->cache_dir, verified = false;
	uint64_t tar_bytes = 0, vbytes = 0;
	uint32_t crc = 0, vcrc = 0;
	int rc;

	if (a->targz) {
		source_load(a, &src);
		rc = make_plan(a, &src, &pl);
		if (!rc)
			source_index(a, &src, &pl);
	} else {
		rc = gm_sparse_scan(a->disk_fd, a->disk_size, &map, a->progress, a->progress_priv);
		if (!rc)
			rc = gm_sparse_subtract(&map, a->holes);
	}
	if (rc) {
		gm_error_set(err, rc, "%s: scanning the cache disk: %s", a->image, strerror(-rc));
		goto out;
	}
	if ((rc = gm_output_open(a->target, a->image, &o, err)))
		goto out;
	if (a->targz)
		rc = write_targz(a, &src, &pl, gm_output_fd(o), gm_output_rereadable(o),
				 onto_source ? &newix : NULL, &tar_bytes, &crc, &verified);
	else
		rc = gm_sparse_copy(a->disk_fd, gm_output_fd(o), a->disk_size, &map);
	if (rc) {
		write_failed(a, o, rc, err);
		goto out;
	}
	if (a->targz && !verified && gm_output_rereadable(o)) {
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
	if (onto_source) {
		/* the maps describe the file about to be replaced: gone first, the
		 * new file's after the rename */
		newix.members = 1;
		newix.usize = pl.size;
		if (gm_gzindex_stamp(gm_output_fd(o), &newix))
			onto_source = false;
		drop_maps(a->cache_dir);
	}
	rc = gm_output_commit(o, err);
	o = NULL;
	if (!rc && onto_source)
		save_maps(a, &pl, &newix);
out:
	gm_output_abort(o);
	gm_rangeset_free(&map);
	gm_tarplan_free(&pl);
	gm_gzindex_free(&newix);
	source_free(&src);
	return rc;
}
