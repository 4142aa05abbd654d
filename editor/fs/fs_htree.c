/* fs_htree.c — name lookup through a directory's hash index (htree), so that
 * a lookup in a directory of thousands of entries reads two or three blocks
 * instead of all of them (ext2fs_lookup scans linearly).
 *
 * Anything unexpected (no index, encrypted names, a malformed node,
 * a hash collision that crosses an index node) answers -EAGAIN and the caller
 * falls back to the linear scan, so this is purely an optimisation. An
 * answer of -ENOENT is trusted: libext2fs (ext2fs_link) and the kernel keep
 * the index complete for as long as the directory carries EXT2_INDEX_FL. */
#include "editor/fs/fs_htree.h"
#include "editor/fs/fs_inode.h"

#include <errno.h>
#include <string.h>

#define DX_BLOCK_MASK 0x0fffffffu
#define DX_MAX_LEVELS 3

static uint32_t le32_at(const char *p)
{
	const unsigned char *b = (const unsigned char *)p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint16_t le16_at(const char *p)
{
	const unsigned char *b = (const unsigned char *)p;

	return (uint16_t)(b[0] | b[1] << 8);
}

/* Reads logical block lblk of dir (checksums verified by libext2fs). */
static int read_lblk(struct gm_fs *fs, gm_ino_t dir, struct ext2_inode_large *inode, blk64_t lblk,
		     char *buf)
{
	blk64_t pblk = 0;

	if (ext2fs_bmap2(fs->e2fs, dir, (struct ext2_inode *)inode, NULL, 0, lblk, NULL, &pblk) || !pblk)
		return -EAGAIN;
	if (ext2fs_read_dir_block4(fs->e2fs, pblk, buf, 0, dir))
		return -EAGAIN;
	return 0;
}

/* Scans one leaf block for name. 0 found, -ENOENT not there, -EAGAIN bad. */
static int scan_leaf(struct gm_fs *fs, bool casefold, const char *buf, const char *name, size_t len,
		     gm_ino_t *ino, char *stored)
{
	unsigned int bs = fs->e2fs->blocksize, off = 0;

	while (off + 8 <= bs) {
		struct ext2_dir_entry *d = (struct ext2_dir_entry *)(buf + off);
		unsigned int rec_len;
		int nlen;

		if (ext2fs_get_rec_len(fs->e2fs, d, &rec_len) || rec_len < 8 || rec_len % 4 ||
		    off + rec_len > bs)
			return -EAGAIN;
		nlen = ext2fs_dirent_name_len(d);
		if (d->inode && 8u + (unsigned)nlen <= rec_len &&
		    gm_fsi_name_eq(fs, casefold, d->name, (size_t)nlen, name, len)) {
			*ino = d->inode;
			if (stored) {
				memcpy(stored, d->name, (size_t)nlen);
				stored[nlen] = '\0';
			}
			return 0;
		}
		off += rec_len;
	}
	return -ENOENT;
}

int gm_fs_htree_lookup(struct gm_fs *fs, gm_ino_t dir, struct ext2_inode_large *inode, const char *name,
		       size_t len, gm_ino_t *ino, char *stored)
{
	ext2_filsys e2 = fs->e2fs;
	unsigned int bs = e2->blocksize, levels, count, limit, max_entries;
	ext2_dirhash_t hash = 0, minor = 0;
	const char *entries;
	char *buf = NULL;
	int version, rc = -EAGAIN;
	uint32_t blk;

	bool casefold = gm_fsi_casefolded(fs, inode);

	if (!(inode->i_flags & EXT2_INDEX_FL) || (inode->i_flags & (EXT4_INLINE_DATA_FL | EXT4_ENCRYPT_FL)) ||
	    ((inode->i_flags & EXT4_CASEFOLD_FL) && !casefold))
		return -EAGAIN;
	if (ext2fs_get_mem(bs, &buf))
		return -EAGAIN;
	if (read_lblk(fs, dir, inode, 0, buf))
		goto out;
	/* dx_root: "." (12 bytes), ".." (rest of the block), then the info. */
	if (le16_at(buf + 4) != 12 || le32_at(buf + 24) != 0 || (unsigned char)buf[29] != 8)
		goto out;
	version = (unsigned char)buf[28];
	levels = (unsigned char)buf[30];
	if (levels >= (ext2fs_has_feature_largedir(e2->super) ? DX_MAX_LEVELS : 2u))
		goto out;
	if (version > EXT2_HASH_TEA)
		goto out;   /* siphash & co: leave it to the linear scan */
	if (e2->super->s_flags & EXT2_FLAGS_UNSIGNED_HASH)
		version += 3;
	/* a casefolded directory hashes the folded name (raw bytes if not
	 * valid UTF-8), as ext2fs_link and the kernel do */
	if (ext2fs_dirhash2(version, name, (int)len, casefold ? e2->encoding : NULL,
			    casefold ? EXT4_CASEFOLD_FL : 0, e2->super->s_hash_seed, &hash, &minor))
		goto out;
	entries = buf + 32;
	max_entries = (bs - 32) / 8;
	for (unsigned level = 0;; level++) {
		unsigned lo = 1, hi, i = 0;
		uint32_t next_hash = 0;
		bool has_next;

		limit = le16_at(entries);
		count = le16_at(entries + 2);
		if (count == 0 || count > limit || limit > max_entries)
			goto out;
		hi = count - 1;
		/* the last entry whose hash is <= ours (entry 0 covers from 0) */
		while (lo <= hi) {
			unsigned mid = lo + (hi - lo) / 2;

			if (le32_at(entries + 8 * mid) <= hash) {
				i = mid;
				lo = mid + 1;
			} else {
				hi = mid - 1;
			}
		}
		blk = le32_at(entries + 8 * i + 4) & DX_BLOCK_MASK;
		has_next = i + 1 < count;
		if (has_next)
			next_hash = le32_at(entries + 8 * (i + 1));
		if (level < levels) {
			/* an index node: a fake empty entry covering the block */
			if (read_lblk(fs, dir, inode, blk, buf) || le32_at(buf) != 0)
				goto out;
			entries = buf + 8;
			max_entries = (bs - 8) / 8;
			continue;
		}
		/* the leaf, and the following ones while a hash collision runs on */
		for (;;) {
			char *leaf = NULL;

			if (ext2fs_get_mem(bs, &leaf))
				goto out;
			rc = read_lblk(fs, dir, inode, blk, leaf);
			if (!rc)
				rc = scan_leaf(fs, casefold, leaf, name, len, ino, stored);
			ext2fs_free_mem(&leaf);
			if (rc != -ENOENT)
				goto out;
			if (!has_next || (next_hash & ~1u) != (hash & ~1u)) {
				/* at the end of the node we cannot see the next hash */
				if (!has_next && level > 0)
					rc = -EAGAIN;
				goto out;
			}
			i++;
			blk = le32_at(entries + 8 * i + 4) & DX_BLOCK_MASK;
			has_next = i + 1 < count;
			if (has_next)
				next_hash = le32_at(entries + 8 * (i + 1));
		}
	}
out:
	ext2fs_free_mem(&buf);
	return rc;
}
