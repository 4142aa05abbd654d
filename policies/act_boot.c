/* act_boot.c — the grub-cmdline action: a kernel argument on the command
 * line the boot loader will use at the next boot, and for kernels installed
 * later.
 *
 * At first boot: the default entry of grub.cfg (/boot/grub/grub.cfg,
 * /boot/grub2/grub.cfg; grubenv's saved_entry/next_entry honoured), and BLS
 * entries (/boot/loader/entries/ *.conf, their options line). For later:
 * /etc/kernel/cmdline (kernel-install) and /etc/default/grub with
 * /etc/default/grub.d/NAME.cfg (update-grub: GRUB_CMDLINE_LINUX, or
 * GRUB_CMDLINE_LINUX_DEFAULT for the normal entries). Paths go through
 * struct gm_root, so a separate /boot partition is seen where the view
 * mounts it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/actions.h"

static const char *const grub_cfgs[] = { "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg" };

char **gm_grub_env(const struct gm_root *r, const char *cfg)
{
	char path[256], *buf, **v;
	size_t len, n = 0;
	const char *slash = strrchr(cfg, '/');
	struct gm_lines l;

	snprintf(path, sizeof(path), "%.*s/grubenv", (int)(slash - cfg), cfg);
	if (gm_root_read(r, path, &buf, &len) < 0)
		return NULL;
	if (gm_lines_parse(&l, buf, len) < 0) {
		free(buf);
		return NULL;
	}
	free(buf);
	v = calloc(l.n + 1, sizeof(*v));
	for (size_t i = 0; v && i < l.n; i++)
		if (l.v[i].text[0] != '#' && strchr(l.v[i].text, '='))
			v[n++] = strdup(l.v[i].text);
	gm_lines_free(&l);
	return v;
}

/* /etc/default/grub then grub.d/ *.cfg, as update-grub sources them: the
 * argument is in GRUB_CMDLINE_LINUX or GRUB_CMDLINE_LINUX_DEFAULT. Returns
 * 1 yes, 0 no, -1 no /etc/default/grub. target: the file to edit. */
static int default_grub_has(struct ctx *c, const char *arg, char *target, size_t tlen)
{
	char **drop = NULL, *all = NULL;
	size_t ndrop = 0, alllen = 0;
	int line, has = -1;

	if (!gm_root_exists(c->r, "/etc/default/grub", true))
		return -1;
	snprintf(target, tlen, "/etc/default/grub");
	if (gm_root_glob_sorted(c->r, "/etc/default/grub.d/*.cfg", &drop, &ndrop) < 0)
		ndrop = 0;
	for (size_t i = 0; i <= ndrop; i++) {
		const char *p = i == 0 ? "/etc/default/grub" : drop[i - 1];
		char *buf, *t;
		size_t len;

		if (gm_root_read(c->r, p, &buf, &len) < 0)
			continue;
		if (gm_grub_has_arg(buf, len, arg, &line) >= 0 && line)
			snprintf(target, tlen, "%s", p);
		t = realloc(all, alllen + len + 2);
		if (!t) {
			free(buf);
			break;
		}
		all = t;
		memcpy(all + alllen, buf, len);
		alllen += len;
		if (len && buf[len - 1] != '\n')
			all[alllen++] = '\n';
		free(buf);
	}
	has = gm_grub_has_arg(all ? all : "", alllen, arg, &line) > 0;
	if (!has && all) {
		char v[1024];
		if (gm_shell_var(all, alllen, "GRUB_CMDLINE_LINUX_DEFAULT", v, sizeof(v), NULL) > 0 &&
		    gm_karg_has(v, strlen(v), arg))
			has = 1;
	}
	free(all);
	gm_strv_free(drop);
	return has;
}

typedef int (*edit_fn)(const char *in, size_t len, const char *arg, char **out, size_t *outlen);

static int edit_file(struct ctx *c, const char *path, edit_fn fn, const char *arg,
		     struct outcome *o, const char *what, bool add)
{
	char *buf, *out = NULL;
	size_t len, outlen;
	int rc = gm_root_read(c->r, path, &buf, &len);

	if (rc < 0)
		return gm_error_set(c->err, rc, "%s: %s", path, strerror(-rc));
	rc = fn(buf, len, arg, &out, &outlen);
	if (rc == -EINVAL)
		gm_error_set(c->err, rc, "%s: a kernel command line with quotes or backslashes; "
			     "add %s by hand", path, arg);
	if (rc == 1 && (rc = gm_act_write(c, path, out, outlen)) == 0)
		rc = add ? gm_act_summary(o, "%s: %s += %s", path, what, arg)
			 : gm_act_summary(o, "%s: %s removed from the %s", path, arg, what);
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

static void lack(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void lack(char *why, size_t n, const char *fmt, ...)
{
	size_t u = strlen(why);
	va_list ap;

	snprintf(why + u, n - u, "%s", u ? "; " : "");
	u = strlen(why);
	va_start(ap, fmt);
	vsnprintf(why + u, n - u, fmt, ap);
	va_end(ap);
}

/* grub.cfg number i with its default entry: 1 read (*found: 1 an entry
 * with a linux line, 0 none; the outcome's file and line set once), 0 not
 * in the image, -errno. */
static int load_cfg(struct ctx *c, size_t i, char **buf, size_t *len, struct gm_grub_entry *e,
		    int *found, struct outcome *o)
{
	char **env;

	if (gm_root_read(c->r, grub_cfgs[i], buf, len) < 0)
		return 0;
	env = gm_grub_env(c->r, grub_cfgs[i]);
	*found = gm_grubcfg_default(*buf, *len, (const char *const *)env, e);
	gm_strv_free(env);
	if (*found < 0) {
		free(*buf);
		*buf = NULL;
		return *found;
	}
	if (!o->file[0]) {
		snprintf(o->file, sizeof(o->file), "%s", grub_cfgs[i]);
		o->line = e->line;
	}
	return 1;
}

int gm_act_grub(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *arg = a->argv[1];
	char why[480] = "", target[256] = "", **bls = NULL;
	size_t nbls = 0;
	int rc = 0, sources = 0, dg;

	if (gm_root_glob_sorted(c->r, "/boot/loader/entries/*.conf", &bls, &nbls) < 0)
		nbls = 0;
	/* the boot loader: the default entry of each grub.cfg */
	for (size_t i = 0; i < 2; i++) {
		char *buf = NULL;
		size_t len;
		struct gm_grub_entry e;
		int found = 0;

		if ((rc = load_cfg(c, i, &buf, &len, &e, &found, o)) <= 0) {
			if (rc < 0)
				goto out;
			continue;
		}
		free(buf);
		sources++;
		rc = found;
		if (rc == 0 && nbls)
			continue;   /* blscfg: the entries are BLS files */
		if (rc == 0)
			lack(why, sizeof(why), "%s: the default entry (%s) has no linux line",
			     grub_cfgs[i], e.def);
		else if (!gm_karg_has(e.cmdline, strlen(e.cmdline), arg))
			lack(why, sizeof(why), "%s: the default entry '%s' boots without it",
			     grub_cfgs[i], e.title);
		if (c->apply && (rc = edit_file(c, grub_cfgs[i], gm_grubcfg_add_arg, arg, o,
						"kernel lines", true)) < 0)
			goto out;
	}
	for (size_t i = 0; i < nbls; i++) {
		char *buf, opts[1024];
		size_t len;

		if (strstr(bls[i], "rescue") || gm_root_read(c->r, bls[i], &buf, &len) < 0)
			continue;
		sources++;
		opts[0] = '\0';
		/* the options line: "options ARGS" */
		const char *p = buf;
		while (p && *p) {
			const char *t = gm_skip_ws(p);
			if (!strncmp(t, "options", 7) && (t[7] == ' ' || t[7] == '\t'))
				snprintf(opts, sizeof(opts), "%.*s", (int)strcspn(t + 8, "\r\n"), t + 8);
			p = strchr(p, '\n');
			p = p ? p + 1 : NULL;
		}
		free(buf);
		if (!gm_karg_has(opts, strlen(opts), arg)) {
			lack(why, sizeof(why), "%s: options lack it", bls[i]);
			if (!o->file[0])
				snprintf(o->file, sizeof(o->file), "%s", bls[i]);
		}
		if (c->apply && (rc = edit_file(c, bls[i], gm_bls_add_arg, arg, o, "options", true)) < 0)
			goto out;
	}
	/* for kernels installed later */
	if (gm_root_exists(c->r, "/etc/kernel/cmdline", true)) {
		char *buf;
		size_t len;

		sources++;
		if (gm_root_read(c->r, "/etc/kernel/cmdline", &buf, &len) == 0) {
			if (!gm_karg_has(buf, strcspn(buf, "\n"), arg))
				lack(why, sizeof(why), "/etc/kernel/cmdline lacks it (kernels installed "
				     "later)");
			free(buf);
		}
		if (c->apply && (rc = edit_file(c, "/etc/kernel/cmdline", gm_kernel_cmdline_add_arg,
						arg, o, "arguments", true)) < 0)
			goto out;
	}
	dg = default_grub_has(c, arg, target, sizeof(target));
	if (dg >= 0) {
		sources++;
		if (!dg)
			lack(why, sizeof(why), "%s: GRUB_CMDLINE_LINUX lacks it (the next update-grub)",
			     target);
		if (!o->file[0])
			snprintf(o->file, sizeof(o->file), "%s", target);
		if (c->apply && !dg &&
		    (rc = edit_file(c, target, gm_grub_add_arg, arg, o, "GRUB_CMDLINE_LINUX", true)) < 0) {
			if (rc == -EINVAL)
				gm_error_set(c->err, rc, "%s: GRUB_CMDLINE_LINUX has a quote or backslash "
					     "outside quotes; fix it by hand", target);
			goto out;
		}
	}
	if (!sources)
		gm_act_say(o, GM_STATUS_NA, "no grub.cfg, BLS entry, /etc/kernel/cmdline or "
			   "/etc/default/grub in the image (not booted by GRUB?)");
	else if (why[0])
		gm_act_say(o, GM_STATUS_FAIL, "%s not on the kernel command line: %s", arg, why);
	else
		gm_act_say(o, GM_STATUS_PASS, "%s on the kernel command line of the default boot "
			   "entry and for later kernels", arg);
out:
	gm_strv_free(bls);
	return rc < 0 ? rc : 0;
}

/* grub-cmdline-absent ARG...: none of the words on the default entry's
 * command line (grub.cfg, BLS), /etc/kernel/cmdline, GRUB_CMDLINE_LINUX and
 * _DEFAULT; "splashimage" also means no splashimage/background_image line
 * in grub.cfg. Apply drops them from every kernel line (recovery entries
 * too: they are words, not settings) and deletes the splash lines. */
int gm_act_grub_absent(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	char why[480] = "", **bls = NULL;
	size_t nbls = 0;
	int rc = 0, sources = 0;

	if (gm_root_glob_sorted(c->r, "/boot/loader/entries/*.conf", &bls, &nbls) < 0)
		nbls = 0;
	for (size_t i = 0; i < 2; i++) {
		char *buf = NULL;
		size_t len;
		struct gm_grub_entry e;
		int found = 0;

		if ((rc = load_cfg(c, i, &buf, &len, &e, &found, o)) <= 0) {
			if (rc < 0)
				goto out;
			continue;
		}
		rc = 0;
		sources++;
		for (int k = 1; k < a->argc && buf; k++) {
			if (!strcmp(a->argv[k], "splashimage")) {
				char *tmp = NULL;
				size_t tl;
				if (gm_grubcfg_drop_splash(buf, len, &tmp, &tl) == 1)
					lack(why, sizeof(why), "%s sets a splash image", grub_cfgs[i]);
				free(tmp);
				if (c->apply && (rc = gm_grubcfg_drop_splash(buf, len, &tmp, &tl)) == 1 &&
				    (rc = gm_act_write(c, grub_cfgs[i], tmp, tl)) == 0)
					rc = gm_act_summary(o, "%s: splash image lines removed", grub_cfgs[i]);
				free(tmp);
				if (rc < 0) {
					free(buf);
					goto out;
				}
				if (c->apply) {   /* the next edits read the new file */
					free(buf);
					if (gm_root_read(c->r, grub_cfgs[i], &buf, &len) < 0)
						buf = NULL;
					if (!buf)
						break;
				}
				continue;
			}
			if (found == 1 && gm_karg_has(e.cmdline, strlen(e.cmdline), a->argv[k]))
				lack(why, sizeof(why), "%s: the default entry '%s' boots with %s",
				     grub_cfgs[i], e.title, a->argv[k]);
			if (c->apply && (rc = edit_file(c, grub_cfgs[i], gm_grubcfg_drop_arg, a->argv[k], o,
							"kernel lines", false)) < 0) {
				free(buf);
				goto out;
			}
		}
		free(buf);
	}
	for (size_t i = 0; i < nbls; i++) {
		char *buf;
		size_t len;

		if (gm_root_read(c->r, bls[i], &buf, &len) < 0)
			continue;
		sources++;
		for (int k = 1; k < a->argc; k++) {
			char *tmp = NULL;
			size_t tl;
			if (gm_bls_drop_arg(buf, len, a->argv[k], &tmp, &tl) == 1)
				lack(why, sizeof(why), "%s: options have %s", bls[i], a->argv[k]);
			free(tmp);
			if (c->apply && (rc = edit_file(c, bls[i], gm_bls_drop_arg, a->argv[k], o,
							"options", false)) < 0) {
				free(buf);
				goto out;
			}
		}
		free(buf);
	}
	static const struct {
		const char *path;
		edit_fn fn;
	} later[] = { { "/etc/kernel/cmdline", gm_kernel_cmdline_drop_arg },
		      { "/etc/default/grub", gm_grubdefault_drop_arg } };
	for (size_t f = 0; f < 2; f++) {
		char *buf;
		size_t len;

		if (gm_root_read(c->r, later[f].path, &buf, &len) < 0)
			continue;
		sources++;
		for (int k = 1; k < a->argc; k++) {
			char *tmp = NULL;
			size_t tl;
			int r2 = later[f].fn(buf, len, a->argv[k], &tmp, &tl);
			free(tmp);
			if (r2 == 1 || r2 == -EINVAL)
				lack(why, sizeof(why), "%s has %s (kernels installed later)", later[f].path,
				     a->argv[k]);
			if (c->apply && (rc = edit_file(c, later[f].path, later[f].fn, a->argv[k], o,
							"command line", false)) < 0) {
				free(buf);
				goto out;
			}
		}
		free(buf);
	}
	if (!sources)
		gm_act_say(o, GM_STATUS_NA, "no grub.cfg, BLS entry, /etc/kernel/cmdline or "
			   "/etc/default/grub in the image");
	else if (why[0])
		gm_act_say(o, GM_STATUS_FAIL, "%s", why);
	else
		gm_act_say(o, GM_STATUS_PASS, "the kernel boots without %s%s%s", a->argv[1],
			   a->argc > 2 ? " and the other words named" : "", "");
out:
	gm_strv_free(bls);
	return rc < 0 ? rc : 0;
}
