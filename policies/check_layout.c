/* check_layout.c — see check_layout.h. Reads the partition table and the
 * first sector of the disk, the EFI system partition through the read-only
 * FAT reader, and the newest /boot/config-* through the view. */
#include "policies/check_layout.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "editor/fs/fat.h"
#include "editor/view/path.h"

#define CONFIG_MAX (16u << 20)
#define STUB_MAX (64u << 10)
#define SRC_GCEMOUNT "gcemount"
#define SRC_GUIDE "gce-guide"

/* One row; source tells gcemount's own advice from the guide's rules. */
static void row(struct gm_check_report *rep, const char *id, enum gm_level level, enum gm_status st,
		const char *source, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
static void row(struct gm_check_report *rep, const char *id, enum gm_level level, enum gm_status st,
		const char *source, const char *file, const char *fmt, ...)
{
	struct gm_rule_result r;
	va_list ap;

	memset(&r, 0, sizeof(r));
#ifdef GM_SOURCE_GCEMOUNT   /* rows carry their source (policy.h) */
	r.source = source;
#else
	(void)source;
#endif
	r.id = id;
	r.level = level;
	r.status = st;
	snprintf(r.file, sizeof(r.file), "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(r.reason, sizeof(r.reason), fmt, ap);
	va_end(ap);
	gm_check_report_add(rep, &r);
}

/* ---- the mount table ---- */

static void mounts_row(struct gm_view *v, struct gm_check_report *rep)
{
	char buf[512] = "";
	size_t used = 0;
	bool odd = false;

	if (!v) {
		row(rep, "layout.mounts", GM_LEVEL_RECOMMENDED, GM_STATUS_NA, SRC_GCEMOUNT, NULL,
		    "the root filesystem could not be opened: no mount table");
		return;
	}
	for (size_t i = 0; i < gm_view_nmounts(v) && used < sizeof(buf); i++) {
		const struct gm_mount *m = gm_view_mount(v, i);
		char part[32];

		if (m->partition > 0)
			snprintf(part, sizeof(part), "partition %d", m->partition);
		else
			snprintf(part, sizeof(part), "%s", m->partition == 0 ? "the whole disk" : "no partition");
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s = %s (%s%s%s%s)",
					 i ? ", " : "", m->path, part, m->fstype[0] ? m->fstype : "?",
					 m->kind == GM_MOUNT_FAT ? ", read-only" : "",
					 m->kind == GM_MOUNT_REFUSED || m->kind == GM_MOUNT_SKIPPED ? ", not mounted: " : "",
					 m->kind == GM_MOUNT_REFUSED || m->kind == GM_MOUNT_SKIPPED ? m->note : "");
		odd |= m->kind == GM_MOUNT_REFUSED || m->kind == GM_MOUNT_SKIPPED;
	}
	row(rep, "layout.mounts", GM_LEVEL_RECOMMENDED, odd ? GM_STATUS_WARN : GM_STATUS_PASS, SRC_GCEMOUNT,
	    gm_view_nmounts(v) > 1 ? "/etc/fstab" : NULL, "%s", buf);
}

/* ---- the ESP ---- */

struct esp_facts {
	int part;                    /* the ESP's partition number; 0 if none */
	bool readable, loader;
	uint64_t loader_size;
	char stubs[256];             /* "\EFI\debian\grub.cfg -> partition 1" ... */
	bool stub_bad;
	char problem[256];
};

static int fat_path(struct gm_fat *f, const char *const *comps, size_t n, gm_fat_ino_t *ino)
{
	gm_fat_ino_t cur = GM_FAT_ROOT_INO;

	for (size_t i = 0; i < n; i++)
		if (gm_fat_lookup(f, cur, comps[i], &cur) < 0)
			return -ENOENT;
	*ino = cur;
	return 0;
}

/* The filesystem UUID a grub.cfg stub searches for ("search.fs_uuid U root"
 * or "search --fs-uuid ... U"). */
static bool stub_uuid(const char *buf, char *uuid, size_t len)
{
	const char *p = strstr(buf, "search.fs_uuid ");
	size_t n;

	if (p)
		p += strlen("search.fs_uuid ");
	else if ((p = strstr(buf, "--fs-uuid"))) {
		p += strlen("--fs-uuid");
		while (*p == ' ' || *p == '\t')
			p++;
		while (*p == '-') {   /* further options: --set=root, --no-floppy */
			p += strcspn(p, " \t\n");
			p += strspn(p, " \t");
		}
	} else
		return false;
	n = strspn(p, "0123456789abcdefABCDEF-");
	if (n == 0 || n >= len)
		return false;
	memcpy(uuid, p, n);
	uuid[n] = '\0';
	return true;
}

struct stub_ctx {
	struct gm_fat *f;
	const struct gm_partition_table *t;
	struct esp_facts *e;
	gm_fat_ino_t efi;
};

static void one_stub(struct stub_ctx *c, const char *dir, gm_fat_ino_t ino)
{
	char *buf, uuid[64];
	struct stat st;
	size_t used = strlen(c->e->stubs);
	const struct gm_partition *hit = NULL;
	ssize_t n;

	if (gm_fat_getattr(c->f, ino, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STUB_MAX)
		return;
	buf = calloc(1, (size_t)st.st_size + 1);
	if (!buf)
		return;
	n = gm_fat_read(c->f, ino, buf, (size_t)st.st_size, 0);
	if (n >= 0 && stub_uuid(buf, uuid, sizeof(uuid))) {
		for (size_t i = 0; i < c->t->n && !hit; i++)
			if (!strcasecmp(c->t->parts[i].uuid, uuid))
				hit = &c->t->parts[i];
		if (hit)
			snprintf(c->e->stubs + used, sizeof(c->e->stubs) - used, "%s\\EFI\\%s\\grub.cfg -> "
				 "partition %d", used ? ", " : "", dir, hit->number);
		else {
			snprintf(c->e->stubs + used, sizeof(c->e->stubs) - used, "%s\\EFI\\%s\\grub.cfg "
				 "searches UUID %s, which no partition has", used ? ", " : "", dir, uuid);
			c->e->stub_bad = true;
		}
	} else if (n >= 0) {
		snprintf(c->e->stubs + used, sizeof(c->e->stubs) - used, "%s\\EFI\\%s\\grub.cfg",
			 used ? ", " : "", dir);
	}
	free(buf);
}

static int stub_dir(void *priv, const char *name, size_t namelen, gm_fat_ino_t ino, unsigned dtype,
		    uint64_t next_off)
{
	struct stub_ctx *c = priv;
	char dir[64];
	gm_fat_ino_t cfg;

	(void)next_off;
	if (dtype != DT_DIR || namelen >= sizeof(dir) || name[0] == '.')
		return 0;
	memcpy(dir, name, namelen);
	dir[namelen] = '\0';
	if (gm_fat_lookup(c->f, ino, "grub.cfg", &cfg) == 0)
		one_stub(c, dir, cfg);
	return 0;
}

static void inspect_esp(struct gm_image *img, const struct gm_partition_table *t, struct esp_facts *e)
{
	static const char *const loader[] = { "EFI", "BOOT", "BOOTX64.EFI" };
	const struct gm_partition *p = NULL;
	struct gm_error err = { 0 };
	struct gm_fat *f = NULL;
	gm_fat_ino_t ino;
	struct stat st;

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < t->n && !p; i++)
		if (t->parts[i].role == GM_ROLE_ESP)
			p = &t->parts[i];
	if (!p)
		return;
	e->part = p->number;
	if (strcmp(p->fstype, "vfat")) {
		snprintf(e->problem, sizeof(e->problem), "the EFI system partition %d holds %s, not FAT",
			 p->number, p->fstype[0] ? p->fstype : "no filesystem");
		return;
	}
	if (gm_fat_open(gm_image_fd(img), p->offset, p->size, NULL, &f, &err) < 0) {
		snprintf(e->problem, sizeof(e->problem), "the EFI system partition %d cannot be read: %s",
			 p->number, gm_error_msg(&err));
		return;
	}
	e->readable = true;
	if (fat_path(f, loader, 3, &ino) == 0 && gm_fat_getattr(f, ino, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > 0) {
		e->loader = true;
		e->loader_size = (uint64_t)st.st_size;
	}
	if (fat_path(f, loader, 1, &ino) == 0) {
		struct stub_ctx c = { f, t, e, ino };

		gm_fat_readdir(f, ino, 0, stub_dir, &c);
	}
	gm_fat_close(f);
}

/* ---- BIOS ---- */

struct bios_facts {
	bool code, grub;             /* boot code in sector 0; GRUB's */
	int bios_part;               /* GPT BIOS boot partition number; 0 if none */
	bool bios_part_used;         /* its first sector is not empty */
	int active;                  /* MBR: the active partition; 0 if none */
};

static bool all_zero(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void inspect_bios(struct gm_image *img, const struct gm_partition_table *t, struct bios_facts *b)
{
	unsigned char s[512];

	memset(b, 0, sizeof(*b));
	if (pread(gm_image_fd(img), s, sizeof(s), 0) == (ssize_t)sizeof(s)) {
		b->code = !all_zero(s, 440);
		b->grub = b->code && memmem(s, 440, "GRUB", 4) != NULL;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct gm_partition *p = &t->parts[i];

		if (p->role == GM_ROLE_BIOS_BOOT && !b->bios_part) {
			b->bios_part = p->number;
			b->bios_part_used = pread(gm_image_fd(img), s, sizeof(s), (off_t)p->offset) ==
					    (ssize_t)sizeof(s) && !all_zero(s, sizeof(s));
		}
		if (p->bootable && !b->active)
			b->active = p->number;
	}
}

/* ---- kernel features ---- */

struct newest {
	char path[256];
};

static int keep_newest(void *priv, const char *path)
{
	struct newest *n = priv;

	if (strlen(path) < sizeof(n->path) && (!n->path[0] || strverscmp(path, n->path) > 0))
		snprintf(n->path, sizeof(n->path), "%s", path);
	return 0;
}

/* CONFIG_GVE and CONFIG_SCSI_VIRTIO of the newest kernel. false when no config. */
static bool kernel_features(struct gm_view *v, bool *gve, bool *vscsi, char *which, size_t len)
{
	struct newest n = { "" };
	char *buf = NULL;
	size_t blen = 0;
	enum gm_kconf_state s;

	*gve = *vscsi = false;
	if (!v || gm_path_glob(v, "/boot/config-*", keep_newest, &n) < 0 || !n.path[0] ||
	    gm_path_read_file(v, n.path, CONFIG_MAX, &buf, &blen) < 0)
		return false;
	s = gm_kconfig_lookup(buf, blen, "GVE", NULL, 0, NULL);
	*gve = s == GM_KCONF_Y || s == GM_KCONF_M;
	s = gm_kconfig_lookup(buf, blen, "SCSI_VIRTIO", NULL, 0, NULL);
	*vscsi = s == GM_KCONF_Y || s == GM_KCONF_M;
	snprintf(which, len, "%s", n.path);
	free(buf);
	return true;
}

void gm_layout_gcloud_flags(bool uefi, bool gve, bool virtio_scsi, char *buf, size_t len)
{
	const char *f[3];
	size_t n = 0, used;

	if (uefi)
		f[n++] = "UEFI_COMPATIBLE";
	if (virtio_scsi)
		f[n++] = "VIRTIO_SCSI_MULTIQUEUE";
	if (gve)
		f[n++] = "GVNIC";
	buf[0] = '\0';
	if (!n)
		return;
	used = (size_t)snprintf(buf, len, "--guest-os-features=");
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", f[i]);
}

int gm_check_layout(struct gm_image *img, struct gm_view *v, struct gm_check_report *rep)
{
	struct gm_partition_table *t = calloc(1, sizeof(*t));
	struct esp_facts e;
	struct bios_facts b;
	char bios[200] = "", uefi[200] = "", flags[128], which[256], sz[32];
	bool gve, vscsi, have_cfg;

	if (!t)
		return -ENOMEM;
	if (v)
		*t = *gm_view_partition_table(v);
	else if (gm_partition_probe(gm_image_fd(img), gm_image_disk_size(img), t, NULL) < 0)
		t->type = GM_PTABLE_NONE, t->n = 0;
	mounts_row(v, rep);
	inspect_bios(img, t, &b);
	inspect_esp(img, t, &e);

	if (t->type == GM_PTABLE_MBR && b.code)
		snprintf(bios, sizeof(bios), "BIOS (%s boot code in the MBR%s%.0d)", b.grub ? "GRUB" : "",
			 b.active ? ", active partition " : ", no active partition", b.active);
	else if (t->type == GM_PTABLE_GPT && b.bios_part && b.code && b.bios_part_used)
		snprintf(bios, sizeof(bios), "BIOS (GPT BIOS boot partition %d, %sboot code in the "
			 "protective MBR)", b.bios_part, b.grub ? "GRUB " : "");
	if (e.loader) {
		gm_human_size(e.loader_size, sz, sizeof(sz));
		snprintf(uefi, sizeof(uefi), "UEFI (EFI system partition %d with \\EFI\\BOOT\\BOOTX64.EFI, %s)",
			 e.part, sz);
	}
	if (bios[0] || uefi[0]) {
		row(rep, "layout.boot-mode", GM_LEVEL_REQUIRED, GM_STATUS_PASS, SRC_GUIDE, NULL,
		    "%s table; boots by %s%s%s", t->type == GM_PTABLE_GPT ? "GPT" : "MBR", bios,
		    bios[0] && uefi[0] ? " and " : "", uefi);
	} else {
		char why[400];

		if (t->type == GM_PTABLE_NONE)
			snprintf(why, sizeof(why), "no partition table: the import needs an MBR or a GPT");
		else if (t->type == GM_PTABLE_MBR)
			snprintf(why, sizeof(why), "MBR without boot code in sector 0 (install GRUB: "
				 "grub-install --target=i386-pc)%s%s", e.part ? "; " : "",
				 e.part ? (e.problem[0] ? e.problem : "the EFI system partition has no "
					   "\\EFI\\BOOT\\BOOTX64.EFI") : "");
		else
			snprintf(why, sizeof(why), "GPT %s; %s",
				 !b.bios_part ? "without a BIOS boot partition (BIOS cannot boot it)" :
				 !b.code ? "with a BIOS boot partition but no boot code in the protective MBR" :
				 "with an empty BIOS boot partition (no GRUB core image)",
				 !e.part ? "no EFI system partition (UEFI cannot boot it)" :
				 e.problem[0] ? e.problem : "the EFI system partition has no \\EFI\\BOOT\\BOOTX64.EFI "
				 "(the removable-media path UEFI firmware boots)");
		row(rep, "layout.boot-mode", GM_LEVEL_REQUIRED, GM_STATUS_FAIL, SRC_GUIDE, NULL,
		    "the image cannot boot: %s", why);
	}

	if (!e.part)
		row(rep, "layout.uefi-loader", GM_LEVEL_RECOMMENDED, GM_STATUS_NA, SRC_GUIDE, NULL,
		    "no EFI system partition: BIOS boot only (no UEFI, Shielded VM or Confidential VM)");
	else if (!e.readable || !e.loader)
		row(rep, "layout.uefi-loader", GM_LEVEL_RECOMMENDED, GM_STATUS_WARN, SRC_GUIDE, NULL,
		    "%s", e.problem[0] ? e.problem : "the EFI system partition has no "
		    "\\EFI\\BOOT\\BOOTX64.EFI: UEFI firmware (Shielded VM) finds no loader");
	else
		row(rep, "layout.uefi-loader", GM_LEVEL_RECOMMENDED, e.stub_bad ? GM_STATUS_WARN : GM_STATUS_PASS,
		    SRC_GUIDE, NULL, "\\EFI\\BOOT\\BOOTX64.EFI on partition %d%s%s", e.part,
		    e.stubs[0] ? "; " : "; no grub.cfg stub under \\EFI", e.stubs);

	have_cfg = kernel_features(v, &gve, &vscsi, which, sizeof(which));
	gm_layout_gcloud_flags(e.loader, gve, vscsi, flags, sizeof(flags));
	row(rep, "layout.gcloud-flags", GM_LEVEL_OPTIONAL, flags[0] ? GM_STATUS_PASS : GM_STATUS_NA,
	    SRC_GCEMOUNT, have_cfg ? which : NULL, "%s", flags[0] ? flags :
	    have_cfg ? "no guest OS feature applies" : "no /boot/config-* to read the kernel's drivers from");
	free(t);
	return rep->oom ? -ENOMEM : 0;
}
