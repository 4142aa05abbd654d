/* test_check_parse.c — the pure parts of `check`: kernel .config lookup, the
 * option table with its renamed/removed options, initramfs module listing,
 * container sniffing, ext4 superblock judgement. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "policies/check.h"

static const struct gm_kconfig_req *req_by_id(const char *id)
{
	for (const struct gm_kconfig_req *r = gm_kconfig_reqs; r->id; r++)
		if (!strcmp(r->id, id))
			return r;
	fail_msg("no requirement %s", id);
	return NULL;
}

static struct gm_rule_result eval(const char *id, const char *cfg, bool *mod)
{
	struct gm_rule_result r;

	memset(&r, 0, sizeof(r));
	gm_kconfig_eval(req_by_id(id), cfg, strlen(cfg), &r, mod);
	return r;
}

static void test_check_parse_lookup_states(void **state)
{
	const char *cfg = "#\n# comment\nCONFIG_VIRTIO=y\nCONFIG_VIRTIO_NET=m\n"
			  "# CONFIG_DEVKMEM is not set\nCONFIG_LSM=\"yama,apparmor\"\r\n"
			  "CONFIG_DEFAULT_MMAP_MIN_ADDR=65536\nCONFIG_FOO=n\n";
	char val[64];
	int line;

	(void)state;
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "VIRTIO", val, sizeof(val), &line),
			 GM_KCONF_Y);
	assert_int_equal(line, 3);
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "CONFIG_VIRTIO_NET", NULL, 0, &line),
			 GM_KCONF_M);
	assert_int_equal(line, 4);
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "DEVKMEM", NULL, 0, &line),
			 GM_KCONF_NOTSET);
	assert_int_equal(line, 5);
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "LSM", val, sizeof(val), &line),
			 GM_KCONF_VALUE);
	assert_string_equal(val, "yama,apparmor");
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "DEFAULT_MMAP_MIN_ADDR", val,
					   sizeof(val), NULL), GM_KCONF_VALUE);
	assert_string_equal(val, "65536");
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "FOO", NULL, 0, NULL), GM_KCONF_NOTSET);
	/* A prefix of a longer name is not a match, nor the other way round. */
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "VIRTIO_NE", NULL, 0, &line),
			 GM_KCONF_ABSENT);
	assert_int_equal(line, 0);
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "KVM_GUEST", NULL, 0, NULL),
			 GM_KCONF_ABSENT);
}

static void test_check_parse_lookup_last_wins(void **state)
{
	const char *cfg = "CONFIG_X=y\n# CONFIG_X is not set\n";
	const char *cfg2 = "# CONFIG_X is not set\nCONFIG_X=m"; /* no final newline */
	int line;

	(void)state;
	assert_int_equal(gm_kconfig_lookup(cfg, strlen(cfg), "X", NULL, 0, &line), GM_KCONF_NOTSET);
	assert_int_equal(line, 2);
	assert_int_equal(gm_kconfig_lookup(cfg2, strlen(cfg2), "X", NULL, 0, &line), GM_KCONF_M);
	assert_int_equal(line, 2);
}

static void test_check_parse_required_options(void **state)
{
	struct gm_rule_result r;
	bool mod;

	(void)state;
	r = eval("kernel.virtio-net", "CONFIG_VIRTIO_NET=y\n", &mod);
	assert_int_equal(r.status, GM_STATUS_PASS);
	assert_false(mod);
	assert_int_equal(r.line, 1);
	assert_int_equal(r.level, GM_LEVEL_REQUIRED);
	r = eval("kernel.virtio-net", "CONFIG_VIRTIO_NET=m\n", &mod);
	assert_int_equal(r.status, GM_STATUS_PASS);
	assert_true(mod);
	assert_non_null(strstr(r.reason, "virtio_net"));
	r = eval("kernel.virtio-net", "# CONFIG_VIRTIO_NET is not set\n", &mod);
	assert_int_equal(r.status, GM_STATUS_FAIL);
	assert_false(mod);
	assert_non_null(strstr(r.reason, "CONFIG_VIRTIO_NET is not set"));
	r = eval("kernel.scsi-virtio", "CONFIG_VIRTIO_NET=y\n", &mod);
	assert_int_equal(r.status, GM_STATUS_FAIL);
	assert_non_null(strstr(r.reason, "CONFIG_SCSI_VIRTIO missing"));
	/* KVM_GUEST is a bool: =m is impossible, and wrong. */
	r = eval("kernel.kvm-guest", "CONFIG_KVM_GUEST=m\n", &mod);
	assert_int_equal(r.status, GM_STATUS_FAIL);
}

static void test_check_parse_kvm_clock_folded(void **state)
{
	struct gm_rule_result r;

	(void)state;
	r = eval("kernel.kvm-clock", "CONFIG_KVM_GUEST=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	assert_non_null(strstr(r.reason, "KVM_GUEST"));
	r = eval("kernel.kvm-clock", "# CONFIG_KVM_GUEST is not set\n", NULL);
	assert_int_equal(r.status, GM_STATUS_FAIL);
	r = eval("kernel.kvm-clock", "CONFIG_KVM_CLOCK=y\nCONFIG_KVM_GUEST=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	assert_int_equal(r.line, 1);
}

static void test_check_parse_renamed_options(void **state)
{
	struct gm_rule_result r;

	(void)state;
	r = eval("kernel.rodata", "CONFIG_DEBUG_RODATA=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	assert_non_null(strstr(r.reason, "DEBUG_RODATA"));
	r = eval("kernel.rodata", "CONFIG_STRICT_KERNEL_RWX=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	r = eval("kernel.rodata", "# CONFIG_STRICT_KERNEL_RWX is not set\n", NULL);
	assert_int_equal(r.status, GM_STATUS_FAIL);
	r = eval("kernel.module-rodata", "CONFIG_DEBUG_SET_MODULE_RONX=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	/* 4.x: the choice leaves CC_STACKPROTECTOR_REGULAR unset, STRONG set. */
	r = eval("kernel.stack-protector",
		 "# CONFIG_CC_STACKPROTECTOR_REGULAR is not set\nCONFIG_CC_STACKPROTECTOR_STRONG=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	assert_int_equal(r.line, 2);
	r = eval("kernel.stack-protector", "CONFIG_STACKPROTECTOR=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	r = eval("kernel.stack-protector", "# CONFIG_STACKPROTECTOR is not set\n", NULL);
	assert_int_equal(r.status, GM_STATUS_FAIL);
}

static void test_check_parse_removed_options(void **state)
{
	struct gm_rule_result r;

	(void)state;
	r = eval("kernel.devkmem", "CONFIG_X86_64=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	assert_non_null(strstr(r.reason, "5.13"));
	r = eval("kernel.devkmem", "CONFIG_DEVKMEM=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_FAIL);
	r = eval("kernel.devkmem", "# CONFIG_DEVKMEM is not set\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	r = eval("kernel.x86-pae", "CONFIG_X86_64=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_NA);
	r = eval("kernel.x86-pae", "CONFIG_X86_32=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_FAIL);
	r = eval("kernel.security-yama-stacked", "CONFIG_SECURITY_YAMA=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_NA);
	r = eval("kernel.strict-devmem", "# CONFIG_DEVMEM is not set\n", NULL);
	assert_int_equal(r.status, GM_STATUS_PASS);
	r = eval("kernel.strict-devmem", "CONFIG_DEVMEM=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_FAIL);
	r = eval("kernel.compat-vdso", "CONFIG_COMPAT_VDSO=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_FAIL);
	r = eval("kernel.compat-brk", "CONFIG_COMPAT_BRK=y\n", NULL);
	assert_int_equal(r.status, GM_STATUS_FAIL);
}

static void test_check_parse_mmap_min_addr(void **state)
{
	(void)state;
	assert_int_equal(eval("kernel.mmap-min-addr", "CONFIG_DEFAULT_MMAP_MIN_ADDR=65536\n", NULL).status,
			 GM_STATUS_PASS);
	assert_int_equal(eval("kernel.mmap-min-addr", "CONFIG_DEFAULT_MMAP_MIN_ADDR=4096\n", NULL).status,
			 GM_STATUS_FAIL);
	assert_int_equal(eval("kernel.mmap-min-addr", "CONFIG_DEFAULT_MMAP_MIN_ADDR=junk\n", NULL).status,
			 GM_STATUS_FAIL);
	assert_int_equal(eval("kernel.mmap-min-addr", "\n", NULL).status, GM_STATUS_FAIL);
}

static void test_check_parse_table_sane(void **state)
{
	unsigned required = 0;

	(void)state;
	for (const struct gm_kconfig_req *r = gm_kconfig_reqs; r->id; r++) {
		assert_non_null(r->names[0]);
		assert_non_null(r->why);
		assert_null(strstr(r->names[0], "CONFIG_"));
		for (const struct gm_kconfig_req *s = r + 1; s->id; s++)
			assert_string_not_equal(r->id, s->id);
		if (r->level == GM_LEVEL_REQUIRED)
			required++;
	}
	assert_int_equal(required, 5); /* KVM_GUEST, KVM_CLOCK, VIRTIO_PCI, SCSI_VIRTIO, VIRTIO_NET */
}

static char *slurp(const char *name, size_t *len)
{
	const char *top = getenv("GM_TOP");
	char path[1024];
	FILE *f;
	char *buf;

	snprintf(path, sizeof(path), "%s/tests/data/kernel-configs/%s", top ? top : ".", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* The shipped excerpts: statuses of every row, as the docs describe them. */
static void test_check_parse_config_files(void **state)
{
	size_t len;
	char *cur = slurp("config-6.1.0-gce-amd64", &len);
	char *old;
	char *nonet;

	(void)state;
	for (const struct gm_kconfig_req *r = gm_kconfig_reqs; r->id; r++) {
		struct gm_rule_result res;
		bool mod;

		memset(&res, 0, sizeof(res));
		gm_kconfig_eval(r, cur, len, &res, &mod);
		if (!strcmp(r->id, "kernel.x86-pae") || !strcmp(r->id, "kernel.security-yama-stacked"))
			assert_int_equal(res.status, GM_STATUS_NA);
		else
			assert_int_equal(res.status, GM_STATUS_PASS);
		assert_int_equal(mod, !strcmp(r->id, "kernel.scsi-virtio") ||
				      !strcmp(r->id, "kernel.virtio-net"));
	}
	free(cur);
	old = slurp("config-4.9.0-old-amd64", &len);
	for (const struct gm_kconfig_req *r = gm_kconfig_reqs; r->id; r++) {
		struct gm_rule_result res;

		memset(&res, 0, sizeof(res));
		gm_kconfig_eval(r, old, len, &res, NULL);
		if (!strcmp(r->id, "kernel.mmap-min-addr") || !strcmp(r->id, "kernel.compat-brk"))
			assert_int_equal(res.status, GM_STATUS_FAIL);
		else if (!strcmp(r->id, "kernel.x86-pae") || !strcmp(r->id, "kernel.security-yama-stacked"))
			assert_int_equal(res.status, GM_STATUS_NA);
		else
			assert_int_equal(res.status, GM_STATUS_PASS);
	}
	free(old);
	nonet = slurp("config-6.1.0-novirtionet-amd64", &len);
	struct gm_rule_result res;
	memset(&res, 0, sizeof(res));
	gm_kconfig_eval(req_by_id("kernel.virtio-net"), nonet, len, &res, NULL);
	assert_int_equal(res.status, GM_STATUS_FAIL);
	assert_true(res.line > 0);
	free(nonet);
}

/* ---- initramfs ---- */

static size_t newc_entry(char *out, const char *name, const char *data)
{
	size_t nlen = strlen(name) + 1, dlen = strlen(data), pos;

	pos = (size_t)sprintf(out, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
			      1u, 0100644u, 0u, 0u, 1u, 0u, dlen, 0u, 0u, 0u, 0u, nlen, 0u);
	memcpy(out + pos, name, nlen);
	pos += nlen;
	while (pos % 4)
		out[pos++] = '\0';
	memcpy(out + pos, data, dlen);
	pos += dlen;
	while (pos % 4)
		out[pos++] = '\0';
	return pos;
}

static size_t gzip_buf(const char *in, size_t len, char *out, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	len = z.total_out;
	deflateEnd(&z);
	return len;
}

struct seen {
	char names[16][64];
	int n;
};

static void seen_fn(void *priv, const char *m)
{
	struct seen *s = priv;

	if (s->n < 16)
		snprintf(s->names[s->n++], 64, "%s", m);
}

static bool seen_has(const struct seen *s, const char *m)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], m))
			return true;
	return false;
}

static void test_check_parse_initramfs_concatenated(void **state)
{
	char *early = calloc(1, 4096), *main_cpio = calloc(1, 4096), *img = calloc(1, 16384);
	size_t e = 0, m = 0, n;
	struct seen s = { 0 };

	(void)state;
	/* early cpio (microcode), uncompressed, then a gzip'd main cpio */
	e += newc_entry(early + e, "kernel/x86/microcode/GenuineIntel.bin", "ucode");
	e += newc_entry(early + e, "TRAILER!!!", "");
	m += newc_entry(main_cpio + m, "usr/lib/modules/6.1.0/kernel/drivers/net/virtio_net.ko", "elf");
	m += newc_entry(main_cpio + m, "usr/lib/modules/6.1.0/kernel/drivers/scsi/virtio_scsi.ko.zst", "z");
	m += newc_entry(main_cpio + m, "usr/lib/modules/6.1.0/kernel/drivers/foo/some-thing.ko.xz", "x");
	m += newc_entry(main_cpio + m, "usr/lib/modules/6.1.0/modules.dep", "deps");
	m += newc_entry(main_cpio + m, "TRAILER!!!", "");
	memcpy(img, early, e);
	n = e + 512;  /* zero padding between the archives, as the kernel allows */
	n += gzip_buf(main_cpio, m, img + n, 16384 - n);
	assert_int_equal(gm_initramfs_modules(img, n, seen_fn, &s), 0);
	assert_true(seen_has(&s, "virtio_net"));
	assert_true(seen_has(&s, "virtio_scsi"));
	assert_true(seen_has(&s, "some_thing"));
	assert_false(seen_has(&s, "modules"));
	assert_false(seen_has(&s, "GenuineIntel"));
	assert_int_equal(s.n, 3);
	/* Uncompressed alone works too; junk does not. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(gm_initramfs_modules(main_cpio, m, seen_fn, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(gm_initramfs_modules("not an initramfs at all", 23, seen_fn, &s), -EINVAL);
	free(early);
	free(main_cpio);
	free(img);
}

/* ---- containers and superblocks ---- */

static void test_check_parse_sniff(void **state)
{
	unsigned char b[512];

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(gm_sniff(b, sizeof(b)), GM_SNIFF_UNKNOWN);
	memcpy(b, "\x1f\x8b\x08", 3);
	assert_int_equal(gm_sniff(b, sizeof(b)), GM_SNIFF_GZIP);
	memcpy(b, "\xfd" "7zXZ\0", 6);
	assert_int_equal(gm_sniff(b, sizeof(b)), GM_SNIFF_XZ);
	memcpy(b, "\x28\xb5\x2f\xfd", 4);
	assert_int_equal(gm_sniff(b, sizeof(b)), GM_SNIFF_ZSTD);
	memset(b, 0, sizeof(b));
	memcpy(b, "disk.raw", 8);
	memcpy(b + 257, "ustar  ", 8);
	assert_int_equal(gm_sniff(b, sizeof(b)), GM_SNIFF_TAR);
	assert_int_equal(gm_sniff(b, 100), GM_SNIFF_UNKNOWN);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void make_sb(unsigned char *sb)
{
	memset(sb, 0, 1024);
	put32(sb + 0x0, 65536);        /* inodes */
	put32(sb + 0x4, 262144);       /* blocks: 1 GiB of 4 KiB */
	put32(sb + 0x18, 2);           /* 4 KiB blocks */
	put32(sb + 0x20, 32768);
	put32(sb + 0x28, 8192);
	sb[0x38] = 0x53;
	sb[0x39] = 0xEF;
	sb[0x3A] = 1;                  /* clean */
}

static void test_check_parse_superblock(void **state)
{
	unsigned char sb[1024];
	char why[256];
	const uint64_t part = 1ull << 30;

	(void)state;
	make_sb(sb);
	assert_int_equal(gm_check_ext4_superblock(sb, part, why, sizeof(why)), GM_STATUS_PASS);
	assert_non_null(strstr(why, "clean"));
	sb[0x60] |= 0x4;               /* needs_recovery */
	assert_int_equal(gm_check_ext4_superblock(sb, part, why, sizeof(why)), GM_STATUS_FAIL);
	assert_non_null(strstr(why, "recovery"));
	make_sb(sb);
	sb[0x3A] = 3;                  /* errors */
	assert_int_equal(gm_check_ext4_superblock(sb, part, why, sizeof(why)), GM_STATUS_FAIL);
	make_sb(sb);
	sb[0x3A] = 0;                  /* not cleanly unmounted */
	assert_int_equal(gm_check_ext4_superblock(sb, part, why, sizeof(why)), GM_STATUS_WARN);
	make_sb(sb);
	assert_int_equal(gm_check_ext4_superblock(sb, part / 2, why, sizeof(why)), GM_STATUS_FAIL);
	make_sb(sb);
	sb[0x38] = 0;
	assert_int_equal(gm_check_ext4_superblock(sb, part, why, sizeof(why)), GM_STATUS_FAIL);
	make_sb(sb);
	put32(sb + 0x18, 9);
	assert_int_equal(gm_check_ext4_superblock(sb, part, why, sizeof(why)), GM_STATUS_FAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_parse_lookup_states),
		cmocka_unit_test(test_check_parse_lookup_last_wins),
		cmocka_unit_test(test_check_parse_required_options),
		cmocka_unit_test(test_check_parse_kvm_clock_folded),
		cmocka_unit_test(test_check_parse_renamed_options),
		cmocka_unit_test(test_check_parse_removed_options),
		cmocka_unit_test(test_check_parse_mmap_min_addr),
		cmocka_unit_test(test_check_parse_table_sane),
		cmocka_unit_test(test_check_parse_config_files),
		cmocka_unit_test(test_check_parse_initramfs_concatenated),
		cmocka_unit_test(test_check_parse_sniff),
		cmocka_unit_test(test_check_parse_superblock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
