/* extract.h — reading a tarball into the cache in a thread of its own.
 *
 * gm_extract_start() runs gm_tar_extract() (tar_read.h) in a new thread and
 * returns as soon as disk.raw's header has been read and the cache disk
 * sized (or the extraction ended, well or not). From then on the disk can
 * be read where the stream has arrived: the tar stream holds disk.raw's
 * data in disk order, so a watermark says how far it is written, and the
 * holes of its sparse map (never written by the extraction) are there at
 * once. gm_extract_wait() blocks until a range is there.
 *
 * When the stream has been read to its end and every gzip trailer checked,
 * the thread calls the caller's completion hook (fsync, checks, the cache
 * state: image.c) and the job is done. A failure at any point (a CRC or
 * length mismatch, a truncated or corrupt archive, the hook's own) makes
 * every later wait fail with -EIO; gm_extract_finish() returns it with the
 * message. Waits never return bytes the stream has not delivered.
 */
#ifndef GM_EXTRACT_H
#define GM_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "editor/error.h"
#include "editor/container/image.h"
#include "editor/container/members.h"

struct gm_extract;

/* The completion hook: runs in the extracting thread once everything is
 * read and verified; disk_fd is the job's own descriptor of the cache disk,
 * ms and info are the job's results. 0, or -errno with the message in err
 * (the job then fails). */
typedef int (*gm_extract_done_fn)(void *priv, int disk_fd, const struct gm_members *ms,
				  const struct gm_image_info *info, struct gm_error *err);
/* Runs in the extracting thread after the job ended well and waiters were
 * told (e.g. an fsync nobody need wait for); gm_extract_free waits for it. */
typedef void (*gm_extract_after_fn)(void *priv, int disk_fd);
/* Told once, from the extracting thread, when the job fails (msg: one line). */
typedef void (*gm_extract_fail_fn)(void *priv, const char *msg);

struct gm_extract_args {
	const char *image;        /* for messages (copied) */
	int src_fd;               /* the tarball or a stream (duplicated) */
	const void *head;         /* bytes already read from a stream (copied) */
	size_t head_len;
	const char *cache_dir;    /* copied */
	int disk_fd;              /* the cache disk, opened read-write (duplicated) */
	uint64_t file_size;       /* of the tarball, for progress (0: unknown) */
	uint64_t skip_below;      /* see gm_tar_read_args */
	gm_extract_done_fn done;
	gm_extract_after_fn after;   /* may be NULL */
	gm_extract_fail_fn failed;   /* may be NULL */
	void *priv;
};

/* Starts the job and waits until the disk is ready (or the job ended);
 * progress (may be NULL) is called from this thread meanwhile. On success
 * *out is the running job and info has tar_format, disk_entry_sparse,
 * disk_size, disk_data_bytes. A failure before the disk was ready: -errno
 * with the message in err, no job left. */
int gm_extract_start(const struct gm_extract_args *a, gm_progress_fn progress, void *ppriv,
		     struct gm_image_info *info, struct gm_extract **out, struct gm_error *err);
/* Blocks until [off, off+len) of the disk is there. 0, or -EIO once the
 * job failed (whatever the range). Thread-safe. */
int gm_extract_wait(struct gm_extract *x, uint64_t off, uint64_t len);
/* True when the job has ended (well or not); never blocks. */
bool gm_extract_ended(struct gm_extract *x);
/* Waits for the job to end (progress as above): 0, or the failure with its
 * message in err. ms and info (may be NULL) get the
 * results (members moved out: once). May be called again (same answer). */
int gm_extract_finish(struct gm_extract *x, gm_progress_fn progress, void *ppriv,
		      struct gm_members *ms, struct gm_image_info *info, struct gm_error *err);
/* Finishes (waits, the after hook too), joins the thread and frees.
 * Accepts NULL. */
void gm_extract_free(struct gm_extract *x);

/* The offset up to which disk.raw's data is written (its size once done). */
uint64_t gm_extract_avail(struct gm_extract *x);

#endif
