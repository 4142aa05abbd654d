/* image_private.h — the image handle, shared by image.c (open, cache
 * reuse, write-back), image_read.c (extraction in the background, waits,
 * checks once the whole image is read) and image_state.c (dirty state, undo
 * log recovery). Not for use outside editor/container/. */
#ifndef GM_IMAGE_PRIVATE_H
#define GM_IMAGE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "editor/container/cache.h"
#include "editor/container/extract.h"
#include "editor/container/image.h"
#include "editor/container/members.h"

struct gm_image_check {
	gm_image_check_fn fn;
	void (*free_fn)(void *);
	void *priv;
};

struct gm_image {
	char *path;            /* absolute */
	char *cache;           /* <cache>/<key> */
	int fd;                /* the disk */
	int lock_fd;
	bool read_only;
	bool stream;           /* read from standard input into a private cache */
	int cache_slot;        /* the private cache's tempfiles registration */
	struct gm_image_info info;
	struct gm_members ms;
	struct gm_rangeset dirty;
	gm_progress_fn progress;
	void *progress_priv;
	uint64_t undo_op;      /* the undo log's operation in progress, or 0 */
	/* The extraction (image_read.c): NULL when the cache was reused. It
	 * runs in its own thread; mu guards what that thread shares with the
	 * caller's: st, persisted_dirty, the state file, disk_slot, checks,
	 * late_note, opened. */
	pthread_mutex_t mu;
	struct gm_cache_state st;
	bool persisted_dirty;  /* the state file says dirty */
	struct gm_extract *job;
	bool results_taken;    /* the job's members and counts are in ms / info */
	int disk_slot;         /* tempfiles registration of a disk.raw being read */
	struct stat src_st;    /* the source's identity when the extraction began */
	struct gm_image_check *checks;
	size_t nchecks;
	bool checks_run;
	atomic_int late_rc;    /* a check that failed after the job ended */
	struct gm_error late_err;
	char late_note[256];
	void (*notify)(void *priv, const char *msg);
	void *notify_priv;
	char failed_msg[GM_ERRMSG_MAX];   /* the reading's failure, for a late notify */
};

static inline int64_t gm_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* image.c */
/* Records the cache disk's identity (fd) and saves a clean state for the
 * source src; unless synced, one that holds on this boot only (the disk is
 * fsync'd after). Inside an operation of the undo log (a verb's
 * write-back) the state names it: if the operation is undone after all
 * (the process killed before its commit), the cache no longer matches and
 * is extracted anew (prior: none). Called with mu held (or before the
 * reading thread exists). */
int gm_image_save_state_clean(struct gm_image *img, int fd, const struct stat *src,
			      const struct gm_image_info *info, bool synced);
void gm_image_state_from_info(struct gm_cache_state *st, const struct gm_image_info *info);
/* The source's identity (device, inode, size, mtime) into st. */
void gm_image_state_identity(struct gm_cache_state *st, const struct stat *src);

/* image_read.c: a first open of a tar.gz (src_fd the tarball, or a stream
 * with its first bytes in head). skip_below > 0 resumes a partial cache
 * (the disk data below it is there, with edits: kept). Waits for the whole
 * extraction unless o->lazy. 0 or -errno with the message. */
int gm_image_extract(struct gm_image *img, int src_fd, const struct stat *src,
		     const unsigned char *head, size_t head_len, const struct gm_image_opts *o,
		     uint64_t skip_below, struct gm_error *err);

/* image_state.c: before anything else on an image (cache locked
 * exclusively, no extraction running): what a killed gcemount left
 * half-done is undone (cache.h gm_cache_recover); a raw disk put back in
 * place gets a note. 0 or -errno with err set. */
int gm_image_recover(struct gm_image *img, const char *abs, bool raw, struct gm_error *err);

#endif
