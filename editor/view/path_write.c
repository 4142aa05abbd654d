/* path_write.c — see path.h: the path-level writing helpers, on top of the
 * inode-level write side (fs_write.c, fs_dir.c). Resolution is path.c's. */
#include "editor/view/path_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "editor/view/path.h"

/* Whether ino's content is exactly buf[0..len). */
static int same_content(struct gm_view *v, gm_vino_t ino, const void *buf, size_t len, bool *same)
{
	char chunk[65536];
	size_t done = 0;

	*same = false;
	while (done < len) {
		size_t want = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		ssize_t n = gm_view_read(v, ino, chunk, want, done);

		if (n < 0)
			return (int)n;
		if ((size_t)n != want || memcmp(chunk, (const char *)buf + done, want))
			return 0;
		done += want;
	}
	*same = true;
	return 0;
}

static int write_file(struct gm_view *v, const char *path, const void *buf, size_t len,
		      mode_t mode, const struct gm_creds *creds)
{
	struct gm_walk w;
	struct stat st;
	gm_vino_t ino;
	ssize_t n;
	int rc;

	rc = gm_path_walk(v, path, true, &w);
	if (rc == -ENOENT && w.dir) {
		if (w.trailing_slash)   /* as cp: a name ending in '/' must be a directory */
			return gm_view_fail(v, -ENOTDIR, "%s: not a directory", path);
		rc = gm_view_mknod(v, w.dir, w.name, S_IFREG | (mode & 07777), 0, creds, &ino);
		if (rc)
			return rc;
	} else if (rc) {
		return rc;
	} else {
		bool same;

		ino = w.ino;
		rc = gm_path_regular_stat(v, ino, path, &st);
		if (rc)
			return rc;
		if ((uint64_t)st.st_size == len) {
			rc = same_content(v, ino, buf, len, &same);
			if (rc)
				return rc;
			if (same)
				return 0;
		}
		if ((uint64_t)st.st_size > len) {
			rc = gm_view_truncate(v, ino, len);
			if (rc)
				return rc;
		}
	}
	if (len) {
		n = gm_view_write(v, ino, buf, len, 0);
		if (n < 0)
			return (int)n;
		if ((size_t)n != len)
			return gm_view_fail(v, -EIO, "%s: short write", path);
	}
	return 0;
}

int gm_path_write_file(struct gm_view *v, const char *path, const void *buf, size_t len,
		       mode_t mode, const struct gm_creds *creds)
{
	/* one operation: a full disk leaves neither an empty new file nor a
	 * truncated old one */
	int rc = gm_view_op_begin(v, 0);

	if (rc)
		return rc;
	return gm_view_op_end(v, write_file(v, path, buf, len, mode, creds));
}

int gm_path_remove(struct gm_view *v, const char *path)
{
	char name[NAME_MAX + 1];
	struct stat st;
	gm_vino_t dir, ino;
	size_t len = path ? strlen(path) : 0;
	int rc;

	rc = gm_path_resolve_parent(v, path, &dir, name);
	if (!rc)
		rc = gm_view_lookup(v, dir, name, &ino);
	if (!rc)
		rc = gm_view_getattr(v, ino, &st);
	if (rc)
		return rc;
	/* "name/" must itself be a directory: a link to one is not (rmdir(2)
	 * and unlink(2) say ENOTDIR) */
	if (len && path[len - 1] == '/' && !S_ISDIR(st.st_mode))
		return gm_view_fail(v, -ENOTDIR, "%s: not a directory", path);
	if (S_ISDIR(st.st_mode))
		return gm_view_rmdir(v, dir, name);
	return gm_view_unlink(v, dir, name);
}

int gm_path_mkdir(struct gm_view *v, const char *path, mode_t mode, const struct gm_creds *creds)
{
	char name[NAME_MAX + 1];
	gm_vino_t dir;
	int rc = gm_path_resolve_parent(v, path, &dir, name);

	return rc ? rc : gm_view_mkdir(v, dir, name, mode, creds, NULL);
}

int gm_path_symlink(struct gm_view *v, const char *target, const char *linkpath,
		    const struct gm_creds *creds)
{
	char name[NAME_MAX + 1];
	gm_vino_t dir;
	int rc = gm_path_resolve_parent(v, linkpath, &dir, name);

	return rc ? rc : gm_view_symlink(v, dir, name, target, creds, NULL);
}
