/* image_state.c — see image.h: the image's dirty state (the dirty map, the
 * cache state's dirty mark, the flags a signal handler reads) as the undo
 * log's operations (editor/disk/undo.h) and a lazy open's reading move it,
 * and the recovery of an operation a killed gcemount left
 * (image_private.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "editor/container/image_private.h"
#include "editor/container/tempfiles.h"
#include "editor/container/wal.h"

/* The undo log's recovery (cache.h), with one line for a raw disk, which
 * the user sees change back. */
int gm_image_recover(struct gm_image *img, const char *abs, bool raw, struct gm_error *err)
{
	struct gm_wal_recovery r;
	char *dp = raw ? NULL : gm_path_join(img->cache, "disk.raw");
	int rc;

	if (!raw && !dp)
		return gm_error_set(err, -ENOMEM, "out of memory");
	rc = gm_cache_recover(img->cache, abs, raw ? abs : dp, raw, &r, err);
	free(dp);
	if (!rc && r.rolled_back && raw) {
		img->info.undone = true;
		if (r.other_boot)
			snprintf(img->info.note, sizeof(img->info.note), "undid what the log holds of an "
				 "edit cut by a machine crash (pid %ld); unlogged writes may remain: "
				 "check with e2fsck -fn", r.pid);
		else
			snprintf(img->info.note, sizeof(img->info.note), "undid the unfinished edit of "
				 "an interrupted gcemount (pid %ld): the disk is as it was before that "
				 "command", r.pid);
	}
	return rc;
}

int gm_image_undo_path(const struct gm_image *img, char **out)
{
	*out = NULL;
	if (!img->cache)
		return 0;
	*out = gm_path_join(img->cache, GM_WAL_NAME);
	return *out ? 0 : -ENOMEM;
}

/* The cache holds edits the image lacks: the state file says dirty, before
 * the first of them reaches the cache disk (a crash, even of the machine,
 * never leaves a changed cache that passes for clean). Inside an operation
 * of the undo log the state names it: while it has not committed, the
 * recovery of a killed process (cache.h) gives the prior status back, and a
 * signal handler is told nothing (GM_TF_DIRTY waits for the commit).
 * While the image is still being read (a lazy open) the state also says
 * how far (partial, extracted, this boot's id), saved again whenever a
 * write goes past that point: a resumed session reads the rest again
 * without writing over the edits below it; and the partial disk is no
 * longer a temp file a signal removes. The caller waited for the range. */
static int persist_dirty(struct gm_image *img, uint64_t off, uint64_t len, bool flag)
{
	struct gm_cache_state st;
	bool reading, was;
	sigset_t old;
	int rc = 0;

	/* (a private cache from standard input dies with the process: no state) */
	if (img->info.container != GM_CONTAINER_TARGZ || img->stream)
		return 0;
	reading = img->job && !gm_extract_ended(img->job);
	pthread_mutex_lock(&img->mu);
	was = img->persisted_dirty;
	if (was && !(reading && img->st.partial &&
		     (len > UINT64_MAX - off || off + len > img->st.extracted)))
		goto out;
	st = img->st;
	if (!was) {
		st.prior = st.status;
		st.status = GM_CACHE_DIRTY;
		st.pid = (long)getpid();
		st.since = (int64_t)time(NULL);
		st.undo_op = img->undo_op;
	}
	st.partial = reading;
	if (reading) {
		/* what was read so far is in this boot's page cache at least:
		 * a resume on the same boot finds it (after a restart it is
		 * refused) */
		st.extracted = gm_extract_avail(img->job);
		gm_cache_boot_id(st.boot_id, sizeof(st.boot_id));
	}
	/* the flag first, the state, the disk's registration, all with the
	 * handled signals blocked: a handler sees all or none (the reading
	 * thread takes no signal: extract.c) */
	gm_tempfiles_block(&old);
	if (flag)
		gm_tempfiles_set_flag(GM_TF_DIRTY, true);
	rc = gm_cache_state_save(img->cache, &st);
	if (rc && flag && !was)
		gm_tempfiles_set_flag(GM_TF_DIRTY, false);
	if (!rc) {
		img->st = st;
		img->persisted_dirty = true;
		/* a signal now must leave the edits (and the disk) in place */
		gm_tempfiles_forget(img->disk_slot);
		img->disk_slot = -1;
	}
	gm_tempfiles_unblock(&old);
out:
	pthread_mutex_unlock(&img->mu);
	return rc;
}

int gm_image_note_write(struct gm_image *img, uint64_t off, uint64_t len)
{
	int rc;

	if (img->read_only)
		return -EROFS;
	/* the reading must not write over it: the range must be there first */
	if ((rc = gm_image_wait(img, off, len)) || (rc = persist_dirty(img, off, len, false)))
		return rc;
	return gm_rangeset_add(&img->dirty, off, len ? len : 1);
}

int gm_image_mark_dirty(struct gm_image *img, uint64_t off, uint64_t len)
{
	int rc;

	if (img->read_only)
		return -EROFS;
	if ((rc = gm_image_wait(img, off, len)) || (rc = persist_dirty(img, off, len, true)))
		return rc;
	return gm_rangeset_add(&img->dirty, off, len ? len : 1);
}

void gm_image_set_undo_op(struct gm_image *img, uint64_t op)
{
	pthread_mutex_lock(&img->mu);   /* (read by the reading thread's saves) */
	img->undo_op = op;
	pthread_mutex_unlock(&img->mu);
}

int gm_image_commit_edits(struct gm_image *img)
{
	if (!gm_image_dirty(img))
		return 0;
	if (img->info.container == GM_CONTAINER_RAW)
		gm_tempfiles_set_flag(GM_TF_WRITTEN, true);   /* in place */
	else if (img->persisted_dirty)
		gm_tempfiles_set_flag(GM_TF_DIRTY, true);     /* edits wait in the cache */
	return 0;
}

int gm_image_dirty_save(struct gm_image *img, struct gm_image_dirty_mark *m)
{
	gm_rangeset_init(&m->map);
	pthread_mutex_lock(&img->mu);
	m->persisted = img->persisted_dirty;
	m->status = (int)img->st.status;
	pthread_mutex_unlock(&img->mu);
	return gm_rangeset_copy(&m->map, &img->dirty);
}

int gm_image_dirty_restore(struct gm_image *img, struct gm_image_dirty_mark *m)
{
	struct gm_cache_state st;
	struct stat ds;
	int rc = 0;

	gm_rangeset_free(&img->dirty);
	img->dirty = m->map;
	gm_rangeset_init(&m->map);
	if (img->info.container != GM_CONTAINER_TARGZ || img->stream || m->persisted)
		return 0;
	/* The cache holds the same bytes again: its former state (clean, or
	 * stale after an --output write-back; none while it was still being
	 * read: the reading thread then saves what it finds at its end), with
	 * the disk's new identity (its mtime moved; flushed first). */
	if (fsync(img->fd) < 0 || fstat(img->fd, &ds) < 0)
		return -errno;
	pthread_mutex_lock(&img->mu);
	if (!img->persisted_dirty)
		goto out;
	st = img->st;
	st.status = (enum gm_cache_status)m->status;
	st.disk_mtime_ns = gm_mtime_ns(&ds);
	st.pid = 0;
	st.since = 0;
	st.undo_op = 0;
	st.partial = false;
	if ((rc = gm_cache_state_save(img->cache, &st)))
		goto out;
	img->st = st;
	img->persisted_dirty = false;
out:
	pthread_mutex_unlock(&img->mu);
	return rc;
}

void gm_image_dirty_mark_free(struct gm_image_dirty_mark *m)
{
	if (m)
		gm_rangeset_free(&m->map);
}
