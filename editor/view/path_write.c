/* path_write.c — see path.h: the path-level writing helpers, on top of the
 * inode-level write side (fs_write.c, fs_dir.c). Resolution is path.c's. */
#include "editor/view/path_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "editor/view/path.h"

/* Whether ino's content is exactly buf[0..len). */
static int same_content(struct gm_fs *fs, gm_ino_t ino, const void *buf, size_t len, bool *same)
{
	char chunk[65536];
	size_t done = 0;

	*same = false;
	while (done < len) {
		size_t want = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
		ssize_t n = gm_fs_read(fs, ino, chunk, want, done);

		if (n < 0)
			return (int)n;
		if ((size_t)n != want || memcmp(chunk, (const char *)buf + done, want))
			return 0;
		done += want;
	}
	*same = true;
	return 0;
}

static int write_file(struct gm_fs *fs, const char *path, const void *buf, size_t len,
		      mode_t mode, const struct gm_creds *creds)
{
	struct gm_walk w;
	struct stat st;
	gm_ino_t ino;
	ssize_t n;
	int rc;

	rc = gm_path_walk(fs, path, true, &w);
	if (rc == -ENOENT && w.dir) {
		if (w.trailing_slash)   /* as cp: a name ending in '/' must be a directory */
			return gm_fs_fail(fs, -ENOTDIR, "%s: not a directory", path);
		rc = gm_fs_mknod(fs, w.dir, w.name, S_IFREG | (mode & 07777), 0, creds, &ino);
		if (rc)
			return rc;
	} else if (rc) {
		return rc;
	} else {
		bool same;

		ino = w.ino;
		rc = gm_path_regular_stat(fs, ino, path, &st);
		if (rc)
			return rc;
		if ((uint64_t)st.st_size == len) {
			rc = same_content(fs, ino, buf, len, &same);
			if (rc)
				return rc;
			if (same)
				return 0;
		}
		if ((uint64_t)st.st_size > len) {
			rc = gm_fs_truncate(fs, ino, len);
			if (rc)
				return rc;
		}
	}
	if (len) {
		n = gm_fs_write(fs, ino, buf, len, 0);
		if (n < 0)
			return (int)n;
		if ((size_t)n != len)
			return gm_fs_fail(fs, -EIO, "%s: short write", path);
	}
	return 0;
}

int gm_path_write_file(struct gm_fs *fs, const char *path, const void *buf, size_t len,
		       mode_t mode, const struct gm_creds *creds)
{
	/* one operation: a full disk leaves neither an empty new file nor a
	 * truncated old one */
	int rc = gm_fs_op_begin(fs, 0);

	if (rc)
		return rc;
	return gm_fs_op_end(fs, write_file(fs, path, buf, len, mode, creds));
}

int gm_path_remove(struct gm_fs *fs, const char *path)
{
	char name[NAME_MAX + 1];
	struct stat st;
	gm_ino_t dir, ino;
	int rc;

	size_t len = path ? strlen(path) : 0;

	rc = gm_path_resolve_parent(fs, path, &dir, name);
	if (!rc)
		rc = gm_fs_lookup(fs, dir, name, &ino);
	if (!rc)
		rc = gm_fs_getattr(fs, ino, &st);
	if (rc)
		return rc;
	/* "name/" must itself be a directory: a link to one is not (rmdir(2)
	 * and unlink(2) say ENOTDIR) */
	if (len && path[len - 1] == '/' && !S_ISDIR(st.st_mode))
		return gm_fs_fail(fs, -ENOTDIR, "%s: not a directory", path);
	if (S_ISDIR(st.st_mode))
		return gm_fs_rmdir(fs, dir, name);
	return gm_fs_unlink(fs, dir, name);
}

int gm_path_mkdir(struct gm_fs *fs, const char *path, mode_t mode, const struct gm_creds *creds)
{
	char name[NAME_MAX + 1];
	gm_ino_t dir;
	int rc = gm_path_resolve_parent(fs, path, &dir, name);

	return rc ? rc : gm_fs_mkdir(fs, dir, name, mode, creds, NULL);
}

int gm_path_symlink(struct gm_fs *fs, const char *target, const char *linkpath,
		    const struct gm_creds *creds)
{
	char name[NAME_MAX + 1];
	gm_ino_t dir;
	int rc = gm_path_resolve_parent(fs, linkpath, &dir, name);

	return rc ? rc : gm_fs_symlink(fs, dir, name, target, creds, NULL);
}
