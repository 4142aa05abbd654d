/* fs_inode.c — see fs_inode.h. */
#include "editor/clock.h"
#include "editor/fs/fs_inode.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define GM_LARGE_EXTRA ((__u16)(sizeof(struct ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE))

int gm_fsi_writable(struct gm_fs *fs)
{
	errcode_t e;

	if (fs->read_only || !(fs->e2fs->flags & EXT2_FLAG_RW))
		return gm_fs_fail(fs, -EROFS, "the filesystem is open read-only");
	/* the allocation bitmaps, read at the first change rather than at the
	 * open (spread over the disk, they may arrive late: image.h, lazy open) */
	if ((!fs->e2fs->block_map || !fs->e2fs->inode_map) && (e = ext2fs_read_bitmaps(fs->e2fs)))
		return gm_fs_fail_ext2(fs, e, "reading the allocation bitmaps");
	return 0;
}

int gm_fsi_check_name(struct gm_fs *fs, const char *name)
{
	size_t len;

	if (!name || !*name)
		return gm_fs_fail(fs, -EINVAL, "empty file name");
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return gm_fs_fail(fs, -EINVAL, "'%s' cannot be created or removed", name);
	if (strchr(name, '/'))
		return gm_fs_fail(fs, -EINVAL, "file name contains '/'");
	len = strlen(name);
	if (len > EXT2_NAME_LEN)
		return gm_fs_fail(fs, -ENAMETOOLONG, "file name is %zu bytes (max %d)", len,
				  EXT2_NAME_LEN);
	return 0;
}

int gm_fsi_read(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t rc;

	if (ino == 0 || ino > fs->e2fs->super->s_inodes_count)
		return gm_fs_fail(fs, -EINVAL, "inode %u out of range", ino);
	memset(inode, 0, sizeof(*inode));
	rc = ext2fs_read_inode_full(fs->e2fs, ino, (struct ext2_inode *)inode, sizeof(*inode));
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "read inode");
	if (inode->i_links_count == 0)
		return gm_fs_fail(fs, -ENOENT, "inode %u is not in use", ino);
	return 0;
}

int gm_fsi_write(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t rc;

	rc = ext2fs_write_inode_full(fs->e2fs, ino, (struct ext2_inode *)inode, sizeof(*inode));
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "write inode");
	return 0;
}

int gm_fsi_dir_editable(struct gm_fs *fs, gm_ino_t dir, struct ext2_inode_large *out)
{
	struct ext2_inode_large inode;
	int rc;

	rc = gm_fsi_read(fs, dir, &inode);
	if (rc)
		return rc;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return gm_fs_fail(fs, -ENOTDIR, "inode %u is not a directory", dir);
	if (inode.i_flags & EXT4_ENCRYPT_FL)
		return gm_fs_fail(fs, -EOPNOTSUPP,
				  "directory %u is encrypted (fscrypt): names cannot be edited "
				  "without the key", dir);
	if ((inode.i_flags & EXT4_CASEFOLD_FL) && !fs->e2fs->encoding)
		return ext2fs_has_feature_casefold(fs->e2fs->super)
		       ? gm_fs_fail(fs, -EOPNOTSUPP, "directory %u is casefolded with an encoding "
				    "libext2fs does not know (%u): its names cannot be edited", dir,
				    (unsigned)fs->e2fs->super->s_encoding)
		       : gm_fs_fail(fs, -EUCLEAN, "directory %u is marked casefolded on a filesystem "
				    "without the casefold feature", dir);
	if (out)
		*out = inode;
	return 0;
}

/* Does the inode have room for the 32-bit field at byte offset off? */
static bool has_field(const struct ext2_inode_large *inode, size_t off)
{
	return EXT2_GOOD_OLD_INODE_SIZE + (size_t)inode->i_extra_isize >= off + sizeof(__u32);
}

static __u32 encode_extra(const struct timespec *ts)
{
	int64_t sec = ts->tv_sec;
	__u32 epoch = (__u32)(((sec - (int32_t)sec) >> 32) & EXT4_EPOCH_MASK);

	return epoch | ((__u32)ts->tv_nsec << EXT4_EPOCH_BITS);
}

void gm_fsi_set_time(struct ext2_inode_large *inode, unsigned which, const struct timespec *ts)
{
	__u32 lo = (__u32)(int32_t)ts->tv_sec, extra = encode_extra(ts);

	if (which & GM_T_ATIME) {
		inode->i_atime = lo;
		if (has_field(inode, offsetof(struct ext2_inode_large, i_atime_extra)))
			inode->i_atime_extra = extra;
	}
	if (which & GM_T_MTIME) {
		inode->i_mtime = lo;
		if (has_field(inode, offsetof(struct ext2_inode_large, i_mtime_extra)))
			inode->i_mtime_extra = extra;
	}
	if (which & GM_T_CTIME) {
		inode->i_ctime = lo;
		if (has_field(inode, offsetof(struct ext2_inode_large, i_ctime_extra)))
			inode->i_ctime_extra = extra;
	}
	if ((which & GM_T_CRTIME) &&
	    has_field(inode, offsetof(struct ext2_inode_large, i_crtime_extra))) {
		inode->i_crtime = lo;
		inode->i_crtime_extra = extra;
	}
}

void gm_fsi_touch(struct ext2_inode_large *inode, unsigned which)
{
	struct timespec now;

	gm_clock_now(&now);
	gm_fsi_set_time(inode, which, &now);
}

int gm_fsi_touch_ino(struct gm_fs *fs, gm_ino_t ino, unsigned which)
{
	struct ext2_inode_large inode;
	int rc;

	rc = gm_fsi_read(fs, ino, &inode);
	if (rc)
		return rc;
	gm_fsi_touch(&inode, which);
	return gm_fsi_write(fs, ino, &inode);
}

void gm_fsi_set_uid(struct ext2_inode_large *inode, uid_t uid)
{
	inode->i_uid = (__u16)uid;
	ext2fs_set_i_uid_high(*inode, (__u16)(uid >> 16));
}

void gm_fsi_set_gid(struct ext2_inode_large *inode, gid_t gid)
{
	inode->i_gid = (__u16)gid;
	ext2fs_set_i_gid_high(*inode, (__u16)(gid >> 16));
}

int gm_fsi_ftype(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return EXT2_FT_REG_FILE;
	case S_IFDIR: return EXT2_FT_DIR;
	case S_IFCHR: return EXT2_FT_CHRDEV;
	case S_IFBLK: return EXT2_FT_BLKDEV;
	case S_IFIFO: return EXT2_FT_FIFO;
	case S_IFSOCK: return EXT2_FT_SOCK;
	case S_IFLNK: return EXT2_FT_SYMLINK;
	default: return EXT2_FT_UNKNOWN;
	}
}

int gm_fsi_new(struct gm_fs *fs, gm_ino_t dir, mode_t mode, const struct gm_creds *creds,
	       gm_ino_t *ino_out, struct ext2_inode_large *inode)
{
	ext2_filsys e2 = fs->e2fs;
	size_t isize = EXT2_INODE_SIZE(e2->super);
	ext2_ino_t ino;
	char *buf = NULL;
	errcode_t rc;
	int ret;

	rc = ext2fs_new_inode(e2, dir, (int)mode, NULL, &ino);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "allocate an inode");
	memset(inode, 0, sizeof(*inode));
	inode->i_mode = (__u16)mode;
	gm_fsi_set_uid(inode, creds ? creds->uid : fs->owner.uid);
	gm_fsi_set_gid(inode, creds ? creds->gid : fs->owner.gid);
	inode->i_links_count = 1;
	if (isize > EXT2_GOOD_OLD_INODE_SIZE)
		inode->i_extra_isize = GM_LARGE_EXTRA;
	gm_fsi_touch(inode, GM_T_ATIME | GM_T_MTIME | GM_T_CTIME | GM_T_CRTIME);
	if (S_ISREG(mode) && ext2fs_has_feature_extents(e2->super)) {
		ext2_extent_handle_t h;

		/* Opening an extent handle on an empty inode writes the header
		 * into i_block and sets EXT4_EXTENTS_FL (in memory only). */
		rc = ext2fs_extent_open2(e2, ino, (struct ext2_inode *)inode, &h);
		if (rc)
			return gm_fs_fail_ext2(fs, rc, "initialise extent tree");
		ext2fs_extent_free(h);
	}
	/* A whole zeroed on-disk inode: no stale in-inode xattrs of a former
	 * owner of this slot survive. */
	rc = ext2fs_get_memzero(isize, &buf);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "allocate an inode");
	memcpy(buf, inode, isize < sizeof(*inode) ? isize : sizeof(*inode));
	rc = ext2fs_write_inode_full(e2, ino, (struct ext2_inode *)buf, (int)isize);
	ext2fs_free_mem(&buf);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "write new inode");
	/* (ext2fs_new_inode found it free in the bitmap) */
	ret = gm_fs_txn_note_inode(fs, ino, +1);
	if (ret)
		return ret;
	ext2fs_inode_alloc_stats2(e2, ino, +1, S_ISDIR(mode));
	*ino_out = ino;
	return 0;
}

int gm_fsi_expand_dir_ok(struct gm_fs *fs, gm_ino_t dir)
{
	struct ext2_inode_large inode;
	size_t size = 0, pos = EXT4_INLINE_DATA_DOTDOT_SIZE;
	char *buf = NULL;
	errcode_t e;
	int rc = gm_fsi_read(fs, dir, &inode);

	if (rc || !(inode.i_flags & EXT4_INLINE_DATA_FL))
		return rc;
	e = ext2fs_inline_data_size(fs->e2fs, dir, &size);
	if (!e && size > (size_t)fs->e2fs->blocksize)
		e = EXT2_ET_DIR_CORRUPTED;
	if (!e)
		e = ext2fs_get_memzero(size + 8, &buf);
	if (!e)
		e = ext2fs_inline_data_get(fs->e2fs, dir, (struct ext2_inode *)&inode, buf, &size);
	/* the walk ext2fs_inline_data_expand makes over the entries */
	while (!e && pos < size) {
		unsigned int rec_len = 0;

		if (pos + 8 > size || ext2fs_get_rec_len(fs->e2fs, (struct ext2_dir_entry *)(buf + pos),
							 &rec_len) ||
		    rec_len < 8 || rec_len % 4 || rec_len > size - pos)
			e = EXT2_ET_DIR_CORRUPTED;
		pos += rec_len;
	}
	ext2fs_free_mem(&buf);
	if (e)
		return gm_fs_fail(fs, -EUCLEAN, "directory %u: its inline entries are damaged (%s)", dir,
				  gm_ext2_strerror(e));
	return 0;
}

int gm_fsi_add_entry(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t ino, int ftype)
{
	errcode_t rc;
	int ret;

	rc = ext2fs_link(fs->e2fs, dir, name, ino, ftype);
	if (rc == EXT2_ET_DIR_NO_SPACE) {
		if ((ret = gm_fsi_expand_dir_ok(fs, dir)))
			return ret;
		rc = ext2fs_expand_dir(fs->e2fs, dir);
		if (rc)
			return gm_fs_fail_ext2(fs, rc, "expand directory");
		rc = ext2fs_link(fs->e2fs, dir, name, ino, ftype);
	}
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "add directory entry");
	return gm_fsi_touch_ino(fs, dir, GM_T_MTIME | GM_T_CTIME);
}

int gm_fsi_remove_entry(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t ino)
{
	errcode_t rc;

	rc = ext2fs_unlink(fs->e2fs, dir, name, ino, 0);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "remove directory entry");
	return gm_fsi_touch_ino(fs, dir, GM_T_MTIME | GM_T_CTIME);
}

struct retarget {
	const char *name;
	int len;
	ext2_ino_t ino;
	int ftype;
	bool filetype;
	bool done;
};

static int retarget_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
		       int blocksize, char *buf, void *priv)
{
	struct retarget *r = priv;

	(void)dir; (void)entry; (void)offset; (void)blocksize; (void)buf;
	if (d->inode == 0 || ext2fs_dirent_name_len(d) != r->len ||
	    memcmp(d->name, r->name, (size_t)r->len) != 0)
		return 0;
	d->inode = r->ino;
	if (r->filetype)
		ext2fs_dirent_set_file_type(d, r->ftype);
	r->done = true;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

int gm_fsi_retarget_entry(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t ino,
			  int ftype)
{
	struct retarget r = {
		.name = name, .len = (int)strlen(name), .ino = ino, .ftype = ftype,
		.filetype = ext2fs_has_feature_filetype(fs->e2fs->super),
	};
	errcode_t rc;

	rc = ext2fs_dir_iterate2(fs->e2fs, dir, 0, NULL,
				 retarget_cb, &r);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "update directory entry");
	if (!r.done)
		return gm_fs_fail(fs, -ENOENT, "entry '%s' vanished from directory %u", name, dir);
	return 0;
}

struct release {
	blk64_t last_cluster;
	blk64_t bad;           /* the block that stopped the walk */
	const char *why;
};

/* One block of a dying inode (data, extent tree or indirect block): checked
 * as e2fsck checks an orphan's blocks, then freed, a cluster once. */
static int release_block(ext2_filsys e2, blk64_t *blocknr, e2_blkcnt_t blockcnt, blk64_t ref_blk,
			 int ref_offset, void *priv)
{
	struct release *r = priv;
	blk64_t b = *blocknr, c = EXT2FS_B2C(e2, b);

	(void)blockcnt; (void)ref_blk; (void)ref_offset;
	if (b == 0)
		return 0;
	if (b < e2->super->s_first_data_block || b >= ext2fs_blocks_count(e2->super)) {
		r->bad = b;
		r->why = "lies outside the filesystem";
		return BLOCK_ABORT;
	}
	if (c == r->last_cluster && r->last_cluster)
		return 0;
	if (!ext2fs_test_block_bitmap2(e2->block_map, b)) {
		r->bad = b;
		r->why = "is already free (claimed twice?)";
		return BLOCK_ABORT;
	}
	r->last_cluster = c;
	ext2fs_block_alloc_stats2(e2, b, -1);
	return 0;
}

/* Frees ino's blocks the way e2fsprogs' tools free an inode (debugfs
 * kill_file_by_inode, e2fsck's orphan release): a read-only walk of every
 * block the inode maps, each freed in the bitmap; the block map itself is
 * left in the dead inode. Not ext2fs_punch(): in libext2fs 1.46.6-1.47.3
 * its range check (punch_extent_blocks: free_start + free_count >=
 * blocks_count) is off by one, so a file holding the filesystem's last block
 * fails with "Illegal block number" after the extent tree has been changed
 * and the earlier extents freed (fixed in 1.47.4, commit 509da989). */
static int release_blocks(struct gm_fs *fs, gm_ino_t ino)
{
	struct release r = { 0 };
	errcode_t rc;

	rc = ext2fs_block_iterate3(fs->e2fs, ino, BLOCK_FLAG_READ_ONLY, NULL, release_block, &r);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "free data blocks");
	if (r.why)
		return gm_fs_fail(fs, -EUCLEAN, "free data blocks: block %llu of inode %u %s",
				  (unsigned long long)r.bad, ino, r.why);
	return 0;
}

int gm_fsi_free(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode)
{
	ext2_filsys e2 = fs->e2fs;
	errcode_t rc;
	int ret;

	/* Every block freed here is checked in use first (a free that changes
	 * nothing would be "undone" into an allocation): the allocation hooks
	 * log them, no bitmap is copied (fs_txn.c). */
	if (ino < EXT2_FIRST_INODE(e2->super) || ino > e2->super->s_inodes_count ||
	    !ext2fs_test_inode_bitmap2(e2->inode_map, ino))
		return gm_fs_fail(fs, -EUCLEAN, "free inode %u: it is not in use in the inode bitmap",
				  ino);
	{
		blk64_t acl = ext2fs_file_acl_block(e2, (struct ext2_inode *)inode);

		if (acl && (acl < e2->super->s_first_data_block || acl >= ext2fs_blocks_count(e2->super) ||
			    !ext2fs_test_block_bitmap2(e2->block_map, acl)))
			return gm_fs_fail(fs, -EUCLEAN, "free inode %u: its extended attribute block %llu "
					  "is not in use", ino, (unsigned long long)acl);
	}
	/* Drops this inode's reference to a shared xattr block (freeing the
	 * block when it was the last) and writes the inode. */
	rc = ext2fs_free_ext_attr(e2, ino, inode);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "release extended attribute block");
	if (ext2fs_inode_has_valid_blocks2(e2, (struct ext2_inode *)inode)) {
		ret = release_blocks(fs, ino);
		if (ret)
			return ret;
	}
	inode->i_links_count = 0;
	{
		struct timespec now;

		gm_clock_now(&now);
		inode->i_dtime = (__u32)now.tv_sec;
	}
	ret = gm_fsi_write(fs, ino, inode);
	if (ret)
		return ret;
	ret = gm_fs_txn_note_inode(fs, ino, -1);
	if (ret)
		return ret;
	ext2fs_inode_alloc_stats2(e2, ino, -1, LINUX_S_ISDIR(inode->i_mode));
	return 0;
}

int gm_fsi_unmap_fs_last_block(struct gm_fs *fs, gm_ino_t ino, blk64_t from)
{
	ext2_filsys e2 = fs->e2fs;
	blk64_t last = ext2fs_blocks_count(e2->super) - 1;
	struct ext2_inode_large inode;
	ext2_extent_handle_t h = NULL;
	struct ext2fs_extent ex;
	errcode_t rc;
	int ret, op = EXT2_EXTENT_ROOT;
	bool found = false;

	ret = gm_fsi_read(fs, ino, &inode);
	if (ret)
		return ret;
	if (!(inode.i_flags & EXT4_EXTENTS_FL) || (inode.i_flags & EXT4_INLINE_DATA_FL) ||
	    EXT2FS_CLUSTER_RATIO(e2) > 1 || !ext2fs_test_block_bitmap2(e2->block_map, last))
		return 0;
	rc = ext2fs_extent_open2(e2, ino, (struct ext2_inode *)&inode, &h);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "open extent tree");
	for (;;) {
		rc = ext2fs_extent_get(h, op, &ex);
		op = EXT2_EXTENT_NEXT_LEAF;
		if (rc == EXT2_ET_EXTENT_NO_NEXT || rc == EXT2_ET_NO_CURRENT_NODE) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF) || ex.e_len == 0)
			continue;
		if (ex.e_pblk + ex.e_len - 1 == last && ex.e_lblk + ex.e_len - 1 >= from) {
			found = true;
			break;
		}
	}
	if (!rc && found) {
		/* The filesystem's last block is the extent's last: drop it. */
		if (ex.e_len == 1) {
			rc = ext2fs_extent_delete(h, 0);
		} else {
			ex.e_len--;
			rc = ext2fs_extent_replace(h, 0, &ex);
		}
		if (!rc)
			rc = ext2fs_extent_fix_parents(h);
		if (rc == EXT2_ET_NO_CURRENT_NODE)
			rc = 0;
	}
	ext2fs_extent_free(h);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "free data blocks");
	if (!found)
		return 0;
	/* the extent handle wrote the tree (and the inode, for a root change):
	 * count the block out of the on-disk inode */
	ret = gm_fsi_read(fs, ino, &inode);
	if (ret)
		return ret;
	ext2fs_block_alloc_stats2(e2, last, -1);
	rc = ext2fs_iblk_sub_blocks(e2, (struct ext2_inode *)&inode, 1);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "free data blocks");
	return gm_fsi_write(fs, ino, &inode);
}

int gm_fsi_drop_link(struct gm_fs *fs, gm_ino_t ino)
{
	struct ext2_inode_large inode;
	int rc;

	rc = gm_fsi_read(fs, ino, &inode);
	if (rc)
		return rc;
	if (LINUX_S_ISDIR(inode.i_mode))
		inode.i_links_count = 0;    /* its name and its own "." */
	else
		inode.i_links_count--;
	if (inode.i_links_count == 0)
		return gm_fsi_free(fs, ino, &inode);
	gm_fsi_touch(&inode, GM_T_CTIME);
	return gm_fsi_write(fs, ino, &inode);
}

int gm_fsi_dir_nlink(struct gm_fs *fs, gm_ino_t dir, int delta)
{
	struct ext2_inode_large inode;
	int rc;

	rc = gm_fsi_read(fs, dir, &inode);
	if (rc)
		return rc;
	if (inode.i_links_count == 1)
		return 0;   /* dir_nlink: beyond counting, stays 1 */
	if (delta > 0) {
		if (inode.i_links_count + 1 >= EXT2_LINK_MAX) {
			if (!ext2fs_has_feature_dir_nlink(fs->e2fs->super))
				return gm_fs_fail(fs, -EMLINK, "directory %u has too many "
						  "subdirectories", dir);
			inode.i_links_count = 1;
		} else {
			inode.i_links_count++;
		}
	} else if (inode.i_links_count > 2) {
		inode.i_links_count--;
	}
	gm_fsi_touch(&inode, GM_T_CTIME);
	return gm_fsi_write(fs, dir, &inode);
}
