/* test_fs_read.c — opening an image's ext4 and the read side (lookup,
 * getattr, readdir, read, readlink, statfs, free ranges). Oracles: the host
 * tree the fixture was built from (mke2fs -d), libext2fs's own view, and
 * e2fsck -fn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sys/sysmacros.h>

#include "editor/fs/fs_private.h"
#include "editor/container/image.h"
#include "tests/fixture.h"

#define NMANY 5000

static char tmpdir[4096];

static int setup_all(void **state)
{
	(void)state;
	if (!fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	if (fx_sh("mkdir -p tree/dir/sub tree/many && printf 'hello world\\n' > tree/hello.txt && "
		  "chmod 0640 tree/hello.txt && chown 1234:5678 tree/hello.txt && "
		  "touch -d '2021-01-02 03:04:05.123456789' tree/hello.txt && "
		  "printf 'deep' > tree/dir/sub/file && "
		  "truncate -s 3G tree/big.sparse && "
		  "printf MIDDLE | dd of=tree/big.sparse bs=1 seek=1073741947 conv=notrunc status=none && "
		  "printf END | dd of=tree/big.sparse bs=1 seek=3221225469 conv=notrunc status=none && "
		  "ln -s hello.txt tree/fastlink && "
		  "ln -s dir/sub/../sub/../sub/../sub/../sub/../sub/../sub/../sub/../sub/../sub/../sub/../sub/../"
		  "sub/../sub/../sub/../sub/../sub/../sub/../sub/../sub/file tree/slowlink && "
		  "mknod tree/chr c 4 64 && mknod tree/chrbig c 300 70000 && mknod tree/blk b 8 1 && "
		  "mkfifo tree/fifo && head -c 3000000 /dev/urandom > tree/rand.bin && "
		  "truncate -s 1000000 tree/holes && for o in 1 4095 4096 70000 300001 999999; do "
		  "printf 'data@%%s' $o | dd of=tree/holes bs=1 seek=$o conv=notrunc status=none; done && "
		  "python3 -c \"f = open('tree/striped', 'wb')\n"
		  "for i in range(640): f.seek(i * 8192 + i %% 4000); f.write(b'stripe-%%d' %% i)\" && "
		  "(cd tree/many && seq -f 'f%%05g' 0 %d | xargs touch)", NMANY - 1))
		return -1;
	if (fx_make_disk("mbr.raw", "tree", 96, "mbr", ""))
		return -1;
	/* mke2fs -d keeps whole seconds only: set nanoseconds (and, on one
	 * file, the epoch bits of a post-2038 time) with debugfs; e2fsck -D
	 * turns "many" into an htree (indexed) directory. */
	if (fx_sh("printf 'sif /hello.txt mtime_extra 0x1D6F3454\nsif /dir/sub/file mtime_extra 0x1D6F3455\n'"
		  " > cmds && debugfs -w -f cmds 'mbr.raw?offset=%llu'", FX_PART_OFFSET))
		return -1;
	if (fx_sh("e2fsck -fyD 'mbr.raw?offset=%llu'; test $? -le 1", FX_PART_OFFSET))
		return -1;
	if (fx_sh("mkdir -p small/d && printf 'gpt file' > small/g && printf 'x' > small/d/y"))
		return -1;
	if (fx_make_disk("gpt.raw", "small", 32, "gpt", "") || fx_make_disk("bare.raw", "small", 16, "bare", ""))
		return -1;
	if (fx_sh("mkdir -p inl/d && printf 'tiny inline' > inl/t && printf 'x' > inl/d/y && "
		  "head -c 3000 /dev/zero | tr '\\0' 'q' > inl/mid && ln -s t inl/l"))
		return -1;
	if (fx_make_disk("inline.raw", "inl", 16, "mbr", "-O inline_data -I 1024"))
		return -1;
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	fx_leave_tmpdir(tmpdir);
	return 0;
}

struct session {
	struct gm_image *img;
	struct gm_fs *fs;
};

static void open_session(struct session *s, const char *disk, bool ro, int part)
{
	struct gm_image_opts io = { .read_only = ro };
	struct gm_fs_opts fo = { .read_only = ro, .partition = part };
	struct gm_error err = { 0 };
	int rc;

	rc = gm_image_open(disk, &io, &s->img, &err);
	if (rc)
		fail_msg("gm_image_open %s: %s", disk, gm_error_msg(&err));
	rc = gm_fs_open(s->img, &fo, &s->fs, &err);
	if (rc)
		fail_msg("gm_fs_open %s: %s", disk, gm_error_msg(&err));
}

static void close_session(struct session *s)
{
	struct gm_error err = { 0 };

	assert_int_equal(gm_fs_close(s->fs, &err), 0);
	assert_false(gm_image_dirty(s->img));   /* reads never write */
	gm_image_close(s->img);
}

static gm_ino_t lookup_path(struct gm_fs *fs, const char *path)
{
	char buf[4096], *save = NULL;
	gm_ino_t ino = GM_ROOT_INO;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save))
		if (gm_fs_lookup(fs, ino, c, &ino))
			fail_msg("lookup %s: %s", path, gm_fs_errmsg(fs));
	return ino;
}

static void test_fs_read_open_mbr(void **state)
{
	struct session s;
	double t0 = fx_now();

	open_session(&s, "mbr.raw", true, 0);
	print_message("# open (ro, 96 MiB MBR disk): %.1f ms\n", (fx_now() - t0) * 1e3);
	assert_true(gm_fs_read_only(s.fs));
	assert_int_equal(gm_fs_partition_table(s.fs)->type, GM_PTABLE_MBR);
	assert_int_equal(gm_fs_partition(s.fs)->number, 1);
	assert_int_equal(gm_fs_partition(s.fs)->offset, FX_PART_OFFSET);
	assert_string_equal(gm_fs_partition(s.fs)->fstype, "ext4");
	/* One ext partition: no choice was made, so nothing to say. */
	assert_string_equal(gm_fs_note(s.fs), "");
	assert_true(ext2fs_has_feature_metadata_csum(s.fs->e2fs->super));
	close_session(&s);
}

static void test_fs_read_getattr_matches_host(void **state)
{
	static const char *const names[] = { "hello.txt", "dir", "dir/sub/file", "big.sparse", "fastlink",
					     "slowlink", "chr", "chrbig", "blk", "fifo", "many" };
	struct session s;

	open_session(&s, "mbr.raw", true, 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char hp[4200];
		struct stat h, st;
		gm_ino_t ino = lookup_path(s.fs, names[i]);

		snprintf(hp, sizeof(hp), "tree/%s", names[i]);
		assert_int_equal(lstat(hp, &h), 0);
		assert_int_equal(gm_fs_getattr(s.fs, ino, &st), 0);
		assert_int_equal(st.st_ino, ino);
		assert_int_equal(st.st_mode, h.st_mode);
		assert_int_equal(st.st_uid, h.st_uid);
		assert_int_equal(st.st_gid, h.st_gid);
		if (!S_ISDIR(h.st_mode))
			assert_int_equal(st.st_size, h.st_size);
		if (strcmp(names[i], "dir/sub/file")) {
			assert_int_equal(st.st_mtim.tv_sec, h.st_mtim.tv_sec);
			if (!strcmp(names[i], "hello.txt"))
				assert_int_equal(st.st_mtim.tv_nsec, h.st_mtim.tv_nsec);
		} else {
			/* epoch bits 01: 2^32 seconds later, same nanoseconds */
			assert_int_equal(st.st_mtim.tv_sec, (int64_t)(int32_t)h.st_mtim.tv_sec + (1ll << 32));
			assert_int_equal(st.st_mtim.tv_nsec, 123456789);
		}
		assert_int_equal(st.st_blksize, 4096);
		if (S_ISCHR(h.st_mode) || S_ISBLK(h.st_mode)) {
			assert_int_equal(major(st.st_rdev), major(h.st_rdev));
			assert_int_equal(minor(st.st_rdev), minor(h.st_rdev));
		}
	}
	/* hello.txt: the values set by the fixture, to be sure lstat() is sane */
	{
		struct stat st;

		assert_int_equal(gm_fs_getattr(s.fs, lookup_path(s.fs, "hello.txt"), &st), 0);
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 5678);
		assert_int_equal(st.st_mode, S_IFREG | 0640);
		assert_int_equal(st.st_mtim.tv_nsec, 123456789);
		assert_int_equal(st.st_blocks, 8);   /* one 4 KiB block in 512-byte units */
		assert_int_equal(gm_fs_getattr(s.fs, lookup_path(s.fs, "chrbig"), &st), 0);
		assert_int_equal(major(st.st_rdev), 300);
		assert_int_equal(minor(st.st_rdev), 70000);
	}
	close_session(&s);
}

static void test_fs_read_lookup_errors(void **state)
{
	struct session s;
	gm_ino_t ino = 0, file;
	char longname[300];

	open_session(&s, "mbr.raw", true, 0);
	assert_int_equal(gm_fs_lookup(s.fs, GM_ROOT_INO, "nope", &ino), -ENOENT);
	assert_int_equal(gm_fs_lookup(s.fs, GM_ROOT_INO, ".", &ino), 0);
	assert_int_equal(ino, GM_ROOT_INO);
	assert_int_equal(gm_fs_lookup(s.fs, GM_ROOT_INO, "..", &ino), 0);
	assert_int_equal(ino, GM_ROOT_INO);
	assert_int_equal(gm_fs_lookup(s.fs, lookup_path(s.fs, "dir/sub"), "..", &ino), 0);
	assert_int_equal(ino, lookup_path(s.fs, "dir"));
	file = lookup_path(s.fs, "hello.txt");
	assert_int_equal(gm_fs_lookup(s.fs, file, "x", &ino), -ENOTDIR);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(gm_fs_lookup(s.fs, GM_ROOT_INO, longname, &ino), -ENAMETOOLONG);
	assert_int_equal(gm_fs_lookup(s.fs, GM_ROOT_INO, "a/b", &ino), -EINVAL);
	assert_int_equal(gm_fs_lookup(s.fs, GM_ROOT_INO, "", &ino), -ENOENT);
	assert_int_equal(gm_fs_lookup(s.fs, 0, "x", &ino), -ENOENT);
	assert_int_equal(gm_fs_lookup(s.fs, 0xffffffffu, "x", &ino), -ENOENT);
	assert_int_equal(gm_fs_getattr(s.fs, 0xfffffff0u, &(struct stat){ 0 }), -ENOENT);
	close_session(&s);
}

struct names {
	char **v;
	size_t n, cap;
	uint64_t last_off;
	size_t stop_after;   /* 0: never */
	bool saw_dot, saw_dotdot;
};

static int collect(void *priv, const char *name, size_t namelen, gm_ino_t ino, unsigned dtype,
		   uint64_t next_off)
{
	struct names *n = priv;

	assert_true(ino != 0);
	assert_true(next_off > n->last_off);
	n->last_off = next_off;
	if (namelen == 1 && name[0] == '.')
		n->saw_dot = true;
	else if (namelen == 2 && !memcmp(name, "..", 2))
		n->saw_dotdot = true;
	if (n->n == n->cap) {
		n->cap = n->cap ? 2 * n->cap : 64;
		n->v = realloc(n->v, n->cap * sizeof(*n->v));
		assert_non_null(n->v);
	}
	n->v[n->n++] = strndup(name, namelen);
	if (n->stop_after && n->n % n->stop_after == 0)
		return 1;
	return 0;
}

static void free_names(struct names *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_fs_read_readdir_htree_5000(void **state)
{
	struct session s;
	struct names all = { 0 }, chunked = { .stop_after = 97 };
	struct ext2_inode inode;
	gm_ino_t dir;
	uint64_t off = 0;
	double t0;

	open_session(&s, "mbr.raw", true, 0);
	dir = lookup_path(s.fs, "many");
	assert_int_equal(ext2fs_read_inode(s.fs->e2fs, dir, &inode), 0);
	assert_true(inode.i_flags & EXT2_INDEX_FL);   /* really an htree directory */
	t0 = fx_now();
	assert_int_equal(gm_fs_readdir(s.fs, dir, 0, collect, &all), 0);
	print_message("# readdir %d entries: %.1f ms\n", NMANY + 2, (fx_now() - t0) * 1e3);
	assert_int_equal(all.n, NMANY + 2);
	assert_true(all.saw_dot && all.saw_dotdot);
	/* The same listing in chunks of 97, resuming from the cookies. */
	t0 = fx_now();
	for (;;) {
		size_t before = chunked.n;

		assert_int_equal(gm_fs_readdir(s.fs, dir, off, collect, &chunked), 0);
		if (chunked.n == before)
			break;
		off = chunked.last_off;
	}
	print_message("# readdir in chunks of 97: %.1f ms\n", (fx_now() - t0) * 1e3);
	assert_int_equal(chunked.n, all.n);
	for (size_t i = 0; i < all.n; i++)
		assert_string_equal(all.v[i], chunked.v[i]);
	qsort(all.v, all.n, sizeof(*all.v), cmp_str);
	for (size_t i = 0; i < NMANY; i++) {
		char want[16];

		snprintf(want, sizeof(want), "f%05zu", i);
		assert_string_equal(all.v[i + 2], want);
	}
	t0 = fx_now();
	for (size_t i = 0; i < NMANY; i++) {
		char nm[16];
		gm_ino_t ino;

		snprintf(nm, sizeof(nm), "f%05zu", i);
		assert_int_equal(gm_fs_lookup(s.fs, dir, nm, &ino), 0);
	}
	print_message("# lookup each of %d names: %.1f ms\n", NMANY, (fx_now() - t0) * 1e3);
	/* the index agrees with libext2fs's linear scan, for hits and misses */
	t0 = fx_now();
	for (size_t i = 0; i < NMANY + 500; i++) {
		char nm[16];
		gm_ino_t ino = 0;
		ext2_ino_t lin = 0;
		int rc;
		errcode_t e;

		snprintf(nm, sizeof(nm), i < NMANY ? "f%05zu" : "g%05zu", i);
		rc = gm_fs_lookup(s.fs, dir, nm, &ino);
		e = ext2fs_lookup(s.fs->e2fs, dir, nm, (int)strlen(nm), NULL, &lin);
		if (i < NMANY) {
			assert_int_equal(rc, 0);
			assert_int_equal(e, 0);
			assert_int_equal(ino, lin);
		} else {
			assert_int_equal(rc, -ENOENT);
			assert_int_equal(e, EXT2_ET_FILE_NOT_FOUND);
		}
	}
	print_message("# (%d lookups + %d linear ext2fs_lookup: %.1f ms)\n", NMANY + 500, NMANY + 500,
		      (fx_now() - t0) * 1e3);
	free_names(&all);
	free_names(&chunked);
	close_session(&s);
}

static void test_fs_read_readdir_types(void **state)
{
	struct session s;
	struct names n = { 0 };

	open_session(&s, "mbr.raw", true, 0);
	assert_int_equal(gm_fs_readdir(s.fs, GM_ROOT_INO, 0, collect, &n), 0);
	/* . .. lost+found + the 13 entries of the tree */
	assert_int_equal(n.n, 3 + 13);
	assert_int_equal(gm_fs_readdir(s.fs, lookup_path(s.fs, "hello.txt"), 0, collect, &n), -ENOTDIR);
	free_names(&n);
	close_session(&s);
}

static void test_fs_read_read_content(void **state)
{
	struct session s;
	char buf[64];
	gm_ino_t ino;

	open_session(&s, "mbr.raw", true, 0);
	ino = lookup_path(s.fs, "hello.txt");
	assert_int_equal(gm_fs_read(s.fs, ino, buf, sizeof(buf), 0), 12);
	assert_memory_equal(buf, "hello world\n", 12);
	assert_int_equal(gm_fs_read(s.fs, ino, buf, 5, 6), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(gm_fs_read(s.fs, ino, buf, sizeof(buf), 12), 0);
	assert_int_equal(gm_fs_read(s.fs, ino, buf, sizeof(buf), 1ull << 40), 0);
	assert_int_equal(gm_fs_read(s.fs, GM_ROOT_INO, buf, sizeof(buf), 0), -EISDIR);
	assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "fifo"), buf, sizeof(buf), 0), -EINVAL);
	close_session(&s);
}

static void test_fs_read_big_sparse(void **state)
{
	struct session s;
	char buf[16];
	char *zeros;
	gm_ino_t ino;
	struct stat st;
	double t0;

	open_session(&s, "mbr.raw", true, 0);
	ino = lookup_path(s.fs, "big.sparse");
	assert_int_equal(gm_fs_getattr(s.fs, ino, &st), 0);
	assert_int_equal(st.st_size, 3221225472ll);
	assert_true(st.st_blocks <= 16);   /* two 4 KiB blocks */
	assert_int_equal(gm_fs_read(s.fs, ino, buf, 6, 1073741947), 6);
	assert_memory_equal(buf, "MIDDLE", 6);
	assert_int_equal(gm_fs_read(s.fs, ino, buf, sizeof(buf), 3221225469ull), 3);
	assert_memory_equal(buf, "END", 3);
	zeros = malloc(1 << 20);
	assert_non_null(zeros);
	memset(zeros, 0xAA, 1 << 20);
	t0 = fx_now();
	assert_int_equal(gm_fs_read(s.fs, ino, zeros, 1 << 20, 5 << 20), 1 << 20);
	print_message("# read 1 MiB of a hole: %.2f ms\n", (fx_now() - t0) * 1e3);
	for (size_t i = 0; i < (1 << 20); i++)
		if (zeros[i])
			fail_msg("hole byte %zu is %d", i, zeros[i]);
	free(zeros);
	close_session(&s);
}

/* libext2fs's own file reader, block by block: the oracle for gm_fs_read's
 * extent-run reader. */
static ssize_t e2_read(struct gm_fs *fs, gm_ino_t ino, char *buf, size_t len, uint64_t off)
{
	ext2_file_t f;
	unsigned int got = 0;
	size_t done = 0;

	if (ext2fs_file_open(fs->e2fs, ino, 0, &f) || ext2fs_file_llseek(f, off, EXT2_SEEK_SET, NULL))
		return -1;
	while (done < len) {
		if (ext2fs_file_read(f, buf + done, (unsigned)(len - done), &got) || got == 0)
			break;
		done += got;
	}
	ext2fs_file_close(f);
	return (ssize_t)done;
}

static void test_fs_read_matches_libext2fs_and_host(void **state)
{
	static const char *const files[] = { "rand.bin", "holes", "striped", "big.sparse", "hello.txt",
					     "dir/sub/file" };
	struct session s;
	char *a = malloc(1 << 20), *b = malloc(1 << 20);
	unsigned seed = 12345;

	assert_non_null(a);
	assert_non_null(b);
	open_session(&s, "mbr.raw", true, 0);
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		gm_ino_t ino = lookup_path(s.fs, files[k]);
		struct stat st;
		char hp[256];
		size_t hlen = 0;
		char *host = NULL;

		assert_int_equal(gm_fs_getattr(s.fs, ino, &st), 0);
		if (!strcmp(files[k], "striped")) {   /* really a deep extent tree */
			struct ext2_inode inode;

			assert_int_equal(ext2fs_read_inode(s.fs->e2fs, ino, &inode), 0);
			assert_true(((struct ext3_extent_header *)inode.i_block)->eh_depth > 0);
		}
		snprintf(hp, sizeof(hp), "tree/%s", files[k]);
		if (st.st_size < (8 << 20))
			host = fx_slurp(hp, &hlen);
		for (int i = 0; i < 300; i++) {
			uint64_t off;
			size_t len;
			ssize_t n1, n2;

			seed = seed * 1103515245u + 12345u;
			off = st.st_size ? (uint64_t)seed * 7919u % ((uint64_t)st.st_size + 5000) : 0;
			seed = seed * 1103515245u + 12345u;
			len = seed % (i % 10 ? 20000 : (1 << 20));
			if (i < 6) {   /* block edges */
				static const uint64_t edges[] = { 0, 1, 4095, 4096, 4097, 8191 };

				off = edges[i];
				len = 4096 + (size_t)i;
			}
			n1 = gm_fs_read(s.fs, ino, a, len, off);
			n2 = e2_read(s.fs, ino, b, len, off);
			if (n1 != n2 || (n1 > 0 && memcmp(a, b, (size_t)n1)))
				fail_msg("%s: read %zu at %llu: %zd vs libext2fs %zd", files[k], len,
					 (unsigned long long)off, n1, n2);
			if (host) {
				size_t want = off >= hlen ? 0 : (hlen - off < len ? hlen - off : len);

				assert_int_equal(n1, want);
				if (want)
					assert_memory_equal(a, host + off, want);
			}
		}
		free(host);
	}
	close_session(&s);
	free(a);
	free(b);
}

static void test_fs_read_readlink(void **state)
{
	struct session s;
	char buf[4096];
	char *host;
	ssize_t n;

	open_session(&s, "mbr.raw", true, 0);
	n = gm_fs_readlink(s.fs, lookup_path(s.fs, "fastlink"), buf, sizeof(buf));
	assert_int_equal(n, 9);
	assert_memory_equal(buf, "hello.txt", 9);
	n = gm_fs_readlink(s.fs, lookup_path(s.fs, "slowlink"), buf, sizeof(buf));
	host = calloc(1, 4096);
	assert_int_equal(readlink("tree/slowlink", host, 4095), n);
	assert_true(n > 60);
	assert_memory_equal(buf, host, (size_t)n);
	/* a too-small buffer gets a prefix, like readlink(2) */
	assert_int_equal(gm_fs_readlink(s.fs, lookup_path(s.fs, "slowlink"), buf, 5), 5);
	assert_memory_equal(buf, host, 5);
	free(host);
	assert_int_equal(gm_fs_readlink(s.fs, lookup_path(s.fs, "hello.txt"), buf, sizeof(buf)), -EINVAL);
	close_session(&s);
}

static void test_fs_read_statfs_and_free_ranges(void **state)
{
	struct session s;
	struct statvfs sv;
	struct gm_rangeset free_r = GM_RANGESET_INIT;
	const struct gm_partition *p;

	open_session(&s, "mbr.raw", true, 0);
	p = gm_fs_partition(s.fs);
	assert_int_equal(gm_fs_statfs(s.fs, &sv), 0);
	assert_int_equal(sv.f_bsize, 4096);
	assert_int_equal(sv.f_namemax, 255);
	assert_true(sv.f_flag & ST_RDONLY);
	assert_true(sv.f_bfree > 0 && sv.f_bfree < sv.f_blocks);
	assert_int_equal(gm_fs_free_ranges(s.fs, &free_r), 0);
	assert_int_equal(gm_rangeset_total(&free_r), (uint64_t)sv.f_bfree * 4096);
	for (size_t i = 0; i < free_r.n; i++) {
		assert_true(free_r.r[i].off >= p->offset);
		assert_true(free_r.r[i].off + free_r.r[i].len <= p->offset + p->size);
		assert_int_equal((free_r.r[i].off - p->offset) % 4096, 0);
		assert_int_equal(free_r.r[i].len % 4096, 0);
	}
	/* the superblock is never free */
	assert_false(gm_rangeset_overlaps(&free_r, p->offset + 1024, 1024));
	gm_rangeset_free(&free_r);
	close_session(&s);
}

static void test_fs_read_rw_session_stays_clean(void **state)
{
	struct session s;
	struct names n = { 0 };
	char buf[32];

	open_session(&s, "mbr.raw", false, 0);
	assert_false(gm_fs_read_only(s.fs));
	assert_int_equal(gm_fs_readdir(s.fs, GM_ROOT_INO, 0, collect, &n), 0);
	assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "hello.txt"), buf, sizeof(buf), 0), 12);
	assert_int_equal(gm_fs_flush(s.fs), 0);
	free_names(&n);
	close_session(&s);   /* asserts the image is not dirty */
	assert_int_equal(fx_sh("e2fsck -fn 'mbr.raw?offset=%llu'", FX_PART_OFFSET), 0);
}

static void test_fs_read_gpt_and_bare(void **state)
{
	struct session s;
	char buf[32];

	open_session(&s, "gpt.raw", true, 0);
	assert_int_equal(gm_fs_partition_table(s.fs)->type, GM_PTABLE_GPT);
	assert_int_equal(gm_fs_partition(s.fs)->number, 1);
	assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "g"), buf, sizeof(buf), 0), 8);
	assert_memory_equal(buf, "gpt file", 8);
	close_session(&s);

	open_session(&s, "bare.raw", true, 0);
	assert_int_equal(gm_fs_partition_table(s.fs)->type, GM_PTABLE_NONE);
	assert_int_equal(gm_fs_partition(s.fs)->number, 0);
	assert_int_equal(gm_fs_partition(s.fs)->offset, 0);
	assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "d/y"), buf, sizeof(buf), 0), 1);
	close_session(&s);
}

static void test_fs_read_inline_data(void **state)
{
	struct session s;
	struct names n = { 0 };
	struct ext2_inode inode;
	char buf[4096];
	gm_ino_t ino;

	open_session(&s, "inline.raw", true, 0);
	assert_true(ext2fs_has_feature_inline_data(s.fs->e2fs->super));
	ino = lookup_path(s.fs, "t");
	assert_int_equal(ext2fs_read_inode(s.fs->e2fs, ino, &inode), 0);
	assert_true(inode.i_flags & EXT4_INLINE_DATA_FL);
	assert_int_equal(gm_fs_read(s.fs, ino, buf, sizeof(buf), 0), 11);
	assert_memory_equal(buf, "tiny inline", 11);
	assert_int_equal(gm_fs_read(s.fs, ino, buf, sizeof(buf), 5), 6);
	assert_memory_equal(buf, "inline", 6);
	ino = lookup_path(s.fs, "mid");
	assert_int_equal(gm_fs_read(s.fs, ino, buf, sizeof(buf), 0), 3000);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(buf[i], 'q');
	ino = lookup_path(s.fs, "d");
	assert_int_equal(ext2fs_read_inode(s.fs->e2fs, ino, &inode), 0);
	assert_true(inode.i_flags & EXT4_INLINE_DATA_FL);
	assert_int_equal(gm_fs_readdir(s.fs, ino, 0, collect, &n), 0);
	assert_int_equal(n.n, 3);
	assert_true(n.saw_dot && n.saw_dotdot);
	assert_string_equal(n.v[2], "y");
	/* resume after each entry */
	{
		struct names one = { .stop_after = 1 };
		uint64_t off = 0;

		for (int i = 0; i < 10; i++) {
			size_t before = one.n;

			assert_int_equal(gm_fs_readdir(s.fs, ino, off, collect, &one), 0);
			if (one.n == before)
				break;
			off = one.last_off;
		}
		assert_int_equal(one.n, 3);
		free_names(&one);
	}
	assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "d/y"), buf, sizeof(buf), 0), 1);
	assert_int_equal(gm_fs_readlink(s.fs, lookup_path(s.fs, "l"), buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 't');
	free_names(&n);
	close_session(&s);
}

static int try_open(const char *disk, bool img_ro, bool fs_ro, struct session *s, struct gm_error *err)
{
	struct gm_image_opts io = { .read_only = img_ro };
	struct gm_fs_opts fo = { .read_only = fs_ro };
	int rc;

	rc = gm_image_open(disk, &io, &s->img, err);
	if (rc)
		fail_msg("gm_image_open %s: %s", disk, gm_error_msg(err));
	rc = gm_fs_open(s->img, &fo, &s->fs, err);
	if (rc) {
		assert_false(gm_image_dirty(s->img));
		gm_image_close(s->img);
	}
	return rc;
}

static void test_fs_read_choice_note(void **state)
{
	struct session s;
	char buf[16];

	assert_int_equal(fx_sh("truncate -s 64M two.raw && printf 'label: dos\\nstart=2048, size=16MiB, type=83\\n"
			       "start=34816, type=83\\n' | sfdisk -q two.raw && mkdir -p t1 t2 && printf one > t1/w && "
			       "printf two > t2/w && mke2fs -q -F -t ext4 -d t1 -E offset=1048576 two.raw 16M && "
			       "mke2fs -q -F -t ext4 -d t2 -E offset=17825792 two.raw 47M"), 0);
	open_session(&s, "two.raw", true, 0);
	assert_int_equal(gm_fs_partition(s.fs)->number, 2);
	assert_non_null(strstr(gm_fs_note(s.fs), "partition 2"));
	assert_non_null(strstr(gm_fs_note(s.fs), "the largest of 2"));
	assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "w"), buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "two", 3);
	close_session(&s);
	open_session(&s, "two.raw", true, 1);
	assert_int_equal(gm_fs_partition(s.fs)->number, 1);
	assert_string_equal(gm_fs_note(s.fs), "");
	assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "w"), buf, sizeof(buf), 0), 3);
	assert_memory_equal(buf, "one", 3);
	close_session(&s);
}

/* Filesystem flavours found in the wild: each opens read-only and
 * read-write, reads back, and stays clean. */
static void test_fs_read_feature_matrix(void **state)
{
	static const char *const variants[] = {
		"-t ext2", "-t ext3", "-t ext4 -O orphan_file,large_dir", "-t ext4 -I 128",
		"-t ext4 -O bigalloc -C 65536", "-t ext4 -O ^metadata_csum,uninit_bg", "-t ext4 -b 1024",
		"-t ext4 -O casefold", "-t ext4 -O ^has_journal,^flex_bg", "-t ext4 -O encrypt",
	};

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct session s;
		struct statvfs sv;
		struct gm_rangeset fr = GM_RANGESET_INIT;
		char buf[16];

		if (fx_sh("rm -f v.raw && truncate -s 64M v.raw && mke2fs -q -F %s -d small v.raw", variants[i]))
			fail_msg("mke2fs %s", variants[i]);
		for (int rw = 0; rw < 2; rw++) {
			open_session(&s, "v.raw", !rw, 0);
			assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "g"), buf, sizeof(buf), 0), 8);
			assert_memory_equal(buf, "gpt file", 8);
			assert_int_equal(gm_fs_read(s.fs, lookup_path(s.fs, "d/y"), buf, sizeof(buf), 0), 1);
			assert_int_equal(gm_fs_statfs(s.fs, &sv), 0);
			assert_int_equal(gm_fs_free_ranges(s.fs, &fr), 0);
			if (gm_rangeset_total(&fr) != (uint64_t)sv.f_bfree * sv.f_bsize)
				fail_msg("%s: free ranges %llu != statfs %llu", variants[i],
					 (unsigned long long)gm_rangeset_total(&fr),
					 (unsigned long long)sv.f_bfree * sv.f_bsize);
			gm_rangeset_free(&fr);
			close_session(&s);
		}
		if (fx_sh("e2fsck -fn v.raw"))
			fail_msg("e2fsck after %s", variants[i]);
	}
}

static void test_fs_read_needs_recovery(void **state)
{
	struct gm_error err = { 0 };
	struct session s;
	char *before, *after;
	size_t lb, la;

	assert_int_equal(fx_make_disk("rec.raw", "small", 32, "mbr", ""), 0);
	assert_int_equal(fx_sh("debugfs -w -R 'feature needs_recovery' 'rec.raw?offset=%llu'", FX_PART_OFFSET), 0);
	before = fx_slurp("rec.raw", &lb);
	assert_int_equal(try_open("rec.raw", false, false, &s, &err), -EROFS);
	assert_non_null(strstr(gm_error_msg(&err), "journal needs recovery"));
	assert_non_null(strstr(gm_error_msg(&err), "run e2fsck, or open read-only"));
	assert_int_equal(try_open("rec.raw", true, true, &s, &err), 0);
	assert_true(gm_fs_read_only(s.fs));
	assert_non_null(strstr(gm_fs_note(s.fs), "journal needs recovery"));
	{
		char buf[16];
		gm_ino_t ino = lookup_path(s.fs, "g");

		assert_int_equal(gm_fs_read(s.fs, ino, buf, sizeof(buf), 0), 8);
	}
	close_session(&s);
	after = fx_slurp("rec.raw", &la);
	assert_int_equal(la, lb);
	assert_memory_equal(before, after, la);   /* byte-identical */
	free(before);
	free(after);
}

static void test_fs_read_refusals(void **state)
{
	struct gm_error err = { 0 };
	struct session s;

	/* a read-only image cannot give a read-write filesystem */
	assert_int_equal(try_open("gpt.raw", true, false, &s, &err), -EROFS);
	assert_non_null(strstr(gm_error_msg(&err), "read-only"));

	/* an unknown ro_compat feature: read-only only */
	assert_int_equal(fx_make_disk("rocompat.raw", "small", 32, "mbr", ""), 0);
	assert_int_equal(fx_sh("debugfs -w -R 'ssv feature_ro_compat 0x%x' 'rocompat.raw?offset=%llu'",
			       0x00100000u | 0x0400u /* metadata_csum */ | 0x1u | 0x2u | 0x8u | 0x20u | 0x40u,
			       FX_PART_OFFSET), 0);
	assert_int_equal(try_open("rocompat.raw", false, false, &s, &err), -EROFS);
	assert_non_null(strstr(gm_error_msg(&err), "cannot write"));
	assert_int_equal(try_open("rocompat.raw", true, true, &s, &err), 0);
	close_session(&s);

	/* an unknown incompat feature: not at all */
	assert_int_equal(fx_make_disk("incompat.raw", "small", 32, "mbr", ""), 0);
	assert_int_equal(fx_sh("debugfs -w -R 'ssv feature_incompat 0x%x' 'incompat.raw?offset=%llu'",
			       0x08000000u | 0x2u | 0x40u | 0x80u | 0x200u, FX_PART_OFFSET), 0);
	assert_int_equal(try_open("incompat.raw", true, true, &s, &err), -EOPNOTSUPP);
	assert_non_null(strstr(gm_error_msg(&err), "does not support"));

	/* a filesystem larger than its partition: never written */
	assert_int_equal(fx_sh("truncate -s 64M big.raw && printf 'label: dos\\nstart=2048, size=16MiB, type=83\\n'"
			       " | sfdisk -q big.raw && mke2fs -q -F -t ext4 -E offset=1048576 big.raw 32M"), 0);
	assert_int_equal(try_open("big.raw", false, false, &s, &err), -EUCLEAN);
	assert_non_null(strstr(gm_error_msg(&err), "larger than its partition"));
	assert_int_equal(try_open("big.raw", true, true, &s, &err), 0);
	assert_non_null(strstr(gm_fs_note(s.fs), "larger than its partition"));
	close_session(&s);

	/* no filesystem at all */
	assert_int_equal(fx_sh("truncate -s 8M none.raw"), 0);
	assert_int_equal(try_open("none.raw", true, true, &s, &err), -EINVAL);
	assert_non_null(strstr(gm_error_msg(&err), "none.raw: no partition table and no filesystem"));
}

/* 1 KiB blocks and 200-byte names: the index needs a second level. */
static void test_fs_read_htree_two_levels(void **state)
{
	struct session s;
	char blk[1024], nm[256];
	blk64_t pblk = 0;
	struct ext2_inode inode;
	gm_ino_t dir;
	double t0;
	enum { N = 600 };

	assert_int_equal(fx_sh("mkdir -p deep/d && cd deep/d && python3 -c \"\n"
			       "for i in range(%d): open('%%0250d' %% i, 'w').close()\n\"", N), 0);
	assert_int_equal(fx_sh("truncate -s 64M deep.raw && mke2fs -q -F -t ext4 -b 1024 -d deep deep.raw && "
			       "(e2fsck -fyD deep.raw; test $? -le 1)"), 0);
	open_session(&s, "deep.raw", true, 0);
	dir = lookup_path(s.fs, "d");
	assert_int_equal(ext2fs_read_inode(s.fs->e2fs, dir, &inode), 0);
	assert_true(inode.i_flags & EXT2_INDEX_FL);
	assert_int_equal(ext2fs_bmap2(s.fs->e2fs, dir, &inode, NULL, 0, 0, NULL, &pblk), 0);
	assert_int_equal(io_channel_read_blk64(s.fs->e2fs->io, pblk, 1, blk), 0);
	assert_int_equal(blk[30], 1);   /* indirect_levels */
	t0 = fx_now();
	for (int i = 0; i < N; i++) {
		gm_ino_t ino;

		snprintf(nm, sizeof(nm), "%0250d", i);
		if (gm_fs_lookup(s.fs, dir, nm, &ino))
			fail_msg("lookup %d: %s", i, gm_fs_errmsg(s.fs));
		snprintf(nm, sizeof(nm), "x%0249d", i);
		assert_int_equal(gm_fs_lookup(s.fs, dir, nm, &ino), -ENOENT);
	}
	print_message("# %d hits + %d misses in a 2-level htree (1 KiB blocks): %.1f ms\n", N, N,
		      (fx_now() - t0) * 1e3);
	close_session(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fs_read_open_mbr),
		cmocka_unit_test(test_fs_read_getattr_matches_host),
		cmocka_unit_test(test_fs_read_lookup_errors),
		cmocka_unit_test(test_fs_read_readdir_htree_5000),
		cmocka_unit_test(test_fs_read_readdir_types),
		cmocka_unit_test(test_fs_read_read_content),
		cmocka_unit_test(test_fs_read_big_sparse),
		cmocka_unit_test(test_fs_read_matches_libext2fs_and_host),
		cmocka_unit_test(test_fs_read_readlink),
		cmocka_unit_test(test_fs_read_statfs_and_free_ranges),
		cmocka_unit_test(test_fs_read_rw_session_stays_clean),
		cmocka_unit_test(test_fs_read_gpt_and_bare),
		cmocka_unit_test(test_fs_read_inline_data),
		cmocka_unit_test(test_fs_read_choice_note),
		cmocka_unit_test(test_fs_read_feature_matrix),
		cmocka_unit_test(test_fs_read_needs_recovery),
		cmocka_unit_test(test_fs_read_htree_two_levels),
		cmocka_unit_test(test_fs_read_refusals),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
