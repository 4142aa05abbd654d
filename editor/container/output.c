/* output.c — see output.h. */
#include "editor/container/output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "editor/container/cache.h"
#include "editor/container/tempfiles.h"

#define TEMP_TAG ".gcemount-"

struct gm_output {
	struct gm_output_target t;
	char *tmp;          /* REPLACE: the temp file while it exists */
	int fd;
	bool own_fd;        /* close it at the end */
	int slot;           /* tempfiles registration, or -1 */
	const char *image;
};

/* dirname() of a copy of p, into out. */
static void dir_of(const char *p, char *out, size_t size)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", p);
	snprintf(out, size, "%s", dirname(tmp));
}

/* The directory of p takes new files: exists, writable, searchable. */
static int dir_writable(const char *image, const char *target, struct gm_error *err)
{
	char dir[PATH_MAX];

	dir_of(target, dir, sizeof(dir));
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
		return gm_error_set(err, -errno, "%s: cannot create a temp file beside %s: %s",
				    image, target, strerror(errno));
	return 0;
}

int gm_output_resolve(const char *image, const char *target, int stdout_fd,
		      struct gm_output_target *t, struct gm_error *err)
{
	struct stat st, lst;
	char dir[PATH_MAX], base[PATH_MAX], rdir[PATH_MAX];
	int rc;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (!strcmp(target, "-")) {
		if (fstat(stdout_fd, &st) < 0)
			return gm_error_set(err, -errno, "%s: standard output: %s", image,
					    strerror(errno));
		if (isatty(stdout_fd))
			return gm_error_set(err, -EINVAL, "%s: not writing a compressed image to a "
					    "terminal: redirect standard output or give --output FILE",
					    image);
		t->kind = GM_OUTPUT_STREAM;
		t->fd = stdout_fd;
		snprintf(t->path, sizeof(t->path), "-");
		return 0;
	}
	if (strlen(target) >= sizeof(t->path))
		return gm_error_set(err, -ENAMETOOLONG, "%s: %s", target, strerror(ENAMETOOLONG));
	if (stat(target, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return gm_error_set(err, -EISDIR, "%s: is a directory: --output names the "
					    "file to write", target);
		if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
			t->kind = GM_OUTPUT_STREAM;
			snprintf(t->path, sizeof(t->path), "%s", target);
			return 0;
		}
		if (S_ISBLK(st.st_mode))
			return gm_error_set(err, -EINVAL, "%s: is a block device: gcemount writes an "
					    "image file, not a disk", target);
		if (!S_ISREG(st.st_mode))
			return gm_error_set(err, -EINVAL, "%s: not a regular file, FIFO or character "
					    "device", target);
		if (!realpath(target, t->path))
			return gm_error_set(err, -errno, "%s: %s", target, strerror(errno));
		if (!(st.st_mode & 0222))
			return gm_error_set(err, -EACCES, "%s: is read-only (mode %04o): not replaced",
					    target, (unsigned)(st.st_mode & 07777));
		if (faccessat(AT_FDCWD, t->path, W_OK, AT_EACCESS) < 0)
			return gm_error_set(err, -errno, "%s: cannot replace it: %s", target,
					    strerror(errno));
		if ((rc = dir_writable(image, t->path, err)))
			return rc;
		t->kind = GM_OUTPUT_REPLACE;
		t->exists = true;
		t->mode = st.st_mode & 07777;
		t->uid = st.st_uid;
		t->gid = st.st_gid;
		return 0;
	}
	if (errno != ENOENT)
		return gm_error_set(err, -errno, "%s: %s", target, strerror(errno));
	if (lstat(target, &lst) == 0 && S_ISLNK(lst.st_mode))
		return gm_error_set(err, -ENOENT, "%s: a dangling symbolic link: not written "
				    "through (as cp does not)", target);
	if ((rc = dir_writable(image, target, err)))
		return rc;
	/* a new file: the directory resolved, the name as given */
	dir_of(target, dir, sizeof(dir));
	snprintf(base, sizeof(base), "%s", target);
	if (!realpath(dir, rdir))
		return gm_error_set(err, -errno, "%s: cannot create a temp file beside %s: %s",
				    image, target, strerror(errno));
	if ((size_t)snprintf(t->path, sizeof(t->path), "%s/%s", strcmp(rdir, "/") ? rdir : "",
			     basename(base)) >= sizeof(t->path))
		return gm_error_set(err, -ENAMETOOLONG, "%s: %s", target, strerror(ENAMETOOLONG));
	t->kind = GM_OUTPUT_REPLACE;
	return 0;
}

int gm_output_check_in_place(const char *path, bool edit_only, const char *advice,
			     struct gm_error *err)
{
	const char *sep = advice ? ": " : "", *adv = advice ? advice : "";
	char dir[PATH_MAX];
	struct stat st;

	if (stat(path, &st) < 0)
		return gm_error_set(err, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return gm_error_set(err, -EINVAL, "%s: not a regular file%s%s", path, sep, adv);
	if (!(st.st_mode & 0222))
		return gm_error_set(err, -EROFS, "%s: the image is read-only (mode %04o)%s%s", path,
				    (unsigned)(st.st_mode & 07777), sep, adv);
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0)
		return gm_error_set(err, -errno, "%s: the image cannot be changed (%s)%s%s", path,
				    strerror(errno), sep, adv);
	dir_of(path, dir, sizeof(dir));
	if (!edit_only && faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0)
		return gm_error_set(err, -errno, "%s: the image cannot be replaced (its directory: "
				    "%s)%s%s", path, strerror(errno), sep, adv);
	return 0;
}

static char *temp_template(const char *target)
{
	char *d = strdup(target), *b = strdup(target), *t = NULL;

	if (d && b && asprintf(&t, "%s/.%s" TEMP_TAG "XXXXXX", dirname(d), basename(b)) < 0)
		t = NULL;
	free(d);
	free(b);
	return t;
}

static int open_replace(struct gm_output *o, struct gm_error *err)
{
	const struct gm_output_target *t = &o->t;
	mode_t mode = t->mode;
	sigset_t old;

	o->tmp = temp_template(t->path);
	if (!o->tmp)
		return gm_error_set(err, -ENOMEM, "out of memory");
	/* created and registered as one, seen from a signal handler: no temp
	 * file ever exists unregistered */
	gm_tempfiles_block(&old);
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd >= 0)
		o->slot = gm_tempfiles_add(o->tmp, false);
	gm_tempfiles_unblock(&old);
	if (o->fd < 0) {
		int e = errno;

		free(o->tmp);
		o->tmp = NULL;
		return gm_error_set(err, -e, "%s: cannot create a temp file beside %s: %s",
				    o->image, t->path, strerror(e));
	}
	o->own_fd = true;
	gm_tempfiles_test_point("output-temp");
	if (!t->exists) {
		mode_t um = umask(0);

		umask(um);
		mode = 0644 & ~um;
	}
	/* keep the owner of a replaced file where we may (root); else ours */
	if (t->exists && (t->uid != geteuid() || t->gid != getegid()) &&
	    fchown(o->fd, t->uid, t->gid) < 0 && errno != EPERM)
		return gm_error_set(err, -errno, "%s: chown %s: %s", o->image, o->tmp,
				    strerror(errno));
	if (fchmod(o->fd, mode) < 0)
		return gm_error_set(err, -errno, "%s: chmod %s: %s", o->image, o->tmp,
				    strerror(errno));
	return 0;
}

int gm_output_open(const struct gm_output_target *t, const char *image,
		   struct gm_output **out, struct gm_error *err)
{
	struct gm_output *o = calloc(1, sizeof(*o));
	int rc = 0;

	if (!o)
		return gm_error_set(err, -ENOMEM, "out of memory");
	o->t = *t;
	o->fd = -1;
	o->slot = -1;
	o->image = image;
	if (t->kind == GM_OUTPUT_REPLACE) {
		rc = open_replace(o, err);
	} else if (!strcmp(t->path, "-")) {
		o->fd = t->fd;
	} else {
		/* a FIFO waits here for its reader, as with GNU tar */
		o->fd = open(t->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (o->fd < 0)
			rc = gm_error_set(err, -errno, "%s: %s", t->path, strerror(errno));
		o->own_fd = true;
	}
	if (rc) {
		gm_output_abort(o);
		return rc;
	}
	if (t->kind == GM_OUTPUT_STREAM)
		gm_tempfiles_set_flag(GM_TF_STREAMING, true);
	*out = o;
	return 0;
}

int gm_output_fd(const struct gm_output *o) { return o->fd; }
bool gm_output_rereadable(const struct gm_output *o) { return o->t.kind == GM_OUTPUT_REPLACE; }

const char *gm_output_name(const struct gm_output *o)
{
	if (o->tmp)
		return o->tmp;
	return strcmp(o->t.path, "-") ? o->t.path : "standard output";
}

static void release(struct gm_output *o)
{
	if (o->own_fd && o->fd >= 0)
		close(o->fd);
	gm_tempfiles_forget(o->slot);
	free(o->tmp);
	free(o);
}

int gm_output_commit(struct gm_output *o, struct gm_error *err)
{
	char dir[PATH_MAX];
	sigset_t old;
	int rc = 0;

	if (o->t.kind == GM_OUTPUT_STREAM) {
		/* a pipe or a device: fsync means nothing there (EINVAL) */
		if (fsync(o->fd) < 0 && errno != EINVAL && errno != EROFS)
			rc = gm_error_set(err, -errno, "%s: writing %s: %s; the output is incomplete",
					  o->image, gm_output_name(o), strerror(errno));
		if (!rc && o->own_fd && close(o->fd) < 0)
			rc = gm_error_set(err, -errno, "%s: closing %s: %s", o->image,
					  gm_output_name(o), strerror(errno));
		o->own_fd = false;
		release(o);
		return rc;
	}
	if (fsync(o->fd) < 0) {
		rc = -errno;
		gm_output_abort(o);
		if (rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG)
			return gm_error_set(err, rc, "%s: no space left writing %s (%s); the image "
					    "is unchanged", o->image, o->t.path, strerror(-rc));
		return gm_error_set(err, rc, "%s: writing %s: %s; the image is unchanged", o->image,
				    o->t.path, strerror(-rc));
	}
	/* renamed, unregistered and flagged as one for a signal handler */
	gm_tempfiles_block(&old);
	if (rename(o->tmp, o->t.path) < 0) {
		rc = gm_error_set(err, -errno, "%s: rename %s to %s: %s; the image is unchanged",
				  o->image, o->tmp, o->t.path, strerror(errno));
		gm_tempfiles_unblock(&old);
		gm_output_abort(o);
		return rc;
	}
	gm_tempfiles_forget(o->slot);
	o->slot = -1;
	gm_tempfiles_set_flag(GM_TF_WRITTEN, true);
	gm_tempfiles_unblock(&old);
	gm_tempfiles_test_point("output-renamed");
	dir_of(o->t.path, dir, sizeof(dir));
	if ((rc = gm_fsync_dir(dir)))
		gm_error_set(err, rc, "%s: fsync of the directory of %s failed: %s", o->image,
			     o->t.path, strerror(-rc));
	release(o);
	return rc;
}

void gm_output_abort(struct gm_output *o)
{
	if (!o)
		return;
	if (o->tmp && o->fd >= 0)
		unlink(o->tmp);
	release(o);
}

int gm_output_clean_temps(const char *path)
{
	char *d = strdup(path), *b = strdup(path), *prefix = NULL;
	DIR *dh = NULL;
	struct dirent *de;
	int n = 0;

	if (!d || !b || asprintf(&prefix, ".%s" TEMP_TAG, basename(b)) < 0) {
		prefix = NULL;
		goto out;
	}
	dh = opendir(dirname(d));
	if (!dh)
		goto out;
	while ((de = readdir(dh))) {
		size_t pl = strlen(prefix);

		if (!strncmp(de->d_name, prefix, pl) && strlen(de->d_name) == pl + 6 &&
		    unlinkat(dirfd(dh), de->d_name, 0) == 0)
			n++;
	}
out:
	if (dh)
		closedir(dh);
	free(d);
	free(b);
	free(prefix);
	return n;
}
