/* fuzz_fs.c — libFuzzer target: the filesystem layer (editor/fs, editor/view)
 * on hostile ext2/3/4 metadata.
 *
 * Seeds are small valid filesystems of several feature sets, built once per
 * process by mke2fs/debugfs/e2fsck (SEED_SCRIPT below; deterministic: fixed
 * time, UUID and hash seed). An input names one and says how to damage it
 * and what to do:
 *   byte 0      seed (modulo the number of seeds)
 *   byte 1      L, the length of the script
 *   L bytes     the script: a mode byte (bit 0: roll the edits back, bit 1:
 *               exactly, the disk must come back byte for byte; bit 2:
 *               recompute the superblock's, descriptors' and patched inodes'
 *               checksums after patching, as an attacker would), then 4
 *               bytes per edit (put, rm, rename, mkdir, symlink, truncate,
 *               setxattr, removexattr, link, setattr)
 *   the rest    patches: { le32 offset, u8 length, length bytes } applied to
 *               the seed image
 * The custom mutator knows where each seed keeps its superblock, group
 * descriptors, bitmaps, inodes (i_block: extent headers and leaves), extent
 * tree blocks, directory and htree blocks and xattr blocks, and writes
 * boundary values there; libFuzzer's own mutations work on the same bytes.
 *
 * Each run: the patched image on a tmpfs file (only its non-zero 4 KiB
 * pieces are written), opened read-write (or read-only when refused) the
 * real way (gm_image_open, gm_view_open: the layers the verbs and the mount
 * use, down to our io_manager); the whole tree is
 * walked (readdir, getattr, readlink, xattrs, path resolution) and every
 * file read (bounded); then the script's edits, inside one operation that
 * ends as the script says; flush, free ranges, close.
 * Invariants, on every input: every failure carries a one-line message; a
 * rolled-back exact operation leaves the disk byte for byte as before; any
 * rollback (the script's, or that of a failed edit or flush inside it)
 * leaves the allocation bitmaps as before (GM_FS_VERIFY_UNDO); on an
 * undamaged seed the edits leave a filesystem e2fsck -fn finds clean
 * (e2fsck spawned directly, no shell).
 * Speed (ASan+UBSan, 2 cores, tests/fuzz/run.sh): a run costs about 2 ms,
 * nearly all of it in the code under test: the tree walk (a third: every
 * lookup, readdir, xattr and read goes through libext2fs and our io_manager,
 * some 20 us each under the sanitizers) and the edits (two fifths: a write
 * allocates and writes block by block); opening (gm_view_open: the
 * partition probe by libfdisk and libblkid, now made once per open), the
 * image file and closing are the rest. Without sanitizers the same harness
 * runs about 2.5 times faster.
 *
 * Regressions (tests/fuzz/regressions/fs/) are self-contained: "GMFS", le32
 * length, the gzip'd patched image, then the script. Running the fuzzer on
 * one input with GM_FUZZ_FS_EXPORT=FILE writes that form of it. */
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "editor/container/wal.h"
#include "editor/fs/fs.h"
#include "editor/fs/fs_private.h"
#include "editor/view/path.h"
#include "editor/view/view.h"
#include "tests/fuzz/fuzz_common.h"

#define FS_MAX_IMAGE (8u << 20)
#define FS_MAX_ENTRIES 1500
#define FS_MAX_READ (1u << 20)
#define FS_MAX_PATHS 64

/* --- seeds ----------------------------------------------------------------
 * Each recipe: mke2fs options and size; the tree is the same for all, but
 * for the symlink loop (/loop -> loop), in one seed only: resolving it
 * costs 40 lookups and readlinks (ELOOP), a sixth of a run's time, and
 * whether a name loops does not depend on the filesystem's features. */
struct fs_recipe {
	const char *name, *mkfs;
	unsigned kib;
	int casefold, loop;
};

static const struct fs_recipe fs_recipes[] = {
	{ "ext4-4k-csum", "-t ext4 -b 4096 -O ^has_journal", 2048, 0, 1 },
	{ "ext4-1k", "-t ext4 -b 1024 -O ^has_journal,^metadata_csum", 1024, 0, 0 },
	{ "ext4-1k-inline", "-t ext4 -b 1024 -O ^has_journal,^metadata_csum,inline_data", 1024, 0, 0 },
	{ "ext4-1k-casefold", "-t ext4 -b 1024 -O ^has_journal,^metadata_csum,casefold", 1024, 1, 0 },
	{ "ext2-blockmap", "-t ext2 -b 1024", 1024, 0, 0 },
	{ "ext4-1k-csum-inline", "-t ext4 -b 1024 -I 256 -O ^has_journal,inline_data", 1024, 0, 0 },
	{ "ext3-journal", "-t ext3 -b 1024 -J size=1", 3072, 0, 0 },
};
#define FS_NSEEDS (sizeof(fs_recipes) / sizeof(fs_recipes[0]))

/* $1 image, $2 mke2fs options, $3 KiB, $4 casefold, $5 loop; run in a
 * scratch dir. */
static const char fs_seed_script[] =
	"set -e\n"
	"export E2FSPROGS_FAKE_TIME=1700000000 E2FSCK_TIME=1700000000 PATH=/usr/sbin:/sbin:$PATH\n"
	"rm -rf t; mkdir -p t/etc/ssh t/dir t/usr/share\n"
	"echo fuzz > t/etc/hostname\n"
	"printf 'root:x:0:0:root:/root:/bin/bash\\nbin:x:2:2::/bin:/usr/sbin/nologin\\n' > t/etc/passwd\n"
	"for i in $(seq 1 60); do echo \"Option$i value$i\"; done > t/etc/ssh/sshd_config\n"
	"head -c 40000 /dev/zero | tr '\\0' 'b' > t/big.bin\n"
	"for i in $(seq 10 33); do echo $i > t/dir/file-$i-with-a-name-long-enough-to-need-an-htree; done\n"
	"ln -s /usr/share/zoneinfo/UTC t/etc/localtime\n"
	"ln -s $(printf 'x%.0s' $(seq 1 200)) t/long\n"
	"ln -s /nowhere t/dangling; if [ \"$5\" = 1 ]; then ln -s loop t/loop; fi\n"
	"find t -exec touch -h -d @1700000000 {} +\n"
	"rm -f \"$1\"; truncate -s \"$3\"k \"$1\"\n"
	"mke2fs -q -F $2 -U 6f6e2d1e-5b3a-4c2d-9e8f-0a1b2c3d4e5f "
	"-E hash_seed=1b2c3d4e-5f60-4718-a9ba-cbdcedfe0f10,root_owner=0:0 -d t \"$1\"\n"
	"head -c 1500 /dev/zero | tr '\\0' 'v' > big.val\n"
	"{ echo 'ea_set /etc/passwd user.small hello'; echo 'ea_set -f big.val /big.bin user.big';\n"
	"  echo 'ln /etc/hostname /hardlink'; echo 'cd /etc'; echo 'mknod null c 1 3'; echo 'mknod fifo p';\n"
	"  if [ \"$4\" = 1 ]; then echo 'mkdir /ci'; echo 'set_inode_field /ci flags 0x40080000';\n"
	"    for i in $(seq 10 33); do echo \"write /dev/null /ci/File-$i-With-A-Long-Mixed-Case-Name.TXT\"; done; fi; } > cmds\n"
	"debugfs -w -f cmds \"$1\" >/dev/null 2>&1\n"
	"e2fsck -fyD \"$1\" >/dev/null 2>&1 || [ $? -le 2 ]\n"
	"e2fsck -fn \"$1\" >/dev/null 2>&1\n";

struct fs_region {
	uint32_t off, len;
};

struct fs_seed {
	uint8_t *img;
	size_t size;
	struct fs_region *r;          /* metadata worth damaging */
	size_t nr, rcap;
	uint32_t *chunks;             /* non-zero 4 KiB pieces */
	size_t nchunks;
};

static struct fs_seed fs_seeds[FS_NSEEDS];
static size_t fs_nseeds;

static void fs_add_region(struct fs_seed *s, uint64_t off, uint64_t len)
{
	if (off >= s->size || len == 0)
		return;
	if (len > s->size - off)
		len = s->size - off;
	if (s->nr == s->rcap) {
		s->rcap = s->rcap ? s->rcap * 2 : 64;
		s->r = realloc(s->r, s->rcap * sizeof(*s->r));
		GM_FUZZ_ASSERT(s->r);
	}
	s->r[s->nr++] = (struct fs_region){ (uint32_t)off, (uint32_t)len };
}

struct fs_walk_ctx {
	struct fs_seed *s;
	ext2_filsys e2;
	bool dir;
};

static int fs_region_block(ext2_filsys e2, blk64_t *b, e2_blkcnt_t cnt, blk64_t ref, int roff, void *priv)
{
	struct fs_walk_ctx *c = priv;

	(void)ref; (void)roff;
	/* the tree's own blocks, and every block of a directory */
	if (cnt < 0 || c->dir)
		fs_add_region(c->s, *b * e2->blocksize, e2->blocksize);
	return 0;
}

/* Where the seed keeps its metadata (libext2fs reads the valid seed). */
static void fs_find_regions(struct fs_seed *s, const char *path)
{
	ext2_filsys e2 = NULL;
	unsigned isize;

	GM_FUZZ_ASSERT(ext2fs_open(path, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &e2) == 0);
	GM_FUZZ_ASSERT(ext2fs_read_bitmaps(e2) == 0);
	isize = EXT2_INODE_SIZE(e2->super);
	fs_add_region(s, 1024, 1024);
	fs_add_region(s, (uint64_t)(e2->super->s_first_data_block + 1) * e2->blocksize,
		      (uint64_t)e2->desc_blocks * e2->blocksize);
	for (dgrp_t g = 0; g < e2->group_desc_count; g++) {
		fs_add_region(s, ext2fs_block_bitmap_loc(e2, g) * e2->blocksize, e2->blocksize);
		fs_add_region(s, ext2fs_inode_bitmap_loc(e2, g) * e2->blocksize, e2->blocksize);
	}
	for (ext2_ino_t ino = 1; ino <= e2->super->s_inodes_count; ino++) {
		struct ext2_inode_large in;
		struct fs_walk_ctx c = { s, e2, false };
		dgrp_t g = (ino - 1) / e2->super->s_inodes_per_group;
		uint64_t slot;

		if (!ext2fs_test_inode_bitmap2(e2->inode_map, ino))
			continue;
		slot = ext2fs_inode_table_loc(e2, g) * e2->blocksize +
		       (uint64_t)((ino - 1) % e2->super->s_inodes_per_group) * isize;
		fs_add_region(s, slot, isize);
		memset(&in, 0, sizeof(in));
		if (ext2fs_read_inode_full(e2, ino, (struct ext2_inode *)&in, sizeof(in)))
			continue;
		if (ext2fs_file_acl_block(e2, (struct ext2_inode *)&in))
			fs_add_region(s, ext2fs_file_acl_block(e2, (struct ext2_inode *)&in) * e2->blocksize,
				      e2->blocksize);
		c.dir = LINUX_S_ISDIR(in.i_mode);
		if (ext2fs_inode_has_valid_blocks2(e2, (struct ext2_inode *)&in))
			ext2fs_block_iterate3(e2, ino, BLOCK_FLAG_READ_ONLY, NULL, fs_region_block, &c);
	}
	ext2fs_close_free(&e2);
}

static void fs_build_seeds(void)
{
	char dir[4200], script[4300], img[4300], cmd[9000];

	initialize_ext2_error_table();
	gm_fuzz_path(dir, sizeof(dir), "seeds");
	snprintf(script, sizeof(script), "%s/seed.sh", dir);
	GM_FUZZ_ASSERT(mkdir(dir, 0700) == 0 || errno == EEXIST);
	gm_fuzz_write_file(script, fs_seed_script, strlen(fs_seed_script));
	for (size_t i = 0; i < FS_NSEEDS; i++) {
		const struct fs_recipe *r = &fs_recipes[i];
		struct fs_seed *s = &fs_seeds[fs_nseeds];
		FILE *f;
		int st;

		snprintf(img, sizeof(img), "%s/%s.img", dir, r->name);
		snprintf(cmd, sizeof(cmd), "cd '%s' && bash seed.sh '%s' '%s' %u %d %d", dir, img, r->mkfs,
			 r->kib, r->casefold, r->loop);
		st = system(cmd);
		if (st != 0) {
			fprintf(stderr, "fuzz_fs: seed %s could not be built (%d): skipped\n", r->name, st);
			continue;
		}
		s->size = (size_t)r->kib << 10;
		s->img = malloc(s->size);
		f = fopen(img, "rb");
		GM_FUZZ_ASSERT(s->img && f && fread(s->img, 1, s->size, f) == s->size);
		fclose(f);
		fs_find_regions(s, img);
		for (size_t c = 0; c < s->size / 4096; c++) {
			const uint8_t *p = s->img + c * 4096;

			if (p[0] || memcmp(p, p + 1, 4095)) {
				s->chunks = realloc(s->chunks, (s->nchunks + 1) * sizeof(*s->chunks));
				GM_FUZZ_ASSERT(s->chunks);
				s->chunks[s->nchunks++] = (uint32_t)c;
			}
		}
		fs_nseeds++;
	}
	GM_FUZZ_ASSERT(fs_nseeds > 0);
}

/* --- the run --------------------------------------------------------------- */

struct fs_run {
	struct gm_view *v;
	char *paths[FS_MAX_PATHS];    /* what the walk found, to edit */
	bool isdir[FS_MAX_PATHS];
	size_t npaths;
	size_t entries, read_bytes;
	char *buf;
};

static void fs_check_msg(struct gm_view *v)
{
	const char *m = gm_view_errmsg(v);

	GM_FUZZ_ASSERT(m && m[0]);
	GM_FUZZ_ASSERT(!strchr(m, '\n'));
}

struct fs_dirent {
	char name[256];
	gm_vino_t ino;
};

struct fs_list {
	struct fs_dirent *e;
	size_t n, cap;
};

static int fs_collect(void *priv, const char *name, size_t namelen, gm_vino_t ino, unsigned dtype,
		      uint64_t next_off)
{
	struct fs_list *l = priv;

	(void)dtype; (void)next_off;
	GM_FUZZ_ASSERT(namelen <= 255);
	if (l->n >= 512)
		return 1;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->e = realloc(l->e, l->cap * sizeof(*l->e));
		GM_FUZZ_ASSERT(l->e);
	}
	memcpy(l->e[l->n].name, name, namelen);
	l->e[l->n].name[namelen] = '\0';
	l->e[l->n].ino = ino;
	l->n++;
	return 0;
}

static void fs_read_file(struct fs_run *r, gm_vino_t ino, uint64_t size)
{
	uint64_t off = 0, want = size < 64 * 1024 ? size : 64 * 1024;

	while (off < want && r->read_bytes < FS_MAX_READ) {
		ssize_t n = gm_view_read(r->v, ino, r->buf, 65536, off);

		if (n < 0) {
			fs_check_msg(r->v);
			return;
		}
		GM_FUZZ_ASSERT((size_t)n <= 65536);
		if (n == 0)
			return;
		off += (uint64_t)n;
		r->read_bytes += (size_t)n;
	}
}

static void fs_walk(struct fs_run *r, gm_vino_t dir, const char *path, int depth)
{
	struct fs_list l = { 0 };
	char child[4096];
	int rc;

	if (depth > 12 || r->entries >= FS_MAX_ENTRIES)
		return;
	rc = gm_view_readdir(r->v, dir, 0, fs_collect, &l);
	if (rc < 0)
		fs_check_msg(r->v);
	for (size_t i = 0; i < l.n && r->entries < FS_MAX_ENTRIES; i++) {
		struct fs_dirent *e = &l.e[i];
		struct stat st;
		gm_vino_t ino;
		char lnk[4097], xl[4096];
		ssize_t n;

		r->entries++;
		if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s/%s", depth ? path : "", e->name);
		ino = e->ino;
		/* the name back to its inode (linear scan or htree): a few per
		 * directory, a lookup per entry would cost O(n^2) */
		if (i < 6 && gm_view_lookup(r->v, dir, e->name, &ino) < 0) {
			fs_check_msg(r->v);
			continue;
		}
		if (gm_view_getattr(r->v, ino, &st) < 0) {
			fs_check_msg(r->v);
			continue;
		}
		n = gm_view_listxattr(r->v, ino, xl, sizeof(xl));
		if (n > 0) {
			GM_FUZZ_ASSERT((size_t)n <= sizeof(xl));
			for (size_t k = 0; k < (size_t)n; k += strlen(xl + k) + 1) {
				char val[512];

				if (!memchr(xl + k, '\0', (size_t)n - k))
					break;
				if (gm_view_getxattr(r->v, ino, xl + k, val, sizeof(val)) < 0)
					fs_check_msg(r->v);
			}
		}
		if (r->npaths < FS_MAX_PATHS && (r->npaths < 8 || (e->name[0] ^ depth) % 3 == 0)) {
			r->paths[r->npaths] = strdup(child);
			r->isdir[r->npaths++] = S_ISDIR(st.st_mode);
		}
		if (S_ISLNK(st.st_mode)) {
			n = gm_view_readlink(r->v, ino, lnk, sizeof(lnk) - 1);
			if (n < 0)
				fs_check_msg(r->v);
			else
				GM_FUZZ_ASSERT((size_t)n < sizeof(lnk));
			/* resolution inside the image root */
			if (gm_path_stat(r->v, child, &st) < 0)
				fs_check_msg(r->v);
		} else if (S_ISREG(st.st_mode)) {
			fs_read_file(r, ino, (uint64_t)st.st_size);
		} else if (S_ISDIR(st.st_mode) && ino != dir) {
			fs_walk(r, ino, child, depth + 1);
		}
	}
	free(l.e);
}

static const char *fs_pick(struct fs_run *r, uint8_t b)
{
	return r->npaths ? r->paths[b % r->npaths] : "/";
}

/* One edit per 4 script bytes. */
static void fs_edit(struct fs_run *r, const uint8_t *s)
{
	struct gm_view *fs = r->v;
	const char *p = fs_pick(r, s[1]), *q = fs_pick(r, s[2]);
	char name[300], data[8192];
	gm_vino_t ino, dir, d2;
	char last[NAME_MAX + 1], last2[NAME_MAX + 1];
	int rc = 0;

	memset(data, 'a' + s[3] % 26, sizeof(data));
	snprintf(name, sizeof(name), "%s/n%u", r->isdir[s[1] % (r->npaths ? r->npaths : 1)] ? p : "",
		 s[2]);
	switch (s[0] % 10) {
	case 0:      /* put: small, or large enough to run out of space */
		if (s[3] & 0x80) {
			static char *big;
			/* up to 64 KiB (a few fill a seed), 256 KiB for 0xff */
			size_t len = s[3] == 0xff ? 256u << 10 : ((size_t)(s[3] & 0x7f) + 1) << 9;

			if (!big) {
				big = malloc(512 << 10);
				GM_FUZZ_ASSERT(big);
				memset(big, 'z', 512 << 10);
			}
			rc = gm_path_write_file(fs, s[3] & 1 ? p : name, big, len, 0644, NULL);
		} else {
			rc = gm_path_write_file(fs, s[3] & 1 ? p : name, data, (size_t)s[3] * 31, 0644, NULL);
		}
		break;
	case 1:
		rc = gm_path_remove(fs, p);
		break;
	case 2:
		rc = gm_path_resolve_parent(fs, p, &dir, last);
		if (!rc)
			rc = gm_path_resolve_parent(fs, s[3] & 1 ? name : q, &d2, last2);
		if (!rc)
			rc = gm_view_rename(fs, dir, last, d2, last2, s[3] >> 6);
		break;
	case 3:
		rc = gm_path_mkdir(fs, name, 0755, NULL);
		break;
	case 4:
		rc = gm_path_symlink(fs, s[3] & 1 ? q : "../../../../etc/passwd", name, NULL);
		break;
	case 5:
		rc = gm_path_resolve(fs, p, 0, &ino);
		if (!rc)
			rc = gm_view_truncate(fs, ino, (uint64_t)s[3] * 997);
		break;
	case 6:
		rc = gm_path_resolve(fs, p, GM_PATH_NOFOLLOW, &ino);
		if (!rc)
			rc = gm_view_setxattr(fs, ino, s[3] & 1 ? "user.small" : "user.new", data,
					    (size_t)s[3] * 13, 0);
		break;
	case 7:
		rc = gm_path_resolve(fs, p, GM_PATH_NOFOLLOW, &ino);
		if (!rc)
			rc = gm_view_removexattr(fs, ino, s[3] & 1 ? "user.small" : "user.big");
		break;
	case 8:
		rc = gm_path_resolve(fs, p, GM_PATH_NOFOLLOW, &ino);
		if (!rc)
			rc = gm_path_resolve_parent(fs, name, &dir, last);
		if (!rc)
			rc = gm_view_link(fs, ino, dir, last);
		break;
	default: {
		struct gm_setattr sa = { .valid = GM_SET_MODE | GM_SET_SIZE, .mode = 0600,
					 .size = (uint64_t)s[3] << 12 };

		rc = gm_path_resolve(fs, p, 0, &ino);
		if (!rc)
			rc = gm_view_setattr(fs, ino, &sa, NULL);
		break;
	}
	}
	if (rc < 0)
		fs_check_msg(fs);
}

/* e2fsck -fn of the image file: clean? (spawned directly, without a
 * shell: half the cost of system()) */
static bool fs_fsck_clean(const char *path)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
	static char e2fsck[64];
	char *argv[] = { e2fsck, (char *)"-fn", (char *)path, NULL };
	posix_spawn_file_actions_t fa;
	extern char **environ;
	pid_t pid;
	int st;

	for (size_t i = 0; !e2fsck[0] && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(e2fsck, sizeof(e2fsck), "%s/e2fsck", dirs[i]);
		if (access(e2fsck, X_OK))
			e2fsck[0] = '\0';
	}
	GM_FUZZ_ASSERT(e2fsck[0]);
	GM_FUZZ_ASSERT(posix_spawn_file_actions_init(&fa) == 0);
	GM_FUZZ_ASSERT(posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) == 0);
	GM_FUZZ_ASSERT(posix_spawn_file_actions_adddup2(&fa, 1, 2) == 0);
	st = posix_spawn(&pid, e2fsck, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	GM_FUZZ_ASSERT(st == 0);
	while (waitpid(pid, &st, 0) < 0)
		GM_FUZZ_ASSERT(errno == EINTR);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void fs_put_image(const char *path, const uint8_t *img, size_t size, const uint32_t *chunks,
			 size_t nchunks, const uint8_t *dirty, size_t ndirty)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	GM_FUZZ_ASSERT(fd >= 0);
	GM_FUZZ_ASSERT(ftruncate(fd, 0) == 0 && ftruncate(fd, (off_t)size) == 0);
	for (size_t i = 0; chunks && i < nchunks; i++)
		GM_FUZZ_ASSERT(pwrite(fd, img + (size_t)chunks[i] * 4096, 4096, (off_t)chunks[i] * 4096) == 4096);
	for (size_t c = 0; dirty && c < ndirty; c++)
		if (dirty[c])
			GM_FUZZ_ASSERT(pwrite(fd, img + c * 4096, 4096, (off_t)c * 4096) == 4096);
	if (!chunks && !dirty)
		GM_FUZZ_ASSERT(pwrite(fd, img, size, 0) == (ssize_t)size);
	close(fd);
}

/* What an attacker can do too: valid checksums over the damage. Rewrites
 * the superblock's, the group descriptors' and each patched inode's
 * checksums (libext2fs computes them when it writes), then reads the file
 * back into img, so that the rollback check compares with it. */
static void fs_fix_csums(const char *path, uint8_t *img, size_t size, const uint8_t *dirty)
{
	ext2_filsys e2 = NULL;
	int fd;

	if (ext2fs_open(path, EXT2_FLAG_RW | EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
			unix_io_manager, &e2))
		return;
	if (ext2fs_has_feature_metadata_csum(e2->super) && !gm_fs_check_super(e2, (char[160]){ 0 }, 160)) {
		unsigned isize = EXT2_INODE_SIZE(e2->super);

		for (dgrp_t g = 0; g < e2->group_desc_count && g < 64; g++) {
			blk64_t it = ext2fs_inode_table_loc(e2, g);
			uint64_t lo = it * e2->blocksize,
				 hi = lo + (uint64_t)e2->inode_blocks_per_group * e2->blocksize;

			ext2fs_group_desc_csum_set(e2, g);
			for (uint64_t c = lo / 4096; it && hi <= size && c < (hi + 4095) / 4096; c++) {
				if (!dirty[c])
					continue;
				for (uint64_t off = c * 4096 > lo ? c * 4096 : lo;
				     off < (c + 1) * 4096 && off < hi; off += isize) {
					ext2_ino_t ino = (ext2_ino_t)(g * e2->super->s_inodes_per_group +
								     (off - lo) / isize + 1);
					struct ext2_inode_large in;

					if (ino > e2->super->s_inodes_count)
						break;
					if (!ext2fs_read_inode_full(e2, ino, (struct ext2_inode *)&in, sizeof(in)))
						ext2fs_write_inode_full(e2, ino, (struct ext2_inode *)&in, sizeof(in));
				}
			}
		}
		ext2fs_mark_super_dirty(e2);
	}
	ext2fs_close_free(&e2);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	GM_FUZZ_ASSERT(fd >= 0 && pread(fd, img, size, 0) == (ssize_t)size);
	close(fd);
}

static bool fs_same_as(const char *path, const uint8_t *img, size_t size)
{
	static uint8_t *got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool same;

	if (!got)
		got = malloc(FS_MAX_IMAGE);
	GM_FUZZ_ASSERT(fd >= 0 && got && size <= FS_MAX_IMAGE);
	same = pread(fd, got, size, 0) == (ssize_t)size && memcmp(got, img, size) == 0;
	close(fd);
	return same;
}

static void fs_session(const char *path, const uint8_t *img, size_t size, const uint8_t *script,
		       size_t slen, bool pristine)
{
	char cache[4200];
	struct gm_image_opts io = { 0 };
	struct gm_view_opts fo = { 0 };
	struct gm_error err = { 0 };
	struct gm_image *image = NULL;
	struct fs_run r = { 0 };
	struct gm_rangeset holes = GM_RANGESET_INIT;
	bool ro = false, rollback = slen && (script[0] & 1), exact = slen && (script[0] & 2);
	int rc;

	gm_fuzz_path(cache, sizeof(cache), "cache");
	io.cache_dir = cache;
	if (gm_image_open(path, &io, &image, &err) < 0) {
		GM_FUZZ_ASSERT(gm_error_msg(&err)[0] && !strchr(gm_error_msg(&err), '\n'));
		return;
	}
	rc = gm_view_open(image, &fo, &r.v, &err);
	if (rc < 0) {
		GM_FUZZ_ASSERT(gm_error_msg(&err)[0] && !strchr(gm_error_msg(&err), '\n'));
		gm_error_clear(&err);
		fo.read_only = ro = true;
		rc = gm_view_open(image, &fo, &r.v, &err);
		if (rc < 0) {
			GM_FUZZ_ASSERT(gm_error_msg(&err)[0] && !strchr(gm_error_msg(&err), '\n'));
			gm_image_close(image);
			return;
		}
	}
	{
		static char *buf;

		if (!buf)
			buf = malloc(65536);
		GM_FUZZ_ASSERT(buf);
		r.buf = buf;
	}
	fs_walk(&r, gm_view_root(r.v), "/", 0);
	if (!ro && slen) {
		GM_FUZZ_ASSERT(gm_view_op_begin(r.v, exact ? GM_OP_EXACT : 0) == 0);
		for (size_t i = 1; i + 4 <= slen && i < 1 + 4 * 16; i += 4)   /* 16 edits at most */
			fs_edit(&r, script + i);
		gm_view_op_end(r.v, rollback ? -ECANCELED : 0);
		/* the undo gives the disk back byte for byte (all of it when
		 * exact; else at least the metadata: the free blocks' content
		 * may differ, so only exact is compared) */
		if (rollback && exact && !fs_same_as(path, img, size)) {
			fprintf(stderr, "fuzz_fs: the disk differs after a rollback\n");
			abort();
		}
	}
	if (!ro) {
		const char *what = "";

		if (gm_view_free_ranges(r.v, &holes) < 0)
			fs_check_msg(r.v);
		if (gm_view_flush(r.v) < 0)
			fs_check_msg(r.v);
		/* GM_FS_VERIFY_UNDO: a bitmap that did not come back is damage,
		 * after any rollback (the script's, or that of an edit or a
		 * flush that failed inside it) */
		if (gm_view_damaged(r.v, &what, NULL) && strstr(what, "undo check")) {
			fprintf(stderr, "fuzz_fs: %s\n", what);
			abort();
		}
	}
	pristine = pristine && !ro && !gm_view_damaged(r.v, NULL, NULL);
	gm_error_clear(&err);
	if (gm_view_close(r.v, &err) < 0)
		GM_FUZZ_ASSERT(gm_error_msg(&err)[0] && !strchr(gm_error_msg(&err), '\n'));
	gm_rangeset_free(&holes);
	gm_image_close(image);
	if (pristine && !fs_fsck_clean(path)) {
		fprintf(stderr, "fuzz_fs: edits on an undamaged seed left a filesystem e2fsck rejects\n");
		abort();
	}
	for (size_t i = 0; i < r.npaths; i++)
		free(r.paths[i]);
}

/* Self-contained form (regressions): "GMFS", le32 n, n bytes of gzip. */
static uint8_t *fs_gunzip(const uint8_t *gz, size_t n, size_t *out)
{
	z_stream z;
	uint8_t *buf = malloc(FS_MAX_IMAGE);
	int zr;

	GM_FUZZ_ASSERT(buf);
	memset(&z, 0, sizeof(z));
	GM_FUZZ_ASSERT(inflateInit2(&z, 15 + 16) == Z_OK);
	z.next_in = (Bytef *)(uintptr_t)gz;
	z.avail_in = (uInt)n;
	z.next_out = buf;
	z.avail_out = FS_MAX_IMAGE;
	zr = inflate(&z, Z_FINISH);
	*out = z.total_out;
	inflateEnd(&z);
	if (zr != Z_STREAM_END || *out < 4096) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int fuzz_fs_one(const uint8_t *data, size_t n)
{
	char path[4200];
	const uint8_t *script;
	struct fs_seed *s;
	uint8_t *img, *dirty = NULL;
	size_t slen, size, ndirty, patches = 0;
	bool self = n >= 8 && !memcmp(data, "GMFS", 4);

	setenv("GM_FS_VERIFY_UNDO", "1", 1);
	gm_wal_test_nosync(true);   /* durability is not what is fuzzed: no fdatasync */
	gm_fuzz_path(path, sizeof(path), "disk.img");
	if (self) {
		uint32_t gzlen = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
				 (uint32_t)data[7] << 24;

		if (gzlen > n - 8)
			return 0;
		img = fs_gunzip(data + 8, gzlen, &size);
		if (!img)
			return 0;
		script = data + 8 + gzlen;
		slen = n - 8 - gzlen;
		fs_put_image(path, img, size, NULL, 0, NULL, 0);
		fs_session(path, img, size, script, slen, false);
		free(img);
		return 0;
	}
	if (!fs_nseeds)
		fs_build_seeds();
	if (n < 2)
		return 0;
	s = &fs_seeds[data[0] % fs_nseeds];
	size = s->size;
	slen = data[1];
	if (slen > n - 2)
		slen = n - 2;
	script = data + 2;
	{
		/* one work copy per seed, kept between runs: only what a run
		 * patched is copied back from the seed */
		static uint8_t *work[FS_NSEEDS];
		static uint8_t dirt[FS_NSEEDS][FS_MAX_IMAGE / 4096];
		size_t k = (size_t)(s - fs_seeds);

		if (!work[k]) {
			work[k] = malloc(size);
			GM_FUZZ_ASSERT(work[k]);
			memcpy(work[k], s->img, size);
		}
		img = work[k];
		ndirty = size / 4096;
		for (size_t c = 0; c < ndirty; c++)
			if (dirt[k][c]) {
				memcpy(img + c * 4096, s->img + c * 4096, 4096);
				dirt[k][c] = 0;
			}
		dirty = dirt[k];
	}
	for (size_t i = 2 + slen; i + 5 <= n;) {
		uint32_t off = ((uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
				(uint32_t)data[i + 3] << 24) % (uint32_t)size;
		size_t len = data[i + 4];

		i += 5;
		if (len > n - i)
			len = n - i;
		if (len > size - off)
			len = size - off;
		memcpy(img + off, data + i, len);
		for (size_t c = off / 4096; len && c <= (off + len - 1) / 4096; c++)
			dirty[c] = 1;
		i += len;
		patches++;
	}
	{
		const char *exp = getenv("GM_FUZZ_FS_EXPORT");

		if (exp && *exp) {
			size_t gzlen;
			uint8_t *gz = gm_fuzz_gzip(img, size, &gzlen), *out = malloc(8 + gzlen + slen);

			GM_FUZZ_ASSERT(gz && out);
			memcpy(out, "GMFS", 4);
			for (int k = 0; k < 4; k++)
				out[4 + k] = (uint8_t)(gzlen >> (8 * k));
			memcpy(out + 8, gz, gzlen);
			memcpy(out + 8 + gzlen, script, slen);
			gm_fuzz_write_file(exp, out, 8 + gzlen + slen);
			free(gz);
			free(out);
		}
	}
	fs_put_image(path, img, size, s->chunks, s->nchunks, dirty, ndirty);
	if (patches && slen && (script[0] & 4)) {
		fs_fix_csums(path, img, size, dirty);
		/* the whole image may have changed: restore it all next time */
		memset(dirty, 1, ndirty);
	}
	fs_session(path, img, size, script, slen, patches == 0);
	return 0;
}

GM_FUZZ_ENTRY(fuzz_fs_one)

#ifndef GM_FUZZ_NO_MAIN
/* --- structure-aware mutation ------------------------------------------- */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed);

static uint32_t fs_rng;
static uint32_t fs_rand(void)
{
	fs_rng ^= fs_rng << 13;
	fs_rng ^= fs_rng >> 17;
	fs_rng ^= fs_rng << 5;
	return fs_rng;
}

/* A value for a field of width w at off in the seed: a boundary, a small
 * change of what is there, a bit flip, or random. */
static void fs_interesting(const uint8_t *cur, unsigned w, uint8_t *out)
{
	static const uint32_t edge[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
					 0x10000, 0x7fffffff, 0x80000000u, 0xffffffffu, 12, 4096 };
	uint32_t v = 0, k = fs_rand() % 4;

	for (unsigned i = 0; i < w; i++)
		v |= (uint32_t)cur[i] << (8 * i);
	if (k == 0)
		v = edge[fs_rand() % (sizeof(edge) / sizeof(edge[0]))];
	else if (k == 1)
		v += (uint32_t)((int)(fs_rand() % 17) - 8);
	else if (k == 2)
		v ^= 1u << (fs_rand() % (8 * w));
	else
		v = fs_rand();
	for (unsigned i = 0; i < w; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	struct fs_seed *s;
	const struct fs_region *reg;
	uint32_t off, w;
	size_t slen, at;

	fs_rng = seed | 1;
	if (!fs_nseeds)
		fs_build_seeds();
	if (size < 2 || (size >= 4 && !memcmp(data, "GMFS", 4)) || fs_rand() % 4 == 0)
		return LLVMFuzzerMutate(data, size, max);
	s = &fs_seeds[data[0] % fs_nseeds];
	if (data[1] > size - 2)
		data[1] = (uint8_t)(size - 2);
	slen = data[1];
	switch (fs_rand() % 8) {
	case 0:              /* another seed */
		data[0] = (uint8_t)fs_rand();
		return size;
	case 1:              /* the script */
		if (slen == 0 || (fs_rand() % 2 && slen + 4 <= 255)) {
			if (size + 4 > max || slen + 4 > 255)
				return size;
			memmove(data + 2 + slen + 4, data + 2 + slen, size - 2 - slen);
			for (int i = 0; i < 4; i++)
				data[2 + slen + i] = (uint8_t)fs_rand();
			data[1] = (uint8_t)(slen + 4);
			return size + 4;
		}
		data[2 + fs_rand() % slen] = (uint8_t)fs_rand();
		return size;
	default:             /* a patch on a structure */
		if (!s->nr)
			return LLVMFuzzerMutate(data, size, max);
		reg = &s->r[fs_rand() % s->nr];
		w = 1u << (fs_rand() % 3);                 /* 1, 2 or 4 bytes */
		off = reg->off + (fs_rand() % reg->len) / w * w;
		if (off + w > s->size)
			return size;
		at = size;
		if (at + 5 + w > max)
			return LLVMFuzzerMutate(data, size, max);
		data[at] = (uint8_t)off;
		data[at + 1] = (uint8_t)(off >> 8);
		data[at + 2] = (uint8_t)(off >> 16);
		data[at + 3] = (uint8_t)(off >> 24);
		data[at + 4] = (uint8_t)w;
		fs_interesting(s->img + off, w, data + at + 5);
		return at + 5 + w;
	}
}
#endif
