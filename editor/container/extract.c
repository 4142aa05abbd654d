/* extract.c — see extract.h. */
#include "editor/container/extract.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "editor/container/tar_read.h"

#define TICK_MS 100      /* how often a waiting opener reports progress */

struct gm_extract {
	pthread_t th;
	bool started, joined;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	bool ready, ended;
	int rc;
	struct gm_error err;
	uint64_t avail;
	struct gm_image_info ready_info;
	/* set at ready, then read-only */
	struct gm_rangeset map;
	atomic_bool ok;                   /* ended well: waits return at once */
	_Atomic uint64_t in_done;         /* progress */
	/* the thread's own */
	struct gm_image_info info;
	struct gm_members ms;
	bool ms_taken;
	char *image, *cache_dir;
	unsigned char *head;
	size_t head_len;
	int src_fd, disk_fd;
	uint64_t file_size, skip_below;
	gm_extract_done_fn done;
	gm_extract_after_fn after;
	gm_extract_fail_fn failed;
	void *priv;
};

static void on_progress(void *priv, const char *stage, uint64_t done, uint64_t total)
{
	struct gm_extract *x = priv;

	(void)stage;
	(void)total;
	atomic_store(&x->in_done, done);
}

static void on_ready(void *priv, const struct gm_image_info *info, const struct gm_rangeset *map)
{
	struct gm_extract *x = priv;
	int rc = gm_rangeset_copy(&x->map, map);

	pthread_mutex_lock(&x->mu);
	if (rc) {
		/* no map: then nothing counts as a hole, waits follow the watermark */
		gm_rangeset_clear(&x->map);
		if (info->disk_size)
			gm_rangeset_add(&x->map, 0, info->disk_size);
	}
	x->ready_info = *info;
	x->ready = true;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

static void on_avail(void *priv, uint64_t below)
{
	struct gm_extract *x = priv;

	pthread_mutex_lock(&x->mu);
	if (below > x->avail)
		x->avail = below;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

static void *job_main(void *arg)
{
	struct gm_extract *x = arg;
	struct gm_tar_read_args a = {
		.image = x->image, .image_fd = x->src_fd, .head = x->head, .head_len = x->head_len,
		.cache_dir = x->cache_dir, .disk_fd = x->disk_fd, .progress = on_progress,
		.progress_priv = x, .skip_below = x->skip_below, .disk_ready = on_ready,
		.disk_avail = on_avail, .event_priv = x,
	};
	struct gm_error e = { 0 };
	int rc;

	x->info.file_size = x->file_size;
	rc = gm_tar_extract(&a, &x->ms, &x->info, &e);
	if (!rc)
		rc = x->done(x->priv, x->disk_fd, &x->ms, &x->info, &e);
	if (rc && !e.msg[0])
		gm_error_set(&e, rc, "%s: %s", x->image, strerror(-rc));
	pthread_mutex_lock(&x->mu);
	x->rc = rc;
	x->err = e;
	x->ended = true;
	if (!rc)
		atomic_store(&x->ok, true);
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	if (rc && x->failed)
		x->failed(x->priv, gm_error_msg(&e));
	if (!rc && x->after)
		x->after(x->priv, x->disk_fd);
	return NULL;
}

static void job_free(struct gm_extract *x)
{
	if (x->src_fd >= 0)
		close(x->src_fd);
	if (x->disk_fd >= 0)
		close(x->disk_fd);
	gm_rangeset_free(&x->map);
	if (!x->ms_taken)
		gm_members_free(&x->ms);
	pthread_mutex_destroy(&x->mu);
	pthread_cond_destroy(&x->cv);
	free(x->image);
	free(x->cache_dir);
	free(x->head);
	free(x);
}

/* Waits on the condition for at most TICK_MS. Called with mu held. */
static void tick(struct gm_extract *x)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += TICK_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&x->cv, &x->mu, &ts);
}

static void report(struct gm_extract *x, gm_progress_fn progress, void *ppriv, bool last)
{
	uint64_t done = atomic_load(&x->in_done);

	if (!progress || !x->file_size)
		return;
	progress(ppriv, "extract", last ? x->file_size : done < x->file_size ? done :
		 x->file_size - 1, x->file_size);
}

int gm_extract_start(const struct gm_extract_args *a, gm_progress_fn progress, void *ppriv,
		     struct gm_image_info *info, struct gm_extract **out, struct gm_error *err)
{
	struct gm_extract *x = calloc(1, sizeof(*x));
	bool reported = false;
	int rc;

	if (!x)
		return gm_error_set(err, -ENOMEM, "out of memory");
	x->src_fd = x->disk_fd = -1;
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	gm_rangeset_init(&x->map);
	atomic_init(&x->ok, false);
	atomic_init(&x->in_done, 0);
	x->image = strdup(a->image);
	x->cache_dir = strdup(a->cache_dir);
	x->head_len = a->head ? a->head_len : 0;
	x->head = x->head_len ? malloc(x->head_len) : NULL;
	x->src_fd = fcntl(a->src_fd, F_DUPFD_CLOEXEC, 0);
	x->disk_fd = fcntl(a->disk_fd, F_DUPFD_CLOEXEC, 0);
	x->file_size = a->file_size;
	x->skip_below = a->skip_below;
	x->done = a->done;
	x->after = a->after;
	x->failed = a->failed;
	x->priv = a->priv;
	if (!x->image || !x->cache_dir || (x->head_len && !x->head) || x->src_fd < 0 ||
	    x->disk_fd < 0) {
		job_free(x);
		return gm_error_set(err, -ENOMEM, "%s: cannot start reading the image", a->image);
	}
	if (x->head_len)
		memcpy(x->head, a->head, x->head_len);
	/* signals go to the caller's threads, never to this one (nor to the
	 * threads it starts): a front end's handler then never runs while the
	 * caller is between two steps it must not be interrupted in */
	{
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&x->th, NULL, job_main, x);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc) {
		job_free(x);
		return gm_error_set(err, -rc, "%s: cannot start reading the image: %s", a->image,
				    strerror(rc));
	}
	x->started = true;
	pthread_mutex_lock(&x->mu);
	while (!x->ready && !x->ended) {
		tick(x);
		pthread_mutex_unlock(&x->mu);
		report(x, progress, ppriv, false);
		reported = progress != NULL;
		pthread_mutex_lock(&x->mu);
	}
	rc = x->ended ? x->rc : 0;
	if (!rc)
		*info = x->ready_info;
	pthread_mutex_unlock(&x->mu);
	if (rc) {
		gm_extract_finish(x, NULL, NULL, NULL, NULL, err);
		gm_extract_free(x);
		return rc;
	}
	(void)reported;
	*out = x;
	return 0;
}

/* The end of the data [off, off+len) holds (0: none, only holes). */
static uint64_t data_end(const struct gm_rangeset *map, uint64_t off, uint64_t len)
{
	uint64_t end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	size_t lo = 0, hi = map->n;

	while (lo < hi) {            /* first range starting at or after end */
		size_t mid = lo + (hi - lo) / 2;

		if (map->r[mid].off < end)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return 0;
	lo--;
	if (map->r[lo].off + map->r[lo].len <= off)
		return 0;
	return map->r[lo].off + map->r[lo].len < end ? map->r[lo].off + map->r[lo].len : end;
}

int gm_extract_wait(struct gm_extract *x, uint64_t off, uint64_t len)
{
	uint64_t need;
	int rc;

	if (atomic_load(&x->ok))
		return 0;
	pthread_mutex_lock(&x->mu);
	need = data_end(&x->map, off, len);
	while (!x->ended && x->avail < need)
		pthread_cond_wait(&x->cv, &x->mu);
	rc = x->ended && x->rc ? -EIO : 0;
	pthread_mutex_unlock(&x->mu);
	return rc;
}

bool gm_extract_ended(struct gm_extract *x)
{
	bool e;

	if (atomic_load(&x->ok))
		return true;
	pthread_mutex_lock(&x->mu);
	e = x->ended;
	pthread_mutex_unlock(&x->mu);
	return e;
}

uint64_t gm_extract_avail(struct gm_extract *x)
{
	uint64_t a;

	pthread_mutex_lock(&x->mu);
	a = x->avail;
	pthread_mutex_unlock(&x->mu);
	return a;
}

int gm_extract_finish(struct gm_extract *x, gm_progress_fn progress, void *ppriv,
		      struct gm_members *ms, struct gm_image_info *info, struct gm_error *err)
{
	bool reported = false;
	int rc;

	pthread_mutex_lock(&x->mu);
	while (!x->ended) {
		tick(x);
		pthread_mutex_unlock(&x->mu);
		report(x, progress, ppriv, false);
		reported = progress != NULL;
		pthread_mutex_lock(&x->mu);
	}
	rc = x->rc;
	if (rc)
		gm_error_set(err, rc, "%s", gm_error_msg(&x->err));
	pthread_mutex_unlock(&x->mu);
	if (reported && !rc)
		report(x, progress, ppriv, true);
	if (!rc && info)
		*info = x->info;
	if (!rc && ms && !x->ms_taken) {
		*ms = x->ms;
		memset(&x->ms, 0, sizeof(x->ms));
		x->ms_taken = true;
	}
	return rc;
}

void gm_extract_free(struct gm_extract *x)
{
	if (!x)
		return;
	gm_extract_finish(x, NULL, NULL, NULL, NULL, NULL);
	if (x->started && !x->joined) {
		pthread_join(x->th, NULL);
		x->joined = true;
	}
	job_free(x);
}
