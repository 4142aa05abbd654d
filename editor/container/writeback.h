/* writeback.h — packing the cached disk into a new image file, atomically.
 *
 * The new file is written to a temp file beside the target
 * (".<name>.gcemount-XXXXXX", O_EXCL), fsync'd, verified (the gzip stream
 * inflated end to end: CRC and length must match what was written), renamed
 * over the target and the directory fsync'd. On any failure the temp file is
 * unlinked and the target untouched.
 */
#ifndef GM_WRITEBACK_H
#define GM_WRITEBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "editor/error.h"
#include "editor/container/image.h"
#include "editor/container/members.h"

struct gm_pack_args {
	const char *image;              /* for messages */
	const char *target;             /* file created or replaced */
	bool targz;                     /* tar.gz, else a sparse raw copy */
	int disk_fd;
	uint64_t disk_size;
	const struct gm_rangeset *holes;   /* may be NULL */
	const struct gm_members *ms;    /* NULL: disk.raw alone */
	const char *cache_dir;          /* member contents (with ms) */
	enum gm_tar_format format;      /* OLDGNU or GNU (same bytes for our members) */
	int64_t mtime;                  /* of the disk.raw entry */
	/* The compression side (docs/performance.md). changed: ranges of the
	 * disk written since the cache matched the source (NULL: none). */
	const struct gm_rangeset *changed;
	bool resparsify;                /* free blocks become holes everywhere (repack) */
	bool no_splice;                 /* deflate everything anew */
	int level;                      /* deflate level; 0: 6 */
	bool save_maps;                 /* target replaces the source: keep its maps in cache_dir */
	struct gm_writeback_stats *stats;   /* may be NULL */
	gm_progress_fn progress;
	void *progress_priv;
};

/* 0 or -errno with a message naming the image. */
int gm_pack_atomic(const struct gm_pack_args *a, struct gm_error *err);

/* Removes leftover ".<basename>.gcemount-*" temp files beside path (from a
 * killed write-back). Call with the image locked. Returns how many. */
int gm_pack_clean_temps(const char *path);

/* The entry mtime: SOURCE_DATE_EPOCH when set and valid, else now. */
int64_t gm_pack_mtime(void);

#endif
