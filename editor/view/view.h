/* view.h — the whole image as the booted system sees it: the root
 * filesystem with the filesystems its /etc/fstab mounts (a separate ext4
 * /boot, the FAT EFI system partition at /boot/efi), as one tree.
 *
 * The inode-level API mirrors editor/fs/fs.h function for function, with
 * 64-bit view inodes (gm_vino_t: the member filesystem's index in the high
 * 16 bits, its own inode number below). Lookups, readdir, getattr and ".."
 * cross mount points the way the kernel does: a mount point's directory
 * shows the mounted filesystem's root, and ".." of that root is the mount
 * point's parent. Across filesystems, rename and link fail with -EXDEV;
 * removing or renaming a mount point fails with -EBUSY; the FAT EFI system
 * partition is read-only (-EROFS, with a message saying so); a mount point
 * on a filesystem gcemount cannot read (XFS, LVM, ...) answers
 * -EMEDIUMTYPE. Same conventions as fs.h: 0 (or a count) or -errno, the
 * message on the handle (gm_view_errmsg). Not thread-safe.
 *
 * How the root is found (gm_view_open): --root N if given; else the GPT
 * partition typed "Linux root (x86-64)"; else the ext partition holding
 * /etc/fstab and /etc/os-release (the largest if several); else, with no
 * such partition, the largest ext partition alone (as gm_partition_choose).
 * A root that is not ext2/3/4 is refused in one line naming the partition
 * and its filesystem (-EMEDIUMTYPE). With opts.partition, that partition
 * alone is the view (ext, or FAT read-only). */
#ifndef GM_VIEW_H
#define GM_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "editor/fs/fs.h"

typedef uint64_t gm_vino_t;
#define GM_VINO_SHIFT 48
#define GM_VINO_LOCAL_MASK ((UINT64_C(1) << GM_VINO_SHIFT) - 1)

struct gm_view;

#define GM_VIEW_MAX_MOUNTS 32

struct gm_view_opts {
	int partition;        /* >0: that partition alone */
	int root;             /* >0: the root filesystem is that partition */
	bool read_only;
	bool owner_set;       /* default owner of new files (see gm_fs_opts) */
	uid_t owner_uid;
	gid_t owner_gid;
};

/* One row of the mount table (gcemount ls --mounts, check). */
enum gm_mount_kind {
	GM_MOUNT_EXT,         /* ext2/3/4, read-write unless the view is read-only */
	GM_MOUNT_FAT,         /* FAT, read-only */
	GM_MOUNT_REFUSED,     /* a filesystem gcemount cannot read: lookups say why */
	GM_MOUNT_SKIPPED,     /* listed in fstab, not assembled (note says why) */
};
struct gm_mount {
	char path[256];       /* mount point in the view ("/", "/boot", "/boot/efi") */
	int partition;        /* partition number (0: the whole disk; -1: none found) */
	enum gm_mount_kind kind;
	char fstype[16];      /* libblkid's name, or fstab's when no partition */
	char source[256];     /* how it was found: fstab's spec, "GPT type", "--root" */
	uint64_t size;        /* partition bytes */
	char note[320];       /* why skipped or refused; "" */
};

/* Opens the view of img (which must outlive it). 0, or -errno with err set
 * (one line naming the image); *out untouched on failure. */
int gm_view_open(struct gm_image *img, const struct gm_view_opts *opts, struct gm_view **out,
		 struct gm_error *err);
/* Flushes and closes every member; accepts NULL. 0 or the first -errno. */
int gm_view_close(struct gm_view *v, struct gm_error *err);
/* Writes every pending change of every ext member. */
int gm_view_flush(struct gm_view *v);

const char *gm_view_errmsg(const struct gm_view *v);
/* What was chosen and why, notes of the members; "" if nothing to say. */
const char *gm_view_note(const struct gm_view *v);
/* The image the view was opened on. */
struct gm_image *gm_view_image(const struct gm_view *v);
/* Whether the view was opened read-only. */
bool gm_view_read_only(const struct gm_view *v);
const struct gm_partition_table *gm_view_partition_table(const struct gm_view *v);
/* The mount table: n rows, the root first. */
size_t gm_view_nmounts(const struct gm_view *v);
const struct gm_mount *gm_view_mount(const struct gm_view *v, size_t i);
/* The root filesystem's ext handle (NULL when a FAT partition is opened
 * alone), and its partition (never NULL). */
struct gm_fs *gm_view_root_fs(const struct gm_view *v);
const struct gm_partition *gm_view_root_partition(const struct gm_view *v);
/* The root inode of the view, and of the member filesystem holding ino. */
gm_vino_t gm_view_root(const struct gm_view *v);
gm_vino_t gm_view_member_root(const struct gm_view *v, gm_vino_t ino);
/* The root inode of mount table row i (0 when the row is not mounted). */
gm_vino_t gm_view_mount_root(const struct gm_view *v, size_t i);
/* Index in the mount table of the member holding ino. */
size_t gm_view_member_of(const struct gm_view *v, gm_vino_t ino);

/* Free blocks of every clean ext2/3/4 partition of the disk (mounted or
 * not) as disk byte ranges, for sparsifying write-back. 0 or -errno. */
int gm_view_free_ranges(struct gm_view *v, struct gm_rangeset *out);

/* Operations (fs.h, gm_fs_op_begin): one over every read-write ext member,
 * begun in mount-table order and ended in reverse, all kept (rc >= 0) or
 * all undone (rc < 0): one operation across root and /boot. end returns rc.
 * (view_op.c) */
int gm_view_op_begin(struct gm_view *v, unsigned flags);
int gm_view_op_end(struct gm_view *v, int rc);
/* Whether an operation on a member ended in an inconsistency (fs.h,
 * gm_fs_damaged): *what gets "OPERATION: message", *offset (may be NULL)
 * that member's partition offset on the disk. */
bool gm_view_damaged(const struct gm_view *v, const char **what, uint64_t *offset);
/* The -errno the message of gm_view_errmsg belongs to (0: none). */
int gm_view_errcode(const struct gm_view *v);

/* Records a failure on the handle (for the path layer); returns code. */
int gm_view_fail(struct gm_view *v, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- the inode-level API: as fs.h, on view inodes ---- */
int gm_view_lookup(struct gm_view *v, gm_vino_t dir, const char *name, gm_vino_t *ino);
int gm_view_getattr(struct gm_view *v, gm_vino_t ino, struct stat *st);
int gm_view_setattr(struct gm_view *v, gm_vino_t ino, const struct gm_setattr *sa, struct stat *st);
ssize_t gm_view_read(struct gm_view *v, gm_vino_t ino, void *buf, size_t len, uint64_t off);
ssize_t gm_view_write(struct gm_view *v, gm_vino_t ino, const void *buf, size_t len, uint64_t off);
int gm_view_truncate(struct gm_view *v, gm_vino_t ino, uint64_t size);
typedef int (*gm_vdirent_fn)(void *priv, const char *name, size_t namelen, gm_vino_t ino,
			     unsigned dtype, uint64_t next_off);
int gm_view_readdir(struct gm_view *v, gm_vino_t dir, uint64_t off, gm_vdirent_fn fn, void *priv);
int gm_view_mknod(struct gm_view *v, gm_vino_t dir, const char *name, mode_t mode, dev_t rdev,
		  const struct gm_creds *creds, gm_vino_t *ino);
int gm_view_mkdir(struct gm_view *v, gm_vino_t dir, const char *name, mode_t mode,
		  const struct gm_creds *creds, gm_vino_t *ino);
int gm_view_symlink(struct gm_view *v, gm_vino_t dir, const char *name, const char *target,
		    const struct gm_creds *creds, gm_vino_t *ino);
int gm_view_link(struct gm_view *v, gm_vino_t ino, gm_vino_t newdir, const char *newname);
int gm_view_unlink(struct gm_view *v, gm_vino_t dir, const char *name);
int gm_view_rmdir(struct gm_view *v, gm_vino_t dir, const char *name);
int gm_view_rename(struct gm_view *v, gm_vino_t olddir, const char *oldname, gm_vino_t newdir,
		   const char *newname, unsigned flags);
ssize_t gm_view_readlink(struct gm_view *v, gm_vino_t ino, char *buf, size_t size);
ssize_t gm_view_getxattr(struct gm_view *v, gm_vino_t ino, const char *name, void *buf, size_t size);
ssize_t gm_view_listxattr(struct gm_view *v, gm_vino_t ino, char *buf, size_t size);
int gm_view_setxattr(struct gm_view *v, gm_vino_t ino, const char *name, const void *value,
		     size_t size, int flags);
int gm_view_removexattr(struct gm_view *v, gm_vino_t ino, const char *name);
int gm_view_statfs(struct gm_view *v, gm_vino_t ino, struct statvfs *sv);

#endif
