/* fs_check.c — the superblock's and group descriptors' geometry, checked
 * before libext2fs relies on it (fs.c calls these right after
 * ext2fs_open2). libext2fs was written for repairing filesystems: e2fsck
 * checks these values (e2fsck/super.c, check_super_block) before anything
 * else and aborts when they are wrong; the library itself trusts some of
 * them — libext2fs 1.47.0's ext2fs_read_bitmaps overflows a heap buffer
 * when s_first_data_block is not what the block size implies (found by
 * fuzz_fs). The same limits as e2fsck, refused with a clear message. */
#include "editor/fs/fs_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#define POW2(x) ((x) && !((x) & ((x) - 1)))

int gm_fs_check_super(ext2_filsys e2, char *why, size_t len)
{
	struct ext2_super_block *sb = e2->super;
	uint64_t blocks = ext2fs_blocks_count(sb), groups;
	unsigned bs = e2->blocksize, ratio = EXT2FS_CLUSTER_RATIO(e2);
	unsigned isize = EXT2_INODE_SIZE(sb), first_should;

	if (sb->s_inodes_count < 1 || blocks < 1) {
		snprintf(why, len, "%s count is 0", blocks ? "the inode" : "the block");
		return -EUCLEAN;
	}
	if (sb->s_log_block_size > EXT2_MAX_BLOCK_LOG_SIZE - EXT2_MIN_BLOCK_LOG_SIZE ||
	    sb->s_log_cluster_size < sb->s_log_block_size ||
	    sb->s_log_cluster_size > EXT2_MAX_CLUSTER_LOG_SIZE - EXT2_MIN_CLUSTER_LOG_SIZE) {
		snprintf(why, len, "block size 2^%u, cluster size 2^%u", sb->s_log_block_size + 10,
			 sb->s_log_cluster_size + 10);
		return -EUCLEAN;
	}
	first_should = sb->s_log_block_size == 0 && ratio == 1 ? 1 : 0;
	if (sb->s_first_data_block != first_should) {
		snprintf(why, len, "first data block %u, should be %u", sb->s_first_data_block,
			 first_should);
		return -EUCLEAN;
	}
	if (sb->s_clusters_per_group < 8 || sb->s_clusters_per_group > 8 * bs ||
	    sb->s_blocks_per_group != (uint64_t)sb->s_clusters_per_group * ratio) {
		snprintf(why, len, "%u blocks and %u clusters per group", sb->s_blocks_per_group,
			 sb->s_clusters_per_group);
		return -EUCLEAN;
	}
	if (!POW2(isize) || isize < EXT2_GOOD_OLD_INODE_SIZE || isize > bs) {
		snprintf(why, len, "inode size %u", isize);
		return -EUCLEAN;
	}
	if (sb->s_inodes_per_group < bs / isize || sb->s_inodes_per_group > 8 * bs) {
		snprintf(why, len, "%u inodes per group", sb->s_inodes_per_group);
		return -EUCLEAN;
	}
	groups = (blocks - sb->s_first_data_block + sb->s_blocks_per_group - 1) / sb->s_blocks_per_group;
	if ((uint64_t)sb->s_inodes_per_group * groups != sb->s_inodes_count) {
		snprintf(why, len, "%u inodes, %u per group in %" PRIu64 " groups", sb->s_inodes_count,
			 sb->s_inodes_per_group, groups);
		return -EUCLEAN;
	}
	if (sb->s_rev_level > EXT2_GOOD_OLD_REV &&
	    (sb->s_first_ino < EXT2_GOOD_OLD_FIRST_INO || sb->s_first_ino > sb->s_inodes_count)) {
		snprintf(why, len, "first inode %u", sb->s_first_ino);
		return -EUCLEAN;
	}
	if (sb->s_reserved_gdt_blocks > bs / sizeof(__u32)) {
		snprintf(why, len, "%u reserved descriptor blocks", sb->s_reserved_gdt_blocks);
		return -EUCLEAN;
	}
	if (ext2fs_has_feature_64bit(sb) &&
	    (!POW2(sb->s_desc_size) || sb->s_desc_size < EXT2_MIN_DESC_SIZE_64BIT ||
	     sb->s_desc_size > EXT2_MAX_DESC_SIZE)) {
		snprintf(why, len, "descriptor size %u", sb->s_desc_size);
		return -EUCLEAN;
	}
	return 0;
}

int gm_fs_check_groups(ext2_filsys e2, char *why, size_t len)
{
	blk64_t first = e2->super->s_first_data_block, last = ext2fs_blocks_count(e2->super) - 1;
	bool flex = ext2fs_has_feature_flex_bg(e2->super);

	for (dgrp_t g = 0; g < e2->group_desc_count; g++) {
		blk64_t lo = flex ? first : ext2fs_group_first_block2(e2, g);
		blk64_t hi = flex ? last : ext2fs_group_last_block2(e2, g);
		blk64_t bb = ext2fs_block_bitmap_loc(e2, g), ib = ext2fs_inode_bitmap_loc(e2, g);
		blk64_t it = ext2fs_inode_table_loc(e2, g);

		if (bb < lo || bb > hi || ib < lo || ib > hi || it < lo ||
		    it + e2->inode_blocks_per_group - 1 > hi || it + e2->inode_blocks_per_group - 1 < it) {
			snprintf(why, len, "group %u: block bitmap at %llu, inode bitmap at %llu, inode "
				 "table at %llu, outside blocks %llu-%llu", g, (unsigned long long)bb,
				 (unsigned long long)ib, (unsigned long long)it, (unsigned long long)lo,
				 (unsigned long long)hi);
			return -EUCLEAN;
		}
	}
	return 0;
}
