/* fs_txn.c — operations: every mutator of fs.h is all or nothing.
 *
 * An operation that fails leaves the filesystem as it was before it, on
 * disk and in libext2fs's memory, so a session can go on (a full disk is an
 * answer, not damage) and nothing half-done is ever written back:
 *   - the disk's bytes: the image's undo log (editor/disk/undo.h) saves what
 *     the io_manager overwrites and writes it back;
 *   - libext2fs's memory: the superblock, the group descriptors and the
 *     flags are copied when the operation begins (a few KiB); the block
 *     bitmap is put back by undoing each allocation libext2fs announced
 *     (its block_alloc_stats, block_alloc_stats_range and new_range hooks,
 *     the ones e2fsck uses to follow allocations), and copied before
 *     anything of libext2fs's that may free blocks (damaged metadata makes
 *     it "free" blocks that are free already: no log undoes that) — not
 *     before our own frees of an inode's blocks, which check each block in
 *     use first; the inode bitmap likewise: our changes logged
 *     (gm_fs_txn_note_inode), copied before libext2fs's own (mkdir,
 *     symlink); the inode cache is dropped. A recursive remove thus copies
 *     no bitmap at all. The handle stays the same: inode numbers stay
 *     valid. Writing a file copies nothing: it only allocates.
 * Blocks allocated inside the operation from free space are reported to the
 * undo log as fresh: data written into them is never saved (putting the
 * bitmap back frees them), which keeps writing new files as fast as before.
 *
 * Operations nest (gm_fs_op_begin): a verb or one FUSE request is one
 * operation around the mutators it calls; an inner failure undoes only the
 * inner operation.
 *
 * GM_FS_VERIFY_UNDO=1 (tests, fuzzing): each operation also copies both
 * bitmaps at its start, and a rollback that does not give them back exactly
 * marks the session damaged. */
#include "editor/fs/fs_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "editor/disk/undo.h"

static bool inconsistency(int rc)
{
	return rc == -EUCLEAN || rc == -EIO;
}

static void mark_damaged(struct gm_fs *fs, const char *op, const char *msg)
{
	if (fs->damaged)
		return;
	fs->damaged = true;
	snprintf(fs->damage, sizeof(fs->damage), "%.40s: %.440s", op, msg);
}

bool gm_fs_damaged(const struct gm_fs *fs, const char **what)
{
	if (what)
		*what = fs && fs->damaged ? fs->damage : "";
	return fs && fs->damaged;
}

/* --- libext2fs's allocation hooks ------------------------------------ */

static struct gm_fs_level *top(struct gm_fs *fs)
{
	return fs->depth ? &fs->lv[fs->depth - 1] : NULL;
}

/* Records blocks [blk, blk+num) (de)allocated inside the open operation. */
static void note_blocks(struct gm_fs *fs, blk64_t blk, blk64_t num, int inuse)
{
	struct gm_fs_level *l = top(fs);
	ext2_filsys e2 = fs->e2fs;
	blk64_t ratio = EXT2FS_CLUSTER_RATIO(e2), start, end;
	uint64_t bs = e2->blocksize;
	int rc;

	if (!l || num == 0 || inuse == 0)
		return;
	inuse = inuse > 0 ? 1 : -1;
	if (fs->blog_n > l->blog_first) {
		struct gm_fs_blk_change *last = &fs->blog[fs->blog_n - 1];

		if (last->inuse == inuse && last->blk + last->num == blk) {
			last->num += num;
			goto undo;
		}
	}
	if (fs->blog_n == fs->blog_cap) {
		size_t cap = fs->blog_cap ? fs->blog_cap * 2 : 256;
		struct gm_fs_blk_change *nb = realloc(fs->blog, cap * sizeof(*nb));

		if (!nb) {
			l->untracked = true;
			return;
		}
		fs->blog = nb;
		fs->blog_cap = cap;
	}
	fs->blog[fs->blog_n++] = (struct gm_fs_blk_change){ blk, num, inuse };
undo:
	/* whole clusters: that is what the bitmap (de)allocates */
	start = blk / ratio * ratio;
	end = (blk + num + ratio - 1) / ratio * ratio;
	if (inuse > 0) {
		/* a failure only costs saving what need not be saved */
		(void)gm_undo_note_alloc(fs->undo, fs->part.offset + start * bs, (end - start) * bs);
	} else {
		rc = gm_undo_note_free(fs->undo, fs->part.offset + start * bs, (end - start) * bs);
		if (rc)
			l->untracked = true;   /* reallocated, it would pass for fresh */
	}
}

static void on_block_stats(ext2_filsys e2, blk64_t blk, int inuse)
{
	note_blocks(e2->priv_data, blk, 1, inuse);
}

/* libext2fs 1.47.0 calls this hook after its loop has advanced blk to the
 * end of the range and num to 0 (fixed in later releases, which pass the
 * range). The range always comes straight from ext2fs_new_range (fallocate's
 * claim_range, ext2fs_alloc_range), whose answer on_new_range keeps: the
 * start is that answer's (its cluster's), the end is blk. */
static void on_block_stats_range(ext2_filsys e2, blk64_t blk, blk_t num, int inuse)
{
	struct gm_fs *fs = e2->priv_data;
	blk64_t ratio = EXT2FS_CLUSTER_RATIO(e2), start, most;

	if (num == 0 && inuse != 0) {
		start = fs->pend_blk / ratio * ratio;
		most = (fs->pend_blk + fs->pend_len + ratio - 1) / ratio * ratio;
		if (!fs->pend || blk <= start || blk > most) {
			if (top(fs))
				top(fs)->untracked = true;
			fs->pend = false;
			return;
		}
		num = (blk_t)(blk - start);
		blk = start;
	}
	fs->pend = false;
	note_blocks(fs, blk, num, inuse);
}

static errcode_t on_new_range(ext2_filsys e2, int flags, blk64_t goal, blk64_t len,
			      blk64_t *pblk, blk64_t *plen)
{
	struct gm_fs *fs = e2->priv_data;
	/* libext2fs unhooks us around this call: it does the search itself */
	errcode_t rc = ext2fs_new_range(e2, flags, goal, len, NULL, pblk, plen);

	fs->pend = rc == 0;
	if (!rc) {
		fs->pend_blk = *pblk;
		fs->pend_len = *plen;
	}
	return rc;
}

int gm_fs_txn_attach(struct gm_fs *fs)
{
	const char *v = getenv("GM_FS_VERIFY_UNDO");
	int rc;

	if (!fs->undo && (rc = gm_undo_get(fs->img, &fs->undo, NULL)))
		return rc;
	fs->e2fs->priv_data = fs;
	ext2fs_set_block_alloc_stats_callback(fs->e2fs, on_block_stats, NULL);
	ext2fs_set_block_alloc_stats_range_callback(fs->e2fs, on_block_stats_range, NULL);
	ext2fs_set_new_range_callback(fs->e2fs, on_new_range, NULL);
	fs->verify = v && !strcmp(v, "1");
	return 0;
}

/* --- levels --------------------------------------------------------- */

static unsigned long long *io_written(struct gm_fs *fs)
{
	io_stats st = NULL;

	if (fs->e2fs->io->manager->get_stats && !fs->e2fs->io->manager->get_stats(fs->e2fs->io, &st) && st)
		return &st->bytes_written;
	return NULL;
}

static void level_release(struct gm_fs_level *l)
{
	if (l->imap)
		ext2fs_free_inode_bitmap(l->imap);
	if (l->bmap)
		ext2fs_free_block_bitmap(l->bmap);
	l->bmap = NULL;
	if (l->vbmap)
		ext2fs_free_block_bitmap(l->vbmap);
	if (l->vimap)
		ext2fs_free_inode_bitmap(l->vimap);
	l->imap = NULL;
	l->vbmap = NULL;
	l->vimap = NULL;
}

static int level_begin(struct gm_fs *fs, bool exact)
{
	ext2_filsys e2 = fs->e2fs;
	struct gm_fs_level *l;
	unsigned long long *w;
	size_t gd_size;
	int rc;

	if (fs->read_only || !fs->undo)
		return 0;
	if (fs->depth == fs->lvcap) {
		unsigned cap = fs->lvcap ? fs->lvcap * 2 : 4;
		struct gm_fs_level *nl = realloc(fs->lv, cap * sizeof(*nl));

		if (!nl)
			return gm_fs_fail(fs, -ENOMEM, "out of memory");
		memset(nl + fs->lvcap, 0, (cap - fs->lvcap) * sizeof(*nl));
		fs->lv = nl;
		fs->lvcap = cap;
	}
	l = &fs->lv[fs->depth];
	gd_size = (size_t)e2->desc_blocks * e2->blocksize;
	if (l->gd_size < gd_size) {
		void *g = realloc(l->gd, gd_size);

		if (!g)
			return gm_fs_fail(fs, -ENOMEM, "out of memory");
		l->gd = g;
		l->gd_size = gd_size;
	}
	memcpy(&l->super, e2->super, sizeof(l->super));
	if (e2->orig_super)
		memcpy(&l->orig_super, e2->orig_super, sizeof(l->orig_super));
	memcpy(l->gd, e2->group_desc, gd_size);
	l->flags = e2->flags;
	w = io_written(fs);
	l->io_written = w ? *w : 0;
	l->imap = l->vimap = NULL;
	l->bmap = l->vbmap = NULL;
	l->blog_first = fs->blog_n;
	l->ilog_first = fs->ilog_n;
	l->untracked = false;
	if (fs->verify && e2->block_map && e2->inode_map &&
	    (ext2fs_copy_bitmap(e2->block_map, &l->vbmap) ||
	     ext2fs_copy_bitmap(e2->inode_map, &l->vimap))) {
		level_release(l);
		return gm_fs_fail(fs, -ENOMEM, "out of memory");
	}
	rc = gm_undo_begin(fs->undo, exact);
	if (rc) {
		level_release(l);
		return gm_fs_fail(fs, rc, "out of memory");
	}
	fs->pend = false;
	fs->depth++;
	return 0;
}

static unsigned fail_nth;
static int fail_code;

void gm_fs_test_fail_call(unsigned nth, int code)
{
	fail_nth = nth;
	fail_code = code;
}

int gm_fs_txn_begin(struct gm_fs *fs)
{
	if (fail_nth && --fail_nth == 0)
		return gm_fs_fail(fs, fail_code, "failure injected by a test");
	return level_begin(fs, false);
}

int gm_fs_txn_save_imap(struct gm_fs *fs)
{
	struct gm_fs_level *l = top(fs);

	if (!l || l->imap || !fs->e2fs->inode_map)
		return 0;
	if (ext2fs_copy_bitmap(fs->e2fs->inode_map, &l->imap))
		return gm_fs_fail(fs, -ENOMEM, "out of memory");
	l->imap_pos = fs->ilog_n;
	return 0;
}

int gm_fs_txn_note_inode(struct gm_fs *fs, gm_ino_t ino, int inuse)
{
	if (!top(fs))
		return 0;
	if (fs->ilog_n == fs->ilog_cap) {
		size_t cap = fs->ilog_cap ? fs->ilog_cap * 2 : 64;
		struct gm_fs_ino_change *n = realloc(fs->ilog, cap * sizeof(*n));

		if (!n)
			return gm_fs_fail(fs, -ENOMEM, "out of memory");
		fs->ilog = n;
		fs->ilog_cap = cap;
	}
	fs->ilog[fs->ilog_n++] = (struct gm_fs_ino_change){ (ext2_ino_t)ino, inuse > 0 ? 1 : -1 };
	return 0;
}

int gm_fs_txn_save_bmap(struct gm_fs *fs)
{
	struct gm_fs_level *l = top(fs);

	if (!l || l->bmap || !fs->e2fs->block_map)
		return 0;
	if (ext2fs_copy_bitmap(fs->e2fs->block_map, &l->bmap))
		return gm_fs_fail(fs, -ENOMEM, "out of memory");
	l->bmap_pos = fs->blog_n;
	return 0;
}

/* Keeps the innermost level's changes. 0, or -errno when the outermost
 * operation of the undo log cannot commit (its level stays open: undo it). */
static int level_commit(struct gm_fs *fs)
{
	struct gm_fs_level *l = &fs->lv[fs->depth - 1], *p;
	bool last = gm_undo_depth(fs->undo) == 1;
	int rc = gm_undo_commit(fs->undo);

	/* (an inner level that could not merge is closed all the same: its
	 * parent then saves more than it needs, never less) */
	if (rc && last)
		return rc;
	fs->depth--;
	if (fs->depth == 0) {
		fs->blog_n = 0;
		fs->ilog_n = 0;
		level_release(l);
		return 0;
	}
	/* The parent takes over what describes its own start too: the inode
	 * bitmap copy with its place in the inode log (the parent's entries
	 * before it are undone after it). */
	p = &fs->lv[fs->depth - 1];
	if (!p->imap) {
		p->imap = l->imap;
		p->imap_pos = l->imap_pos;
		l->imap = NULL;
	}
	/* the block bitmap copy, with its place in the log: the parent's
	 * entries before it (its own and this level's) are undone after it */
	if (!p->bmap) {
		p->bmap = l->bmap;
		p->bmap_pos = l->bmap_pos;
		l->bmap = NULL;
	}
	p->untracked |= l->untracked;
	level_release(l);
	return 0;
}

/* Puts libext2fs's memory and the disk back as they were when the
 * innermost level began. 0 or -errno with msg set. */
static int level_rollback(struct gm_fs *fs, char *msg, size_t msglen)
{
	struct gm_fs_level *l = &fs->lv[fs->depth - 1];
	ext2_filsys e2 = fs->e2fs;
	struct gm_error uerr = { 0 };
	unsigned long long *w;
	size_t from;
	int rc;

	msg[0] = '\0';
	rc = gm_undo_rollback(fs->undo, &uerr);
	if (rc)
		snprintf(msg, msglen, "%s", gm_error_msg(&uerr));
	from = fs->blog_n;
	if (l->bmap) {
		/* the copy is the bitmap at bmap_pos; what came before it in
		 * this level was only allocation: undone by the log */
		ext2fs_free_block_bitmap(e2->block_map);
		e2->block_map = l->bmap;
		l->bmap = NULL;
		from = l->bmap_pos;
	}
	for (size_t i = from; i > l->blog_first; i--) {
		const struct gm_fs_blk_change *c = &fs->blog[i - 1];

		if (c->inuse > 0)
			ext2fs_unmark_block_bitmap_range2(e2->block_map, c->blk, (unsigned)c->num);
		else
			ext2fs_mark_block_bitmap_range2(e2->block_map, c->blk, (unsigned)c->num);
	}
	fs->blog_n = l->blog_first;
	from = fs->ilog_n;
	if (l->imap) {
		ext2fs_free_inode_bitmap(e2->inode_map);
		e2->inode_map = l->imap;
		l->imap = NULL;
		from = l->imap_pos;
	}
	for (size_t i = from; i > l->ilog_first; i--) {
		const struct gm_fs_ino_change *c = &fs->ilog[i - 1];

		if (c->inuse > 0)
			ext2fs_unmark_inode_bitmap2(e2->inode_map, c->ino);
		else
			ext2fs_mark_inode_bitmap2(e2->inode_map, c->ino);
	}
	fs->ilog_n = l->ilog_first;
	memcpy(e2->super, &l->super, sizeof(l->super));
	if (e2->orig_super)
		memcpy(e2->orig_super, &l->orig_super, sizeof(l->orig_super));
	memcpy(e2->group_desc, l->gd, (size_t)e2->desc_blocks * e2->blocksize);
	e2->flags = l->flags;
	ext2fs_flush_icache(e2);
	w = io_written(fs);
	if (w)
		*w = l->io_written;
	fs->pend = false;
	if (!rc && l->untracked) {
		rc = -EIO;
		snprintf(msg, msglen, "a change of the allocation bitmap could not be recorded");
	}
	if (!rc && l->vbmap && (ext2fs_compare_block_bitmap(l->vbmap, e2->block_map) ||
				ext2fs_compare_inode_bitmap(l->vimap, e2->inode_map))) {
		rc = -EIO;
		snprintf(msg, msglen, "undo check: the %s bitmap differs after the rollback",
			 ext2fs_compare_block_bitmap(l->vbmap, e2->block_map) ? "block" : "inode");
	}
	level_release(l);
	fs->depth--;
	if (fs->depth == 0)
		fs->blog_n = fs->ilog_n = 0;
	return rc;
}

int gm_fs_txn_end(struct gm_fs *fs, int rc, const char *op)
{
	char msg[GM_ERRMSG_MAX];
	int urc;

	if (fs->read_only || !fs->undo || fs->depth == 0)
		return rc;
	if (rc >= 0) {
		urc = level_commit(fs);
		if (!urc)
			return rc;
		rc = gm_fs_fail(fs, urc, "%s: the edit cannot be committed: %s", op, strerror(-urc));
	}
	if (inconsistency(rc))
		mark_damaged(fs, op, gm_error_msg(&fs->err));
	urc = level_rollback(fs, msg, sizeof(msg));
	if (urc) {
		char what[GM_ERRMSG_MAX];

		snprintf(what, sizeof(what), "%.40s failed (%.200s) and could not be undone: %.200s", op,
			 gm_error_msg(&fs->err), msg);
		mark_damaged(fs, "undo", what);
		/* keep the operation's own message: it says what went wrong */
	}
	return rc;
}

void gm_fs_txn_detach(struct gm_fs *fs)
{
	char msg[GM_ERRMSG_MAX];

	while (fs->undo && fs->depth > 0)
		if (level_rollback(fs, msg, sizeof(msg)))
			mark_damaged(fs, "undo", msg);
	for (unsigned i = 0; i < fs->lvcap; i++) {
		level_release(&fs->lv[i]);
		free(fs->lv[i].gd);
	}
	free(fs->lv);
	free(fs->blog);
	free(fs->ilog);
	fs->lv = NULL;
	fs->blog = NULL;
	fs->ilog = NULL;
	fs->lvcap = 0;
	fs->blog_n = fs->blog_cap = 0;
	fs->ilog_n = fs->ilog_cap = 0;
	if (fs->e2fs) {
		ext2fs_set_block_alloc_stats_callback(fs->e2fs, NULL, NULL);
		ext2fs_set_block_alloc_stats_range_callback(fs->e2fs, NULL, NULL);
		ext2fs_set_new_range_callback(fs->e2fs, NULL, NULL);
	}
	gm_undo_put(fs->undo);
	fs->undo = NULL;
}

/* --- public ---------------------------------------------------------- */

int gm_fs_op_begin(struct gm_fs *fs, unsigned flags)
{
	return level_begin(fs, flags & GM_OP_EXACT);
}

int gm_fs_op_end(struct gm_fs *fs, int rc)
{
	return gm_fs_txn_end(fs, rc, "operation");
}
