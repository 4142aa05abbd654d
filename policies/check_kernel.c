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

static void module_row(struct gm_view *fs, struct kernel *k, const struct gm_kconfig_req *req,
		       struct gm_rule_result *r)
{
	char lfile[256] = "";
	int lline = 0;
	bool listed;

	if (!k->initrd_read)
		load_initrd(fs, k);
	if (k->initrd_ok && names_has(&k->modules, req->module)) {
		r->status = GM_STATUS_PASS;
		reasonf(r, "%s is a module, found in %s", req->module,
			 k->initrd);
		return;
	}
	listed = module_listed(fs, req->module, lfile, sizeof(lfile), &lline);
	r->status = GM_STATUS_WARN;
	if (k->initrd_ok)
		reasonf(r, "%s is a module, not in %s%s%s%s", req->module,
			 k->initrd, listed ? " although listed in " : ": add it to the initramfs",
			 listed ? lfile : "", listed ? " (rebuild the initramfs)" : "");
	else if (listed) {
		r->status = GM_STATUS_PASS;
		reasonf(r, "%s is a module, listed in %s:%d (%s%s%s)",
			 req->module, lfile, lline, k->initrd[0] ? "the initramfs " : "no initramfs for ",
			 k->initrd[0] ? k->initrd : k->version,
			 k->initrd[0] ? " could not be read" : " to look into");
	}
	else
		reasonf(r, "%s is a module, not in the initramfs (%s%s)",
			 req->module, k->initrd[0] ? k->initrd : "none found for ",
			 k->initrd[0] ? " unreadable" : k->version);
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
