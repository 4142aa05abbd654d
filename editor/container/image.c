/* image.c — see image.h. The container logic: sniffing, cache reuse,
 * write-back (writeback.c); the extraction, lazy or not, is image_read.c's;
 * the dirty state and the undo log's recovery are image_state.c's. */
#include "editor/container/image_private.h"
#include "editor/disk/fsck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "editor/container/cache.h"
#include "editor/container/gzout.h"
#include "editor/container/members.h"
#include "editor/container/output.h"
#include "editor/container/sniff.h"
#include "editor/container/sparse.h"
#include "editor/container/tar_read.h"
#include "editor/container/tempfiles.h"
#include "editor/container/writeback.h"

static bool ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n >= k && !strcasecmp(s + n - k, suf);
}

static bool targz_name(const char *p)
{
	return ends_with(p, ".tar.gz") || ends_with(p, ".tgz");
}

void gm_image_state_identity(struct gm_cache_state *st, const struct stat *src)
{
	st->dev = (uint64_t)src->st_dev;
	st->ino = (uint64_t)src->st_ino;
	st->size = (uint64_t)src->st_size;
	st->mtime_ns = gm_mtime_ns(src);
}

static bool same_identity(const struct gm_cache_state *st, const struct stat *src)
{
	return st->dev == (uint64_t)src->st_dev && st->ino == (uint64_t)src->st_ino &&
	       st->size == (uint64_t)src->st_size && st->mtime_ns == gm_mtime_ns(src);
}

static void info_from_state(struct gm_image *img)
{
	img->info.tar_format = (enum gm_tar_format)img->st.tar_format;
	img->info.disk_entry_sparse = img->st.sparse;
	img->info.disk_size = img->st.disk_size;
	img->info.disk_data_bytes = img->st.data_bytes;
	img->info.members = img->st.members;
}

void gm_image_state_from_info(struct gm_cache_state *st, const struct gm_image_info *info)
{
	st->tar_format = (int)info->tar_format;
	st->sparse = info->disk_entry_sparse;
	st->disk_size = info->disk_size;
	st->data_bytes = info->disk_data_bytes;
	st->members = info->members;
}

int gm_image_save_state_clean(struct gm_image *img, int fd, const struct stat *src,
			      const struct gm_image_info *info, bool synced)
{
	struct gm_cache_state st = img->st;
	struct stat ds;
	int rc;

	if (fstat(fd, &ds) < 0)
		return -errno;
	st.status = GM_CACHE_CLEAN;
	gm_image_state_identity(&st, src);
	gm_image_state_from_info(&st, info);
	st.disk_size = (uint64_t)ds.st_size;
	st.disk_mtime_ns = gm_mtime_ns(&ds);
	st.pid = 0;
	st.since = 0;
	st.undo_op = img->undo_op;
	st.prior = GM_CACHE_NONE;
	st.partial = false;
	st.extracted = 0;
	st.unsynced = !synced;
	st.boot_id[0] = '\0';
	if (!synced)
		gm_cache_boot_id(st.boot_id, sizeof(st.boot_id));
	rc = gm_cache_state_save(img->cache, &st);
	if (!rc)
		img->st = st;
	return rc;
}

/* The kept content of member i exists with the recorded size. */
static bool member_ok(const char *cache, size_t i, uint64_t size)
{
	char *p = gm_members_data_path(cache, i);
	struct stat st;
	bool ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;

	free(p);
	return ok;
}

/* Opens <cache>/disk.raw and checks it against the state (and the manifest). */
static int open_cached(struct gm_image *img, bool check_identity)
{
	char *dp = gm_path_join(img->cache, "disk.raw");
	struct stat ds;
	size_t disks = 0;
	bool lost = false;
	int fd;

	if (!dp)
		return -ENOMEM;
	fd = open(dp, (img->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	free(dp);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &ds) < 0 || !S_ISREG(ds.st_mode) ||
	    (uint64_t)ds.st_size != img->st.disk_size ||
	    (check_identity && gm_mtime_ns(&ds) != img->st.disk_mtime_ns) ||
	    gm_members_load(img->cache, &img->ms)) {
		close(fd);
		gm_members_free(&img->ms);
		return -ESTALE;
	}
	for (size_t i = 0; i < img->ms.n; i++) {
		const struct gm_member *m = &img->ms.m[i];

		disks += m->is_disk;
		if (!m->is_disk && m->h.type == '0' && !member_ok(img->cache, i, m->h.size))
			lost = true;   /* a kept member's content is missing: not usable */
	}
	if (disks != 1 || lost || img->ms.n != img->st.members) {
		close(fd);
		gm_members_free(&img->ms);
		return -ESTALE;
	}
	img->fd = fd;
	info_from_state(img);
	return 0;
}

/* A state saved before the cache disk was fsync'd holds on the boot that
 * saved it only (the page cache had the rest). */
static bool same_boot_if_unsynced(const struct gm_cache_state *st)
{
	char boot[40];

	if (!st->unsynced)
		return true;
	gm_cache_boot_id(boot, sizeof(boot));
	return boot[0] && !strcmp(boot, st->boot_id);
}

static int refuse_dirty(struct gm_image *img, const struct stat *src, struct gm_error *err)
{
	char when[64] = "unknown time";
	time_t t = (time_t)img->st.since;
	struct tm tm;

	if (t && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	return gm_error_set(err, -EAGAIN,
			    "%s: unsaved edits from an interrupted session (pid %ld, %s) are in the "
			    "cache%s%s; rerun with --resume to write them back or --discard to drop them",
			    img->path, img->st.pid, when,
			    img->st.partial ? ", made while the image was still being read" : "",
			    same_identity(&img->st, src) ? "" : " (and the image changed since)");
}

/* A session killed while the image was still being read left edits in the
 * part that had arrived: the rest is read again (the edited part is not
 * written over), if it is the same image on the same boot (the page cache
 * held what had not reached the disk). */
static int resume_partial(struct gm_image *img, int src_fd, const struct stat *src,
			  const struct gm_image_opts *o, struct gm_error *err)
{
	struct gm_image_opts eager = *o;
	char boot[40];

	gm_cache_boot_id(boot, sizeof(boot));
	if (!same_identity(&img->st, src))
		return gm_error_set(err, -EIO, "%s: the image changed since the interrupted session, "
				    "whose edits were made while it was still being read: they cannot "
				    "be resumed; rerun with --discard", img->path);
	if (!boot[0] || strcmp(boot, img->st.boot_id))
		return gm_error_set(err, -EIO, "%s: the machine restarted since the interrupted "
				    "session, whose edits were made while the image was still being "
				    "read: they cannot be resumed safely; rerun with --discard",
				    img->path);
	eager.lazy = false;
	img->persisted_dirty = true;     /* the state stays dirty through it */
	return gm_image_extract(img, src_fd, src, NULL, 0, &eager, img->st.extracted, err);
}

static int open_targz(struct gm_image *img, int src_fd, const struct stat *src,
		      const struct gm_image_opts *o, bool shared, struct gm_error *err)
{
	int rc = gm_cache_state_load(img->cache, &img->st);
	bool reuse = false;
	char *dp;

	if (rc)
		memset(&img->st, 0, sizeof(img->st));
	if (img->st.status == GM_CACHE_DIRTY) {
		if (o->recover == GM_RECOVER_REFUSE)
			return refuse_dirty(img, src, err);
		if (o->recover == GM_RECOVER_RESUME) {
			if (!same_boot_if_unsynced(&img->st))
				return gm_error_set(err, -EIO, "%s: the machine restarted before the cache "
						    "was written to disk: the edits of the interrupted "
						    "session cannot be resumed safely; rerun with --discard",
						    img->path);
			if (img->st.partial) {
				if ((rc = resume_partial(img, src_fd, src, o, err)))
					return rc;
			} else if ((rc = open_cached(img, false))) {
				return gm_error_set(err, -EIO, "%s: the cache in %s is damaged and cannot "
						    "be resumed (%s); rerun with --discard", img->path,
						    img->cache, strerror(-rc));
			}
			/* A killed session leaves the filesystem as a crash leaves
			 * it: repair it before anything builds on it. */
			dp = gm_path_join(img->cache, "disk.raw");
			if (!dp)
				return gm_error_set(err, -ENOMEM, "%s: out of memory", img->path);
			{
				struct gm_error ferr = { 0 };

				rc = gm_fsck_repair(img->fd, dp, img->info.disk_size, img->info.note,
						    sizeof(img->info.note), &ferr);
				free(dp);
				if (rc)
					return gm_error_set(err, rc, "%s: the saved edits cannot be resumed: "
							    "%s; rerun with --discard", img->path,
							    gm_error_msg(&ferr));
			}
			img->info.resumed = true;
			img->persisted_dirty = true;
			gm_tempfiles_set_flag(GM_TF_DIRTY, true);
			/* the dirty ranges are unknown now: treat the disk as changed */
			return gm_rangeset_add(&img->dirty, 0, img->info.disk_size ? img->info.disk_size : 1);
		}
	} else if (img->st.status == GM_CACHE_CLEAN && same_identity(&img->st, src) &&
		   same_boot_if_unsynced(&img->st)) {
		reuse = open_cached(img, true) == 0;
	}
	if (reuse)
		return 0;
	if (shared)
		return gm_error_set(err, -EBUSY, "%s: in use by another gcemount and not yet "
				    "extracted", img->path);
	return gm_image_extract(img, src_fd, src, NULL, 0, o, 0, err);
}

/* A stream's first bytes, already read. */
struct head {
	const unsigned char *p;
	size_t len;
};

/* Reads up to len bytes from a stream (fewer only at its end). */
static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* A raw disk from a stream: copied into <cache>/disk.raw, zero blocks left
 * as holes. */
static int copy_raw_stream(struct gm_image *img, int src_fd, const struct head *head,
			   const struct gm_image_opts *o, struct gm_error *err)
{
	char *dp = gm_path_join(img->cache, "disk.raw");
	unsigned char *buf = malloc(1u << 20);
	uint64_t off = 0;
	int rc = 0;

	if (!dp || !buf) {
		rc = gm_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	img->fd = open(dp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (img->fd < 0) {
		rc = gm_error_set(err, -errno, "%s: cannot create %s: %s", img->path, dp,
				  strerror(errno));
		goto out;
	}
	memcpy(buf, head->p, head->len);
	for (size_t have = head->len;;) {
		ssize_t n = read_full(src_fd, buf + have, (1u << 20) - have);

		if (n < 0) {
			rc = gm_error_set(err, -errno, "%s: reading standard input: %s", img->path,
					  strerror(errno));
			goto out;
		}
		have += (size_t)n;
		if (!have)
			break;
		if ((rc = gm_sparse_pwrite(img->fd, buf, have, off, NULL))) {
			gm_error_set(err, rc, "%s: writing the cache disk %s: %s", img->path, dp,
				     strerror(-rc));
			goto out;
		}
		off += have;
		if (o->progress)
			o->progress(o->progress_priv, "read", off, 0);
		if (have < (1u << 20))
			break;
		have = 0;
	}
	if (ftruncate(img->fd, (off_t)off) < 0) {
		rc = gm_error_set(err, -errno, "%s: cannot size the cache disk: %s", img->path,
				  strerror(errno));
		goto out;
	}
	img->info.disk_size = off;
	img->info.file_size = off;
	img->info.disk_data_bytes = off;
out:
	free(buf);
	free(dp);
	return rc;
}

/* The image "-": standard input, read once into a private cache that goes
 * away on close (and on a signal the front end catches). */
static int open_stream(struct gm_image *img, const struct gm_image_opts *o,
		       struct gm_error *err)
{
	unsigned char first[GM_SNIFF_LEN];
	struct head head = { first, 0 };
	struct stat st;
	enum gm_sniff kind;
	sigset_t old;
	ssize_t n;
	int rc;

	img->stream = true;
	n = read_full(STDIN_FILENO, first, sizeof(first));
	if (n < 0)
		return gm_error_set(err, -errno, "%s: reading standard input: %s", img->path,
				    strerror(errno));
	if (n == 0)
		return gm_error_set(err, -EINVAL, "%s: standard input is empty", img->path);
	head.len = (size_t)n;
	kind = gm_sniff(first, head.len);
	if (kind != GM_SNIFF_GZIP && kind != GM_SNIFF_UNKNOWN)
		return gm_sniff_refuse(kind, NULL, img->path, err);
	/* made and registered as one for a signal handler */
	gm_tempfiles_block(&old);
	rc = gm_cache_private_dir(img->path, o->cache_dir, &img->cache, err);
	if (!rc)
		img->cache_slot = gm_tempfiles_add(img->cache, true);
	gm_tempfiles_unblock(&old);
	if (rc)
		return rc;
	if ((rc = gm_cache_lock(img->cache, img->path, false, &img->lock_fd, err)))
		return rc;
	img->info.container = kind == GM_SNIFF_GZIP ? GM_CONTAINER_TARGZ : GM_CONTAINER_RAW;
	img->info.gzip = kind == GM_SNIFF_GZIP;
	if (fstat(STDIN_FILENO, &st) < 0)
		return gm_error_set(err, -errno, "%s: standard input: %s", img->path, strerror(errno));
	if (kind == GM_SNIFF_GZIP)
		return gm_image_extract(img, STDIN_FILENO, &st, head.p, head.len, o, 0, err);
	if ((rc = copy_raw_stream(img, STDIN_FILENO, &head, o, err)))
		return rc;
	if (img->read_only) {
		char *dp = gm_path_join(img->cache, "disk.raw");
		int ro = dp ? open(dp, O_RDONLY | O_CLOEXEC) : -1;

		free(dp);
		if (ro < 0)
			return gm_error_set(err, -EIO, "%s: cannot reopen the cache disk", img->path);
		close(img->fd);
		img->fd = ro;
	}
	return 0;
}

int gm_image_open(const char *path, const struct gm_image_opts *opts,
		  struct gm_image **out, struct gm_error *err)
{
	static const struct gm_image_opts none;
	const struct gm_image_opts *o = opts ? opts : &none;
	struct gm_image *img;
	unsigned char magic[GM_SNIFF_LEN] = { 0 };
	char abs[PATH_MAX];
	struct stat st;
	bool ro = o->read_only, gz, shared = false;
	enum gm_sniff kind;
	int src = -1, rc;
	ssize_t got;

	if (strcmp(path, "-") && !realpath(path, abs))
		return gm_error_set(err, -errno, "%s: %s", path, strerror(errno));
	img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(strcmp(path, "-") ? abs : "-"))) {
		free(img);
		return gm_error_set(err, -ENOMEM, "out of memory");
	}
	img->fd = img->lock_fd = -1;
	img->cache_slot = img->disk_slot = -1;
	pthread_mutex_init(&img->mu, NULL);
	atomic_init(&img->late_rc, 0);
	img->read_only = ro;
	img->progress = o->progress;
	img->progress_priv = o->progress_priv;
	gm_rangeset_init(&img->dirty);
	if (!strcmp(path, "-")) {
		if ((rc = open_stream(img, o, err)))
			goto fail;
		*out = img;
		return 0;
	}
	/* O_NONBLOCK: opening a FIFO must not wait for a writer (fstat refuses it). */
	src = open(abs, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (src < 0) {
		rc = gm_error_set(err, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(src, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = gm_error_set(err, -EINVAL, "%s: not a regular file", path);
		goto fail;
	}
	got = pread(src, magic, sizeof(magic), 0);
	kind = got > 0 ? gm_sniff(magic, (size_t)got) : GM_SNIFF_UNKNOWN;
	gz = kind == GM_SNIFF_GZIP;
	if (kind != GM_SNIFF_GZIP && kind != GM_SNIFF_UNKNOWN) {
		rc = gm_sniff_refuse(kind, abs, path, err);
		goto fail;
	}
	if (!gz && targz_name(abs)) {
		rc = gm_error_set(err, -EINVAL, "%s: not gzip-compressed (named like a tar.gz)", path);
		goto fail;
	}
	img->info.container = gz ? GM_CONTAINER_TARGZ : GM_CONTAINER_RAW;
	img->info.gzip = gz;
	img->info.file_size = (uint64_t)st.st_size;
	rc = gm_cache_dir(abs, o->cache_dir, &img->cache, err);
	if (rc && !gz) {
		/* a raw disk needs no cache: the cache lock only names the holder's
		 * pid; the flock on the disk itself below still excludes others */
		gm_error_clear(err);
		rc = 0;
	} else if (rc) {
		goto fail;
	} else {
		rc = gm_cache_lock(img->cache, abs, false, &img->lock_fd, err);
		if (rc == -EBUSY && ro) {
			shared = true;
			rc = gm_cache_lock(img->cache, abs, true, &img->lock_fd, err);
		}
		if (rc)
			goto fail;
		/* before anything else: what a killed gcemount left half-done
		 * (no extraction runs yet: it only starts below) */
		if (!shared && (rc = gm_image_recover(img, abs, !gz, err)))
			goto fail;
	}
	if (!gz) {
		img->fd = open(abs, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (img->fd < 0) {
			rc = gm_error_set(err, -errno, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (flock(img->fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
			rc = gm_error_set(err, -EBUSY, "%s: in use by another program (locked)", path);
			goto fail;
		}
		img->info.disk_size = (uint64_t)st.st_size;
		img->info.disk_data_bytes = (uint64_t)st.st_blocks * 512;
		img->info.members = 0;
	} else {
		if (!shared)
			gm_output_clean_temps(abs);
		rc = open_targz(img, src, &st, o, shared, err);
		if (rc)
			goto fail;
	}
	if (ro && !shared && img->lock_fd >= 0)
		gm_cache_lock_share(img->lock_fd);
	close(src);
	*out = img;
	return 0;
fail:
	if (src >= 0)
		close(src);
	gm_image_close(img);
	return rc;
}

uint64_t gm_image_disk_size(const struct gm_image *img) { return img->info.disk_size; }
const char *gm_image_path(const struct gm_image *img) { return img->path; }
const struct gm_image_info *gm_image_info(const struct gm_image *img) { return &img->info; }
bool gm_image_read_only(const struct gm_image *img) { return img->read_only; }
bool gm_image_dirty(const struct gm_image *img) { return img->dirty.n > 0; }
const struct gm_rangeset *gm_image_dirty_map(const struct gm_image *img) { return &img->dirty; }

static int writeback_to(struct gm_image *img, const struct gm_output_target *t, bool targz,
			const struct gm_writeback_opts *o, struct gm_error *err)
{
	struct gm_pack_args a = {
		.image = img->path, .target = t, .targz = targz, .disk_fd = img->fd,
		.disk_size = img->info.disk_size, .holes = o->holes,
		.ms = img->info.container == GM_CONTAINER_TARGZ ? &img->ms : NULL,
		.cache_dir = img->cache, .format = o->format ? o->format : GM_TAR_OLDGNU,
		.mtime = gm_pack_mtime(), .progress = img->progress,
		.progress_priv = img->progress_priv,
		.changed = &img->dirty, .resparsify = o->resparsify,
		.no_splice = o->no_splice || img->stream,   /* no source file to copy from */
		.level = o->fast ? GM_GZOUT_FAST : 6, .stats = o->stats,
		.save_maps = targz && img->info.container == GM_CONTAINER_TARGZ && !img->stream &&
			     t->kind == GM_OUTPUT_REPLACE && !strcmp(t->path, img->path),
	};

	if (a.format != GM_TAR_OLDGNU && a.format != GM_TAR_GNU)
		return gm_error_set(err, -EINVAL, "%s: can only write oldgnu or gnu tar, not %s",
				    img->path, gm_tar_format_name(a.format));
	if (img->info.disk_size % 512 && targz)
		return gm_error_set(err, -EINVAL, "%s: disk size is not a multiple of 512",
				    img->path);
	return gm_pack(&a, err);
}

int gm_image_writeback(struct gm_image *img, const struct gm_writeback_opts *opts,
		       struct gm_error *err)
{
	static const struct gm_writeback_opts none;
	const struct gm_writeback_opts *o = opts ? opts : &none;
	struct gm_output_target t;
	bool to_self, targz;
	struct stat st;
	int rc;

	/* the whole image first, and only an undamaged one */
	if ((rc = gm_image_finish(img, err))) {
		char msg[GM_ERRMSG_MAX];

		snprintf(msg, sizeof(msg), "%s", gm_error_msg(err));
		return gm_error_set(err, -EIO, "%s; nothing is written back", msg);
	}
	if (!img->read_only && fsync(img->fd) < 0)
		return gm_error_set(err, -errno, "%s: fsync: %s", img->path, strerror(errno));
	if (o->output) {
		rc = gm_output_resolve(img->path, o->output,
				       o->output_fd > 0 ? o->output_fd : STDOUT_FILENO, &t, err);
		if (rc)
			return rc;
		to_self = t.kind == GM_OUTPUT_REPLACE && !strcmp(t.path, img->path);
	} else {
		to_self = true;
	}
	if (to_self && img->stream)
		return gm_error_set(err, -EINVAL, "%s: an image read from standard input cannot be "
				    "written back in place: give --output FILE (or --output -)",
				    img->path);
	if (img->info.container == GM_CONTAINER_RAW && to_self) {
		gm_rangeset_clear(&img->dirty);
		return 0;
	}
	if (to_self && !gm_image_dirty(img) && !o->force)
		return 0;
	if (to_self && img->read_only)
		return gm_error_set(err, -EROFS, "%s: opened read-only", img->path);
	if (to_self) {
		if ((rc = gm_output_check_in_place(img->path, false, "give --output FILE to write "
						   "the result elsewhere", err)))
			return rc;
		if ((rc = gm_output_resolve(img->path, img->path, STDOUT_FILENO, &t, err)))
			return rc;
	}
	/* a stream is always a tar.gz; a file by its name (a raw copy otherwise) */
	targz = to_self || t.kind == GM_OUTPUT_STREAM || targz_name(t.path);
	rc = writeback_to(img, &t, targz, o, err);
	if (rc)
		return rc;
	if (to_self) {
		if (stat(img->path, &st) < 0)
			return gm_error_set(err, -errno, "%s: %s", img->path, strerror(errno));
		img->info.file_size = (uint64_t)st.st_size;
		img->info.tar_format = o->format == GM_TAR_GNU ? GM_TAR_GNU : GM_TAR_OLDGNU;
		img->info.gzip = true;
		pthread_mutex_lock(&img->mu);
		rc = gm_image_save_state_clean(img, img->fd, &st, &img->info, true);
		if (!rc)
			img->persisted_dirty = false;
		pthread_mutex_unlock(&img->mu);
		if (rc)
			return gm_error_set(err, rc, "%s: written, but the cache state could not be "
					    "saved: %s", img->path, strerror(-rc));
		img->info.resumed = false;
		gm_rangeset_clear(&img->dirty);
		gm_tempfiles_set_flag(GM_TF_DIRTY, false);
	} else if ((img->persisted_dirty || gm_image_dirty(img)) &&
		   img->info.container == GM_CONTAINER_TARGZ && !img->stream) {
		/* the edits live in the output now; the image itself lacks them, so a
		 * later open of it must extract afresh */
		struct gm_cache_state s;
		sigset_t old;

		pthread_mutex_lock(&img->mu);   /* (the reading thread's fsync may save it too) */
		s = img->st;
		s.prior = s.status;
		s.status = GM_CACHE_STALE;
		s.undo_op = img->undo_op;
		rc = gm_cache_state_save(img->cache, &s);
		if (!rc) {
			gm_tempfiles_block(&old);
			img->st = s;
			img->persisted_dirty = false;
			gm_rangeset_clear(&img->dirty);
			gm_tempfiles_set_flag(GM_TF_DIRTY, false);
			gm_tempfiles_unblock(&old);
		}
		pthread_mutex_unlock(&img->mu);
		if (rc)
			return gm_error_set(err, rc, "%s: cannot save the cache state: %s", img->path,
					    strerror(-rc));
	}
	return 0;
}

void gm_image_close(struct gm_image *img)
{
	if (!img)
		return;
	/* the reading goes on to its end: the cache is then whole for next time */
	gm_extract_free(img->job);
	img->job = NULL;
	gm_tempfiles_forget(img->disk_slot);
	for (size_t i = 0; i < img->nchecks; i++)
		if (img->checks[i].free_fn)
			img->checks[i].free_fn(img->checks[i].priv);
	free(img->checks);
	pthread_mutex_destroy(&img->mu);
	if (img->fd >= 0)
		close(img->fd);
	if (img->stream && img->cache)
		gm_tempfiles_remove_tree(img->cache);   /* private: nothing to keep */
	gm_tempfiles_forget(img->cache_slot);
	if (img->lock_fd >= 0)
		close(img->lock_fd);
	gm_members_free(&img->ms);
	gm_rangeset_free(&img->dirty);
	free(img->cache);
	free(img->path);
	free(img);
}

enum gm_tar_format gm_tar_format_from_name(const char *name)
{
	if (!strcmp(name, "oldgnu"))
		return GM_TAR_OLDGNU;
	if (!strcmp(name, "gnu"))
		return GM_TAR_GNU;
	if (!strcmp(name, "pax") || !strcmp(name, "posix"))
		return GM_TAR_PAX;
	if (!strcmp(name, "ustar"))
		return GM_TAR_USTAR;
	return GM_TAR_UNKNOWN;
}

const char *gm_tar_format_name(enum gm_tar_format f)
{
	switch (f) {
	case GM_TAR_OLDGNU: return "oldgnu";
	case GM_TAR_GNU: return "gnu";
	case GM_TAR_PAX: return "pax";
	case GM_TAR_USTAR: return "ustar";
	case GM_TAR_OTHER: return "other";
	default: return "unknown";
	}
}
