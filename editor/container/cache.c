/* cache.c — see cache.h. */
#include "editor/container/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "editor/container/tempfiles.h"
#include "editor/container/wal.h"

char *gm_path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* Off only in the fuzz harness (gm_cache_test_no_fsync). */
static bool durable = true;

void gm_cache_test_no_fsync(void)
{
	durable = false;
}

int gm_cache_fsync(int fd)
{
	return !durable || fsync(fd) == 0 ? 0 : -errno;
}

int gm_fsync_dir(const char *dir)
{
	int fd, rc;

	if (!durable)
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = gm_cache_fsync(fd);
	close(fd);
	return rc;
}

static int mkdir_p(char *path)
{
	for (char *p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST) {
				int e = -errno;

				*p = c;
				return e;
			}
			*p = c;
			if (!c)
				return 0;
		}
	}
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The cache root (malloc'd): root_opt, $XDG_CACHE_HOME/gcemount or
 * ~/.cache/gcemount. */
static int cache_root(const char *name, const char *root_opt, char **out, struct gm_error *err)
{
	char *root = NULL;

	if (root_opt && *root_opt) {
		root = strdup(root_opt);
	} else if (getenv("XDG_CACHE_HOME") && getenv("XDG_CACHE_HOME")[0] == '/') {
		if (asprintf(&root, "%s/gcemount", getenv("XDG_CACHE_HOME")) < 0)
			root = NULL;
	} else if (getenv("HOME") && getenv("HOME")[0] == '/') {
		if (asprintf(&root, "%s/.cache/gcemount", getenv("HOME")) < 0)
			root = NULL;
	} else {
		return gm_error_set(err, -ENOENT, "%s: no cache directory (set XDG_CACHE_HOME or HOME)",
				    name);
	}
	if (!root)
		return gm_error_set(err, -ENOMEM, "out of memory");
	*out = root;
	return 0;
}

int gm_cache_dir(const char *abs_path, const char *root_opt, char **out, struct gm_error *err)
{
	const char *base = strrchr(abs_path, '/') ? strrchr(abs_path, '/') + 1 : abs_path;
	char *root = NULL, *dir = NULL, safe[65];
	size_t i;
	int rc;

	if ((rc = cache_root(abs_path, root_opt, &root, err)))
		return rc;
	for (i = 0; base[i] && i < sizeof(safe) - 1; i++) {
		char c = base[i];

		safe[i] = (c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
			   (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) ? c : '_';
	}
	safe[i] = '\0';
	if (asprintf(&dir, "%s/%016" PRIx64 "-%s", root, fnv1a(abs_path), safe) < 0) {
		free(root);
		return gm_error_set(err, -ENOMEM, "out of memory");
	}
	rc = mkdir_p(dir);
	if (rc) {
		gm_error_set(err, rc, "%s: cannot create cache directory %s: %s", abs_path, dir,
			     strerror(-rc));
		free(root);
		free(dir);
		return rc;
	}
	free(root);
	*out = dir;
	return 0;
}

/* Private caches nobody holds any more (a run killed by SIGKILL), older than
 * a minute (a new one is locked right after it is made): removed. */
static void sweep_private(const char *root)
{
	DIR *d = opendir(root);
	struct dirent *de;
	time_t now = time(NULL);

	while (d && (de = readdir(d))) {
		char *dir, *lock;
		struct stat st;
		int fd;

		if (strncmp(de->d_name, GM_CACHE_PRIVATE_PREFIX, strlen(GM_CACHE_PRIVATE_PREFIX)))
			continue;
		dir = gm_path_join(root, de->d_name);
		lock = dir ? gm_path_join(dir, "lock") : NULL;
		if (lock && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && now - st.st_mtime > 60) {
			fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
			if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) == 0)
				gm_tempfiles_remove_tree(dir);
			if (fd >= 0)
				close(fd);
		}
		free(lock);
		free(dir);
	}
	if (d)
		closedir(d);
}

int gm_cache_private_dir(const char *name, const char *root_opt, char **out,
			 struct gm_error *err)
{
	char *root = NULL, *dir = NULL;
	int rc;

	if ((rc = cache_root(name, root_opt, &root, err)))
		return rc;
	if ((rc = mkdir_p(root))) {
		gm_error_set(err, rc, "%s: cannot create cache directory %s: %s", name, root,
			     strerror(-rc));
		goto out;
	}
	sweep_private(root);
	if (asprintf(&dir, "%s/" GM_CACHE_PRIVATE_PREFIX "XXXXXX", root) < 0) {
		dir = NULL;
		rc = gm_error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (!mkdtemp(dir)) {
		rc = gm_error_set(err, -errno, "%s: cannot create a cache directory in %s: %s", name,
				  root, strerror(errno));
		goto out;
	}
	*out = dir;
	dir = NULL;
out:
	free(root);
	free(dir);
	return rc;
}

static long read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int gm_cache_lock(const char *dir, const char *image, bool shared, int *fdp,
		  struct gm_error *err)
{
	char *path = gm_path_join(dir, "lock"), buf[32];
	int fd, rc = 0, n;

	if (!path)
		return gm_error_set(err, -ENOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = gm_error_set(err, -errno, "%s: cannot open lock %s: %s", image, path,
				  strerror(errno));
		goto out;
	}
	if (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		long pid = errno == EWOULDBLOCK ? read_pid(fd) : 0;

		if (pid > 0)
			rc = gm_error_set(err, -EBUSY, "%s: in use by another gcemount (pid %ld)",
					  image, pid);
		else
			rc = gm_error_set(err, -EBUSY, "%s: in use by another gcemount", image);
		close(fd);
		goto out;
	}
	if (!shared) {
		n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
		if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
			rc = gm_error_set(err, -errno, "%s: cannot write lock %s: %s", image, path,
					  strerror(errno));
			close(fd);
			goto out;
		}
	}
	*fdp = fd;
out:
	free(path);
	return rc;
}

int gm_cache_lock_share(int fd)
{
	return flock(fd, LOCK_SH | LOCK_NB) < 0 ? -errno : 0;
}

static const char *status_name(enum gm_cache_status s)
{
	switch (s) {
	case GM_CACHE_CLEAN: return "clean";
	case GM_CACHE_DIRTY: return "dirty";
	case GM_CACHE_STALE: return "stale";
	default: return "none";
	}
}

int gm_cache_state_load(const char *dir, struct gm_cache_state *st)
{
	char *path = gm_path_join(dir, "state"), line[256];
	FILE *f;
	unsigned seen = 0;

	if (!path)
		return -ENOMEM;
	f = fopen(path, "re");
	free(path);
	if (!f)
		return errno == ENOENT ? -ENOENT : -EINVAL;
	memset(st, 0, sizeof(*st));
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *v;
		unsigned long long u;
		long long s;

		if (!eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		v[strcspn(v, "\n")] = '\0';
		u = strtoull(v, NULL, 10);
		s = strtoll(v, NULL, 10);
		if (!strcmp(line, "status")) {
			st->status = !strcmp(v, "clean") ? GM_CACHE_CLEAN :
				     !strcmp(v, "dirty") ? GM_CACHE_DIRTY :
				     !strcmp(v, "stale") ? GM_CACHE_STALE : GM_CACHE_NONE;
			seen |= 1;
		} else if (!strcmp(line, "dev")) { st->dev = u;
		} else if (!strcmp(line, "ino")) { st->ino = u;
		} else if (!strcmp(line, "size")) { st->size = u;
		} else if (!strcmp(line, "mtime_ns")) { st->mtime_ns = s;
		} else if (!strcmp(line, "disk_size")) { st->disk_size = u;
		} else if (!strcmp(line, "disk_mtime_ns")) { st->disk_mtime_ns = s;
		} else if (!strcmp(line, "pid")) { st->pid = (long)s;
		} else if (!strcmp(line, "since")) { st->since = s;
		} else if (!strcmp(line, "undo_op")) { st->undo_op = u;
		} else if (!strcmp(line, "prior")) {
			st->prior = !strcmp(v, "clean") ? GM_CACHE_CLEAN :
				    !strcmp(v, "dirty") ? GM_CACHE_DIRTY :
				    !strcmp(v, "stale") ? GM_CACHE_STALE : GM_CACHE_NONE;
		} else if (!strcmp(line, "tar_format")) { st->tar_format = (int)s;
		} else if (!strcmp(line, "sparse")) { st->sparse = u != 0;
		} else if (!strcmp(line, "data_bytes")) { st->data_bytes = u;
		} else if (!strcmp(line, "members")) { st->members = (unsigned)u;
		} else if (!strcmp(line, "partial")) { st->partial = u != 0;
		} else if (!strcmp(line, "unsynced")) { st->unsynced = u != 0;
		} else if (!strcmp(line, "extracted")) { st->extracted = u;
		} else if (!strcmp(line, "boot_id")) {
			snprintf(st->boot_id, sizeof(st->boot_id), "%s", v);
		} else if (!strcmp(line, "end")) { seen |= 2;
		}
	}
	fclose(f);
	return seen == 3 ? 0 : -EINVAL;   /* a torn or foreign file: not trusted */
}

int gm_file_replace(const char *dir, const char *name, int (*fill)(FILE *f, const void *arg),
		    const void *arg)
{
	char *path = gm_path_join(dir, name), *tmp = NULL;
	FILE *f = NULL;
	int rc = -ENOMEM;

	if (!path || asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		goto out;
	}
	f = fopen(tmp, "we");
	if (!f) {
		rc = -errno;
		goto out;
	}
	rc = fill(f, arg);
	if (!rc && (fflush(f) || ferror(f)))
		rc = errno ? -errno : -EIO;
	if (!rc)
		rc = gm_cache_fsync(fileno(f));
	if (fclose(f) && !rc)
		rc = -errno;
	f = NULL;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc)
		rc = gm_fsync_dir(dir);
out:
	if (rc && tmp)
		unlink(tmp);
	free(path);
	free(tmp);
	return rc;
}

static int fill_state(FILE *f, const void *arg)
{
	const struct gm_cache_state *st = arg;

	fprintf(f, "# gcemount cache state\nstatus=%s\ndev=%" PRIu64 "\nino=%" PRIu64
		"\nsize=%" PRIu64 "\nmtime_ns=%" PRId64 "\ndisk_size=%" PRIu64
		"\ndisk_mtime_ns=%" PRId64 "\npid=%ld\nsince=%" PRId64 "\nundo_op=%" PRIu64
		"\nprior=%s\ntar_format=%d\nsparse=%d\ndata_bytes=%" PRIu64 "\nmembers=%u\n",
		status_name(st->status), st->dev, st->ino, st->size, st->mtime_ns,
		st->disk_size, st->disk_mtime_ns, st->pid, st->since, st->undo_op,
		status_name(st->prior), st->tar_format, st->sparse ? 1 : 0, st->data_bytes,
		st->members);
	if (st->partial)
		fprintf(f, "partial=1\nextracted=%" PRIu64 "\n", st->extracted);
	if (st->unsynced)
		fputs("unsynced=1\n", f);
	if (st->partial || st->unsynced)
		fprintf(f, "boot_id=%s\n", st->boot_id);
	fputs("end=1\n", f);
	return 0;
}

void gm_cache_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = '\0';
		else
			buf[0] = '\0';
		fclose(f);
	}
}

int gm_cache_state_save(const char *dir, const struct gm_cache_state *st)
{
	return gm_file_replace(dir, "state", fill_state, st);
}

int gm_file_remove(const char *dir, const char *name)
{
	char *path = gm_path_join(dir, name);
	int rc = 0;

	if (!path)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	free(path);
	return rc;
}

int gm_cache_state_remove(const char *dir)
{
	int rc = gm_file_remove(dir, "state");

	return rc ? rc : gm_fsync_dir(dir);
}

int gm_cache_recover(const char *dir, const char *image, const char *disk_path, bool raw,
		     struct gm_wal_recovery *r, struct gm_error *err)
{
	char *lp = gm_path_join(dir, GM_WAL_NAME);
	struct gm_error werr = { 0 };
	struct gm_cache_state st;
	struct stat ls, ds;
	int fd = -1, rc = 0;

	memset(r, 0, sizeof(*r));
	if (!lp)
		return gm_error_set(err, -ENOMEM, "out of memory");
	if (lstat(lp, &ls) < 0)
		goto out;          /* no log: nothing was ever left half-done */
	fd = open(disk_path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || (raw && flock(fd, LOCK_EX | LOCK_NB) < 0)) {
		int e = errno;

		if ((fd < 0 && e == ENOENT) || !gm_wal_pending(lp))
			goto out;
		rc = gm_error_set(err, e == EWOULDBLOCK ? -EBUSY : -e, "%s: an interrupted gcemount "
				  "left an unfinished edit to undo first, and %s: %s", image,
				  e == EWOULDBLOCK ? "the disk is in use by another program" :
				  "the disk cannot be opened for writing", strerror(e));
		goto out;
	}
	rc = gm_wal_recover(lp, fd, r, &werr);
	if (rc) {
		gm_error_set(err, rc, "%s: %s", image, gm_error_msg(&werr));
		goto out;
	}
	if (!r->rolled_back || raw || gm_cache_state_load(dir, &st))
		goto out;
	/* a state saved by the operation itself (its dirty mark, a verb's
	 * write-back) no longer holds: the one before it does — unless the
	 * machine crashed in the middle, when the undo may be short of writes
	 * the crash kept: a cache that had no edits waiting is then extracted
	 * anew (the tarball is whole) */
	if (st.undo_op == r->op) {
		if (st.prior != GM_CACHE_DIRTY) {
			st.pid = 0;
			st.since = 0;
		}
		st.status = r->other_boot && st.prior != GM_CACHE_DIRTY ? GM_CACHE_NONE : st.prior;
		st.undo_op = 0;
	}
	/* a clean cache holds the same bytes again, under a new mtime */
	if (st.status == GM_CACHE_CLEAN && fstat(fd, &ds) == 0)
		st.disk_mtime_ns = (int64_t)ds.st_mtim.tv_sec * 1000000000 + ds.st_mtim.tv_nsec;
	if ((rc = gm_cache_state_save(dir, &st)))
		gm_error_set(err, rc, "%s: cannot save the cache state in %s: %s", image, dir,
			     strerror(-rc));
out:
	if (fd >= 0)
		close(fd);
	free(lp);
	return rc;
}
