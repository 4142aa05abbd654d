/* check_kernel.c — every /boot/config-* of the image against the guide's
 * kernel options (table in check_kconfig.c); a driver built as a module
 * passes when the initramfs of that kernel carries it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "editor/view/path.h"
#include "policies/check.h"

#define CONFIG_MAX (8u << 20)
#define INITRD_MAX (512u << 20)
#define LIST_MAX (1u << 20)

/* ---- module lists ---- */

struct names {
	char **v;
	size_t n, cap;
};

static void names_add(void *priv, const char *s)
{
	struct names *l = priv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n] = strdup(s)))
		l->n++;
}

static bool names_has(const struct names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], s))
			return true;
	return false;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Line of buf naming module as a word (initramfs-tools "modules" file, or a
 * dracut add_drivers/force_drivers line); 0 if none. */
static int listed_line(const char *buf, size_t len, const char *module, bool dracut)
{
	const char *p = buf, *end = buf + len;
	size_t ml = strlen(module);
	int ln = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q = p;

		if (!eol)
			eol = end;
		ln++;
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if (q < eol && *q != '#' &&
		    (!dracut || !strncmp(q, "add_drivers", 11) || !strncmp(q, "force_drivers", 13))) {
			for (const char *w = q; w + ml <= eol; w++) {
				bool start = w == q || strchr(" \t\"'=+", w[-1]);
				bool stop = w + ml == eol || strchr(" \t\"'", w[ml]);

				if (start && stop && !strncmp(w, module, ml))
					return ln;
			}
		}
		p = eol + 1;
	}
	return 0;
}

struct listing {
	struct gm_view *fs;
	const char *module;
	char file[256];
	int line;
};

static int dracut_one(void *priv, const char *path)
{
	struct listing *l = priv;
	char *buf;
	size_t len;
	int ln;

	if (gm_path_read_file(l->fs, path, LIST_MAX, &buf, &len) < 0)
		return 0;
	ln = listed_line(buf, len, l->module, true);
	free(buf);
	if (ln) {
		snprintf(l->file, sizeof(l->file), "%s", path);
		l->line = ln;
		return 1;
	}
	return 0;
}

/* Where the image's initramfs configuration asks for module; false if nowhere. */
static bool module_listed(struct gm_view *fs, const char *module, char *file, size_t flen, int *line)
{
	struct listing l = { .fs = fs, .module = module };
	char *buf;
	size_t len;

	if (gm_path_read_file(fs, "/etc/initramfs-tools/modules", LIST_MAX, &buf, &len) == 0) {
		l.line = listed_line(buf, len, module, false);
		free(buf);
		if (l.line) {
			snprintf(file, flen, "/etc/initramfs-tools/modules");
			*line = l.line;
			return true;
		}
	}
	if (gm_path_glob(fs, "/etc/dracut.conf.d/*.conf", dracut_one, &l) > 0 ||
	    dracut_one(&l, "/etc/dracut.conf") > 0) {
		snprintf(file, flen, "%s", l.file);
		*line = l.line;
		return true;
	}
	return false;
}

/* ---- one kernel ---- */

struct kernel {
	char config[256];
	const char *version;       /* points into config */
	char initrd[256];          /* "" if none found */
	bool initrd_read;
	bool initrd_ok;
	struct names modules;
};

static void load_initrd(struct gm_view *fs, struct kernel *k)
{
	/* prefix and suffix around the version (no format string from a table:
	 * clang's -Wformat-nonliteral) */
	static const char *const pats[][2] = { { "/boot/initrd.img-", "" },
					       { "/boot/initramfs-", ".img" },
					       { "/boot/initrd-", "" }, { NULL, NULL } };
	char *buf = NULL;
	size_t len;

	k->initrd_read = true;
	for (size_t i = 0; pats[i][0]; i++) {
		char path[256];
		struct stat st;

		snprintf(path, sizeof(path), "%s%s%s", pats[i][0], k->version, pats[i][1]);
		if (gm_path_stat(fs, path, &st) == 0 && S_ISREG(st.st_mode)) {
			snprintf(k->initrd, sizeof(k->initrd), "%s", path);
			break;
		}
	}
	if (!k->initrd[0] || gm_path_read_file(fs, k->initrd, INITRD_MAX, &buf, &len) < 0)
		return;
	k->initrd_ok = gm_initramfs_modules(buf, len, names_add, &k->modules) == 0;
	free(buf);
}

static void reasonf(struct gm_rule_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reasonf(struct gm_rule_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

static int collect_module(void *priv, const char *path)
{
	names_add(priv, path);
	return 0;
}

/* Whether the modules tree of the kernel has the module file. 1 yes, 0 no,
 * -1 there is no modules tree to look into. */
static int module_on_disk(struct gm_view *fs, const char *version, const char *module)
{
	static const char *const roots[] = { "/lib/modules", "/usr/lib/modules" };
	int any = -1;

	for (size_t i = 0; i < 2; i++) {
		char pat[512];
		struct names hits = { 0 };
		struct stat st;

		snprintf(pat, sizeof(pat), "%s/%s", roots[i], version);
		if (gm_path_stat(fs, pat, &st) < 0)
			continue;
		any = 0;
		/* kernel/drivers/<subsystem>/[<dir>/]<module>.ko* */
		for (int depth = 1; depth <= 4 && !hits.n; depth++) {
			snprintf(pat, sizeof(pat), "%s/%s/kernel", roots[i], version);
			for (int d = 0; d < depth; d++)
				strncat(pat, "/*", sizeof(pat) - strlen(pat) - 1);
			snprintf(pat + strlen(pat), sizeof(pat) - strlen(pat), "/%s.ko*", module);
			gm_path_glob(fs, pat, collect_module, &hits);
		}
		if (hits.n)
			any = 1;
		names_free(&hits);
		if (any == 1)
			return 1;
	}
	return any;
}

/* A driver built as a module: the boot disk's drivers (virtio_scsi,
 * virtio_pci) must be in the initramfs, or the root filesystem cannot be
 * mounted; the network driver can also be loaded later by udev from the
 * root filesystem. FAIL only where it provably cannot load; WARN where it
 * cannot be told (an initramfs gcemount cannot read, no modules tree). */
static void module_row(struct gm_view *fs, struct kernel *k, const struct gm_kconfig_req *req,
		       struct gm_rule_result *r)
{
	char lfile[256] = "";
	int lline = 0, disk;
	bool listed, boot = strcmp(req->module, "virtio_net") != 0;

	if (!k->initrd_read)
		load_initrd(fs, k);
	if (k->initrd_ok && names_has(&k->modules, req->module)) {
		r->status = GM_STATUS_PASS;
		reasonf(r, "%s is a module, found in %s", req->module, k->initrd);
		return;
	}
	listed = module_listed(fs, req->module, lfile, sizeof(lfile), &lline);
	if (k->initrd[0] && !k->initrd_ok) {
		r->status = GM_STATUS_WARN;
		reasonf(r, "%s is a module; %s could not be read, so whether it loads at boot cannot "
			"be told", req->module, k->initrd);
		return;
	}
	if (boot) {
		r->status = GM_STATUS_FAIL;
		if (k->initrd_ok)
			reasonf(r, "%s is a module and not in %s: the boot disk cannot be reached%s%s%s",
				req->module, k->initrd, listed ? " (listed in " : "",
				listed ? lfile : "", listed ? ": rebuild the initramfs)" : "");
		else
			reasonf(r, "%s is a module and there is no initramfs for %s: the boot disk cannot "
				"be reached before the root filesystem is mounted%s%s%s", req->module,
				k->version, listed ? " (listed in " : "", listed ? lfile : "",
				listed ? ", but no initramfs was built)" : "");
		return;
	}
	disk = module_on_disk(fs, k->version, req->module);
	if (disk == 1) {
		r->status = GM_STATUS_PASS;
		reasonf(r, "%s is a module in /lib/modules/%s: udev loads it once the root filesystem "
			"is mounted", req->module, k->version);
	} else if (disk == 0) {
		r->status = GM_STATUS_FAIL;
		reasonf(r, "%s is a module, in neither %s nor /lib/modules/%s: it cannot load",
			req->module, k->initrd_ok ? k->initrd : "an initramfs", k->version);
	} else {
		r->status = GM_STATUS_WARN;
		reasonf(r, "%s is a module, not in %s, and there is no /lib/modules/%s to look into",
			req->module, k->initrd_ok ? k->initrd : "an initramfs (none found)", k->version);
	}
}

static int check_one(struct gm_view *fs, struct kernel *k, struct gm_check_report *rep)
{
	char *buf;
	size_t len;
	int rc;

	rc = gm_path_read_file(fs, k->config, CONFIG_MAX, &buf, &len);
	if (rc < 0)
		return gm_check_add(rep, "kernel.config", GM_LEVEL_REQUIRED, GM_STATUS_WARN, k->config, 0,
				    "cannot read: %s", strerror(-rc));
	for (const struct gm_kconfig_req *req = gm_kconfig_reqs; req->id; req++) {
		struct gm_rule_result r;
		bool needs_module = false;

		memset(&r, 0, sizeof(r));
		gm_kconfig_eval(req, buf, len, &r, &needs_module);
		snprintf(r.file, sizeof(r.file), "%s", k->config);
		if (needs_module)
			module_row(fs, k, req, &r);
		/* this project's own additions: advice, never a FAIL */
		if (r.status == GM_STATUS_FAIL &&
		    !strcmp(gm_check_row_source(&r), GM_SOURCE_GCEMOUNT)) {
			char t[sizeof(r.reason)];
			snprintf(t, sizeof(t), "%s", r.reason);
			r.status = GM_STATUS_WARN;
			snprintf(r.reason, sizeof(r.reason), "advice: %.500s", t);
		}
		gm_check_report_add(rep, &r);
	}
	free(buf);
	return 0;
}

static int collect_config(void *priv, const char *path)
{
	names_add(priv, path);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gm_check_kernel(struct gm_view *fs, struct gm_check_report *rep)
{
	struct names cfgs = { 0 };
	int rc = gm_path_glob(fs, "/boot/config-*", collect_config, &cfgs);

	if (rc < 0 && rc != -ENOENT) {
		gm_check_add(rep, "kernel.config", GM_LEVEL_REQUIRED, GM_STATUS_WARN, "/boot", 0,
			     "cannot list /boot: %s", strerror(-rc));
		goto out;
	}
	if (cfgs.n == 0) {
		gm_check_add(rep, "kernel.config", GM_LEVEL_REQUIRED, GM_STATUS_WARN, NULL, 0,
			     "no /boot/config-* in the image: the kernel build options cannot be checked");
		goto out;
	}
	qsort(cfgs.v, cfgs.n, sizeof(*cfgs.v), cmp_str);
	for (size_t i = 0; i < cfgs.n; i++) {
		struct kernel *k = calloc(1, sizeof(*k));

		if (!k) {
			rep->oom = 1;
			break;
		}
		snprintf(k->config, sizeof(k->config), "%s", cfgs.v[i]);
		k->version = strrchr(k->config, '/') + 1 + strlen("config-");
		check_one(fs, k, rep);
		names_free(&k->modules);
		free(k);
	}
out:
	names_free(&cfgs);
	return rep->oom ? -ENOMEM : 0;
}
