/* image_private.h — the gm_image handle, shared by image.c (open, close,
 * write-back) and image_state.c (dirty state, undo log recovery) only. */
#ifndef GM_IMAGE_PRIVATE_H
#define GM_IMAGE_PRIVATE_H

#include <sys/stat.h>

#include "editor/container/cache.h"
#include "editor/container/image.h"
#include "editor/container/members.h"

struct gm_image {
	char *path;            /* absolute */
	char *cache;           /* <cache>/<key> */
	int fd;                /* the disk */
	int lock_fd;
	bool read_only;
	bool stream;           /* read from standard input into a private cache */
	int cache_slot;        /* the private cache's tempfiles registration */
	bool persisted_dirty;  /* the state file says dirty */
	struct gm_image_info info;
	struct gm_cache_state st;
	struct gm_members ms;
	struct gm_rangeset dirty;
	gm_progress_fn progress;
	void *progress_priv;
	struct gm_gzindex_job *index_job;   /* the block index still being built */
	uint64_t undo_op;      /* the undo log's operation in progress, or 0 */
};

static inline int64_t gm_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* image_state.c: before anything else on an image (cache locked
 * exclusively): what a killed gcemount left half-done is undone (cache.h
 * gm_cache_recover); a raw disk put back in place gets a note. 0 or -errno
 * with err set. */
int gm_image_recover(struct gm_image *img, const char *abs, bool raw, struct gm_error *err);

#endif
