/* fstab.c — see fstab.h. Pure: no I/O, every byte bounded. */
#include "editor/view/fstab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies field [s, e) into out (cap bytes), decoding \NNN octal escapes when
 * unescape. false when it does not fit or holds a NUL. */
static bool field(const char *s, const char *e, char *out, size_t cap, bool unescape)
{
	size_t n = 0;

	while (s < e) {
		unsigned char c = (unsigned char)*s++;

		if (unescape && c == '\\' && e - s >= 3 && s[0] >= '0' && s[0] <= '3' && s[1] >= '0' &&
		    s[1] <= '7' && s[2] >= '0' && s[2] <= '7') {
			c = (unsigned char)((s[0] - '0') << 6 | (s[1] - '0') << 3 | (s[2] - '0'));
			s += 3;
		}
		if (c == '\0' || n + 1 >= cap)
			return false;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return n > 0;
}

static bool number(const char *s, const char *e, int *out)
{
	long v = 0;

	if (s == e || e - s > 6)
		return false;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = (int)v;
	return true;
}

/* One line [s, e): 0 blank/comment, 1 parsed into ent, -1 invalid. */
static int parse_line(const char *s, const char *e, struct gm_fstab_entry *ent)
{
	const char *f[6][2];
	int nf = 0;

	while (s < e) {
		while (s < e && blank(*s))
			s++;
		if (s == e || (nf == 0 && *s == '#'))
			break;
		if (nf == 6)
			return -1;
		f[nf][0] = s;
		while (s < e && !blank(*s))
			s++;
		f[nf++][1] = s;
	}
	if (nf == 0)
		return 0;
	if (nf < 3)
		return -1;
	memset(ent, 0, sizeof(*ent));
	if (!field(f[0][0], f[0][1], ent->spec, sizeof(ent->spec), true) ||
	    !field(f[1][0], f[1][1], ent->file, sizeof(ent->file), true) ||
	    !field(f[2][0], f[2][1], ent->vfstype, sizeof(ent->vfstype), false))
		return -1;
	if (nf > 3 && !field(f[3][0], f[3][1], ent->opts, sizeof(ent->opts), false))
		return -1;
	if (nf == 3)
		snprintf(ent->opts, sizeof(ent->opts), "defaults");
	if (nf > 4 && !number(f[4][0], f[4][1], &ent->freq))
		return -1;
	if (nf > 5 && !number(f[5][0], f[5][1], &ent->passno))
		return -1;
	return 1;
}

void gm_fstab_parse(const char *buf, size_t len, struct gm_fstab *out)
{
	const char *p = buf, *end = buf + len;
	int line = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		struct gm_fstab_entry ent;
		int rc;

		line++;
		if (e > p && e[-1] == '\r')
			e--;
		rc = parse_line(p, e, &ent);
		if (rc > 0 && out->n < GM_FSTAB_MAX) {
			ent.line = line;
			out->e[out->n++] = ent;
		} else if (rc != 0) {
			out->skipped++;
			if (!out->first_bad_line)
				out->first_bad_line = line;
		}
		p = nl ? nl + 1 : end;
	}
}

/* Strips one pair of surrounding quotes (libmount accepts UUID="..."). */
static void unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* udev writes unsafe bytes of labels in /dev/disk/by-* names as \xNN. */
static void udev_decode(char *s)
{
	char *w = s;

	for (const char *r = s; *r;) {
		if (r[0] == '\\' && r[1] == 'x' && hexval(r[2]) >= 0 && hexval(r[3]) >= 0 &&
		    (hexval(r[2]) << 4 | hexval(r[3])) != 0) {
			*w++ = (char)(hexval(r[2]) << 4 | hexval(r[3]));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static bool take(const char *spec, const char *prefix, enum gm_fstab_key key,
		 struct gm_fstab_source *out, bool udev)
{
	size_t n = strlen(prefix);

	if (strncmp(spec, prefix, n) || !spec[n])
		return false;
	snprintf(out->value, sizeof(out->value), "%s", spec + n);
	if (udev)
		udev_decode(out->value);
	else
		unquote(out->value);
	out->key = key;
	return true;
}

/* Trailing partition number of a kernel device name: sda1, vda1, xvda1,
 * hda1 (digits after letters), nvme0n1p1, mmcblk0p1 ("p" after a digit). */
static bool devname_partno(const char *name, int *partno)
{
	size_t n = strlen(name), d = n;
	int v;

	while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
		d--;
	if (d == n || d == 0 || n - d > 3)
		return false;
	v = atoi(name + d);
	if (v < 1 || v > GM_MAX_PARTITIONS)
		return false;
	if (!strncmp(name, "nvme", 4) || !strncmp(name, "mmcblk", 6) || !strncmp(name, "loop", 4)) {
		if (d < 2 || name[d - 1] != 'p' || name[d - 2] < '0' || name[d - 2] > '9')
			return false;
	} else if (!strncmp(name, "sd", 2) || !strncmp(name, "vd", 2) || !strncmp(name, "xvd", 3) ||
		   !strncmp(name, "hd", 2)) {
		for (size_t i = 0; i < d; i++)
			if (name[i] < 'a' || name[i] > 'z')
				return false;
	} else {
		return false;
	}
	*partno = v;
	return true;
}

/* ".../by-id/google-persistent-disk-0-part1" and by-path names. */
static bool part_suffix(const char *name, int *partno)
{
	const char *p = strstr(name, "-part");
	int v;

	if (!p)
		return false;
	while (strstr(p + 1, "-part"))
		p = strstr(p + 1, "-part");
	p += 5;
	if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 3)
		return false;
	v = atoi(p);
	if (v < 1 || v > GM_MAX_PARTITIONS)
		return false;
	*partno = v;
	return true;
}

/* /dev/mapper/VG-LV: a '-' alone separates, "--" is a dash in a name. */
static bool mapper_name(const char *name, struct gm_fstab_source *out)
{
	char *w = out->vg;
	size_t cap = sizeof(out->vg), n = 0;
	bool in_lv = false;

	for (const char *r = name; *r; r++) {
		if (r[0] == '-' && r[1] == '-') {
			r++;
		} else if (*r == '-' && !in_lv) {
			w[n] = '\0';
			w = out->lv;
			cap = sizeof(out->lv);
			n = 0;
			in_lv = true;
			continue;
		}
		if (n + 1 >= cap)
			return false;
		w[n++] = *r;
	}
	w[n] = '\0';
	return in_lv && out->vg[0] && out->lv[0];
}

void gm_fstab_source(const struct gm_fstab_entry *e, struct gm_fstab_source *out)
{
	const char *s = e->spec;

	memset(out, 0, sizeof(*out));
	if (!gm_fstab_is_disk_mount(e)) {
		out->key = GM_FSKEY_NONE;
		return;
	}
	if (take(s, "UUID=", GM_FSKEY_UUID, out, false) ||
	    take(s, "PARTUUID=", GM_FSKEY_PARTUUID, out, false) ||
	    take(s, "LABEL=", GM_FSKEY_LABEL, out, false) ||
	    take(s, "PARTLABEL=", GM_FSKEY_PARTLABEL, out, false) ||
	    take(s, "/dev/disk/by-uuid/", GM_FSKEY_UUID, out, true) ||
	    take(s, "/dev/disk/by-partuuid/", GM_FSKEY_PARTUUID, out, true) ||
	    take(s, "/dev/disk/by-label/", GM_FSKEY_LABEL, out, true) ||
	    take(s, "/dev/disk/by-partlabel/", GM_FSKEY_PARTLABEL, out, true))
		return;
	if ((!strncmp(s, "/dev/disk/by-id/", 16) || !strncmp(s, "/dev/disk/by-path/", 18)) &&
	    part_suffix(s, &out->partno)) {
		out->key = GM_FSKEY_PARTNO;
		return;
	}
	if (!strncmp(s, "/dev/mapper/", 12)) {
		if (mapper_name(s + 12, out))
			out->key = GM_FSKEY_LVM;
		return;
	}
	if (!strncmp(s, "/dev/", 5) && !strchr(s + 5, '/') && devname_partno(s + 5, &out->partno)) {
		out->key = GM_FSKEY_PARTNO;
		return;
	}
	if (!strncmp(s, "/dev/", 5)) {
		/* /dev/VG/LV */
		const char *slash = strchr(s + 5, '/');

		if (slash && !strchr(slash + 1, '/') && slash[1] && strncmp(s + 5, "disk/", 5) &&
		    (size_t)(slash - (s + 5)) < sizeof(out->vg) && strlen(slash + 1) < sizeof(out->lv)) {
			memcpy(out->vg, s + 5, (size_t)(slash - (s + 5)));
			out->vg[slash - (s + 5)] = '\0';
			snprintf(out->lv, sizeof(out->lv), "%s", slash + 1);
			out->key = GM_FSKEY_LVM;
		}
	}
}

const struct gm_partition *gm_fstab_match(const struct gm_partition_table *t,
					  const struct gm_fstab_source *s)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct gm_partition *p = &t->parts[i];
		bool hit = false;

		switch (s->key) {
		case GM_FSKEY_UUID:
			hit = p->uuid[0] && !strcasecmp(p->uuid, s->value);
			break;
		case GM_FSKEY_PARTUUID:
			hit = p->partuuid[0] && !strcasecmp(p->partuuid, s->value);
			break;
		case GM_FSKEY_LABEL:
			hit = p->label[0] && !strcmp(p->label, s->value);
			break;
		case GM_FSKEY_PARTLABEL:
			hit = p->partlabel[0] && !strcmp(p->partlabel, s->value);
			break;
		case GM_FSKEY_PARTNO:
			hit = p->number == s->partno;
			break;
		case GM_FSKEY_LVM:
			hit = s->vg[0] && !strcmp(p->vg_name, s->vg);
			break;
		default:
			break;
		}
		if (hit)
			return p;
	}
	return NULL;
}

bool gm_fstab_opt(const char *opts, const char *name, char *val, size_t vallen)
{
	size_t n = strlen(name);

	for (const char *p = opts; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len >= n && !strncmp(p, name, n) && (len == n || p[n] == '=')) {
			if (val && vallen) {
				size_t vl = len > n ? len - n - 1 : 0;

				if (vl >= vallen)
					vl = vallen - 1;
				memcpy(val, p + n + (len > n), vl);
				val[vl] = '\0';
			}
			return true;
		}
		p = c ? c + 1 : NULL;
	}
	return false;
}

bool gm_fstab_is_disk_mount(const struct gm_fstab_entry *e)
{
	static const char *const pseudo[] = {
		"swap", "tmpfs", "proc", "sysfs", "devpts", "devtmpfs", "cgroup", "cgroup2", "mqueue",
		"hugetlbfs", "debugfs", "securityfs", "efivarfs", "binfmt_misc", "nfs", "nfs4", "cifs",
		"smb3", "fuse", "none", "ignore", "overlay", "9p", "virtiofs", "autofs", "ramfs",
	};

	if (e->file[0] != '/')
		return false;
	for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
		if (!strcmp(e->vfstype, pseudo[i]))
			return false;
	if (!strncmp(e->vfstype, "fuse.", 5) || !strcmp(e->spec, "none"))
		return false;
	return !gm_fstab_opt(e->opts, "noauto", NULL, 0) && !gm_fstab_opt(e->opts, "bind", NULL, 0) &&
	       !gm_fstab_opt(e->opts, "rbind", NULL, 0);
}
