/* fs_read.c — see fs.h: the read side by inode (lookup, getattr, readdir,
 * read, readlink). Nothing here writes: a read-only session leaves the
 * image clean. */
#include "editor/fs/fs_htree.h"
#include "editor/fs/fs_inode.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/sysmacros.h>

static int check_ino(struct gm_fs *fs, gm_ino_t ino)
{
	if (ino == 0 || ino > fs->e2fs->super->s_inodes_count)
		return gm_fs_fail(fs, -ENOENT, "inode %u does not exist", ino);
	return 0;
}

static int check_name(struct gm_fs *fs, const char *name, size_t *len)
{
	size_t n = strnlen(name, EXT2_NAME_LEN + 1);

	if (n == 0)
		return gm_fs_fail(fs, -ENOENT, "empty name");
	if (n > EXT2_NAME_LEN)
		return gm_fs_fail(fs, -ENAMETOOLONG, "name longer than %d bytes", EXT2_NAME_LEN);
	if (memchr(name, '/', n))
		return gm_fs_fail(fs, -EINVAL, "name \"%s\" contains '/'", name);
	*len = n;
	return 0;
}

int gm_fs_lookup(struct gm_fs *fs, gm_ino_t dir, const char *name, gm_ino_t *ino)
{
	gm_ino_t found = 0;
	size_t len = 0;
	int rc;

	rc = check_ino(fs, dir);
	if (!rc)
		rc = check_name(fs, name, &len);
	if (rc)
		return rc;
	rc = gm_fsi_find(fs, dir, name, &found, NULL);
	if (rc == -ENOENT)
		return gm_fs_fail(fs, -ENOENT, "%s: no such file or directory", name);
	if (rc)
		return rc;
	if (found == 0 || found > fs->e2fs->super->s_inodes_count)
		return gm_fs_fail(fs, -EUCLEAN, "%s: directory entry points to invalid inode %u", name, found);
	*ino = found;
	return 0;
}

/* Reads the whole on-disk inode (extra fields included; zeros past it). */
static int read_inode(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode)
{
	errcode_t e;
	int rc = check_ino(fs, ino);

	if (rc)
		return rc;
	memset(inode, 0, sizeof(*inode));
	e = ext2fs_read_inode_full(fs->e2fs, ino, (struct ext2_inode *)inode, sizeof(*inode));
	if (e)
		return gm_fs_fail_ext2(fs, e, "reading an inode");
	if (inode->i_mode == 0)
		return gm_fs_fail(fs, -ENOENT, "inode %u is not in use", ino);
	return 0;
}

/* Whether the large inode's extra area holds the field at [off, off+4). */
static bool has_extra(const struct gm_fs *fs, const struct ext2_inode_large *inode, size_t off)
{
	if (EXT2_INODE_SIZE(fs->e2fs->super) <= EXT2_GOOD_OLD_INODE_SIZE)
		return false;
	return off + 4 <= (size_t)EXT2_GOOD_OLD_INODE_SIZE + inode->i_extra_isize &&
	       off + 4 <= (size_t)EXT2_INODE_SIZE(fs->e2fs->super);
}

/* As the kernel decodes it: 32 signed bits of seconds, plus 2 epoch bits and
 * 30 bits of nanoseconds in the extra field. */
static struct timespec decode_time(uint32_t lo, uint32_t extra, bool have_extra)
{
	struct timespec ts = { .tv_sec = (int32_t)lo, .tv_nsec = 0 };

	if (have_extra) {
		ts.tv_sec += (int64_t)(extra & 3u) << 32;
		ts.tv_nsec = extra >> 2;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_nsec = 999999999;
	}
	return ts;
}

static dev_t decode_rdev(const struct ext2_inode_large *inode)
{
	uint32_t b0 = inode->i_block[0], b1 = inode->i_block[1];

	if (b0)   /* old style: 8-bit major, 8-bit minor */
		return makedev((b0 >> 8) & 0xff, b0 & 0xff);
	return makedev((b1 & 0xfff00) >> 8, (b1 & 0xff) | ((b1 >> 12) & 0xfff00));
}

int gm_fs_getattr(struct gm_fs *fs, gm_ino_t ino, struct stat *st)
{
	struct ext2_inode_large inode;
	int rc = read_inode(fs, ino, &inode);

	if (rc)
		return rc;
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = inode.i_mode;
	st->st_nlink = inode.i_links_count;
	st->st_uid = inode_uid(inode);
	st->st_gid = inode_gid(inode);
	st->st_size = (off_t)EXT2_I_SIZE(&inode);
	st->st_blksize = (blksize_t)fs->e2fs->blocksize;
	st->st_blocks = (blkcnt_t)ext2fs_get_stat_i_blocks(fs->e2fs, (struct ext2_inode *)&inode);
	if (S_ISCHR(inode.i_mode) || S_ISBLK(inode.i_mode))
		st->st_rdev = decode_rdev(&inode);
	st->st_atim = decode_time(inode.i_atime, inode.i_atime_extra,
				  has_extra(fs, &inode, offsetof(struct ext2_inode_large, i_atime_extra)));
	st->st_mtim = decode_time(inode.i_mtime, inode.i_mtime_extra,
				  has_extra(fs, &inode, offsetof(struct ext2_inode_large, i_mtime_extra)));
	st->st_ctim = decode_time(inode.i_ctime, inode.i_ctime_extra,
				  has_extra(fs, &inode, offsetof(struct ext2_inode_large, i_ctime_extra)));
	return 0;
}

/* --- readdir --------------------------------------------------------------
 * The cookie of an entry is (k << 32 | offset): k counts the directory's
 * blocks (or inline-data areas) in iteration order, offset is the entry's
 * byte offset in it. Every block starts with an entry at offset 0 (empty ones
 * included, hence DIRENT_FLAG_INCLUDE_EMPTY), which is how k is counted. The
 * cookie handed back is the one just past the entry, so a resumed listing
 * neither repeats nor skips entries, even after others were removed. */
struct readdir_ctx {
	struct gm_fs *fs;
	uint64_t from;
	int64_t k;
	gm_dirent_fn fn;
	void *priv;
	bool filetype;
};

static unsigned dtype_of(int ft)
{
	switch (ft) {
	case EXT2_FT_REG_FILE: return DT_REG;
	case EXT2_FT_DIR: return DT_DIR;
	case EXT2_FT_CHRDEV: return DT_CHR;
	case EXT2_FT_BLKDEV: return DT_BLK;
	case EXT2_FT_FIFO: return DT_FIFO;
	case EXT2_FT_SOCK: return DT_SOCK;
	case EXT2_FT_SYMLINK: return DT_LNK;
	default: return DT_UNKNOWN;
	}
}

static int readdir_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
		      int blocksize, char *buf, void *priv)
{
	struct readdir_ctx *c = priv;
	unsigned int rec_len = 0;
	uint64_t key, next;
	int namelen;

	if (offset == 0)
		c->k++;
	if (c->k < 0 || c->k > UINT32_MAX || offset < 0)
		return DIRENT_ABORT;
	if (d->inode == 0 || entry == DIRENT_DELETED_FILE || entry == DIRENT_CHECKSUM)
		return 0;
	key = (uint64_t)c->k << 32 | (uint32_t)offset;
	if (key < c->from)
		return 0;
	if (ext2fs_get_rec_len(c->fs->e2fs, d, &rec_len) || rec_len == 0)
		rec_len = 1;
	next = (uint64_t)c->k << 32 | ((uint32_t)offset + rec_len);
	namelen = ext2fs_dirent_name_len(d);
	/* A damaged (or hostile) entry whose name holds '/' or NUL cannot be a
	 * path component: callers would build other paths from it. Skip it. */
	if (namelen == 0 || memchr(d->name, '/', (size_t)namelen) || memchr(d->name, '\0', (size_t)namelen))
		return 0;
	if (c->fn(c->priv, d->name, (size_t)namelen, d->inode,
		  c->filetype ? dtype_of(ext2fs_dirent_file_type(d)) : DT_UNKNOWN, next))
		return DIRENT_ABORT;
	return 0;
}

int gm_fs_readdir(struct gm_fs *fs, gm_ino_t dir, uint64_t off, gm_dirent_fn fn, void *priv)
{
	struct readdir_ctx c = { fs, off, -1, fn, priv, ext2fs_has_feature_filetype(fs->e2fs->super) };
	struct ext2_inode_large inode;
	errcode_t e;
	int rc = read_inode(fs, dir, &inode);

	if (rc)
		return rc;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return gm_fs_fail(fs, -ENOTDIR, "inode %u is not a directory", dir);
	e = ext2fs_dir_iterate2(fs->e2fs, dir, DIRENT_FLAG_INCLUDE_EMPTY, NULL, readdir_cb, &c);
	if (e)
		return gm_fs_fail_ext2(fs, e, "reading a directory");
	return 0;
}

/* --- file data ------------------------------------------------------------ */
/* Extent-mapped files: whole runs of blocks with one read each (libext2fs's
 * file reader maps and reads one block at a time). Holes and unwritten
 * extents read as zeros. 0 with *done bytes, -EUCLEAN (recorded) for data
 * outside the filesystem, or -EAGAIN to let the caller use ext2fs_file_read
 * (anything else unexpected, e.g. a damaged extent tree). */
static int read_extents(struct gm_fs *fs, gm_ino_t ino, struct ext2_inode_large *inode, char *buf,
			size_t len, uint64_t off, size_t *done)
{
	ext2_filsys e2 = fs->e2fs;
	uint64_t bs = e2->blocksize, total = ext2fs_blocks_count(e2->super);
	ext2_extent_handle_t h = NULL;
	char *bounce = NULL;
	size_t got = 0;
	int rc = -EAGAIN;

	if (!(inode->i_flags & EXT4_EXTENTS_FL) || (inode->i_flags & (EXT4_INLINE_DATA_FL | EXT4_ENCRYPT_FL)))
		return -EAGAIN;
	if (ext2fs_extent_open2(e2, ino, (struct ext2_inode *)inode, &h) || ext2fs_get_mem(bs, &bounce))
		goto out;
	while (got < len) {
		uint64_t pos = off + got, lblk = pos / bs, skip = pos % bs;
		uint64_t run_blocks, run_bytes;
		struct ext2fs_extent ex;
		errcode_t e;
		bool data;

		if (lblk >= (1ull << 32))
			goto out;
		e = ext2fs_extent_goto2(h, 0, lblk);
		if (e && e != EXT2_ET_EXTENT_NOT_FOUND)
			goto out;
		if (ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ex)) {
			ex.e_lblk = UINT32_MAX;   /* empty tree: all hole */
			ex.e_len = 0;
		} else if (ex.e_lblk + ex.e_len <= lblk &&
			   ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ex)) {
			ex.e_lblk = UINT32_MAX;   /* past the last extent */
			ex.e_len = 0;
		}
		if (ex.e_lblk <= lblk && lblk < ex.e_lblk + ex.e_len) {
			data = !(ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT);
			run_blocks = ex.e_lblk + ex.e_len - lblk;
		} else if (ex.e_lblk > lblk) {
			data = false;
			run_blocks = ex.e_lblk - lblk;
		} else {
			goto out;   /* the tree does not make sense */
		}
		run_bytes = run_blocks * bs - skip;
		if (run_bytes > len - got)
			run_bytes = len - got;
		if (!data) {
			memset(buf + got, 0, run_bytes);
			got += run_bytes;
			continue;
		}
		{
			blk64_t pblk = ex.e_pblk + (lblk - ex.e_lblk);
			uint64_t whole = 0;

			if (pblk < e2->super->s_first_data_block || pblk + run_blocks > total ||
			    pblk + run_blocks < pblk) {
				/* libext2fs would only say "IO Channel failed to seek" */
				rc = gm_fs_fail(fs, -EUCLEAN, "inode %u: data at block %llu, outside the "
						"filesystem (%llu blocks)", ino, (unsigned long long)pblk,
						(unsigned long long)total);
				goto out;
			}
			if (skip || run_bytes < bs) {
				/* a partial first block through the bounce buffer */
				size_t n = (size_t)(bs - skip < run_bytes ? bs - skip : run_bytes);

				if (io_channel_read_blk64(e2->io, pblk, 1, bounce))
					goto out;
				memcpy(buf + got, bounce + skip, n);
				got += n;
				continue;
			}
			whole = run_bytes / bs;
			if (whole > (1u << 30) / bs)
				whole = (1u << 30) / bs;
			if (io_channel_read_blk64(e2->io, pblk, (int)whole, buf + got))
				goto out;
			got += whole * bs;
		}
	}
	rc = 0;
out:
	ext2fs_free_mem(&bounce);
	if (h)
		ext2fs_extent_free(h);
	*done = got;
	return rc;
}

ssize_t gm_fs_read(struct gm_fs *fs, gm_ino_t ino, void *buf, size_t len, uint64_t off)
{
	struct ext2_inode_large inode;
	ext2_file_t f = NULL;
	uint64_t size;
	size_t done = 0;
	errcode_t e;
	int rc = read_inode(fs, ino, &inode);

	if (rc)
		return rc;
	if (LINUX_S_ISDIR(inode.i_mode))
		return gm_fs_fail(fs, -EISDIR, "inode %u is a directory", ino);
	if (!LINUX_S_ISREG(inode.i_mode))
		return gm_fs_fail(fs, -EINVAL, "inode %u is not a regular file", ino);
	size = EXT2_I_SIZE(&inode);
	if (off >= size || len == 0)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	rc = read_extents(fs, ino, &inode, buf, len, off, &done);
	if (rc == 0)
		return (ssize_t)done;
	if (rc != -EAGAIN)
		return rc;
	done = 0;
	e = ext2fs_file_open2(fs->e2fs, ino, (struct ext2_inode *)&inode, 0, &f);
	if (e)
		return gm_fs_fail_ext2(fs, e, "opening a file");
	e = ext2fs_file_llseek(f, off, EXT2_SEEK_SET, NULL);
	while (!e && done < len) {
		unsigned int want = len - done > (1u << 30) ? (1u << 30) : (unsigned int)(len - done);
		unsigned int got = 0;

		e = ext2fs_file_read(f, (char *)buf + done, want, &got);
		if (!e && got == 0)
			break;
		done += got;
	}
	ext2fs_file_close(f);
	if (e)
		return gm_fs_fail_ext2(fs, e, "reading a file");
	return (ssize_t)done;
}

ssize_t gm_fs_readlink(struct gm_fs *fs, gm_ino_t ino, char *buf, size_t size)
{
	struct ext2_inode_large inode;
	ext2_file_t f = NULL;
	char *tmp = NULL;
	uint64_t len;
	size_t got = 0;
	errcode_t e = 0;
	int rc = read_inode(fs, ino, &inode);

	if (rc)
		return rc;
	if (!LINUX_S_ISLNK(inode.i_mode))
		return gm_fs_fail(fs, -EINVAL, "inode %u is not a symbolic link", ino);
	len = EXT2_I_SIZE(&inode);
	if (len == 0 || len > fs->e2fs->blocksize || len >= PATH_MAX)
		return gm_fs_fail(fs, -EUCLEAN, "symbolic link %u has an invalid length %llu", ino,
				  (unsigned long long)len);
	e = ext2fs_get_memzero(len + EXT4_MIN_INLINE_DATA_SIZE + fs->e2fs->blocksize, &tmp);
	if (e)
		return gm_fs_fail_ext2(fs, e, "reading a symbolic link");
	if (inode.i_flags & EXT4_INLINE_DATA_FL) {
		size_t isz = 0;

		e = ext2fs_inline_data_size(fs->e2fs, ino, &isz);
		if (!e && isz > len + EXT4_MIN_INLINE_DATA_SIZE + fs->e2fs->blocksize)
			e = EXT2_ET_INLINE_DATA_NO_SPACE;
		if (!e)
			e = ext2fs_inline_data_get(fs->e2fs, ino, (struct ext2_inode *)&inode, tmp, &isz);
		got = (size_t)len;
	} else if (ext2fs_is_fast_symlink((struct ext2_inode *)&inode)) {
		if (len > sizeof(inode.i_block)) {
			e = EXT2_ET_CORRUPT_SUPERBLOCK;   /* nonsense inode */
		} else {
			memcpy(tmp, inode.i_block, (size_t)len);
			got = (size_t)len;
		}
	} else {
		unsigned int n = 0;

		e = ext2fs_file_open2(fs->e2fs, ino, (struct ext2_inode *)&inode, 0, &f);
		if (!e)
			e = ext2fs_file_read(f, tmp, (unsigned int)len, &n);
		if (f)
			ext2fs_file_close(f);
		got = n;
	}
	if (e) {
		ext2fs_free_mem(&tmp);
		return gm_fs_fail_ext2(fs, e, "reading a symbolic link");
	}
	if (got > size)
		got = size;
	memcpy(buf, tmp, got);
	ext2fs_free_mem(&tmp);
	return (ssize_t)got;
}
