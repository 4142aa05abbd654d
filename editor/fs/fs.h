/* fs.h — the ext2/3/4 filesystem inside an image, by inode (libext2fs).
 *
 * Everything the FUSE low-level front end and the path layer (path.h) need.
 * Conventions: every function returns 0 (or a byte count) on success and a
 * negative errno on failure, with a message recorded on the handle
 * (gm_fs_errmsg). Inode numbers are ext4's own; the root is GM_ROOT_INO (2).
 * Not thread-safe: libext2fs is not; callers serialise (the FUSE layer holds
 * one lock). Names are single path components (no '/'), at most 255 bytes.
 *
 * New inodes get the owner given in creds, or the handle's default owner
 * (0:0 unless gm_fs_opts.owner_set) when creds is NULL.
 */
#ifndef GM_FS_H
#define GM_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "editor/error.h"
#include "editor/container/image.h"
#include "editor/disk/partition.h"
#include "editor/rangeset.h"

typedef uint32_t gm_ino_t;
#define GM_ROOT_INO 2u

struct gm_fs;

struct gm_fs_opts {
	int partition;        /* >0: that partition; 0: choose (see partition.h) */
	bool read_only;
	bool owner_set;       /* default owner of new files: owner_uid:owner_gid */
	uid_t owner_uid;
	gid_t owner_gid;
	/* The disk's table as the view just probed it (gm_partition_probe_image,
	 * which also registered the checks for when the image is all read):
	 * taken as is, not probed again. NULL: probed here. */
	const struct gm_partition_table *table;
};

struct gm_creds {
	uid_t uid;
	gid_t gid;
};

/* Opens the filesystem of img (which must outlive the handle). Refuses
 * read-write when the journal needs recovery (-EROFS, unless opts->read_only:
 * then opens read-only and says so in gm_fs_note), when the filesystem has
 * features libext2fs cannot write, or when img is read-only.
 * 0 or -errno with err set; *out untouched on failure. */
int gm_fs_open(struct gm_image *img, const struct gm_fs_opts *opts,
	       struct gm_fs **out, struct gm_error *err);
/* Flushes and closes; accepts NULL. 0 or -errno (message in err). */
int gm_fs_close(struct gm_fs *fs, struct gm_error *err);
/* Writes every pending change (bitmaps, superblock, group descriptors). */
int gm_fs_flush(struct gm_fs *fs);

const char *gm_fs_errmsg(const struct gm_fs *fs);
/* The -errno the message of gm_fs_errmsg belongs to (0: none recorded): a
 * caller holding another code knows the message is not about its failure. */
int gm_fs_errcode(const struct gm_fs *fs);
/* Which partition was taken and why; "" if nothing to say. */
const char *gm_fs_note(const struct gm_fs *fs);
bool gm_fs_read_only(const struct gm_fs *fs);
const struct gm_partition *gm_fs_partition(const struct gm_fs *fs);
const struct gm_partition_table *gm_fs_partition_table(const struct gm_fs *fs);

/* Free blocks of the filesystem as byte ranges of the *disk* (partition
 * offset added), for sparsifying write-back. 0 or -ENOMEM. */
int gm_fs_free_ranges(struct gm_fs *fs, struct gm_rangeset *out);

/* --- lookups and attributes --- */
int gm_fs_lookup(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t *ino);
int gm_fs_getattr(struct gm_fs *fs, gm_ino_t ino, struct stat *st);

enum {
	GM_SET_MODE = 1 << 0,      /* permission bits only; the file type stays */
	GM_SET_UID = 1 << 1,
	GM_SET_GID = 1 << 2,
	GM_SET_SIZE = 1 << 3,
	GM_SET_ATIME = 1 << 4,
	GM_SET_MTIME = 1 << 5,
	GM_SET_ATIME_NOW = 1 << 6,
	GM_SET_MTIME_NOW = 1 << 7,
};
struct gm_setattr {
	unsigned valid;            /* GM_SET_* */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec atime, mtime;
};
/* Applies the changes (ctime updated); st, if not NULL, gets the result. */
int gm_fs_setattr(struct gm_fs *fs, gm_ino_t ino, const struct gm_setattr *sa, struct stat *st);

/* --- file data --- */
/* Reads up to len bytes at off; returns bytes read (0 at EOF) or -errno. */
ssize_t gm_fs_read(struct gm_fs *fs, gm_ino_t ino, void *buf, size_t len, uint64_t off);
/* Writes len bytes at off, extending the file; returns len or -errno. */
ssize_t gm_fs_write(struct gm_fs *fs, gm_ino_t ino, const void *buf, size_t len, uint64_t off);
int gm_fs_truncate(struct gm_fs *fs, gm_ino_t ino, uint64_t size);

/* --- directories --- */
/* Called once per entry, "." and ".." included. next_off is the cookie to
 * resume after this entry. Return non-zero to stop early (not an error). */
typedef int (*gm_dirent_fn)(void *priv, const char *name, size_t namelen,
			    gm_ino_t ino, unsigned dtype /* DT_* */, uint64_t next_off);
/* Lists dir from cookie off (0 = start). 0 or -errno. */
int gm_fs_readdir(struct gm_fs *fs, gm_ino_t dir, uint64_t off, gm_dirent_fn fn, void *priv);

/* mode carries the type: S_IFREG, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK.
 * -EEXIST if name exists. *ino (may be NULL) gets the new inode. */
int gm_fs_mknod(struct gm_fs *fs, gm_ino_t dir, const char *name, mode_t mode,
		dev_t rdev, const struct gm_creds *creds, gm_ino_t *ino);
int gm_fs_mkdir(struct gm_fs *fs, gm_ino_t dir, const char *name, mode_t mode,
		const struct gm_creds *creds, gm_ino_t *ino);
int gm_fs_symlink(struct gm_fs *fs, gm_ino_t dir, const char *name, const char *target,
		  const struct gm_creds *creds, gm_ino_t *ino);
/* New hard link newdir/newname to ino (not a directory). */
int gm_fs_link(struct gm_fs *fs, gm_ino_t ino, gm_ino_t newdir, const char *newname);
int gm_fs_unlink(struct gm_fs *fs, gm_ino_t dir, const char *name);
int gm_fs_rmdir(struct gm_fs *fs, gm_ino_t dir, const char *name);
/* rename(2) semantics: replaces an existing target (a file by a file, an
 * empty directory by a directory), across directories, fixing "..".
 * flags: 0, or RENAME_NOREPLACE (-EEXIST), or RENAME_EXCHANGE. */
int gm_fs_rename(struct gm_fs *fs, gm_ino_t olddir, const char *oldname,
		 gm_ino_t newdir, const char *newname, unsigned flags);
/* Copies the link target (not NUL-terminated if it fills buf) and returns its
 * length, like readlink(2). */
ssize_t gm_fs_readlink(struct gm_fs *fs, gm_ino_t ino, char *buf, size_t size);

/* --- extended attributes (names with their namespace: "user.x",
 * "security.capability", "trusted.x", "system.posix_acl_access") --- */
/* size 0: returns the value's size. -ENODATA if absent, -ERANGE if too small. */
ssize_t gm_fs_getxattr(struct gm_fs *fs, gm_ino_t ino, const char *name, void *buf, size_t size);
/* NUL-separated names, like listxattr(2); size 0 returns the needed size. */
ssize_t gm_fs_listxattr(struct gm_fs *fs, gm_ino_t ino, char *buf, size_t size);
/* flags: 0, XATTR_CREATE, XATTR_REPLACE. */
int gm_fs_setxattr(struct gm_fs *fs, gm_ino_t ino, const char *name, const void *value,
		   size_t size, int flags);
int gm_fs_removexattr(struct gm_fs *fs, gm_ino_t ino, const char *name);

int gm_fs_statfs(struct gm_fs *fs, struct statvfs *sv);

/* --- operations: all or nothing ---
 * Every mutating call above (setattr, write, truncate, mknod, mkdir,
 * symlink, link, unlink, rmdir, rename, setxattr, removexattr, flush) is one
 * operation: when it fails, the filesystem is as it was before the call —
 * the disk's bytes, the allocation bitmaps and counters libext2fs keeps in
 * memory — so a full disk (-ENOSPC, -EDQUOT, -EFBIG) is an answer the
 * session can go on from. gm_fs_op_begin/gm_fs_op_end make one operation of
 * several calls (a verb, a FUSE request, every rule of `apply`); they nest,
 * an inner failure undoes only the inner operation. end: rc >= 0 keeps the
 * changes, rc < 0 undoes everything since the matching begin; returns rc.
 * The undo log belongs to the image's disk (editor/disk/undo.h): a view
 * opening several filesystems of one image begins an operation on each, in
 * one order, and ends them all the same way (in reverse order).
 * Operations are no-ops on a read-only handle. */
#define GM_OP_EXACT 1u  /* the undo gives back every byte of the disk, those of
			  * blocks allocated from free space included (a failed
			  * verb leaves the cache byte for byte as it was);
			  * without it they are not saved: the bitmaps free them
			  * again (FUSE writes stay fast). For outermost levels. */
int gm_fs_op_begin(struct gm_fs *fs, unsigned flags);
int gm_fs_op_end(struct gm_fs *fs, int rc);
/* Test hook (fault injection): the nth mutating call of fs.h from now on,
 * in any handle of the process (1: the next), fails with code before it
 * changes anything; 0 turns it off. */
void gm_fs_test_fail_call(unsigned nth, int code);
/* Whether an operation of this session ended in an inconsistency (-EUCLEAN,
 * -EIO, an error libext2fs gives for damaged metadata, or an undo that
 * failed): the filesystem may be damaged and must not be written back
 * unchecked. *what (may be NULL) gets "OPERATION: message" ("" if not). */
bool gm_fs_damaged(const struct gm_fs *fs, const char **what);

#endif
