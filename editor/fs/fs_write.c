/* fs_write.c — file contents and attributes: gm_fs_write, gm_fs_truncate,
 * gm_fs_setattr (libext2fs ext2fs_file_* API, like e2fsprogs' fuse2fs).
 *
 * Privileges: this is a root's-eye (fakeroot) view of an image. Writing,
 * truncating or chown-ing a file never clears its setuid/setgid bits nor its
 * security.capability / security.selinux attributes (the kernel would, for
 * unprivileged writers and on chown); image edits must keep them. */
#include "editor/fs/fs_inode.h"

#include <errno.h>
#include <string.h>

#include "editor/disk/undo.h"

/* Exported by libext2fs (1.43+) but declared only in its private ext2fsP.h. */
errcode_t ext2fs_inline_data_expand(ext2_filsys fs, ext2_ino_t ino);

/* Largest file size this inode can reach (extent-mapped: 2^32 blocks). */
static uint64_t max_size(struct gm_fs *fs, const struct ext2_inode_large *inode)
{
	uint64_t bs = fs->e2fs->blocksize;

	if (inode->i_flags & EXT4_EXTENTS_FL)
		return ((1ULL << 32) - 1) * bs;
	/* Indirect blocks: 12 direct + single + double + triple. */
	uint64_t per = bs / 4, blocks = 12 + per + per * per + per * per * per;
	uint64_t lim = blocks * bs;
	/* i_blocks counts 512-byte sectors in 32 bits without huge_file. */
	if (!ext2fs_has_feature_huge_file(fs->e2fs->super) && lim > (1ULL << 41))
		lim = 1ULL << 41;
	return lim;
}

/* The inode must be a regular file whose data we may change. */
static int check_regular(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode)
{
	int rc = gm_fsi_writable(fs);

	if (rc)
		return rc;
	rc = gm_fsi_read(fs, ino, inode);
	if (rc)
		return rc;
	if (LINUX_S_ISDIR(inode->i_mode))
		return gm_fs_fail(fs, -EISDIR, "inode %u is a directory", ino);
	if (!LINUX_S_ISREG(inode->i_mode))
		return gm_fs_fail(fs, -EINVAL, "inode %u is not a regular file", ino);
	if (inode->i_flags & EXT4_ENCRYPT_FL)
		return gm_fs_fail(fs, -EOPNOTSUPP, "inode %u is encrypted (fscrypt): its "
				  "data cannot be written without the key", ino);
	if (inode->i_flags & EXT2_IMMUTABLE_FL)
		return gm_fs_fail(fs, -EPERM, "inode %u is immutable (chattr +i)", ino);
	return 0;
}

/* libext2fs 1.47.0 overflows its 3-block buffer when a write of more than
 * that lands on an inline-data file, and cannot grow inline data by
 * truncation: move the data to a block first whenever the file will need
 * more than a block. */
static int expand_inline(struct gm_fs *fs, gm_ino_t ino, const struct ext2_inode_large *inode,
			 uint64_t end)
{
	errcode_t rc;

	if (!(inode->i_flags & EXT4_INLINE_DATA_FL) || end <= fs->e2fs->blocksize / 2)
		return 0;
	rc = ext2fs_inline_data_expand(fs->e2fs, ino);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "move inline data to a block");
	return 0;
}

/* Truncation of a file whose data is still inline (ext2fs_file_set_size2
 * only knows block-mapped files): rewrite the inline data at its new size,
 * or move it to a block when it no longer fits. */
static errcode_t truncate_inline(struct gm_fs *fs, gm_ino_t ino, uint64_t old, uint64_t size,
				 bool *done)
{
	size_t cur = 0;
	char *buf = NULL;
	errcode_t rc;

	*done = false;
	rc = ext2fs_inline_data_size(fs->e2fs, ino, &cur);
	if (rc)
		return rc;
	rc = ext2fs_get_memzero((cur > size ? cur : size) + 1, &buf);
	if (rc)
		return rc;
	rc = ext2fs_inline_data_get(fs->e2fs, ino, NULL, buf, &cur);
	/* what lies past the old end of file must read back as zeros */
	if (!rc && old < size)
		memset(buf + old, 0, (size_t)(size - old));
	if (!rc)
		rc = ext2fs_inline_data_set(fs->e2fs, ino, NULL, buf, (size_t)size);
	ext2fs_free_mem(&buf);
	if (rc == EXT2_ET_INLINE_DATA_NO_SPACE)
		return ext2fs_inline_data_expand(fs->e2fs, ino);
	*done = rc == 0;
	return rc;
}

static int stamp(struct gm_fs *fs, gm_ino_t ino)
{
	return gm_fsi_touch_ino(fs, ino, GM_T_MTIME | GM_T_CTIME);
}

/* The ordinary path: ext2fs_file_write of len bytes at off (len may be 0). */
static int write_span(struct gm_fs *fs, gm_ino_t ino, const char *p, size_t len, uint64_t off)
{
	ext2_file_t file = NULL;
	unsigned int got = 0;
	errcode_t rc, rc2;

	if (len == 0)
		return 0;
	rc = ext2fs_file_open(fs->e2fs, ino, EXT2_FILE_WRITE, &file);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "open file for writing");
	rc = ext2fs_file_llseek(file, off, EXT2_SEEK_SET, NULL);
	if (!rc)
		rc = ext2fs_file_write(file, p, (unsigned int)len, &got);
	if (!rc && got != len)
		rc = EXT2_ET_SHORT_WRITE;
	rc2 = ext2fs_file_close(file);
	if (!rc)
		rc = rc2;
	return rc ? gm_fs_fail_ext2(fs, rc, "write file data") : 0;
}

/* Whole blocks [lblk, lblk+nblk) of an extent-mapped file, from p, written
 * with one I/O per physically contiguous run instead of one read-modify-write
 * per block as ext2fs_file_write does. Two cases take this path:
 *   - the blocks lie wholly past the end of the file (appending, copying a
 *     file in): they are allocated in one go with ext2fs_fallocate; if that
 *     fails (ENOSPC) the operation is undone (fs_txn.c), so the filesystem
 *     stays consistent and the file unchanged;
 *   - the blocks are all mapped by initialized extents (overwriting).
 * Returns 1 when done, 0 when the ordinary path must do it (holes inside
 * the file, uninitialized extents, not extent-mapped), or a negative errno. */
#define DIRECT_MIN_BLOCKS 16

static int write_mapped_runs(struct gm_fs *fs, struct ext2_inode_large *inode, gm_ino_t ino,
			     const char *p, blk64_t lblk, blk64_t nblk, bool torn_ok)
{
	ext2_filsys e2 = fs->e2fs;
	const blk64_t max_run = (64u << 20) / e2->blocksize;    /* <= 64 MiB per I/O */
	ext2_extent_handle_t h = NULL;
	struct ext2fs_extent ex;
	blk64_t done = 0;
	errcode_t rc;
	int ret = 1;

	rc = ext2fs_extent_open2(e2, ino, (struct ext2_inode *)inode, &h);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "open extent tree");
	while (done < nblk) {
		blk64_t want = lblk + done, run;

		rc = ext2fs_extent_goto(h, want);
		if (!rc)
			rc = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ex);
		if (rc || want < ex.e_lblk || want >= ex.e_lblk + ex.e_len ||
		    (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			ret = 0;
			break;
		}
		run = ex.e_lblk + ex.e_len - want;
		if (run > nblk - done)
			run = nblk - done;
		if (run > max_run)
			run = max_run;
		if (torn_ok)
			gm_undo_torn_ok(fs->undo, fs->part.offset + (ex.e_pblk + (want - ex.e_lblk)) * e2->blocksize,
					run * e2->blocksize);
		rc = io_channel_write_blk64(e2->io, ex.e_pblk + (want - ex.e_lblk), (int)run,
					    p + done * e2->blocksize);
		gm_undo_torn_ok(fs->undo, 0, 0);
		if (rc) {
			ret = gm_fs_fail_ext2(fs, rc, "write file data");
			break;
		}
		done += run;
	}
	ext2fs_extent_free(h);
	return ret;
}

static int write_whole_blocks(struct gm_fs *fs, gm_ino_t ino, const char *p, blk64_t lblk,
			      blk64_t nblk)
{
	ext2_filsys e2 = fs->e2fs;
	struct ext2_inode_large inode;
	uint64_t bs = e2->blocksize, size, end;
	blk64_t eof_blk;
	errcode_t rc;
	int ret;

	ret = gm_fsi_read(fs, ino, &inode);
	if (ret)
		return ret;
	if (!(inode.i_flags & EXT4_EXTENTS_FL) || (inode.i_flags & EXT4_INLINE_DATA_FL))
		return 0;
	size = EXT2_I_SIZE(&inode);
	eof_blk = (size + bs - 1) / bs;
	if (lblk < eof_blk) {
		if (lblk + nblk > eof_blk)
			return 0;                /* straddles the end: ordinary path */
		/* overwriting in place: a lone write may leave it torn (undo.h) */
		return write_mapped_runs(fs, &inode, ino, p, lblk, nblk, true);
	}
	/* Past the end: allocate, unless space is clearly short (then the
	 * ordinary path fails cleanly with ENOSPC). */
	if (ext2fs_free_blocks_count(e2->super) < nblk + nblk / 128 + 64)
		return 0;
	rc = ext2fs_fallocate(e2, EXT2_FALLOCATE_FORCE_INIT | EXT2_FALLOCATE_INIT_BEYOND_EOF, ino,
			      (struct ext2_inode *)&inode, ~0ULL, lblk, nblk);
	if (rc)   /* what fallocate did is undone with the operation */
		return gm_fs_fail_ext2(fs, rc, "allocate file blocks");
	end = (lblk + nblk) * bs;
	rc = ext2fs_inode_size_set(e2, (struct ext2_inode *)&inode, end);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "set file size");
	ret = gm_fsi_write(fs, ino, &inode);
	if (ret)
		return ret;
	ret = write_mapped_runs(fs, &inode, ino, p, lblk, nblk, false);
	return ret == 0 ? gm_fs_fail(fs, -EIO, "inode %u: freshly allocated blocks are not mapped", ino)
			: ret;
}

static ssize_t write_op(struct gm_fs *fs, gm_ino_t ino, const void *buf, size_t len, uint64_t off)
{
	struct ext2_inode_large inode;
	ext2_file_t file = NULL;
	const char *p = buf;
	size_t done = 0;
	errcode_t rc, rc2;
	int ret;

	ret = check_regular(fs, ino, &inode);
	if (ret)
		return ret;
	if (len == 0)
		return 0;
	if ((inode.i_flags & EXT2_APPEND_FL) && off < EXT2_I_SIZE(&inode))
		return gm_fs_fail(fs, -EPERM, "inode %u is append-only (chattr +a)", ino);
	if (off > max_size(fs, &inode) || len > max_size(fs, &inode) - off)
		return gm_fs_fail(fs, -EFBIG, "write beyond the largest file size of inode %u", ino);
	ret = expand_inline(fs, ino, &inode, off + len);
	if (ret)
		return ret;
	/* Large writes: the whole blocks in the middle go straight to disk. */
	{
		uint64_t bs = fs->e2fs->blocksize;
		uint64_t first = (off + bs - 1) / bs, last = (off + len) / bs;

		if (last > first && last - first >= DIRECT_MIN_BLOCKS) {
			uint64_t head = first * bs - off, mid = (last - first) * bs;

			/* Inside the file, the ends first: whatever may allocate
			 * (a hole) fails before the middle is overwritten. */
			if (off + len <= EXT2_I_SIZE(&inode) &&
			    ((ret = write_span(fs, ino, p, head, off)) ||
			     (ret = write_span(fs, ino, p + head + mid, len - head - mid, off + head + mid))))
				return ret;
			ret = write_whole_blocks(fs, ino, p + head, first, last - first);
			if (ret < 0)
				return ret;
			if (ret == 1) {
				/* Only the partial blocks at either end are left. */
				ret = write_span(fs, ino, p, head, off);
				if (!ret)
					ret = write_span(fs, ino, p + head + mid, len - head - mid,
							 off + head + mid);
				if (ret)
					return ret;
				ret = stamp(fs, ino);
				return ret ? ret : (ssize_t)len;
			}
		}
	}
	rc = ext2fs_file_open(fs->e2fs, ino, EXT2_FILE_WRITE, &file);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "open file for writing");
	rc = ext2fs_file_llseek(file, off, EXT2_SEEK_SET, NULL);
	while (!rc && done < len) {
		unsigned int chunk = len - done > (1u << 30) ? (1u << 30) : (unsigned int)(len - done);
		unsigned int got = 0;

		rc = ext2fs_file_write(file, p + done, chunk, &got);
		done += got;
		if (!rc && got == 0)
			rc = EXT2_ET_SHORT_WRITE;
	}
	rc2 = ext2fs_file_close(file);
	if (!rc)
		rc = rc2;
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "write file data");
	ret = stamp(fs, ino);
	if (ret)
		return ret;
	return (ssize_t)len;
}

static int truncate_op(struct gm_fs *fs, gm_ino_t ino, uint64_t size)
{
	struct ext2_inode_large inode;
	ext2_file_t file = NULL;
	errcode_t rc, rc2;
	int ret;

	ret = check_regular(fs, ino, &inode);
	if (ret)
		return ret;
	if (inode.i_flags & EXT2_APPEND_FL)
		return gm_fs_fail(fs, -EPERM, "inode %u is append-only (chattr +a)", ino);
	if (size > max_size(fs, &inode))
		return gm_fs_fail(fs, -EFBIG, "size beyond the largest file size of inode %u", ino);
	ret = expand_inline(fs, ino, &inode, size);
	if (ret)
		return ret;
	if (size <= fs->e2fs->blocksize / 2 && (inode.i_flags & EXT4_INLINE_DATA_FL)) {
		bool done;

		rc = truncate_inline(fs, ino, EXT2_I_SIZE(&inode), size, &done);
		if (rc)
			return gm_fs_fail_ext2(fs, rc, "truncate inline data");
		if (done) {
			/* ext2fs_inline_data_set leaves i_size alone */
			if ((ret = gm_fsi_read(fs, ino, &inode)))
				return ret;
			inode.i_size = (__u32)size;
			inode.i_size_high = 0;
			gm_fsi_touch(&inode, GM_T_MTIME | GM_T_CTIME);
			return gm_fsi_write(fs, ino, &inode);
		}
	}
	if (size < EXT2_I_SIZE(&inode)) {
		uint64_t bs = fs->e2fs->blocksize;

		ret = gm_fs_txn_save_bmap(fs);
		if (!ret)
			ret = gm_fsi_unmap_fs_last_block(fs, ino, (size + bs - 1) / bs);
		if (ret)
			return ret;
	}
	rc = ext2fs_file_open(fs->e2fs, ino, EXT2_FILE_WRITE, &file);
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "open file for truncating");
	/* Frees the blocks past the new end (ext2fs_punch) and zeroes the tail
	 * of the last partial block; growing leaves a hole. */
	rc = ext2fs_file_set_size2(file, size);
	rc2 = ext2fs_file_close(file);
	if (!rc)
		rc = rc2;
	if (rc)
		return gm_fs_fail_ext2(fs, rc, "truncate file");
	return stamp(fs, ino);
}

static int setattr_op(struct gm_fs *fs, gm_ino_t ino, const struct gm_setattr *sa, struct stat *st)
{
	struct ext2_inode_large inode;
	unsigned v = sa->valid;
	int ret;

	ret = gm_fsi_writable(fs);
	if (ret)
		return ret;
	if (v & GM_SET_SIZE) {
		ret = gm_fs_truncate(fs, ino, sa->size);
		if (ret)
			return ret;
	}
	ret = gm_fsi_read(fs, ino, &inode);
	if (ret)
		return ret;
	if (v & GM_SET_MODE)
		inode.i_mode = (__u16)((inode.i_mode & LINUX_S_IFMT) | (sa->mode & 07777));
	if (v & GM_SET_UID)
		gm_fsi_set_uid(&inode, sa->uid);
	if (v & GM_SET_GID)
		gm_fsi_set_gid(&inode, sa->gid);
	if (v & GM_SET_ATIME_NOW)
		gm_fsi_touch(&inode, GM_T_ATIME);
	else if (v & GM_SET_ATIME)
		gm_fsi_set_time(&inode, GM_T_ATIME, &sa->atime);
	if (v & GM_SET_MTIME_NOW)
		gm_fsi_touch(&inode, GM_T_MTIME);
	else if (v & GM_SET_MTIME)
		gm_fsi_set_time(&inode, GM_T_MTIME, &sa->mtime);
	if (v)
		gm_fsi_touch(&inode, GM_T_CTIME);
	ret = gm_fsi_write(fs, ino, &inode);
	if (ret)
		return ret;
	return st ? gm_fs_getattr(fs, ino, st) : 0;
}

ssize_t gm_fs_write(struct gm_fs *fs, gm_ino_t ino, const void *buf, size_t len, uint64_t off)
{
	ssize_t n;
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	n = write_op(fs, ino, buf, len, off);
	rc = gm_fs_txn_end(fs, n < 0 ? (int)n : 0, "write");
	return rc < 0 ? rc : n;
}

int gm_fs_truncate(struct gm_fs *fs, gm_ino_t ino, uint64_t size)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, truncate_op(fs, ino, size), "truncate");
}

int gm_fs_setattr(struct gm_fs *fs, gm_ino_t ino, const struct gm_setattr *sa, struct stat *st)
{
	int rc = gm_fs_txn_begin(fs);

	if (rc)
		return rc;
	return gm_fs_txn_end(fs, setattr_op(fs, ino, sa, st), "setattr");
}
