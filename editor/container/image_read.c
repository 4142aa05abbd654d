/* image_read.c — a first open's extraction as the image sees it: the job
 * started (extract.h), the disk handed out while it arrives (waits), what
 * happens when it is all read (fsync, the checks registered meanwhile, the
 * cache state) or turns out damaged (state and partial disk removed,
 * notify told), and the writes made meanwhile (image.c's mark_dirty). */
#include "editor/container/image_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editor/container/tempfiles.h"
#include "editor/container/wal.h"

static void clear_members_dir(const char *cache)
{
	char *md = gm_members_dir(cache);
	DIR *d = md ? opendir(md) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	free(md);
}

/* Adds a check's note to the image's. Called with mu held. */
static void add_note(struct gm_image *img, const char *note)
{
	if (note[0] && !strstr(img->late_note, note))
		gm_note_append(img->late_note, sizeof(img->late_note), "%s", note);
}

/* The registered checks, in the reading thread; once they have run, a
 * late registration runs at once (gm_image_after_read). */
static int run_checks(struct gm_image *img, int fd, uint64_t disk_size, struct gm_error *err)
{
	size_t n;
	int rc = 0;

	pthread_mutex_lock(&img->mu);
	img->checks_run = true;
	n = img->nchecks;
	pthread_mutex_unlock(&img->mu);
	for (size_t i = 0; !rc && i < n; i++) {
		char note[192] = "";

		rc = img->checks[i].fn(img->checks[i].priv, fd, disk_size, note, sizeof(note), err);
		pthread_mutex_lock(&img->mu);
		add_note(img, note);
		pthread_mutex_unlock(&img->mu);
	}
	return rc;
}

/* Everything read and verified (the reading thread). */
static int on_done(void *priv, int fd, const struct gm_members *ms,
		   const struct gm_image_info *info, struct gm_error *err)
{
	struct gm_image *img = priv;
	int rc;

	(void)ms;
	/* the cache must be on disk before the state says it matches the image */
	if (fsync(fd) < 0)
		return gm_error_set(err, -errno, "%s: fsync the cache disk: %s", img->path,
				    strerror(errno));
	if ((rc = run_checks(img, fd, info->disk_size, err)))
		return rc;
	pthread_mutex_lock(&img->mu);
	if (img->stream) {
		rc = 0;          /* a private cache has no state */
	} else if (img->persisted_dirty) {
		/* edits were made while it arrived: dirty, but whole now */
		struct gm_cache_state st = img->st;

		gm_image_state_from_info(&st, info);
		st.partial = false;
		st.extracted = 0;
		st.unsynced = true;
		gm_cache_boot_id(st.boot_id, sizeof(st.boot_id));
		rc = gm_cache_state_save(img->cache, &st);
		if (!rc)
			img->st = st;
	} else {
		/* (fsync'd in the background: on_synced) */
		rc = gm_image_save_state_clean(img, fd, &img->src_st, info, false);
	}
	gm_tempfiles_forget(img->disk_slot);
	img->disk_slot = -1;
	pthread_mutex_unlock(&img->mu);
	if (rc)
		return gm_error_set(err, rc, "%s: cannot save the cache state in %s: %s", img->path,
				    img->cache, strerror(-rc));
	return 0;
}

/* After the waiters were told (the reading thread): the cache disk goes to
 * disk while the session works, then the state says so. */
static void on_synced(void *priv, int fd)
{
	struct gm_image *img = priv;

	if (img->stream || fsync(fd) < 0)
		return;
	pthread_mutex_lock(&img->mu);
	if (img->st.unsynced && (img->st.status == GM_CACHE_CLEAN ||
				 img->st.status == GM_CACHE_DIRTY)) {
		struct gm_cache_state st = img->st;

		st.unsynced = false;
		if (!st.partial)
			st.boot_id[0] = '\0';
		if (gm_cache_state_save(img->cache, &st) == 0)
			img->st = st;
	}
	pthread_mutex_unlock(&img->mu);
}

/* The stream turned out damaged (the reading thread): the cache is not
 * kept, whoever asked is told. */
static void on_failed(void *priv, const char *msg)
{
	struct gm_image *img = priv;
	void (*notify)(void *, const char *) = NULL;

	pthread_mutex_lock(&img->mu);
	if (!img->stream) {
		char *dp = gm_path_join(img->cache, "disk.raw");

		gm_cache_state_remove(img->cache);
		if (dp)
			unlink(dp);
		free(dp);
		img->persisted_dirty = false;
		gm_tempfiles_set_flag(GM_TF_DIRTY, false);
	}
	gm_tempfiles_forget(img->disk_slot);
	img->disk_slot = -1;
	snprintf(img->failed_msg, sizeof(img->failed_msg), "%s", msg);
	notify = img->notify;
	pthread_mutex_unlock(&img->mu);
	if (notify)
		notify(img->notify_priv, msg);
}

bool gm_image_set_notify(struct gm_image *img, void (*fn)(void *priv, const char *msg),
			 void *priv)
{
	bool failed;

	pthread_mutex_lock(&img->mu);
	failed = img->failed_msg[0] != '\0';
	if (!failed) {
		img->notify = fn;
		img->notify_priv = priv;
	}
	pthread_mutex_unlock(&img->mu);
	return failed || atomic_load(&img->late_rc);
}

int gm_image_extract(struct gm_image *img, int src_fd, const struct stat *src,
		     const unsigned char *head, size_t head_len, const struct gm_image_opts *o,
		     uint64_t skip_below, struct gm_error *err)
{
	struct gm_extract_args a = {
		.image = img->path, .src_fd = src_fd, .head = head, .head_len = head_len,
		.cache_dir = img->cache, .file_size = head ? 0 : (uint64_t)src->st_size,
		.skip_below = skip_below, .done = on_done, .after = on_synced, .failed = on_failed,
		.priv = img,
	};
	struct gm_image_info ri = { 0 };
	char *dp = gm_path_join(img->cache, "disk.raw");
	sigset_t old;
	int wfd = -1, rc;

	if (!dp)
		return gm_error_set(err, -ENOMEM, "out of memory");
	if (!skip_below) {
		/* the undo log of an earlier cache (recovered by now: image.c)
		 * must never be replayed onto this one; the directory's fsync
		 * makes both removals durable */
		rc = img->stream ? 0 : gm_file_remove(img->cache, GM_WAL_NAME);
		if (!rc)
			rc = gm_cache_state_remove(img->cache);
		if (rc) {
			gm_error_set(err, rc, "%s: cannot reset the cache state in %s: %s", img->path,
				     img->cache, strerror(-rc));
			goto fail;
		}
		/* no state but the one this extraction saves: an edit made while
		 * it runs must not take a former one for its prior (cache.h) */
		pthread_mutex_lock(&img->mu);
		memset(&img->st, 0, sizeof(img->st));
		img->persisted_dirty = false;
		pthread_mutex_unlock(&img->mu);
		unlink(dp);
	}
	gm_members_free(&img->ms);
	clear_members_dir(img->cache);
	/* interrupted, a partial disk goes (its state is gone already); one
	 * with edits stays (the state says how far it was read). Created and
	 * registered as one for a signal handler. */
	gm_tempfiles_block(&old);
	wfd = open(dp, O_RDWR | O_CLOEXEC | (skip_below ? 0 : O_CREAT | O_EXCL), 0600);
	if (wfd >= 0 && !img->stream && !skip_below)
		img->disk_slot = gm_tempfiles_add(dp, false);
	gm_tempfiles_unblock(&old);
	if (wfd < 0) {
		rc = gm_error_set(err, -errno, "%s: cannot %s %s: %s", img->path,
				  skip_below ? "open" : "create", dp, strerror(errno));
		goto fail;
	}
	gm_tempfiles_test_point("extract");
	img->src_st = *src;
	/* a state saved while it is read (edits: mark_dirty) names the source */
	pthread_mutex_lock(&img->mu);
	gm_image_state_identity(&img->st, src);
	pthread_mutex_unlock(&img->mu);
	a.disk_fd = wfd;
	rc = gm_extract_start(&a, o->progress, o->progress_priv, &ri, &img->job, err);
	if (rc)
		goto fail;
	img->info.tar_format = ri.tar_format;
	img->info.disk_entry_sparse = ri.disk_entry_sparse;
	img->info.disk_size = ri.disk_size;
	img->info.disk_data_bytes = ri.disk_data_bytes;
	/* the image's own descriptor, not a dup of the job's: libfdisk seeks
	 * on what it is given, and both threads may probe at once; read-only,
	 * no write can slip through it */
	img->fd = open(dp, (img->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (img->fd < 0) {
		rc = gm_error_set(err, -errno, "%s: %s: %s", img->path, dp, strerror(errno));
		goto fail;
	}
	close(wfd);
	wfd = -1;
	if (!o->lazy && (rc = gm_image_finish(img, err)))
		goto fail;
	free(dp);
	return 0;
fail:
	gm_extract_free(img->job);
	img->job = NULL;
	if (wfd >= 0)
		close(wfd);
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	if (!skip_below)
		unlink(dp);
	gm_tempfiles_forget(img->disk_slot);
	img->disk_slot = -1;
	gm_members_free(&img->ms);
	free(dp);
	return rc;
}

int gm_image_disk_fd(const struct gm_image *img) { return img->fd; }

int gm_image_wait(struct gm_image *img, uint64_t off, uint64_t len)
{
	if (atomic_load(&img->late_rc))
		return -EIO;
	return img->job ? gm_extract_wait(img->job, off, len) : 0;
}

int gm_image_finish(struct gm_image *img, struct gm_error *err)
{
	int rc = 0;

	if (img->job) {
		struct gm_members ms = { 0 };
		struct gm_image_info info;

		rc = gm_extract_finish(img->job, img->progress, img->progress_priv,
				       img->results_taken ? NULL : &ms, &info, err);
		if (!rc && !img->results_taken) {
			gm_members_free(&img->ms);
			img->ms = ms;
			img->info.members = info.members;
			if (img->stream)
				img->info.file_size = info.file_size;
			img->results_taken = true;
		}
	}
	if (!rc && (rc = atomic_load(&img->late_rc))) {
		pthread_mutex_lock(&img->mu);
		gm_error_set(err, rc, "%s", gm_error_msg(&img->late_err));
		pthread_mutex_unlock(&img->mu);
	}
	return rc;
}

int gm_image_fd(struct gm_image *img)
{
	gm_image_finish(img, NULL);
	return img->fd;
}

bool gm_image_complete(struct gm_image *img)
{
	return !atomic_load(&img->late_rc) &&
	       (!img->job || (gm_extract_ended(img->job) && gm_extract_wait(img->job, 0, 0) == 0));
}

int gm_image_after_read(struct gm_image *img, gm_image_check_fn fn, void (*free_fn)(void *),
			void *priv)
{
	struct gm_error e = { 0 };
	char note[192] = "";
	int rc;

	pthread_mutex_lock(&img->mu);
	if (img->job && !img->checks_run && !gm_extract_ended(img->job)) {
		struct gm_image_check *c = realloc(img->checks, (img->nchecks + 1) * sizeof(*c));

		if (!c) {
			pthread_mutex_unlock(&img->mu);
			return -ENOMEM;
		}
		img->checks = c;
		c[img->nchecks++] = (struct gm_image_check){ fn, free_fn, priv };
		pthread_mutex_unlock(&img->mu);
		return 0;
	}
	pthread_mutex_unlock(&img->mu);
	/* read already: now */
	rc = fn(priv, img->fd, img->info.disk_size, note, sizeof(note), &e);
	pthread_mutex_lock(&img->mu);
	add_note(img, note);
	if (rc && !atomic_load(&img->late_rc)) {
		img->late_err = e;
		atomic_store(&img->late_rc, rc);
	}
	pthread_mutex_unlock(&img->mu);
	if (free_fn)
		free_fn(priv);
	return rc;
}

const char *gm_image_late_note(struct gm_image *img)
{
	return img->late_note;
}
