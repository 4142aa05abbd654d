/* writeback.h — packing the cached disk into a new image.
 *
 * The bytes (a sparse old-GNU/GNU tar.gz, or a sparse raw copy) go to a
 * target classified by output.h: a regular file is replaced atomically (temp
 * file beside it, fsync, the gzip stream inflated end to end and its CRC and
 * length checked, rename, fsync the directory; on any failure the temp file
 * is removed and the target untouched); a stream (standard output, a FIFO, a
 * character device) is written straight through and cannot be read back.
 */
#ifndef GM_WRITEBACK_H
#define GM_WRITEBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "editor/error.h"
#include "editor/container/image.h"
#include "editor/container/members.h"
#include "editor/container/output.h"

struct gm_pack_args {
	const char *image;              /* for messages */
	const struct gm_output_target *target;   /* resolved by gm_output_resolve */
	bool targz;                     /* tar.gz, else a sparse raw copy (REPLACE only) */
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

/* 0 or -errno with a message naming the image and saying what it and the
 * output are left as. */
int gm_pack(const struct gm_pack_args *a, struct gm_error *err);

/* The entry mtime: SOURCE_DATE_EPOCH when set and valid, else now. */
int64_t gm_pack_mtime(void);

#endif
