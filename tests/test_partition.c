/* test_partition.c — partition tables (libfdisk) and filesystem types
 * (libblkid) of disks built at run time with sfdisk/mke2fs/mkswap, the
 * choice rules, and hostile tables (never crash, never read past the disk). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "editor/disk/partition.h"
#include "tests/fixture.h"

static char tmpdir[4096];

/* LeakSanitizer hook (used by `make asan` only): libfdisk 2.38 leaks one
 * 512-byte sector buffer when an extended partition's EBR lies past the end of
 * the disk, which the hostile tables below do on purpose. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfdisk.so\n";
}

static int setup_all(void **state)
{
	(void)state;
	return fx_enter_tmpdir(tmpdir, sizeof(tmpdir)) ? 0 : -1;
}

static int teardown_all(void **state)
{
	(void)state;
	fx_leave_tmpdir(tmpdir);
	return 0;
}

/* Probes a disk file; returns probe's rc. */
static int probe(const char *disk, struct gm_partition_table *t, struct gm_error *err)
{
	int fd = open(disk, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int rc;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	rc = gm_partition_probe(fd, (uint64_t)st.st_size, t, err);
	close(fd);
	return rc;
}

static void test_partition_mbr_two_ext_takes_largest(void **state)
{
	struct gm_partition_table t;
	struct gm_error err = { 0 };
	const struct gm_partition *p = NULL;
	char why[256];

	assert_int_equal(fx_sh("truncate -s 64M two.raw && printf 'label: dos\\nstart=2048, size=16MiB, type=83\\n"
			       "start=34816, type=83\\n' | sfdisk -q two.raw && "
			       "mke2fs -q -F -t ext4 -E offset=1048576 two.raw 16M && "
			       "mke2fs -q -F -t ext3 -E offset=17825792 two.raw 47M"), 0);
	assert_int_equal(probe("two.raw", &t, &err), 0);
	assert_int_equal(t.type, GM_PTABLE_MBR);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.parts[0].number, 1);
	assert_int_equal(t.parts[0].offset, 1048576);
	assert_int_equal(t.parts[0].size, 16 << 20);
	assert_string_equal(t.parts[0].fstype, "ext4");
	assert_string_equal(t.parts[1].fstype, "ext3");
	assert_string_equal(t.problems, "");
	assert_int_equal(gm_partition_choose(&t, 0, &p, why, sizeof(why), &err), 0);
	assert_int_equal(p->number, 2);
	assert_non_null(strstr(why, "largest"));
	assert_int_equal(gm_partition_choose(&t, 1, &p, why, sizeof(why), &err), 0);
	assert_int_equal(p->number, 1);
	assert_int_equal(gm_partition_choose(&t, 3, &p, why, sizeof(why), &err), -ENOENT);
	assert_non_null(strstr(gm_error_msg(&err), "no partition 3"));
}

static void test_partition_gpt_gce_layout(void **state)
{
	struct gm_partition_table t;
	struct gm_error err = { 0 };
	const struct gm_partition *p = NULL;

	/* GCE's Debian layout: 14 BIOS boot, 15 EFI (empty here), 1 root */
	assert_int_equal(fx_sh("truncate -s 64M gce.raw && printf 'label: gpt\\n"
			       "gce.raw14 : start=2048, size=4MiB, type=21686148-6449-6E6F-744E-656564454649\\n"
			       "gce.raw15 : start=10240, size=8MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\\n"
			       "gce.raw1 : start=26624, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\\n' | sfdisk -q gce.raw && "
			       "mke2fs -q -F -t ext4 -E offset=13631488 gce.raw 40M"), 0);
	assert_int_equal(probe("gce.raw", &t, &err), 0);
	assert_int_equal(t.type, GM_PTABLE_GPT);
	assert_int_equal(t.n, 3);
	assert_int_equal(gm_partition_choose(&t, 0, &p, NULL, 0, &err), 0);
	assert_int_equal(p->number, 1);
	assert_int_equal(p->offset, 13631488);
	assert_string_equal(p->fstype, "ext4");
	assert_int_equal(gm_partition_choose(&t, 15, &p, NULL, 0, &err), -EMEDIUMTYPE);
	assert_non_null(strstr(gm_error_msg(&err), "partition 15 has no filesystem"));
	for (size_t i = 0; i < t.n; i++)
		if (t.parts[i].number == 15)
			assert_non_null(strstr(t.parts[i].type_name, "EFI"));
}

static void test_partition_no_ext_names_what_was_found(void **state)
{
	struct gm_partition_table t;
	struct gm_error err = { 0 };
	const struct gm_partition *p = NULL;

	assert_int_equal(fx_sh("truncate -s 32M sw.raw && printf 'label: dos\\nstart=2048, size=8MiB, type=82\\n"
			       "start=18432, type=83\\n' | sfdisk -q sw.raw && truncate -s 8M swap.img && "
			       "mkswap swap.img && dd if=swap.img of=sw.raw bs=1M seek=1 conv=notrunc status=none"), 0);
	assert_int_equal(probe("sw.raw", &t, &err), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.parts[0].fstype, "swap");
	assert_string_equal(t.parts[1].fstype, "");
	assert_int_equal(gm_partition_choose(&t, 0, &p, NULL, 0, &err), -ENOENT);
	assert_string_equal(gm_error_msg(&err),
			    "no ext2/3/4 filesystem: partition 1 is swap, partition 2 has no filesystem; "
			    "gcemount edits ext2/3/4 only");
	assert_int_equal(gm_partition_choose(&t, 1, &p, NULL, 0, &err), -EMEDIUMTYPE);
	assert_string_equal(gm_error_msg(&err), "partition 1 is swap; gcemount edits ext2/3/4 only");
}

static void test_partition_bare_and_empty(void **state)
{
	struct gm_partition_table t;
	struct gm_error err = { 0 };
	const struct gm_partition *p = NULL;

	assert_int_equal(fx_make_disk("bare.raw", NULL, 16, "bare", ""), 0);
	assert_int_equal(probe("bare.raw", &t, &err), 0);
	assert_int_equal(t.type, GM_PTABLE_NONE);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.parts[0].number, 0);
	assert_int_equal(t.parts[0].offset, 0);
	assert_int_equal(t.parts[0].size, 16 << 20);
	assert_string_equal(t.parts[0].fstype, "ext4");
	assert_int_equal(gm_partition_choose(&t, 0, &p, NULL, 0, &err), 0);
	assert_int_equal(p->number, 0);
	assert_int_equal(gm_partition_choose(&t, 1, &p, NULL, 0, &err), -ENOENT);
	assert_non_null(strstr(gm_error_msg(&err), "no partition table"));

	assert_int_equal(fx_sh("truncate -s 16M empty.raw"), 0);
	assert_int_equal(probe("empty.raw", &t, &err), -EINVAL);
	assert_string_equal(gm_error_msg(&err), "no partition table and no filesystem");

	/* a table with no partitions at all */
	assert_int_equal(fx_sh("truncate -s 16M notab.raw && printf 'label: dos\\n' | sfdisk -q notab.raw"), 0);
	assert_int_equal(probe("notab.raw", &t, &err), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(gm_partition_choose(&t, 0, &p, NULL, 0, &err), -ENOENT);
}

static void test_partition_mbr_logical(void **state)
{
	struct gm_partition_table t;
	struct gm_error err = { 0 };
	const struct gm_partition *p = NULL;

	assert_int_equal(fx_sh("truncate -s 32M ext.raw && printf 'label: dos\\nstart=2048, type=5\\n"
			       "start=4096, type=83\\n' | sfdisk -q ext.raw && "
			       "mke2fs -q -F -t ext4 -E offset=2097152 ext.raw 16M"), 0);
	assert_int_equal(probe("ext.raw", &t, &err), 0);
	assert_int_equal(t.n, 1);   /* the extended container is not listed */
	assert_int_equal(gm_partition_choose(&t, 0, &p, NULL, 0, &err), 0);
	assert_int_equal(p->number, 5);
	assert_int_equal(p->offset, 2097152);
}

static void test_partition_needs_recovery(void **state)
{
	struct gm_partition_table t;
	struct gm_error err = { 0 };

	assert_int_equal(fx_make_disk("rec.raw", NULL, 32, "mbr", ""), 0);
	assert_int_equal(probe("rec.raw", &t, &err), 0);
	assert_int_equal(t.parts[0].needs_recovery, 0);
	assert_int_equal(fx_sh("debugfs -w -R 'feature needs_recovery' 'rec.raw?offset=%llu'", FX_PART_OFFSET), 0);
	assert_int_equal(probe("rec.raw", &t, &err), 0);
	assert_int_equal(t.parts[0].needs_recovery, 1);
}

/* An MBR whose partition 1 runs far past the end of a 4 MiB disk. */
static void test_partition_past_end(void **state)
{
	struct gm_partition_table t;
	struct gm_error err = { 0 };
	const struct gm_partition *p = NULL;

	assert_int_equal(fx_sh("truncate -s 4M past.raw && python3 -c \"\n"
			       "import struct\n"
			       "f = open('past.raw', 'r+b')\n"
			       "e = struct.pack('<B3sB3sII', 0, b'\\\\0'*3, 0x83, b'\\\\0'*3, 2048, 0x7fffffff)\n"
			       "f.seek(446); f.write(e); f.seek(510); f.write(b'\\\\x55\\\\xaa')\n\""), 0);
	assert_int_equal(probe("past.raw", &t, &err), 0);
	assert_non_null(strstr(t.problems, "partition 1 ends past the end of the disk"));
	assert_int_equal(gm_partition_choose(&t, 0, &p, NULL, 0, &err), -ENOENT);
	assert_int_equal(gm_partition_choose(&t, 1, &p, NULL, 0, &err), -EMEDIUMTYPE);
	assert_non_null(strstr(gm_error_msg(&err), "past the end"));
}

/* Random MBR entries and GPT headers: probe must return, with sane values. */
static void test_partition_hostile_tables(void **state)
{
	size_t listed = 0, problems = 0, refused = 0;

	assert_int_equal(fx_write("hostile.py",
			       "import random, struct, zlib\n"
			       "random.seed(7)\n"
			       "for i in range(40):\n"
			       "    with open('h%d.raw' % i, 'wb') as f:\n"
			       "        f.truncate(2 << 20)\n"
			       "        mbr = bytearray(512)\n"
			       "        for j in range(4):\n"
			       "            e = bytearray(random.getrandbits(8) for _ in range(16))\n"
			       "            if i % 2: e[4] = random.choice([0x83, 0x05, 0x0f, 0xee, 0x85])\n"
			       "            mbr[446 + 16 * j:462 + 16 * j] = e\n"
			       "        mbr[510:512] = b'\\x55\\xaa'\n"
			       "        f.write(mbr)\n"
			       "        if i % 4 == 1:\n"
			       "            mbr[446:462] = struct.pack('<B3sB3sII', 0, b'\\0'*3, 0xee, b'\\0'*3, 1, 0xffffffff)\n"
			       "            f.seek(0); f.write(mbr)\n"
			       "            n = random.choice([1, 128, 100000, 0xffffffff])\n"
			       "            hdr = bytearray(struct.pack('<8sIIIIQQQQ16sQIII', b'EFI PART', 0x10000, 92, 0, 0,\n"
			       "                1, 4095, 34, 4000, b'x'*16, 2, n, 128, 0))\n"
			       "            hdr[16:20] = struct.pack('<I', zlib.crc32(bytes(hdr[:92])))\n"
			       "            f.seek(512); f.write(hdr)\n"
			       "            f.seek(1024); f.write(bytes(random.getrandbits(8) for _ in range(128 * 128)))\n"),
			 0);
	assert_int_equal(fx_sh("python3 hostile.py"), 0);
	for (int i = 0; i < 40; i++) {
		struct gm_partition_table t;
		struct gm_error err = { 0 };
		const struct gm_partition *p = NULL;
		char name[32];
		int rc;

		snprintf(name, sizeof(name), "h%d.raw", i);
		rc = probe(name, &t, &err);
		assert_true(rc == 0 || rc == -EINVAL || rc == -EIO);
		if (rc == -EINVAL && strstr(gm_error_msg(&err), "GPT header"))
			refused++;
		if (rc)
			continue;
		listed += t.n;
		problems += t.problems[0] != '\0';
		assert_true(t.n <= GM_MAX_PARTITIONS);
		for (size_t k = 0; k < t.n; k++) {
			/* in-disk partitions only get probed; nothing here is ext */
			assert_string_equal(t.parts[k].fstype, "");
		}
		assert_true(gm_partition_choose(&t, 0, &p, NULL, 0, &err) < 0);
	}
	print_message("# hostile tables: %zu partitions listed, %zu tables with problems, %zu GPT headers refused\n",
		      listed, problems, refused);
	assert_true(listed > 0 && problems > 0 && refused > 0);   /* the inputs did reach the checks */
}

/* The choice rules on hand-made tables (no disk involved). */
static void test_partition_choose_rules(void **state)
{
	struct gm_partition_table t = { .type = GM_PTABLE_GPT, .n = 3 };
	struct gm_error err = { 0 };
	const struct gm_partition *p = NULL;
	char why[256];

	t.parts[0] = (struct gm_partition){ .number = 1, .size = 10, .fstype = "xfs" };
	t.parts[1] = (struct gm_partition){ .number = 2, .size = 5, .fstype = "ext2" };
	t.parts[2] = (struct gm_partition){ .number = 3, .size = 1, .fstype = "vfat" };
	assert_int_equal(gm_partition_choose(&t, 0, &p, why, sizeof(why), &err), 0);
	assert_int_equal(p->number, 2);
	assert_null(strstr(why, "largest"));
	assert_int_equal(gm_partition_choose(&t, 1, &p, why, sizeof(why), &err), -EMEDIUMTYPE);
	assert_string_equal(gm_error_msg(&err), "partition 1 is XFS; gcemount edits ext2/3/4 only");
	snprintf(t.parts[1].fstype, sizeof(t.parts[1].fstype), "btrfs");
	assert_int_equal(gm_partition_choose(&t, 0, &p, why, sizeof(why), &err), -ENOENT);
	assert_string_equal(gm_error_msg(&err), "no ext2/3/4 filesystem: partition 1 is XFS, partition 2 is "
						"btrfs, partition 3 is FAT (vfat); gcemount edits ext2/3/4 only");
	assert_string_equal(gm_ptable_name(GM_PTABLE_GPT), "gpt");
	assert_string_equal(gm_ptable_name(GM_PTABLE_MBR), "mbr");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partition_mbr_two_ext_takes_largest),
		cmocka_unit_test(test_partition_gpt_gce_layout),
		cmocka_unit_test(test_partition_no_ext_names_what_was_found),
		cmocka_unit_test(test_partition_bare_and_empty),
		cmocka_unit_test(test_partition_mbr_logical),
		cmocka_unit_test(test_partition_needs_recovery),
		cmocka_unit_test(test_partition_past_end),
		cmocka_unit_test(test_partition_hostile_tables),
		cmocka_unit_test(test_partition_choose_rules),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
