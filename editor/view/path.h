/* path.h — path-level operations on an image's filesystem, for the CLI and
 * policies (the FUSE layer works by inode, see view.h).
 *
 * Paths are absolute inside the image ("/etc/ssh/sshd_config"); a relative
 * path is taken from the image root. Symlinks resolve INSIDE THE IMAGE ROOT:
 * an absolute target restarts at the image's "/", ".." never climbs above it,
 * and nothing ever touches the host's files. More than 40 links: -ELOOP.
 * Same return convention as fs.h. Paths cross mount points as view.h does:
 * one tree, root, /boot and /boot/efi together.
 */
#ifndef GM_PATH_H
#define GM_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "editor/view/view.h"

#define GM_PATH_NOFOLLOW 1u   /* do not follow a symlink in the last component */

/* Resolves path to an inode. */
int gm_path_resolve(struct gm_view *v, const char *path, unsigned flags, gm_vino_t *ino);
/* Resolves all but the last component (following links in them) and copies
 * the last component into name (NAME_MAX+1 bytes). "/" has no parent: -EINVAL. */
int gm_path_resolve_parent(struct gm_view *v, const char *path, gm_vino_t *dir, char *name);

int gm_path_lstat(struct gm_view *v, const char *path, struct stat *st);
int gm_path_stat(struct gm_view *v, const char *path, struct stat *st);

/* Reads a whole regular file (following links) into a malloc'd buffer with a
 * NUL byte after the data (not counted in *len). Caller frees. -EFBIG beyond
 * max bytes. *buf untouched on failure. */
int gm_path_read_file(struct gm_view *v, const char *path, size_t max, char **buf, size_t *len);

/* Replaces the content of a regular file (following links inside the image),
 * keeping its inode, mode, owner and xattrs; creates it with mode/creds when
 * absent (parent must exist). Nothing changes if the content is equal.
 * All or nothing (one operation, fs.h): on failure the file is as before. */
int gm_path_write_file(struct gm_view *v, const char *path, const void *buf, size_t len,
		       mode_t mode, const struct gm_creds *creds);

/* unlink(2) for non-directories, rmdir(2) for empty directories.
 * The last component is not followed; with a trailing '/' it must itself be
 * a directory (a symlink to one: -ENOTDIR, as rmdir(2)). */
int gm_path_remove(struct gm_view *v, const char *path);
int gm_path_mkdir(struct gm_view *v, const char *path, mode_t mode, const struct gm_creds *creds);
int gm_path_symlink(struct gm_view *v, const char *target, const char *linkpath,
		    const struct gm_creds *creds);

/* Calls fn for each existing path matching pattern (fnmatch(3) per component,
 * no FNM_PERIOD surprises: "*" does not match a leading dot unless the pattern
 * component starts with '.'). Paths passed to fn are absolute. fn returning
 * non-zero stops the walk and that value is returned. */
typedef int (*gm_glob_fn)(void *priv, const char *path);
int gm_path_glob(struct gm_view *v, const char *pattern, gm_glob_fn fn, void *priv);

#endif
