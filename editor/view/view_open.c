/* view_open.c — see view.h: finding the root filesystem, reading its
 * /etc/fstab and mounting what it names, as the booted system would; the
 * mount table; closing; free space of every ext partition. */
#include "editor/view/view_private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "editor/view/fstab.h"
#include "editor/view/path.h"

#define FSTAB_MAX (1u << 20)

void gm_view_note_add(struct gm_view *v, const char *fmt, ...)
{
	char one[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(one, sizeof(one), fmt, ap);
	va_end(ap);
	gm_note_append(v->note, sizeof(v->note), "%s", one);
}

int gm_view_add_member(struct gm_view *v, const struct gm_member *m)
{
	if (v->n >= GM_VIEW_MAX_MEMBERS)
		return -ENOSPC;
	v->mem[v->n++] = *m;
	return 0;
}

/* Prefixes err's message with the image path. */
static int prefixed(struct gm_error *err, int rc, const char *path, const char *what)
{
	char msg[GM_ERRMSG_MAX];

	snprintf(msg, sizeof(msg), "%s", gm_error_msg(err));
	return gm_error_set(err, rc, "%s: %s%s", path, what, msg);
}

/* "IMG: partition 2 (root, 9.8 GiB) is XFS; gcemount edits ext2/3/4 only". */
static int refuse(struct gm_view *v, const struct gm_partition *p, const char *role,
		  struct gm_error *err)
{
	char what[192], sz[32], hint[96] = "";
	int other = 0;

	gm_partition_describe(p, what, sizeof(what));
	gm_human_size(p->size, sz, sizeof(sz));
	for (size_t i = 0; i < v->table.n; i++)
		if (gm_partition_is_ext(&v->table.parts[i]) && !other)
			other = v->table.parts[i].number;
	if (other)
		snprintf(hint, sizeof(hint), " (--partition %d opens the ext partition %d alone)", other, other);
	return gm_error_set(err, -EMEDIUMTYPE, "%s: partition %d (%s, %s) is %s; gcemount edits "
			    "ext2/3/4 only%s", gm_image_path(v->img), p->number, role, sz, what, hint);
}

static bool unsupported_data(const struct gm_partition *p)
{
	static const char *const kinds[] = { "xfs", "btrfs", "LVM2_member", "crypto_LUKS", "squashfs",
					     "zfs_member", "f2fs", "jfs", "reiserfs", "bcachefs" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(p->fstype, kinds[i]))
			return true;
	return false;
}

static int open_ext(struct gm_view *v, const struct gm_view_opts *o, const struct gm_partition *p,
		    struct gm_fs **fs, struct gm_error *err)
{
	struct gm_fs_opts fo = { 0 };

	fo.partition = p->number;
	fo.read_only = o->read_only;
	fo.owner_set = o->owner_set;
	fo.owner_uid = o->owner_uid;
	fo.owner_gid = o->owner_gid;
	fo.table = &v->table;
	return gm_fs_open(v->img, &fo, fs, err);
}

/* Whether the ext partition p has /etc/fstab and /etc/os-release. */
static bool looks_like_root(struct gm_view *v, const struct gm_partition *p)
{
	struct gm_view_opts ro = { .read_only = true };
	struct gm_view *probe = calloc(1, sizeof(*probe));
	struct gm_member m = { 0 };
	struct stat st;
	bool yes = false;

	if (!probe)
		return false;
	probe->img = v->img;
	if (open_ext(v, &ro, p, &m.fs, NULL) == 0) {
		m.m.kind = GM_MOUNT_EXT;
		m.root = GM_ROOT_INO;
		gm_view_add_member(probe, &m);
		yes = gm_path_stat(probe, "/etc/fstab", &st) == 0 && S_ISREG(st.st_mode) &&
		      gm_path_stat(probe, "/etc/os-release", &st) == 0;
		gm_fs_close(m.fs, NULL);
	}
	free(probe);
	return yes;
}

/* Picks the root partition; *source says how. NULL with err set when none. */
static const struct gm_partition *find_root(struct gm_view *v, const struct gm_view_opts *o,
					    const char **source, bool *alone, struct gm_error *err)
{
	const struct gm_partition *best = NULL, *typed = NULL, *big = NULL;
	char why[192];

	*alone = false;
	if (o->root > 0) {
		best = gm_partition_find(&v->table, o->root);
		if (!best)
			gm_error_set(err, -ENOENT, "%s: --root %d: no partition %d", gm_image_path(v->img),
				     o->root, o->root);
		*source = "--root";
		return best;
	}
	for (size_t i = 0; i < v->table.n; i++) {
		const struct gm_partition *p = &v->table.parts[i];

		if (p->role == GM_ROLE_ROOT && (!typed || (gm_partition_is_ext(p) && !gm_partition_is_ext(typed))))
			typed = p;
	}
	if (typed) {
		*source = "GPT type Linux root (x86-64)";
		return typed;
	}
	for (size_t i = 0; i < v->table.n; i++) {
		const struct gm_partition *p = &v->table.parts[i];

		if (gm_partition_is_ext(p) && (!best || p->size > best->size) && looks_like_root(v, p))
			best = p;
		if (unsupported_data(p) && (!big || p->size > big->size))
			big = p;
	}
	if (best) {
		*source = "holds /etc/fstab and /etc/os-release";
		return best;
	}
	if (big) {
		bool bigger = true;

		for (size_t i = 0; i < v->table.n; i++)
			if (gm_partition_is_ext(&v->table.parts[i]) && v->table.parts[i].size > big->size)
				bigger = false;
		if (bigger) {
			*source = "the largest partition";
			return big;
		}
	}
	/* Nothing says which is the root: the largest ext partition alone. */
	if (gm_partition_choose(&v->table, 0, &best, why, sizeof(why), err) < 0) {
		prefixed(err, err ? err->code : -ENOENT, gm_image_path(v->img), "");
		return NULL;
	}
	*alone = true;
	*source = "the largest ext partition (no /etc/fstab found)";
	if (strstr(why, "the largest of"))
		gm_view_note_add(v, "%s", why);
	return best;
}

static void fill_row(struct gm_member *m, const char *path, const struct gm_partition *p,
		     const char *source)
{
	snprintf(m->m.path, sizeof(m->m.path), "%s", path);
	m->m.partition = p ? p->number : -1;
	if (p)
		snprintf(m->m.fstype, sizeof(m->m.fstype), "%s", p->fstype);
	snprintf(m->m.source, sizeof(m->m.source), "%s", source);
	m->m.size = p ? p->size : 0;
}

/* "/boot//efi/" -> "/boot/efi"; false for relative paths or "." / "..". */
static bool clean_mount_path(const char *in, char *out, size_t cap)
{
	size_t n = 0;

	if (in[0] != '/')
		return false;
	for (const char *p = in; *p;) {
		const char *q;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		q = strchrnul(p, '/');
		len = (size_t)(q - p);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.') || n + len + 2 > cap)
			return false;
		out[n++] = '/';
		memcpy(out + n, p, len);
		n += len;
		p = q;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return true;
}

static int depth(const char *path)
{
	int d = 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

static int by_depth(const void *a, const void *b)
{
	const struct gm_fstab_entry *x = *(const struct gm_fstab_entry *const *)a;
	const struct gm_fstab_entry *y = *(const struct gm_fstab_entry *const *)b;
	int dx = depth(x->file), dy = depth(y->file);

	return dx != dy ? dx - dy : x->line - y->line;
}

static void fat_opts(const char *opts, struct gm_fat_opts *fo)
{
	char val[32];

	memset(fo, 0, sizeof(*fo));
	fo->fmask = fo->dmask = 022;
	fo->masks_set = true;
	if (gm_fstab_opt(opts, "umask", val, sizeof(val)))
		fo->fmask = fo->dmask = (mode_t)(strtoul(val, NULL, 8) & 0777);
	if (gm_fstab_opt(opts, "fmask", val, sizeof(val)))
		fo->fmask = (mode_t)(strtoul(val, NULL, 8) & 0777);
	if (gm_fstab_opt(opts, "dmask", val, sizeof(val)))
		fo->dmask = (mode_t)(strtoul(val, NULL, 8) & 0777);
	if (gm_fstab_opt(opts, "uid", val, sizeof(val)))
		fo->uid = (uid_t)strtoul(val, NULL, 10);
	if (gm_fstab_opt(opts, "gid", val, sizeof(val)))
		fo->gid = (gid_t)strtoul(val, NULL, 10);
}

static bool mounted(const struct gm_view *v, int number)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->mem[i].m.partition == number &&
		    (v->mem[i].m.kind == GM_MOUNT_EXT || v->mem[i].m.kind == GM_MOUNT_FAT))
			return true;
	return false;
}

/* Mounts one fstab entry (or records why not). 0, or -errno when an ext
 * filesystem it names cannot be opened as asked. */
static int mount_entry(struct gm_view *v, const struct gm_view_opts *o, const struct gm_fstab_entry *e,
		       struct gm_error *err)
{
	struct gm_fstab_source src;
	const struct gm_partition *p;
	struct gm_member m = { 0 };
	char path[256], what[160];
	gm_vino_t dir;
	struct stat st;
	int rc;

	if (!clean_mount_path(e->file, path, sizeof(path)) || !strcmp(path, "/"))
		return 0;
	gm_fstab_source(e, &src);
	p = gm_fstab_match(&v->table, &src);
	fill_row(&m, path, p, e->spec);
	m.m.kind = GM_MOUNT_SKIPPED;
	if (!p) {
		snprintf(m.m.fstype, sizeof(m.m.fstype), "%.15s", e->vfstype);
		snprintf(m.m.note, sizeof(m.m.note), "%s",
			 src.key == GM_FSKEY_LVM ? "a logical volume: gcemount does not read LVM" :
			 src.key == GM_FSKEY_UNKNOWN ? "a device name gcemount cannot map to a partition" :
			 "no partition of this disk matches");
		return gm_view_add_member(v, &m) == 0 ? 0 : 0;
	}
	if (mounted(v, p->number)) {
		snprintf(m.m.note, sizeof(m.m.note), "partition %d is already mounted", p->number);
		gm_view_add_member(v, &m);
		return 0;
	}
	rc = gm_path_resolve(v, path, 0, &dir);
	if (rc == 0)
		rc = gm_view_getattr(v, dir, &st);
	if (rc || !S_ISDIR(st.st_mode)) {
		snprintf(m.m.note, sizeof(m.m.note), "the mount point is %s in the image",
			 rc == -EMEDIUMTYPE ? "on a filesystem gcemount cannot read" :
			 rc ? "missing" : "not a directory");
		gm_view_add_member(v, &m);
		return 0;
	}
	m.covered = dir;
	if (gm_partition_is_ext(p)) {
		rc = open_ext(v, o, p, &m.fs, err);
		if (rc)
			return rc;
		m.m.kind = GM_MOUNT_EXT;
		m.root = GM_ROOT_INO;
		if (gm_fs_note(m.fs)[0])
			gm_view_note_add(v, "%s: %s", path, gm_fs_note(m.fs));
	} else if (!strcmp(p->fstype, "vfat")) {
		struct gm_fat_opts fo;
		struct gm_error ferr = { 0 };

		fat_opts(e->opts, &fo);
		fo.wait_for = v->img;
		rc = gm_fat_open(gm_image_disk_fd(v->img), p->offset, p->size, &fo, &m.fat, &ferr);
		if (rc) {
			m.m.kind = GM_MOUNT_REFUSED;
			snprintf(m.m.note, sizeof(m.m.note), "partition %d, which gcemount cannot read: %s",
				 p->number, gm_error_msg(&ferr));
		} else {
			m.m.kind = GM_MOUNT_FAT;
			m.root = GM_FAT_ROOT_INO;
		}
	} else {
		gm_partition_describe(p, what, sizeof(what));
		m.m.kind = GM_MOUNT_REFUSED;
		snprintf(m.m.note, sizeof(m.m.note), "partition %d, %s; gcemount edits ext2/3/4 only",
			 p->number, what);
	}
	rc = gm_view_add_member(v, &m);
	if (rc) {
		gm_fs_close(m.fs, NULL);
		gm_fat_close(m.fat);
		return gm_error_set(err, -ENOSPC, "more than %d mounts in /etc/fstab", GM_VIEW_MAX_MEMBERS);
	}
	return 0;
}

static int mount_fstab(struct gm_view *v, const struct gm_view_opts *o, struct gm_error *err)
{
	const struct gm_fstab_entry *order[GM_FSTAB_MAX];
	struct gm_fstab *tab = NULL;
	char *buf = NULL;
	size_t len = 0, n = 0;
	int rc;

	if (gm_path_read_file(v, "/etc/fstab", FSTAB_MAX, &buf, &len) < 0)
		return 0;   /* no fstab: the root alone */
	tab = malloc(sizeof(*tab));
	if (!tab) {
		free(buf);
		return gm_error_set(err, -ENOMEM, "%s: out of memory", gm_image_path(v->img));
	}
	gm_fstab_parse(buf, len, tab);
	free(buf);
	if (tab->skipped)
		gm_view_note_add(v, "/etc/fstab: %u line%s not understood (the first is line %d)",
				 tab->skipped, tab->skipped == 1 ? "" : "s", tab->first_bad_line);
	for (size_t i = 0; i < tab->n; i++)
		if (gm_fstab_is_disk_mount(&tab->e[i]))
			order[n++] = &tab->e[i];
	qsort(order, n, sizeof(order[0]), by_depth);
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = mount_entry(v, o, order[i], err);
		if (rc && err) {
			/* gm_fs_open's message starts with the image path: keep it once */
			char msg[GM_ERRMSG_MAX];
			size_t plen = strlen(gm_image_path(v->img));
			const char *m = gm_error_msg(err);

			if (!strncmp(m, gm_image_path(v->img), plen) && !strncmp(m + plen, ": ", 2))
				m += plen + 2;
			snprintf(msg, sizeof(msg), "%s", m);
			gm_error_set(err, rc, "%s: %s (fstab line %d): %s", gm_image_path(v->img),
				     order[i]->file, order[i]->line, msg);
		}
	}
	free(tab);
	return rc;
}

static int open_alone(struct gm_view *v, const struct gm_view_opts *o, int number,
		      struct gm_error *err)
{
	const struct gm_partition *p = gm_partition_find(&v->table, number);
	struct gm_member m = { 0 };
	int rc;

	if (p && !strcmp(p->fstype, "vfat")) {
		struct gm_fat_opts fo;

		fat_opts("", &fo);
		fo.wait_for = v->img;
		rc = gm_fat_open(gm_image_disk_fd(v->img), p->offset, p->size, &fo, &m.fat, err);
		if (rc)
			return prefixed(err, rc, gm_image_path(v->img), "");
		fill_row(&m, "/", p, "--partition");
		m.m.kind = GM_MOUNT_FAT;
		m.root = GM_FAT_ROOT_INO;
		return gm_view_add_member(v, &m);
	}
	rc = gm_fs_open(v->img, &(struct gm_fs_opts){ .partition = number, .read_only = o->read_only,
			.owner_set = o->owner_set, .owner_uid = o->owner_uid, .owner_gid = o->owner_gid,
			.table = &v->table },
			&m.fs, err);
	if (rc)
		return rc;
	fill_row(&m, "/", gm_fs_partition(m.fs), number > 0 ? "--partition" : "the only filesystem");
	m.m.kind = GM_MOUNT_EXT;
	m.root = GM_ROOT_INO;
	if (gm_fs_note(m.fs)[0])
		gm_view_note_add(v, "%s", gm_fs_note(m.fs));
	return gm_view_add_member(v, &m);
}

int gm_view_open(struct gm_image *img, const struct gm_view_opts *opts, struct gm_view **out,
		 struct gm_error *err)
{
	static const struct gm_view_opts defaults;
	const struct gm_partition *root;
	const char *source = "";
	struct gm_view *v;
	struct gm_member m = { 0 };
	bool alone;
	int rc;

	if (!opts)
		opts = &defaults;
	v = calloc(1, sizeof(*v));
	if (!v)
		return gm_error_set(err, -ENOMEM, "%s: out of memory", gm_image_path(img));
	v->img = img;
	v->read_only = opts->read_only;
	rc = gm_partition_probe_image(img, &v->table, err);
	if (rc) {
		prefixed(err, rc, gm_image_path(img), "");
		goto fail;
	}
	if (opts->partition > 0 || v->table.type == GM_PTABLE_NONE) {
		rc = open_alone(v, opts, opts->partition, err);
		if (rc)
			goto fail;
		*out = v;
		return 0;
	}
	root = find_root(v, opts, &source, &alone, err);
	if (!root) {
		rc = err ? err->code : -ENOENT;
		goto fail;
	}
	if (alone) {
		rc = open_alone(v, opts, root->number, err);
		if (rc)
			goto fail;
		*out = v;
		return 0;
	}
	if (!gm_partition_is_ext(root)) {
		rc = refuse(v, root, opts->root > 0 ? "root, as --root says" :
			    root->role == GM_ROLE_ROOT ? "root" : "probably root", err);
		goto fail;
	}
	rc = open_ext(v, opts, root, &m.fs, err);
	if (rc)
		goto fail;
	fill_row(&m, "/", root, source);
	m.m.kind = GM_MOUNT_EXT;
	m.root = GM_ROOT_INO;
	if (gm_fs_note(m.fs)[0])
		gm_view_note_add(v, "%s", gm_fs_note(m.fs));
	gm_view_add_member(v, &m);
	rc = mount_fstab(v, opts, err);
	if (rc)
		goto fail;
	*out = v;
	return 0;
fail:
	gm_view_close(v, NULL);
	return rc;
}

int gm_view_flush(struct gm_view *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->mem[i].fs) {
			int rc = gm_fs_flush(v->mem[i].fs);

			if (rc)
				return gm_view_fail(v, rc, "%s: %s", v->mem[i].m.path, gm_fs_errmsg(v->mem[i].fs));
		}
	return 0;
}

int gm_view_close(struct gm_view *v, struct gm_error *err)
{
	int first = 0;

	if (!v)
		return 0;
	/* Mounted filesystems first, the root last (as umount -R would). */
	for (size_t i = v->n; i-- > 0;) {
		struct gm_error e = { 0 };
		int rc = gm_fs_close(v->mem[i].fs, &e);

		gm_fat_close(v->mem[i].fat);
		if (rc && !first) {
			first = rc;
			gm_error_set(err, rc, "%s", gm_error_msg(&e));
		}
	}
	free(v);
	return first;
}

int gm_view_free_ranges(struct gm_view *v, struct gm_rangeset *out)
{
	for (size_t i = 0; i < v->table.n; i++) {
		const struct gm_partition *p = &v->table.parts[i];
		struct gm_fs *fs = NULL;
		bool own = false;
		int rc;

		if (!gm_partition_is_ext(p) || p->needs_recovery)
			continue;
		for (size_t k = 0; k < v->n && !fs; k++)
			if (v->mem[k].fs && v->mem[k].m.partition == p->number)
				fs = v->mem[k].fs;
		if (!fs) {
			/* Not in the view: free blocks are free all the same. */
			if (gm_fs_open(v->img, &(struct gm_fs_opts){ .partition = p->number, .read_only = true,
								     .table = &v->table },
				       &fs, NULL) < 0)
				continue;
			own = true;
		}
		rc = gm_fs_free_ranges(fs, out);
		if (rc < 0)
			gm_view_fail(v, rc, "%s", gm_fs_errmsg(fs));
		if (own)
			gm_fs_close(fs, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}
