/* check_parse.c — the pure parts of `check`: kernel .config parsing, the
 * guide's option table, listing the modules of an initramfs, sniffing a
 * container and judging an ext4 superblock. Functions over buffers only
 * (unit-tested in tests/test_check_parse.c). */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/check.h"

/* Requirements of Compute Engine's "Requirements to build custom images"
 * (building-custom-os): the required build options of the hardware section,
 * the recommended PCI_MSI, and the kernel security settings. names[] lists
 * the current Kconfig name first, then the names it had before. */
const struct gm_kconfig_req gm_kconfig_reqs[] = {
	{ .id = "kernel.kvm-guest", .names = { "KVM_GUEST" }, .level = GM_LEVEL_REQUIRED,
	  .want = GM_KREQ_ON, .why = "paravirtualization" },
	{ .id = "kernel.kvm-clock", .names = { "KVM_CLOCK" }, .level = GM_LEVEL_REQUIRED,
	  .want = GM_KREQ_ON, .why = "paravirtualized clock",
	  .absent_note = "CONFIG_KVM_CLOCK does not exist in this kernel: kvmclock is built "
			 "with CONFIG_KVM_GUEST (the guide: 'if applies to your kernel version')",
	  .absent_status = GM_STATUS_PASS, .absent_needs = "KVM_GUEST" },
	{ .id = "kernel.virtio-pci", .names = { "VIRTIO_PCI" }, .level = GM_LEVEL_REQUIRED,
	  .want = GM_KREQ_ON, .module = "virtio_pci", .why = "paravirtualized PCI devices" },
	{ .id = "kernel.scsi-virtio", .names = { "SCSI_VIRTIO" }, .level = GM_LEVEL_REQUIRED,
	  .want = GM_KREQ_ON, .module = "virtio_scsi",
	  .why = "paravirtualized disks (the boot disk is virtio-scsi)" },
	{ .id = "kernel.virtio-net", .names = { "VIRTIO_NET" }, .level = GM_LEVEL_REQUIRED,
	  .want = GM_KREQ_ON, .module = "virtio_net", .why = "paravirtualized network" },
	{ .id = "kernel.pci-msi", .names = { "PCI_MSI" }, .level = GM_LEVEL_RECOMMENDED,
	  .want = GM_KREQ_ON, .why = "message signaled interrupts" },
	/* kernel security settings */
	{ .id = "kernel.strict-devmem", .names = { "STRICT_DEVMEM" }, .level = GM_LEVEL_RECOMMENDED,
	  .want = GM_KREQ_ON, .why = "restricts /dev/mem",
	  .absent_note = "no /dev/mem at all (CONFIG_DEVMEM off)", .absent_status = GM_STATUS_PASS,
	  .absent_needs = "!DEVMEM" },
	{ .id = "kernel.devkmem", .names = { "DEVKMEM" }, .level = GM_LEVEL_RECOMMENDED,
	  .want = GM_KREQ_OFF, .why = "no /dev/kmem",
	  .absent_note = "CONFIG_DEVKMEM was removed in Linux 5.13: no /dev/kmem",
	  .absent_status = GM_STATUS_PASS },
	{ .id = "kernel.mmap-min-addr", .names = { "DEFAULT_MMAP_MIN_ADDR" },
	  .level = GM_LEVEL_RECOMMENDED, .want = GM_KREQ_VALUE, .value = "65536",
	  .why = "low memory protected from user mappings" },
	{ .id = "kernel.rodata", .names = { "STRICT_KERNEL_RWX", "DEBUG_RODATA" },
	  .level = GM_LEVEL_RECOMMENDED, .want = GM_KREQ_ON,
	  .why = "kernel read-only data write-protected (DEBUG_RODATA, renamed in 4.11)" },
	{ .id = "kernel.module-rodata", .names = { "STRICT_MODULE_RWX", "DEBUG_SET_MODULE_RONX" },
	  .level = GM_LEVEL_RECOMMENDED, .want = GM_KREQ_ON,
	  .why = "module read-only data write-protected (DEBUG_SET_MODULE_RONX, renamed in 4.11)" },
	{ .id = "kernel.stack-protector",
	  .names = { "STACKPROTECTOR", "CC_STACKPROTECTOR", "CC_STACKPROTECTOR_STRONG",
		     "CC_STACKPROTECTOR_REGULAR" },
	  .level = GM_LEVEL_RECOMMENDED, .want = GM_KREQ_ON,
	  .why = "stack protector (CC_STACKPROTECTOR, renamed in 4.18)" },
	{ .id = "kernel.compat-vdso", .names = { "COMPAT_VDSO" }, .level = GM_LEVEL_RECOMMENDED,
	  .want = GM_KREQ_OFF, .why = "vDSO not at a fixed address",
	  .absent_note = "no CONFIG_COMPAT_VDSO in this kernel (off)",
	  .absent_status = GM_STATUS_PASS },
	{ .id = "kernel.compat-brk", .names = { "COMPAT_BRK" }, .level = GM_LEVEL_RECOMMENDED,
	  .want = GM_KREQ_OFF, .why = "heap randomization kept" },
	{ .id = "kernel.x86-pae", .names = { "X86_PAE" }, .level = GM_LEVEL_RECOMMENDED,
	  .want = GM_KREQ_ON, .why = "PAE for NX on 32-bit kernels",
	  .absent_note = "a 64-bit kernel: X86_PAE applies to 32-bit kernels only",
	  .absent_status = GM_STATUS_NA, .absent_needs = "X86_64" },
	{ .id = "kernel.syn-cookies", .names = { "SYN_COOKIES" }, .level = GM_LEVEL_RECOMMENDED,
	  .want = GM_KREQ_ON, .why = "SYN flood protection" },
	{ .id = "kernel.security-yama", .names = { "SECURITY_YAMA" },
	  .level = GM_LEVEL_RECOMMENDED, .want = GM_KREQ_ON, .why = "Yama ptrace scope" },
	{ .id = "kernel.security-yama-stacked", .names = { "SECURITY_YAMA_STACKED" },
	  .level = GM_LEVEL_RECOMMENDED, .want = GM_KREQ_ON, .why = "Yama stacked with other LSMs",
	  .absent_note = "CONFIG_SECURITY_YAMA_STACKED was removed in Linux 4.3: Yama always stacks",
	  .absent_status = GM_STATUS_NA, .absent_needs = "SECURITY_YAMA" },
	{ .id = NULL },
};

enum gm_kconf_state gm_kconfig_lookup(const char *buf, size_t len, const char *name,
				      char *val, size_t vallen, int *line)
{
	enum gm_kconf_state st = GM_KCONF_ABSENT;
	const char *p = buf, *end = buf + len;
	size_t nlen;
	int ln = 0;

	if (!strncmp(name, "CONFIG_", 7))
		name += 7;
	nlen = strlen(name);
	if (line)
		*line = 0;
	if (val && vallen)
		val[0] = '\0';
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q = p, *le;

		if (!eol)
			eol = end;
		le = eol;
		ln++;
		while (le > q && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
			le--;
		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		if (*q == '#') {
			/* "# CONFIG_X is not set" */
			q++;
			while (q < le && *q == ' ')
				q++;
			if ((size_t)(le - q) == 7 + nlen + 11 && !strncmp(q, "CONFIG_", 7) &&
			    !strncmp(q + 7, name, nlen) && !strncmp(q + 7 + nlen, " is not set", 11)) {
				st = GM_KCONF_NOTSET;
				if (line)
					*line = ln;
				if (val && vallen)
					val[0] = '\0';
			}
		} else if ((size_t)(le - q) > 7 + nlen && !strncmp(q, "CONFIG_", 7) &&
			   !strncmp(q + 7, name, nlen) && q[7 + nlen] == '=') {
			const char *v = q + 8 + nlen;
			size_t vl = (size_t)(le - v);

			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			if (vl == 1 && *v == 'y')
				st = GM_KCONF_Y;
			else if (vl == 1 && *v == 'm')
				st = GM_KCONF_M;
			else if (vl == 1 && *v == 'n')
				st = GM_KCONF_NOTSET;
			else
				st = GM_KCONF_VALUE;
			if (line)
				*line = ln;
			if (val && vallen) {
				size_t c = vl < vallen - 1 ? vl : vallen - 1;
				memcpy(val, v, c);
				val[c] = '\0';
			}
		}
		p = eol + 1;
	}
	return st;
}

static const char *state_text(enum gm_kconf_state st, const char *val)
{
	switch (st) {
	case GM_KCONF_Y: return "=y";
	case GM_KCONF_M: return "=m";
	case GM_KCONF_NOTSET: return " is not set";
	case GM_KCONF_VALUE: return val;
	default: return " absent";
	}
}

/* "X" => X must be =y; "!X" => X must be off or absent. */
static bool cond_holds(const char *cond, const char *buf, size_t len)
{
	enum gm_kconf_state st;

	if (cond[0] == '!') {
		st = gm_kconfig_lookup(buf, len, cond + 1, NULL, 0, NULL);
		return st == GM_KCONF_NOTSET || st == GM_KCONF_ABSENT;
	}
	return gm_kconfig_lookup(buf, len, cond, NULL, 0, NULL) == GM_KCONF_Y;
}

void gm_kconfig_eval(const struct gm_kconfig_req *req, const char *buf, size_t len,
		     struct gm_rule_result *r, bool *needs_module)
{
	enum gm_kconf_state st = GM_KCONF_ABSENT, best = GM_KCONF_ABSENT;
	const char *found = NULL;
	char val[128] = "", bestval[sizeof(val) + 1] = "";
	int line = 0, bestline = 0;

	if (needs_module)
		*needs_module = false;
	r->id = req->id;
	r->level = req->level;
	r->line = 0;
	/* Prefer the first name that is on; else the first that is mentioned. */
	for (size_t i = 0; i < 5 && req->names[i]; i++) {
		st = gm_kconfig_lookup(buf, len, req->names[i], val, sizeof(val), &line);
		if (st == GM_KCONF_ABSENT)
			continue;
		if (!found || ((st == GM_KCONF_Y || st == GM_KCONF_M) &&
			       best != GM_KCONF_Y && best != GM_KCONF_M)) {
			found = req->names[i];
			best = st;
			bestline = line;
			snprintf(bestval, sizeof(bestval), "=%s", val);
		}
	}
	r->line = bestline;
	if (!found) {
		if (req->absent_note && (!req->absent_needs || cond_holds(req->absent_needs, buf, len))) {
			r->status = req->absent_status;
			snprintf(r->reason, sizeof(r->reason), "%s", req->absent_note);
		} else if (req->want == GM_KREQ_OFF) {
			r->status = GM_STATUS_PASS;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s not in this config (off): %s",
				 req->names[0], req->why);
		} else {
			r->status = GM_STATUS_FAIL;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s missing: %s needs %s%s",
				 req->names[0], req->why, req->want == GM_KREQ_VALUE ? "" : "=",
				 req->want == GM_KREQ_VALUE ? req->value : "y");
		}
		return;
	}
	const char *shown = best == GM_KCONF_VALUE ? bestval : state_text(best, NULL);
	const char *renamed = strcmp(found, req->names[0]) ? " (older name)" : "";
	switch (req->want) {
	case GM_KREQ_ON:
		if (best == GM_KCONF_Y) {
			r->status = GM_STATUS_PASS;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s=y%s: %s", found, renamed,
				 req->why);
		} else if (best == GM_KCONF_M && req->module) {
			r->status = GM_STATUS_PASS;
			if (needs_module)
				*needs_module = true;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s=m: %s is a module", found,
				 req->module);
		} else {
			r->status = GM_STATUS_FAIL;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s%s: %s needs =y%s", found, shown,
				 req->why, req->module ? " (or =m with the module in the initramfs)" : "");
		}
		break;
	case GM_KREQ_OFF:
		if (best == GM_KCONF_NOTSET) {
			r->status = GM_STATUS_PASS;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s is not set: %s", found,
				 req->why);
		} else {
			r->status = GM_STATUS_FAIL;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s%s: should be off (%s)", found,
				 shown, req->why);
		}
		break;
	case GM_KREQ_VALUE: {
		char *e;
		long long have, want = strtoll(req->value, NULL, 0);

		have = best == GM_KCONF_VALUE ? strtoll(bestval + 1, &e, 0) : -1;
		if (best == GM_KCONF_VALUE && *e == '\0' && have >= want) {
			r->status = GM_STATUS_PASS;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s%s: %s", found, bestval,
				 req->why);
		} else {
			r->status = GM_STATUS_FAIL;
			snprintf(r->reason, sizeof(r->reason), "CONFIG_%s%s: should be %s (%s)", found,
				 shown, req->value, req->why);
		}
		break;
	}
	}
}

/* ---- initramfs: concatenated cpio archives (newc raw, or compressed) ---- */

static void module_from_path(const char *path, gm_module_fn fn, void *priv)
{
	const char *base = strrchr(path, '/');
	char name[128];
	size_t n;
	const char *ko;

	base = base ? base + 1 : path;
	ko = strstr(base, ".ko");
	if (!ko || (ko[3] && ko[3] != '.'))
		return;
	n = (size_t)(ko - base);
	if (n == 0 || n >= sizeof(name))
		return;
	memcpy(name, base, n);
	name[n] = '\0';
	for (char *c = name; *c; c++)
		if (*c == '-')
			*c = '_';
	fn(priv, name);
}

static unsigned long hex8(const char *p)
{
	char t[9];

	memcpy(t, p, 8);
	t[8] = '\0';
	return strtoul(t, NULL, 16);
}

/* Parses one uncompressed newc archive at buf; returns the bytes it spans,
 * 0 if it is not one. */
static size_t newc_walk(const char *buf, size_t len, gm_module_fn fn, void *priv, unsigned *count)
{
	size_t pos = 0;

	while (pos + 110 <= len) {
		const char *h = buf + pos;
		unsigned long fsize, nsize;
		char name[512];

		if (memcmp(h, "070701", 6) && memcmp(h, "070702", 6))
			return pos ? pos : 0;
		fsize = hex8(h + 54);
		nsize = hex8(h + 94);
		if (nsize == 0 || pos + 110 + nsize > len)
			return 0;
		snprintf(name, sizeof(name), "%.*s", (int)(nsize - 1), h + 110);
		pos = (pos + 110 + nsize + 3) & ~(size_t)3;
		if (!strcmp(name, "TRAILER!!!"))
			return pos;
		if (fsize > len - pos)
			return 0;
		module_from_path(name, fn, priv);
		(*count)++;
		pos = (pos + fsize + 3) & ~(size_t)3;
	}
	return 0;
}

int gm_initramfs_modules(const void *vbuf, size_t len, gm_module_fn fn, void *priv)
{
	const char *buf = vbuf;
	size_t pos = 0;
	unsigned count = 0;

	while (pos < len) {
		size_t used;

		while (pos < len && buf[pos] == '\0')
			pos++;
		if (pos + 6 > len)
			break;
		used = newc_walk(buf + pos, len - pos, fn, priv, &count);
		if (used) {
			pos += used;
			continue;
		}
		/* Compressed (or another cpio flavour): libarchive reads to the end. */
		struct archive *a = archive_read_new();
		struct archive_entry *e;

		if (!a)
			return -ENOMEM;
		archive_read_support_filter_all(a);
		archive_read_support_format_cpio(a);
		if (archive_read_open_memory(a, buf + pos, len - pos) == ARCHIVE_OK) {
			int r;

			while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
				if (archive_entry_pathname(e))
					module_from_path(archive_entry_pathname(e), fn, priv);
				count++;
			}
		}
		archive_read_free(a);
		break;
	}
	return count ? 0 : -EINVAL;
}

/* ---- the ext4 superblock ---- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

enum gm_status gm_check_ext4_superblock(const unsigned char *sb, uint64_t part_size,
					char *why, size_t whylen)
{
	uint32_t log_bs = le32(sb + 0x18), incompat = le32(sb + 0x60);
	uint16_t state = le16(sb + 0x3A);
	uint64_t blocks, bs;

	if (le16(sb + 0x38) != 0xEF53) {
		snprintf(why, whylen, "no ext2/3/4 superblock (bad magic)");
		return GM_STATUS_FAIL;
	}
	if (log_bs > 6 || !le32(sb + 0x20) || !le32(sb + 0x28) || !le32(sb + 0x0)) {
		snprintf(why, whylen, "superblock is damaged (block size, group or inode counts)");
		return GM_STATUS_FAIL;
	}
	bs = 1024ull << log_bs;
	blocks = le32(sb + 0x4);
	if (incompat & 0x80)      /* 64bit */
		blocks |= (uint64_t)le32(sb + 0x150) << 32;
	if (part_size && blocks * bs > part_size) {
		snprintf(why, whylen, "filesystem (%" PRIu64 " bytes) is bigger than its partition "
			 "(%" PRIu64 " bytes)", blocks * bs, part_size);
		return GM_STATUS_FAIL;
	}
	if (incompat & 0x4) {     /* needs_recovery */
		snprintf(why, whylen, "the journal needs recovery (not unmounted cleanly): run "
			 "'e2fsck -fy' on the filesystem or boot and shut down cleanly");
		return GM_STATUS_FAIL;
	}
	if (state & 0x2) {
		snprintf(why, whylen, "errors recorded in the superblock: run 'e2fsck -fy'");
		return GM_STATUS_FAIL;
	}
	if (!(state & 0x1)) {
		snprintf(why, whylen, "state not clean (not cleanly unmounted): e2fsck will run at boot");
		return GM_STATUS_WARN;
	}
	snprintf(why, whylen, "clean: %" PRIu64 " blocks of %" PRIu64 " KiB, no recovery needed",
		 blocks, bs / 1024);
	return GM_STATUS_PASS;
}
