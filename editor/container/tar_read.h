/* tar_read.h — reading a (gzip'd) tar image with libarchive.
 *
 * Extracts disk.raw into an already open cache file, sparse: holes of the tar
 * entry stay holes and all-zero 4 KiB blocks are never written. Every other
 * member is recorded in the members manifest, its content saved under
 * <cache>/<key>/members/, and where each lies in the tar stream in
 * <cache>/<key>/srcmap (srcmap.h); for a file (not a stream) the access
 * points of the gzip stream go to <cache>/<key>/gzpoints (gzpoints.h).
 * libarchive's ARCHIVE_* codes stop here: the caller
 * gets 0 or -errno and one line in err naming the image.
 */
#ifndef GM_TAR_READ_H
#define GM_TAR_READ_H

#include <stdbool.h>

#include "editor/error.h"
#include "editor/container/gzip_index.h"
#include "editor/container/image.h"
#include "editor/container/members.h"

struct gm_tar_read_args {
	const char *image;        /* for messages */
	int image_fd;             /* the tarball, positioned anywhere; or, with
				   * head_len, a stream positioned after head */
	const void *head;         /* bytes already read from a stream (a pipe) */
	size_t head_len;
	const char *cache_dir;    /* <cache>/<key> */
	int disk_fd;              /* cache disk.raw, empty, opened read-write */
	gm_progress_fn progress;
	void *progress_priv;
	/* Resuming (image.h, --resume after a session killed while the image
	 * was still being read): disk data below this offset is not written,
	 * the cache holds it (and edits) already. */
	uint64_t skip_below;
	/* A test's bound on the work one input can cause (fuzz_tar.c): the tar
	 * stream may not be longer (-EFBIG); 0: no bound. */
	uint64_t max_stream;
	/* Events, from the extracting thread (may be NULL): disk.raw's header
	 * is read and the cache disk sized (info: tar_format,
	 * disk_entry_sparse, disk_size, disk_data_bytes; map: its data
	 * regions); then, after each piece of its data, every data region
	 * below `below` is written. */
	void (*disk_ready)(void *priv, const struct gm_image_info *info,
			   const struct gm_rangeset *map);
	void (*disk_avail)(void *priv, uint64_t below);
	void *event_priv;
};

/* Fills ms (members, disk.raw slot included) and info (tar_format,
 * disk_entry_sparse, disk_size, disk_data_bytes, members). 0, -EINVAL (not a
 * gzip'd tar / no or two disk.raw / bad size or sparse map), -ENOSPC, -EIO,
 * -ENOMEM. */
int gm_tar_extract(const struct gm_tar_read_args *a, struct gm_members *ms,
		   struct gm_image_info *info, struct gm_error *err);

#endif
