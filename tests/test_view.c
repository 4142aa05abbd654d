/* test_view.c — the whole-image view: the fstab parser (pure), the LVM
 * label reader, the read-only FAT reader against mkfs.vfat + mtools images
 * (FAT12, FAT16, FAT32, long names, case-insensitive lookups, a damaged
 * long-name checksum), and the view over the Ubuntu layout built by
 * tests/tools/make_layout.sh: mount crossing both ways, -EXDEV, -EROFS,
 * -EBUSY, free ranges of every ext partition, and the one-line refusals of
 * XFS, LVM and LUKS roots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>

#include "editor/container/image.h"
#include "editor/fs/fat.h"
#include "editor/view/fstab.h"
#include "editor/view/path.h"
#include "editor/view/view.h"
#include "policies/check_layout.h"
#include "tests/fixture.h"

static char tmpdir[4096];

static const char *top(void)
{
	const char *t = getenv("GM_TOP");
	return t && *t ? t : ".";
}

static int setup_all(void **state)
{
	(void)state;
	if (!fx_enter_tmpdir(tmpdir, sizeof(tmpdir)))
		return -1;
	/* built once: the Ubuntu 24.04 layout and the refused ones */
	return fx_sh("for l in ubuntu xfs lvm luks; do bash '%s/tests/tools/make_layout.sh' $l $l.raw || exit 1; done",
		     top());
}

static int teardown_all(void **state)
{
	(void)state;
	fx_leave_tmpdir(tmpdir);
	return 0;
}

/* ---- fstab ---- */

static void test_view_fstab_parse(void **state)
{
	static const char text[] =
		"# comment\n"
		"  \t\n"
		"UUID=\"ABCD-1234\"  /  ext4  rw,errors=remount-ro 0 1\r\n"
		"/dev/disk/by-label/my\\x20disk /mnt/a\\040b ext4 noauto 0 0\n"
		"LABEL=BOOT /boot ext4\n"
		"/dev/mapper/my--vg-root--lv /srv xfs defaults 0 0\n"
		"/dev/rootvg/varlv /var xfs defaults 0 0\n"
		"/dev/nvme0n1p2 /x ext4 defaults\n"
		"/dev/xvda15 /y vfat umask=0077,uid=5\n"
		"/dev/disk/by-id/google-persistent-disk-0-part16 /z ext4\n"
		"/dev/sda /whole ext4\n"
		"tmpfs /tmp tmpfs defaults 0 0\n"
		"/swap none swap sw 0 0\n"
		"/a /b none bind 0 0\n"
		"too few\n"
		"a b c d 1 2 extra\n"
		"a b c d x 2\n";
	static struct gm_fstab t;
	struct gm_fstab_source s;
	char val[16];

	gm_fstab_parse(text, sizeof(text) - 1, &t);
	assert_int_equal(t.n, 12);
	assert_int_equal(t.skipped, 3);
	assert_int_equal(t.first_bad_line, 15);
	assert_string_equal(t.e[0].spec, "UUID=\"ABCD-1234\"");
	assert_string_equal(t.e[0].opts, "rw,errors=remount-ro");
	assert_int_equal(t.e[0].passno, 1);
	assert_int_equal(t.e[0].line, 3);
	gm_fstab_source(&t.e[0], &s);
	assert_int_equal(s.key, GM_FSKEY_UUID);
	assert_string_equal(s.value, "ABCD-1234");
	assert_string_equal(t.e[1].file, "/mnt/a b");
	gm_fstab_source(&t.e[1], &s);
	assert_int_equal(s.key, GM_FSKEY_NONE);   /* noauto: not mounted at boot */
	assert_false(gm_fstab_is_disk_mount(&t.e[1]));
	assert_string_equal(t.e[2].opts, "defaults");
	gm_fstab_source(&t.e[2], &s);
	assert_int_equal(s.key, GM_FSKEY_LABEL);
	assert_string_equal(s.value, "BOOT");
	gm_fstab_source(&t.e[3], &s);
	assert_int_equal(s.key, GM_FSKEY_LVM);
	assert_string_equal(s.vg, "my-vg");
	assert_string_equal(s.lv, "root-lv");
	gm_fstab_source(&t.e[4], &s);
	assert_int_equal(s.key, GM_FSKEY_LVM);
	assert_string_equal(s.vg, "rootvg");
	gm_fstab_source(&t.e[5], &s);
	assert_int_equal(s.key, GM_FSKEY_PARTNO);
	assert_int_equal(s.partno, 2);
	gm_fstab_source(&t.e[6], &s);
	assert_int_equal(s.partno, 15);
	assert_true(gm_fstab_opt(t.e[6].opts, "umask", val, sizeof(val)));
	assert_string_equal(val, "0077");
	assert_true(gm_fstab_opt(t.e[6].opts, "uid", val, sizeof(val)));
	assert_string_equal(val, "5");
	assert_false(gm_fstab_opt(t.e[6].opts, "gid", val, sizeof(val)));
	assert_false(gm_fstab_opt(t.e[6].opts, "umas", val, sizeof(val)));
	gm_fstab_source(&t.e[7], &s);
	assert_int_equal(s.key, GM_FSKEY_PARTNO);
	assert_int_equal(s.partno, 16);
	gm_fstab_source(&t.e[8], &s);
	assert_int_equal(s.key, GM_FSKEY_UNKNOWN);   /* a whole disk is no partition */
	assert_false(gm_fstab_is_disk_mount(&t.e[9]));   /* tmpfs */
	assert_false(gm_fstab_is_disk_mount(&t.e[10]));  /* swap */
	assert_false(gm_fstab_is_disk_mount(&t.e[11]));  /* bind */
}

static void test_view_fstab_udev_names_and_match(void **state)
{
	static const char text[] = "/dev/disk/by-label/my\\x20disk /a ext4 defaults\n"
				   "/dev/disk/by-partuuid/AAAA-0F /b vfat defaults\n"
				   "PARTLABEL=esp /c vfat defaults\n"
				   "UUID=0a1b2c3d-0000-4000-8000-0000000000B0 /d ext4 defaults\n";
	static struct gm_fstab t;
	static struct gm_partition_table pt;
	struct gm_fstab_source s;

	pt.n = 3;
	pt.parts[0] = (struct gm_partition){ .number = 1, .label = "my disk" };
	pt.parts[1] = (struct gm_partition){ .number = 15, .partuuid = "aaaa-0f", .partlabel = "esp" };
	pt.parts[2] = (struct gm_partition){ .number = 16, .uuid = "0a1b2c3d-0000-4000-8000-0000000000b0" };
	gm_fstab_parse(text, sizeof(text) - 1, &t);
	assert_int_equal(t.n, 4);
	gm_fstab_source(&t.e[0], &s);
	assert_string_equal(s.value, "my disk");
	assert_int_equal(gm_fstab_match(&pt, &s)->number, 1);
	gm_fstab_source(&t.e[1], &s);
	assert_int_equal(gm_fstab_match(&pt, &s)->number, 15);   /* PARTUUIDs compare case-insensitively */
	gm_fstab_source(&t.e[2], &s);
	assert_int_equal(gm_fstab_match(&pt, &s)->number, 15);
	gm_fstab_source(&t.e[3], &s);
	assert_int_equal(gm_fstab_match(&pt, &s)->number, 16);
	s.key = GM_FSKEY_LABEL;
	snprintf(s.value, sizeof(s.value), "MY DISK");
	assert_null(gm_fstab_match(&pt, &s));   /* labels are exact */
}

/* ---- LVM label ---- */

static void test_view_lvm_label(void **state)
{
	unsigned char *buf;
	size_t len;
	char name[64];

	assert_int_equal(fx_sh("truncate -s 2M pv.bin && python3 '%s/tests/tools/lvm_label.py' pv.bin 0 1073741824 "
			       "vg.name-1_x", top()), 0);
	buf = (unsigned char *)fx_slurp("pv.bin", &len);
	assert_non_null(buf);
	assert_int_equal(gm_lvm_vg_name(buf, len, name, sizeof(name)), 0);
	assert_string_equal(name, "vg.name-1_x");
	/* the buffer ends before the text: no name, no read past it */
	assert_int_equal(gm_lvm_vg_name(buf, 4096 + 512 + 3, name, sizeof(name)), -ENOENT);
	assert_int_equal(gm_lvm_vg_name(buf, 600, name, sizeof(name)), -ENOENT);
	/* too small a name buffer */
	assert_int_equal(gm_lvm_vg_name(buf, len, name, 5), -ENOENT);
	/* the raw location wraps round the circular buffer back to offset 512 */
	buf[4096 + 40] = 0xf0, buf[4096 + 41] = 0xf0, buf[4096 + 42] = 0x0f;   /* offset near the end */
	assert_int_equal(gm_lvm_vg_name(buf, len, name, sizeof(name)), -ENOENT);
	free(buf);
}

/* ---- FAT ---- */

struct names {
	char all[4096];
	unsigned n;
	uint64_t efi_cookie;   /* next_off of the entry "EFI" */
};

static int fat_names(void *priv, const char *name, size_t namelen, gm_fat_ino_t ino, unsigned dtype,
		     uint64_t next_off)
{
	struct names *n = priv;
	size_t used = strlen(n->all);

	snprintf(n->all + used, sizeof(n->all) - used, "%.*s%s|", (int)namelen, name, dtype == DT_DIR ? "/" : "");
	n->n++;
	if (namelen == 3 && !memcmp(name, "EFI", 3))
		n->efi_cookie = next_off;
	return 0;
}

static struct gm_fat *fat_open_file(const char *path, int *fd, const struct gm_fat_opts *o)
{
	struct gm_error err = { 0 };
	struct gm_fat *f = NULL;
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(*fd >= 0);
	assert_int_equal(fstat(*fd, &st), 0);
	if (gm_fat_open(*fd, 0, (uint64_t)st.st_size, o, &f, &err))
		fail_msg("gm_fat_open %s: %s", path, gm_error_msg(&err));
	return f;
}

static void fat_one(const char *fat, unsigned kib, const char *mkfs_extra, const char *want_type)
{
	struct gm_fat_opts o = { .fmask = 0133, .dmask = 022, .masks_set = true, .uid = 7, .gid = 8 };
	struct names n = { "", 0, 0 };
	gm_fat_ino_t efi, boot, ino, dir;
	struct stat st;
	char *want, got[70000];
	size_t wlen;
	ssize_t r;
	int fd;
	struct gm_fat *f;

	assert_int_equal(fx_sh("rm -rf t %s.img && mkdir -p t/EFI/BOOT t/deep/er/est && head -c 70000 /dev/urandom > t/EFI/BOOT/BOOTX64.EFI && "
			       "printf x > 't/A long name with spaces.conf' && printf y > t/lower.cfg && printf z > t/deep/er/est/f && "
			       "mkfs.vfat -C -F %s %s -n TESTVOL %s.img %u && "
			       "MTOOLS_SKIP_CHECK=1 mcopy -s -i %s.img t/EFI 't/A long name with spaces.conf' t/lower.cfg t/deep ::/",
			       fat, fat, mkfs_extra, fat, kib, fat), 0);
	f = fat_open_file(strcat(strcpy(got, fat), ".img"), &fd, &o);
	assert_string_equal(gm_fat_type(f), want_type);
	assert_int_equal(gm_fat_readdir(f, GM_FAT_ROOT_INO, 0, fat_names, &n), 0);
	assert_string_equal(n.all, "./|../|EFI/|A long name with spaces.conf|lower.cfg|deep/|");
	/* case-insensitive, long or 8.3 names */
	assert_int_equal(gm_fat_lookup(f, GM_FAT_ROOT_INO, "efi", &efi), 0);
	assert_int_equal(gm_fat_lookup(f, efi, "Boot", &boot), 0);
	assert_int_equal(gm_fat_lookup(f, boot, "bootx64.efi", &ino), 0);
	assert_int_equal(gm_fat_lookup(f, GM_FAT_ROOT_INO, "a long NAME with spaces.CONF", &dir), 0);
	assert_int_equal(gm_fat_lookup(f, GM_FAT_ROOT_INO, "ALONGN~1.CON", &dir), 0);   /* its 8.3 alias */
	assert_int_equal(gm_fat_lookup(f, GM_FAT_ROOT_INO, "nope", &dir), -ENOENT);
	assert_int_equal(gm_fat_lookup(f, boot, "..", &dir), 0);
	assert_int_equal(dir, efi);
	/* a file over many clusters, read in odd pieces */
	assert_int_equal(gm_fat_getattr(f, ino, &st), 0);
	assert_int_equal(st.st_size, 70000);
	assert_int_equal(st.st_mode, S_IFREG | 0644);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(st.st_gid, 8);
	want = fx_slurp("t/EFI/BOOT/BOOTX64.EFI", &wlen);
	assert_non_null(want);
	for (size_t off = 0; off < wlen; off += 999) {
		r = gm_fat_read(f, ino, got + off, 999, off);
		assert_int_equal(r, off + 999 <= wlen ? 999 : (ssize_t)(wlen - off));
	}
	assert_memory_equal(got, want, wlen);
	assert_int_equal(gm_fat_read(f, ino, got, 10, 70000), 0);
	assert_int_equal(gm_fat_read(f, ino, got, 100000, 0), 70000);
	free(want);
	assert_int_equal(gm_fat_getattr(f, boot, &st), 0);
	assert_int_equal(st.st_mode, S_IFDIR | 0755);
	assert_int_equal(gm_fat_read(f, boot, got, 1, 0), -EISDIR);
	assert_int_equal(gm_fat_readdir(f, ino, 0, fat_names, &n), -ENOTDIR);
	/* readdir resumes from a cookie */
	{
		uint64_t cookie = n.efi_cookie;

		assert_true(cookie > 2);
		memset(&n, 0, sizeof(n));
		assert_int_equal(gm_fat_readdir(f, GM_FAT_ROOT_INO, cookie, fat_names, &n), 0);
		assert_string_equal(n.all, "A long name with spaces.conf|lower.cfg|deep/|");
	}
	assert_string_equal(gm_fat_label(f), "TESTVOL");
	gm_fat_close(f);
	close(fd);
}

static void test_view_fat12_fat16_fat32(void **state)
{
	fat_one("12", 1024, "", "FAT12");
	fat_one("16", 8192, "-s 1", "FAT16");
	fat_one("32", 40000, "-s 1", "FAT32");
}

/* A long name whose checksum does not match its 8.3 entry is not used (as
 * the kernel does): the 8.3 name is. */
static void test_view_fat_bad_lfn_checksum(void **state)
{
	struct names n = { "", 0, 0 };
	struct gm_fat *f;
	int fd;

	assert_int_equal(fx_sh("rm -f c.img && mkfs.vfat -C -F 12 c.img 1024 && printf x > 'Long Name Here.txt' && "
			       "MTOOLS_SKIP_CHECK=1 mcopy -i c.img 'Long Name Here.txt' ::/ && python3 -c \""
			       "d = bytearray(open('c.img','rb').read())\n"
			       "i = d.find('L\\0o\\0n\\0g'.encode())\n"
			       "assert i > 0\n"
			       "d[i - 1 + 13] ^= 0xff\n"
			       "open('c.img','wb').write(d)\""), 0);
	f = fat_open_file("c.img", &fd, NULL);
	assert_int_equal(gm_fat_readdir(f, GM_FAT_ROOT_INO, 0, fat_names, &n), 0);
	assert_string_equal(n.all, "./|../|LONGNA~1.TXT|");
	gm_fat_close(f);
	close(fd);
}

static void test_view_fat_refuses_garbage(void **state)
{
	struct gm_error err = { 0 };
	struct gm_fat *f = NULL;
	int fd;

	assert_int_equal(fx_sh("head -c 65536 /dev/zero > z.img && rm -f s.img && mkfs.vfat -C -F 12 s.img 1024 && "
			       "truncate -s 100000 s.img"), 0);
	fd = open("z.img", O_RDONLY);
	assert_int_equal(gm_fat_open(fd, 0, 65536, NULL, &f, &err), -EINVAL);
	assert_null(f);
	close(fd);
	fd = open("s.img", O_RDONLY);
	assert_int_equal(gm_fat_open(fd, 0, 100000, NULL, &f, &err), -EUCLEAN);
	assert_non_null(strstr(gm_error_msg(&err), "larger than its partition"));
	close(fd);
}

/* ---- the view over the Ubuntu layout ---- */

static struct gm_view *open_view(const char *disk, struct gm_image **img, bool ro, int partition,
				 int root, int want_rc, struct gm_error *err)
{
	struct gm_image_opts io = { .read_only = ro, .cache_dir = "cache" };
	struct gm_view_opts vo = { .read_only = ro, .partition = partition, .root = root };
	struct gm_view *v = NULL;

	assert_int_equal(gm_image_open(disk, &io, img, err), 0);
	assert_int_equal(gm_view_open(*img, &vo, &v, err), want_rc);
	return v;
}

struct find {
	const char *name;
	gm_vino_t ino;
};

static int find_entry(void *priv, const char *name, size_t namelen, gm_vino_t ino, unsigned dtype,
		      uint64_t next_off)
{
	struct find *f = priv;

	if (strlen(f->name) == namelen && !memcmp(name, f->name, namelen))
		f->ino = ino;
	return 0;
}

static void test_view_ubuntu_one_tree(void **state)
{
	struct gm_error err = { 0 };
	struct gm_image *img;
	struct gm_view *v;
	gm_vino_t boot, efi, up, root, x, etc;
	struct stat st;
	struct find fd = { "boot", 0 };
	char *buf;
	size_t len;

	assert_int_equal(fx_sh("cp --sparse=always ubuntu.raw u.raw"), 0);
	v = open_view("u.raw", &img, false, 0, 0, 0, &err);
	assert_int_equal(gm_view_nmounts(v), 3);
	assert_string_equal(gm_view_mount(v, 0)->path, "/");
	assert_int_equal(gm_view_mount(v, 0)->partition, 1);
	assert_string_equal(gm_view_mount(v, 1)->path, "/boot");
	assert_int_equal(gm_view_mount(v, 1)->partition, 16);
	assert_string_equal(gm_view_mount(v, 1)->source, "LABEL=BOOT");
	assert_string_equal(gm_view_mount(v, 2)->path, "/boot/efi");
	assert_int_equal(gm_view_mount(v, 2)->kind, GM_MOUNT_FAT);
	root = gm_view_root(v);
	/* crossing down: /boot is partition 16's root, in lookup, getattr, readdir */
	assert_int_equal(gm_view_lookup(v, root, "boot", &boot), 0);
	assert_int_equal(boot, gm_view_mount_root(v, 1));
	assert_int_equal(gm_view_getattr(v, boot, &st), 0);
	assert_int_equal((gm_vino_t)st.st_ino, boot);
	assert_int_equal(gm_view_readdir(v, root, 0, find_entry, &fd), 0);
	assert_int_equal(fd.ino, boot);
	assert_int_equal(gm_path_resolve(v, "/boot/efi", 0, &efi), 0);
	assert_int_equal(efi, gm_view_mount_root(v, 2));
	/* and up: ".." of a mounted root is the mount point's parent */
	assert_int_equal(gm_view_lookup(v, efi, "..", &up), 0);
	assert_int_equal(up, boot);
	assert_int_equal(gm_view_lookup(v, boot, "..", &up), 0);
	assert_int_equal(up, root);
	fd = (struct find){ "..", 0 };
	assert_int_equal(gm_view_readdir(v, efi, 0, find_entry, &fd), 0);
	assert_int_equal(fd.ino, boot);
	assert_int_equal(gm_path_read_file(v, "/boot/efi/../grub/grub.cfg", 1 << 20, &buf, &len), 0);
	assert_non_null(strstr(buf, "gnulinux-advanced-"));
	free(buf);
	/* symlinks inside /boot resolve in the image: vmlinuz -> vmlinuz-6.8.0-1015-gcp */
	assert_int_equal(gm_path_stat(v, "/boot/vmlinuz", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* writes land on the filesystem that holds the directory */
	assert_int_equal(gm_path_write_file(v, "/boot/new", "b", 1, 0644, NULL), 0);
	assert_int_equal(gm_path_resolve(v, "/boot/new", 0, &x), 0);
	assert_int_equal(gm_view_member_of(v, x), 1);
	/* across filesystems: EXDEV; onto the ESP: EROFS; mount points: EBUSY */
	assert_int_equal(gm_path_resolve(v, "/etc", 0, &etc), 0);
	assert_int_equal(gm_view_rename(v, boot, "new", etc, "new", 0), -EXDEV);
	assert_non_null(strstr(gm_view_errmsg(v), "across filesystems"));
	assert_int_equal(gm_view_link(v, x, etc, "new"), -EXDEV);
	assert_int_equal(gm_view_mknod(v, efi, "x", S_IFREG | 0644, 0, NULL, NULL), -EROFS);
	assert_non_null(strstr(gm_view_errmsg(v), "/boot/efi is the EFI system partition (FAT, partition 15)"));
	assert_int_equal(gm_path_write_file(v, "/boot/efi/EFI/BOOT/BOOTX64.EFI", "x", 1, 0644, NULL), -EROFS);
	assert_int_equal(gm_view_rmdir(v, root, "boot"), -EBUSY);
	assert_int_equal(gm_view_rmdir(v, boot, "efi"), -EBUSY);
	assert_int_equal(gm_view_rename(v, root, "boot", root, "boot2", 0), -EBUSY);
	assert_int_equal(gm_view_unlink(v, boot, "new"), 0);
	assert_int_equal(gm_view_close(v, &err), 0);
	gm_image_close(img);
	assert_int_equal(fx_sh("e2fsck -fn 'u.raw?offset=%d' && e2fsck -fn 'u.raw?offset=%d'", 227328 * 512,
			       489472 * 512), 0);
}

static void test_view_free_ranges_every_ext_partition(void **state)
{
	struct gm_rangeset rs = GM_RANGESET_INIT;
	struct gm_error err = { 0 };
	struct gm_image *img;
	struct gm_view *v;
	bool in_boot = false, in_root = false;

	v = open_view("ubuntu.raw", &img, true, 0, 0, 0, &err);
	assert_int_equal(gm_view_free_ranges(v, &rs), 0);
	for (size_t i = 0; i < rs.n; i++) {
		uint64_t off = rs.r[i].off;

		in_boot |= off >= 227328ull * 512 && off < 489472ull * 512;
		in_root |= off >= 489472ull * 512;
		assert_false(off < 227328ull * 512);   /* never the ESP or BIOS boot */
	}
	assert_true(in_boot && in_root);
	gm_rangeset_free(&rs);
	gm_view_close(v, NULL);
	gm_image_close(img);
}

static void test_view_partition_alone_and_root(void **state)
{
	struct gm_error err = { 0 };
	struct gm_image *img;
	struct gm_view *v;
	struct stat st;

	/* the ESP alone, read-only */
	v = open_view("ubuntu.raw", &img, true, 15, 0, 0, &err);
	assert_int_equal(gm_view_nmounts(v), 1);
	assert_int_equal(gm_path_stat(v, "/efi/boot/BOOTX64.efi", &st), 0);
	gm_view_close(v, NULL);
	gm_image_close(img);
	/* --root 16: partition 16 is the root (no fstab there: alone) */
	v = open_view("ubuntu.raw", &img, true, 0, 16, 0, &err);
	assert_int_equal(gm_path_stat(v, "/grub/grub.cfg", &st), 0);
	assert_int_equal(gm_view_mount(v, 0)->partition, 16);
	assert_string_equal(gm_view_mount(v, 0)->source, "--root");
	gm_view_close(v, NULL);
	gm_image_close(img);
}

static void test_view_refusals(void **state)
{
	static const struct {
		const char *disk, *tail;
	} cases[] = {
		{ "xfs.raw", ": partition 2 (root, 822.0 MiB) is XFS; gcemount edits ext2/3/4 only" },
		{ "lvm.raw", ": partition 2 (probably root, 822.0 MiB) is an LVM physical volume (volume group "
			     "rootvg); gcemount edits ext2/3/4 only" },
		{ "luks.raw", ": partition 2 (probably root, 822.0 MiB) is LUKS-encrypted (LUKS2); gcemount "
			      "edits ext2/3/4 only" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gm_error err = { 0 };
		struct gm_image *img;
		const char *m;

		(void)open_view(cases[i].disk, &img, true, 0, 0, -EMEDIUMTYPE, &err);
		m = gm_error_msg(&err);
		assert_non_null(strstr(m, cases[i].disk));
		assert_string_equal(m + strlen(m) - strlen(cases[i].tail), cases[i].tail);
		assert_null(strchr(m, '\n'));
		gm_image_close(img);
	}
}

static void test_view_gcloud_flags(void **state)
{
	char b[128];

	gm_layout_gcloud_flags(true, true, true, b, sizeof(b));
	assert_string_equal(b, "--guest-os-features=UEFI_COMPATIBLE,VIRTIO_SCSI_MULTIQUEUE,GVNIC");
	gm_layout_gcloud_flags(false, true, false, b, sizeof(b));
	assert_string_equal(b, "--guest-os-features=GVNIC");
	gm_layout_gcloud_flags(false, false, false, b, sizeof(b));
	assert_string_equal(b, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_fstab_parse),
		cmocka_unit_test(test_view_fstab_udev_names_and_match),
		cmocka_unit_test(test_view_lvm_label),
		cmocka_unit_test(test_view_fat12_fat16_fat32),
		cmocka_unit_test(test_view_fat_bad_lfn_checksum),
		cmocka_unit_test(test_view_fat_refuses_garbage),
		cmocka_unit_test(test_view_ubuntu_one_tree),
		cmocka_unit_test(test_view_free_ranges_every_ext_partition),
		cmocka_unit_test(test_view_partition_alone_and_root),
		cmocka_unit_test(test_view_refusals),
		cmocka_unit_test(test_view_gcloud_flags),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
