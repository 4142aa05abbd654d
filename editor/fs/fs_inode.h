/* fs_inode.h — inode helpers shared by the write side of the filesystem
 * (fs_write.c, fs_dir.c, fs_xattr.c). Private to editor/fs*.c.
 *
 * Same conventions as fs.h: 0 or -errno, message recorded on the handle.
 * Inodes are always handled as full struct ext2_inode_large images so that
 * in-inode extended attributes (beyond i_extra_isize) are never lost: libext2fs
 * re-reads the on-disk tail when a shorter buffer is written.
 */
#ifndef GM_FS_INODE_H
#define GM_FS_INODE_H

#include <time.h>

#include "editor/fs/fs_private.h"

/* Which timestamps gm_fsi_touch sets. */
enum {
	GM_T_ATIME = 1 << 0,
	GM_T_MTIME = 1 << 1,
	GM_T_CTIME = 1 << 2,
	GM_T_CRTIME = 1 << 3,
};

/* -EROFS (with a message) when the handle is read-only. */
int gm_fsi_writable(struct gm_fs *fs);
/* Checks a single name component: "", ".", ".." or '/' -> -EINVAL,
 * more than 255 bytes -> -ENAMETOOLONG. */
int gm_fsi_check_name(struct gm_fs *fs, const char *name);
/* dir must be a directory we may add to or remove from: -ENOTDIR, and
 * -EOPNOTSUPP for encrypted or casefolded directories. *inode (may be NULL)
 * gets the directory's inode. */
int gm_fsi_dir_editable(struct gm_fs *fs, gm_ino_t dir, struct ext2_inode_large *inode);

int gm_fsi_read(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode);
int gm_fsi_write(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode);

/* Encodes ts into one of the inode's timestamps (seconds + nanoseconds and
 * epoch bits in the *_extra field when the inode has room for it). */
void gm_fsi_set_time(struct ext2_inode_large *inode, unsigned which, const struct timespec *ts);
/* Sets the GM_T_* timestamps to now. */
void gm_fsi_touch(struct ext2_inode_large *inode, unsigned which);
/* Reads ino, sets the GM_T_* timestamps to now, writes it back. */
int gm_fsi_touch_ino(struct gm_fs *fs, gm_ino_t ino, unsigned which);

void gm_fsi_set_uid(struct ext2_inode_large *inode, uid_t uid);
void gm_fsi_set_gid(struct ext2_inode_large *inode, gid_t gid);

/* Allocates and writes a fresh inode of the given mode (type included) near
 * dir, owned by creds (or the handle's default owner), links 1, all times now,
 * extents flag for regular files when the fs has extents. The caller links it
 * into a directory; on failure of that, gm_fsi_free() undoes it. */
int gm_fsi_new(struct gm_fs *fs, gm_ino_t dir, mode_t mode, const struct gm_creds *creds,
	       gm_ino_t *ino, struct ext2_inode_large *inode);

/* Before ext2fs_expand_dir: an inline-data directory's entries must be
 * well formed, or libext2fs 1.47.0's ext2fs_inline_data_expand loops forever
 * on a record length of 0 (found by fuzz_fs). 0 or -EUCLEAN. */
int gm_fsi_expand_dir_ok(struct gm_fs *fs, gm_ino_t dir);
/* Adds dir/name -> ino with file type ftype (EXT2_FT_*), expanding the
 * directory when it is full, then updates dir's mtime/ctime. */
int gm_fsi_add_entry(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t ino, int ftype);
/* Removes dir/name (which must point to ino) and updates dir's mtime/ctime. */
int gm_fsi_remove_entry(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t ino);
/* Points the existing entry dir/name at ino (file type ftype), in place. */
int gm_fsi_retarget_entry(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t ino,
			  int ftype);

/* Drops one link of ino (for a directory: the name and its "." ; caller fixes
 * the parent's count). When no link is left the inode is freed: its data
 * blocks, its xattr block reference, its bitmap bit, dtime set. ctime set. */
int gm_fsi_drop_link(struct gm_fs *fs, gm_ino_t ino);
/* Frees an inode whose links are gone (inode holds its current image). */
int gm_fsi_free(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode);
/* Before shrinking ino to logical block from (ext2fs_punch, through
 * ext2fs_file_set_size2): when ino maps the filesystem's last block at or
 * past from, unmaps and frees that one block, which libext2fs 1.46.6-1.47.3
 * cannot punch (see release_blocks in fs_inode.c). 0 or -errno. */
int gm_fsi_unmap_fs_last_block(struct gm_fs *fs, gm_ino_t ino, blk64_t from);

/* Adds delta (+1/-1) to a directory's link count, following ext4's dir_nlink
 * rule (a count of 1 means "too many to count"). */
int gm_fsi_dir_nlink(struct gm_fs *fs, gm_ino_t dir, int delta);

/* fs_name.c: names as the kernel compares them. */
/* The directory folds case: casefold flag, and an encoding libext2fs knows. */
bool gm_fsi_casefolded(const struct gm_fs *fs, const struct ext2_inode_large *dinode);
/* stored (slen bytes, from a directory entry) names name (len bytes). */
bool gm_fsi_name_eq(const struct gm_fs *fs, bool casefold, const char *stored, size_t slen,
		    const char *name, size_t len);
/* Finds name in dir: 0 with *ino and the stored name (stored: NAME_MAX+1
 * bytes, may be NULL); -ENOENT with no message recorded; another -errno. */
int gm_fsi_find(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t *ino, char *stored);

/* EXT2_FT_* for a mode. */
int gm_fsi_ftype(mode_t mode);

#endif
