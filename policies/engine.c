/* engine.c — runs a policy's rules: check (read only) and apply (through an
 * overlay, committed once at the end, so a failed run writes nothing and a
 * dry run computes the very same edits). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/internal.h"

#define SSHD_CONFIG "/etc/ssh/sshd_config"
#define SSH_CONFIG "/etc/ssh/ssh_config"
#define SYSCTL_DROPIN "/etc/sysctl.d/60-gce-hardening.conf"

/* What an action found (check) or did (apply). */
struct outcome {
	enum gm_status status;
	char reason[512];
	char file[256];
	int line;
	char *summary;     /* apply: what changed ("" none); malloc'd */
};

struct ctx {
	const struct gm_root *r;
	struct gm_error *err;
	bool apply;
	int ssh_version[2];   /* server, client; -1 not read yet */
};

static void say(struct outcome *o, enum gm_status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct outcome *o, enum gm_status s, const char *fmt, ...)
{
	va_list ap;

	o->status = s;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
}

static int add_summary(struct outcome *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int add_summary(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL, *t;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return -ENOMEM;
	t = o->summary && o->summary[0] ? gm_strdupf("%s; %s", o->summary, s) : strdup(s);
	free(s);
	free(o->summary);
	o->summary = t;
	return t ? 1 : -ENOMEM;
}

static int write_same(struct ctx *c, const char *path, const char *buf, size_t len)
{
	int rc = c->r->ops->write(c->r->h, path, buf, len, 0644, 0, 0);

	return rc < 0 ? gm_error_set(c->err, rc, "%s: %s", path, strerror(-rc)) : 0;
}

/* ---------------- ssh ---------------- */
static const char *const ssh_defaults[][3] = {
	/* kind, key, OpenSSH's default */
	{ "s", "PermitRootLogin", "prohibit-password" }, { "s", "PasswordAuthentication", "yes" },
	{ "s", "PermitTunnel", "no" }, { "s", "AllowTcpForwarding", "yes" },
	{ "s", "X11Forwarding", "no" }, { "s", "ClientAliveInterval", "0" },
	{ "s", "HostbasedAuthentication", "no" }, { "s", "PermitEmptyPasswords", "no" },
	{ "c", "ForwardAgent", "no" }, { "c", "ForwardX11", "no" },
	{ "c", "HostbasedAuthentication", "no" }, { "c", "ServerAliveInterval", "0" },
	{ "c", "StrictHostKeyChecking", "ask" },
};

static int ssh_version(struct ctx *c, enum gm_ssh_kind kind)
{
	int *v = &c->ssh_version[kind == GM_SSH_CLIENT];
	char *buf;
	size_t len;

	if (*v >= 0)
		return *v;
	*v = 0;
	if (gm_root_read(c->r, "/var/lib/dpkg/status", &buf, &len) == 0) {
		*v = gm_openssh_version(buf, len,
					kind == GM_SSH_SERVER ? "openssh-server" : "openssh-client");
		free(buf);
	}
	return *v;
}

static int act_ssh(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	enum gm_ssh_kind kind = a->kind == GM_ACT_SSHD ? GM_SSH_SERVER : GM_SSH_CLIENT;
	const char *main = kind == GM_SSH_SERVER ? SSHD_CONFIG : SSH_CONFIG;
	const char *key = a->argv[1], *want = a->value;
	struct gm_sshcfg *cfg = NULL;
	struct gm_ssh_found f;
	struct gm_error lerr = { 0 };
	char why[300];
	int rc = gm_sshcfg_load(c->r, kind, main, &cfg, &lerr);

	if (rc == -ENOENT && !gm_root_exists(c->r, main, true)) {
		say(o, GM_STATUS_NA, "no %s in the image", main);
		return 0;
	}
	if (rc < 0)
		return gm_error_set(c->err, rc, "%s", gm_error_msg(&lerr));
	if (!gm_ssh_setting_ok(kind, key, want, ssh_version(c, kind), why, sizeof(why))) {
		say(o, GM_STATUS_WARN, "not written: %s", why);
		if (c->apply)
			rc = add_summary(o, "skipped %s %s: %s", key, want, why);
		goto out;
	}
	if (gm_sshcfg_get(cfg, key, &f)) {
		snprintf(o->file, sizeof(o->file), "%s", f.file);
		o->line = f.line;
	} else {
		snprintf(o->file, sizeof(o->file), "%s", main);
	}
	if (!c->apply) {
		if (f.file && !strcasecmp(f.value, want))
			say(o, GM_STATUS_PASS, "%s %s (%s:%d)", key, f.value, f.file, f.line);
		else if (f.file)
			say(o, GM_STATUS_FAIL, "%s is %s at %s:%d, want %s", key, f.value, f.file,
			    f.line, want);
		else {
			const char *def = NULL;
			for (size_t i = 0; i < sizeof(ssh_defaults) / sizeof(ssh_defaults[0]); i++)
				if (ssh_defaults[i][0][0] == (kind == GM_SSH_SERVER ? 's' : 'c') &&
				    !strcasecmp(ssh_defaults[i][1], key))
					def = ssh_defaults[i][2];
			if (def && !strcasecmp(def, want))
				say(o, GM_STATUS_PASS, "%s not set; OpenSSH's default is %s", key, def);
			else
				say(o, GM_STATUS_FAIL, "%s not set (default %s), want %s", key,
				    def ? def : "unknown", want);
		}
		if (o->status == GM_STATUS_PASS && f.conditional_line) {
			say(o, GM_STATUS_WARN, "%s %s (%s:%d), but a %s block at %s:%d sets it too",
			    key, f.file ? f.value : "(default)", f.file ? f.file : main,
			    f.file ? f.line : 0, kind == GM_SSH_SERVER ? "Match" : "Host/Match",
			    f.cfile, f.conditional_line);
		}
		goto out;
	}
	char old[256];
	snprintf(old, sizeof(old), "%s", f.file ? f.value : "");
	rc = gm_sshcfg_set(cfg, key, want);
	if (rc == -EDEADLK)
		rc = gm_error_set(c->err, rc, "%s: could not make %s %s effective", main, key, want);
	if (rc <= 0)
		goto out;
	gm_sshcfg_get(cfg, key, &f);
	for (size_t i = 0; i < gm_sshcfg_nfiles(cfg); i++) {
		char *buf;
		size_t len;
		bool changed;
		const char *path = gm_sshcfg_file(cfg, i, &buf, &len, &changed);

		if (!path) {
			rc = -ENOMEM;
			goto out;
		}
		if (changed && (rc = write_same(c, path, buf, len)) < 0)
			goto out;
	}
	if (old[0])
		rc = add_summary(o, "%s:%d: %s %s (was %s)", f.file, f.line, key, want, old);
	else
		rc = add_summary(o, "%s:%d: %s %s", f.file, f.line, key, want);
out:
	gm_sshcfg_free(cfg);
	return rc < 0 ? rc : 0;
}

/* ---------------- sysctl ---------------- */
static int act_sysctl(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	struct gm_sysctl_found f;
	int rc = gm_sysctl_get(c->r, a->argv[1], &f, c->err);

	if (rc < 0)
		return rc;
	if (rc) {
		snprintf(o->file, sizeof(o->file), "%s", f.file);
		o->line = f.line;
	}
	if (!c->apply) {
		char w[256], v[256];
		/* compare with blanks squeezed */
		snprintf(w, sizeof(w), "%s", a->value);
		snprintf(v, sizeof(v), "%s", f.value);
		if (rc && !strcmp(v, w))
			say(o, GM_STATUS_PASS, "%s = %s (%s:%d%s)", a->argv[1], f.value, f.file,
			    f.line, f.glob ? ", by a glob" : "");
		else if (rc)
			say(o, GM_STATUS_FAIL, "%s = %s at %s:%d, want %s", a->argv[1], f.value,
			    f.file, f.line, a->value);
		else
			say(o, GM_STATUS_FAIL, "%s is set by no sysctl file (the kernel's default "
			    "applies), want %s", a->argv[1], a->value);
		return 0;
	}
	char old[300];
	snprintf(old, sizeof(old), "%s", rc ? f.value : "");
	rc = gm_sysctl_set(c->r, a->argv[1], a->value, SYSCTL_DROPIN, c->err);
	if (rc <= 0)
		return rc;
	gm_sysctl_get(c->r, a->argv[1], &f, c->err);
	if (old[0])
		rc = add_summary(o, "%s:%d: %s = %s (was %s)", f.file, f.line, a->argv[1], a->value,
				 old);
	else
		rc = add_summary(o, "%s:%d: %s = %s", f.file, f.line, a->argv[1], a->value);
	return rc < 0 ? rc : 0;
}

/* ---------------- login.defs ---------------- */
static bool accepted(const struct gm_action *a, const char *v)
{
	if (!strcmp(v, a->value))
		return true;
	for (char **p = a->accept; p && *p; p++)
		if (!strcmp(v, *p))
			return true;
	return false;
}

static int act_logindefs(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *path = "/etc/login.defs", *key = a->argv[1];
	char *buf, *out = NULL, val[256];
	size_t len, outlen;
	int line, rc = gm_root_read(c->r, path, &buf, &len);

	if (rc == -ENOENT) {
		say(o, GM_STATUS_NA, "no %s in the image", path);
		return 0;
	}
	if (rc < 0)
		return gm_error_set(c->err, rc, "%s: %s", path, strerror(-rc));
	rc = gm_logindefs_get(buf, len, key, val, sizeof(val), &line);
	snprintf(o->file, sizeof(o->file), "%s", path);
	o->line = line;
	if (rc > 0 && accepted(a, val)) {
		say(o, GM_STATUS_PASS, "%s %s (%s:%d)", key, val, path, line);
	} else if (!c->apply) {
		if (rc > 0)
			say(o, GM_STATUS_FAIL, "%s is %s at %s:%d, want %s", key, val, path, line,
			    a->value);
		else
			say(o, GM_STATUS_FAIL, "%s not set in %s, want %s", key, path, a->value);
	} else if ((rc = gm_logindefs_set(buf, len, key, a->value, &out, &outlen)) == 1 &&
		   (rc = write_same(c, path, out, outlen)) == 0) {
		gm_logindefs_get(out, outlen, key, val, sizeof(val), &line);
		rc = add_summary(o, "%s:%d: %s %s", path, line, key, a->value);
	}
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

/* ---------------- grub ---------------- */
static int act_grub(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *arg = a->argv[1];
	char **drop = NULL, *all = NULL, *target = NULL;
	size_t ndrop, alllen = 0;
	int rc, line, has;

	if (!gm_root_exists(c->r, "/etc/default/grub", true)) {
		say(o, GM_STATUS_NA, "no /etc/default/grub in the image (not booted by GRUB?)");
		return 0;
	}
	if ((rc = gm_root_glob_sorted(c->r, "/etc/default/grub.d/*.cfg", &drop, &ndrop)) < 0)
		return rc;
	/* the shell sources /etc/default/grub then grub.d/NN.cfg files: check the
	 * concatenation; edit the last file that assigns the variable */
	for (size_t i = 0; i <= ndrop && rc == 0; i++) {
		const char *p = i == 0 ? "/etc/default/grub" : drop[i - 1];
		char *buf, *t;
		size_t len;

		if ((rc = gm_root_read(c->r, p, &buf, &len)) < 0) {
			gm_error_set(c->err, rc, "%s: %s", p, strerror(-rc));
			break;
		}
		if (gm_grub_has_arg(buf, len, arg, &line) >= 0 && line) {
			free(target);
			target = strdup(p);
		}
		t = realloc(all, alllen + len + 2);
		if (!t) {
			free(buf);
			rc = -ENOMEM;
			break;
		}
		all = t;
		memcpy(all + alllen, buf, len);
		alllen += len;
		if (len && buf[len - 1] != '\n')
			all[alllen++] = '\n';
		free(buf);
	}
	if (rc < 0)
		goto out;
	has = gm_grub_has_arg(all ? all : "", alllen, arg, &line);
	if (!target)
		target = strdup("/etc/default/grub");
	snprintf(o->file, sizeof(o->file), "%s", target ? target : "");
	if (has > 0) {
		say(o, GM_STATUS_PASS, "GRUB_CMDLINE_LINUX has %s", arg);
	} else if (!c->apply) {
		say(o, GM_STATUS_FAIL, "GRUB_CMDLINE_LINUX lacks %s", arg);
	} else if (target) {
		char *buf, *out = NULL;
		size_t len, outlen;

		if ((rc = gm_root_read(c->r, target, &buf, &len)) == 0) {
			rc = gm_grub_add_arg(buf, len, arg, &out, &outlen);
			if (rc == 1 && (rc = write_same(c, target, out, outlen)) == 0)
				rc = add_summary(o, "%s: GRUB_CMDLINE_LINUX += %s (takes effect at the "
						 "next update-grub)", target, arg);
			free(buf);
			free(out);
		}
	} else {
		rc = -ENOMEM;
	}
out:
	free(all);
	free(target);
	gm_strv_free(drop);
	return rc < 0 ? rc : 0;
}

/* ---------------- ntp ---------------- */
static const char *const ntp_files[] = {
	"/etc/ntp.conf", "/etc/ntpsec/ntp.conf", "/etc/chrony/chrony.conf", "/etc/chrony.conf",
};

static int act_ntp(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *server = a->argv[1];
	char **drop = NULL;
	int rc = 0, seen = 0, bad = 0;
	char detail[400] = "";

	for (size_t i = 0; i < sizeof(ntp_files) / sizeof(ntp_files[0]) + 1 && rc >= 0; i++) {
		bool timesyncd = i == sizeof(ntp_files) / sizeof(ntp_files[0]);
		const char *p = timesyncd ? "/etc/systemd/timesyncd.conf" : ntp_files[i];
		char *buf, *out = NULL, list[256];
		size_t len, outlen;
		bool set = false;

		rc = gm_root_read(c->r, p, &buf, &len);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc < 0) {
			gm_error_set(c->err, rc, "%s: %s", p, strerror(-rc));
			break;
		}
		seen++;
		if (timesyncd)
			gm_timesyncd_get(buf, len, list, sizeof(list), &set);
		else
			gm_ntpconf_servers(buf, len, list, sizeof(list));
		if (strcmp(list, server)) {
			bad++;
			snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s%s: %s",
				 detail[0] ? "; " : "", p, list[0] ? list : "(none)");
			if (!o->file[0])
				snprintf(o->file, sizeof(o->file), "%s", p);
		}
		if (c->apply) {
			rc = timesyncd ? gm_timesyncd_set(buf, len, server, false, &out, &outlen)
				       : gm_ntpconf_set(buf, len, server, &out, &outlen);
			if (rc == 1 && (rc = write_same(c, p, out, outlen)) == 0)
				rc = add_summary(o, "%s: only %s (was %s)", p, server,
						 list[0] ? list : "none");
		}
		free(buf);
		free(out);
	}
	/* chrony's conf.d and sources.d would add servers back */
	for (size_t g = 0; g < 2 && rc >= 0; g++) {
		rc = gm_root_glob_sorted(c->r, g ? "/etc/chrony/sources.d/*.sources"
						 : "/etc/chrony/conf.d/*.conf", &drop, NULL);
		for (char **p = drop; rc >= 0 && p && *p; p++) {
			char *buf, *out = NULL, list[256];
			size_t len, outlen;

			if (gm_root_read(c->r, *p, &buf, &len) < 0)
				continue;
			if (gm_ntpconf_servers(buf, len, list, sizeof(list)) > 0) {
				bad++;
				snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
					 "%s%s adds %s", detail[0] ? "; " : "", *p, list);
				if (c->apply && (rc = gm_ntpconf_set(buf, len, NULL, &out, &outlen)) == 1 &&
				    (rc = write_same(c, *p, out, outlen)) == 0)
					rc = add_summary(o, "%s: server/pool lines removed", *p);
			}
			free(buf);
			free(out);
		}
		gm_strv_free(drop);
		drop = NULL;
	}
	/* timesyncd drop-ins would add servers back */
	if (rc >= 0 && (rc = gm_root_glob_sorted(c->r, "/etc/systemd/timesyncd.conf.d/*.conf",
						 &drop, NULL)) == 0) {
		for (char **p = drop; *p && rc >= 0; p++) {
			char *buf, *out = NULL, list[256];
			size_t len, outlen;
			bool set;

			if (gm_root_read(c->r, *p, &buf, &len) < 0)
				continue;
			gm_timesyncd_get(buf, len, list, sizeof(list), &set);
			if (set) {
				bad++;
				snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
					 "%s%s sets NTP=%s", detail[0] ? "; " : "", *p, list);
			}
			if (c->apply && set &&
			    (rc = gm_timesyncd_set(buf, len, server, true, &out, &outlen)) == 1 &&
			    (rc = write_same(c, *p, out, outlen)) == 0)
				rc = add_summary(o, "%s: NTP= removed", *p);
			free(buf);
			free(out);
		}
	}
	gm_strv_free(drop);
	if (rc < 0)
		return rc;
	if (!seen)
		say(o, GM_STATUS_NA, "no ntp.conf, chrony.conf or timesyncd.conf in the image");
	else if (bad)
		say(o, GM_STATUS_FAIL, "servers other than %s: %s", server, detail);
	else
		say(o, GM_STATUS_PASS, "only %s", server);
	return 0;
}

/* ---------------- files ---------------- */
struct rm_ctx {
	struct ctx *c;
	struct outcome *o;
	char list[400];
	int n;
};

static int rm_one(void *priv, const char *path)
{
	struct rm_ctx *x = priv;
	struct stat st;
	int rc;

	if (x->c->r->ops->stat(x->c->r->h, path, false, &st) < 0 || S_ISDIR(st.st_mode))
		return 0;   /* directories are never removed by a glob */
	x->n++;
	snprintf(x->list + strlen(x->list), sizeof(x->list) - strlen(x->list), "%s%s",
		 x->list[0] ? " " : "", path);
	if (!x->c->apply)
		return 0;
	rc = x->c->r->ops->remove(x->c->r->h, path);
	if (rc < 0)
		return gm_error_set(x->c->err, rc, "%s: %s", path, strerror(-rc));
	return add_summary(x->o, "removed %s", path) < 0 ? -ENOMEM : 0;
}

static int act_remove(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	struct rm_ctx x = { c, o, "", 0 };

	for (int i = 1; i < a->argc; i++) {
		char **m = NULL;
		int rc = gm_root_glob_sorted(c->r, a->argv[i], &m, NULL);

		for (char **p = m; rc >= 0 && p && *p; p++)
			rc = rm_one(&x, *p);
		gm_strv_free(m);
		if (rc < 0)
			return rc;
	}
	if (x.n && !c->apply)
		say(o, GM_STATUS_FAIL, "present: %s", x.list);
	else
		say(o, GM_STATUS_PASS, "none present");
	return 0;
}

static int act_empty(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	for (int i = 1; i < a->argc; i++) {
		struct stat st;
		const char *p = a->argv[i];

		if (c->r->ops->stat(c->r->h, p, true, &st) < 0) {
			if (o->status == GM_STATUS_PASS)
				say(o, GM_STATUS_PASS, "%s absent", p);
			continue;
		}
		if (st.st_size == 0)
			continue;
		snprintf(o->file, sizeof(o->file), "%s", p);
		if (!c->apply) {
			say(o, GM_STATUS_FAIL, "%s has %lld bytes", p, (long long)st.st_size);
			return 0;
		}
		int rc = write_same(c, p, "", 0);
		if (rc < 0 || (rc = add_summary(o, "emptied %s", p)) < 0)
			return rc;
	}
	if (o->status == GM_STATUS_PASS && !o->reason[0])
		say(o, GM_STATUS_PASS, "empty");
	return 0;
}

static int act_file(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *p = a->argv[1], *want = a->argv[4];
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int rc = gm_root_read(c->r, p, &buf, &len);
	bool content_ok, attr_ok;

	if (rc < 0 && rc != -ENOENT)
		return gm_error_set(c->err, rc, "%s: %s", p, strerror(-rc));
	content_ok = rc == 0 && len == strlen(want) && !memcmp(buf, want, len);
	attr_ok = rc == 0 && c->r->ops->stat(c->r->h, p, true, &st) == 0 &&
		  (st.st_mode & 07777) == a->mode && st.st_uid == a->uid && st.st_gid == a->gid;
	free(buf);
	snprintf(o->file, sizeof(o->file), "%s", p);
	if (content_ok && attr_ok) {
		say(o, GM_STATUS_PASS, "%s as wanted", p);
		return 0;
	}
	if (!c->apply) {
		say(o, GM_STATUS_FAIL, "%s %s", p, rc == -ENOENT ? "absent" : !content_ok ?
		    "has other content" : "has another mode or owner");
		return 0;
	}
	if (rc == -ENOENT) {
		char parent[4096];
		snprintf(parent, sizeof(parent), "%s", p);
		*strrchr(parent, '/') = '\0';
		if (parent[0] && !gm_root_exists(c->r, parent, true))
			return gm_error_set(c->err, -ENOENT, "%s: no directory %s", p, parent);
	}
	if (!content_ok && (rc = c->r->ops->write(c->r->h, p, want, strlen(want), a->mode, a->uid,
						  a->gid)) < 0)
		return gm_error_set(c->err, rc, "%s: %s", p, strerror(-rc));
	if ((rc = c->r->ops->chattr(c->r->h, p, a->mode, a->uid, a->gid)) < 0)
		return gm_error_set(c->err, rc, "%s: %s", p, strerror(-rc));
	rc = add_summary(o, "wrote %s (mode %04o, owner %u:%u)", p, (unsigned)a->mode,
			 (unsigned)a->uid, (unsigned)a->gid);
	return rc < 0 ? rc : 0;
}

static int link_target(struct ctx *c, const char *path, char *buf, size_t size)
{
	struct stat st;
	int n;

	if (c->r->ops->stat(c->r->h, path, false, &st) < 0)
		return -ENOENT;
	if (!S_ISLNK(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	n = c->r->ops->readlink(c->r->h, path, buf, size - 1);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return 0;
}

static int make_link(struct ctx *c, const char *target, const char *path, struct outcome *o)
{
	int rc;

	if (gm_root_exists(c->r, path, false) && (rc = c->r->ops->remove(c->r->h, path)) < 0)
		return gm_error_set(c->err, rc, "%s: %s", path, strerror(-rc));
	if ((rc = c->r->ops->symlink(c->r->h, target, path)) < 0)
		return gm_error_set(c->err, rc, "%s: %s", path, strerror(-rc));
	return add_summary(o, "%s -> %s", path, target);
}

static int act_symlink(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	char cur[4096];
	int rc = link_target(c, a->argv[2], cur, sizeof(cur));

	snprintf(o->file, sizeof(o->file), "%s", a->argv[2]);
	if (rc == 0 && !strcmp(cur, a->argv[1])) {
		say(o, GM_STATUS_PASS, "%s -> %s", a->argv[2], cur);
		return 0;
	}
	if (rc == -EISDIR) {
		say(o, GM_STATUS_FAIL, "%s is a directory", a->argv[2]);
		return c->apply ? gm_error_set(c->err, -EISDIR, "%s is a directory", a->argv[2]) : 0;
	}
	if (!c->apply) {
		say(o, GM_STATUS_FAIL, "%s %s", a->argv[2], rc == -ENOENT ? "absent" :
		    rc == 0 ? "points elsewhere" : "is not a symlink");
		return 0;
	}
	rc = make_link(c, a->argv[1], a->argv[2], o);
	return rc < 0 ? rc : 0;
}

/* ---------------- time zone ---------------- */
static bool zone_is(const char *target, const char *zone)
{
	const char *z = strstr(target, "zoneinfo/");

	if (!z)
		return false;
	z += 9;
	if (!strcmp(z, zone))
		return true;
	/* UTC == Etc/UTC (Debian's tzdata names it so) */
	return !strcmp(zone, "UTC") && !strcmp(z, "Etc/UTC");
}

static int act_timezone(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *zone = a->argv[1];
	char cur[4096], path[512], want_tz[256], *tz = NULL;
	size_t tzlen = 0;
	int lrc = link_target(c, "/etc/localtime", cur, sizeof(cur)), rc = 0;
	bool link_ok = lrc == 0 && zone_is(cur, zone), tz_ok = true, tz_present;

	/* the name the image's tzdata uses: Etc/UTC on Debian, UTC elsewhere */
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	snprintf(want_tz, sizeof(want_tz), "%s", zone);
	if (!strcmp(zone, "UTC") && gm_root_exists(c->r, "/usr/share/zoneinfo/Etc/UTC", true)) {
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/Etc/UTC");
		snprintf(want_tz, sizeof(want_tz), "Etc/UTC");
	}
	tz_present = gm_root_read(c->r, "/etc/timezone", &tz, &tzlen) == 0;
	if (tz_present) {
		size_t n = tzlen;
		while (n && (tz[n - 1] == '\n' || tz[n - 1] == ' ' || tz[n - 1] == '\r'))
			n--;
		tz[n] = '\0';
		tz_ok = !strcmp(tz, zone) || (!strcmp(zone, "UTC") && !strcmp(tz, "Etc/UTC"));
	}
	snprintf(o->file, sizeof(o->file), "/etc/localtime");
	if (link_ok && tz_ok) {
		say(o, GM_STATUS_PASS, "/etc/localtime -> %s%s%s", cur, tz_present ? ", /etc/timezone " : "",
		    tz_present ? tz : "");
		goto out;
	}
	if (!c->apply) {
		if (!link_ok)
			say(o, GM_STATUS_FAIL, "/etc/localtime %s%s", lrc == -ENOENT ? "absent" :
			    lrc == 0 ? "-> " : "is not a symlink", lrc == 0 ? cur : "");
		else
			say(o, GM_STATUS_FAIL, "/etc/timezone says %s", tz);
		goto out;
	}
	if (!gm_root_exists(c->r, path, true)) {
		rc = add_summary(o, "skipped: no %s in the image (tzdata not installed)", path);
		say(o, GM_STATUS_WARN, "no %s in the image", path);
		goto out;
	}
	if (!link_ok && (rc = make_link(c, path, "/etc/localtime", o)) < 0)
		goto out;
	if (!tz_ok) {
		char line[300];
		snprintf(line, sizeof(line), "%s\n", want_tz);
		if ((rc = write_same(c, "/etc/timezone", line, strlen(line))) == 0)
			rc = add_summary(o, "/etc/timezone: %s", want_tz);
	}
out:
	free(tz);
	return rc < 0 ? rc : 0;
}

/* ---------------- accounts ---------------- */
static unsigned long uid_min(struct ctx *c)
{
	char *buf, val[64];
	size_t len;
	int line;
	unsigned long u = 1000;

	if (gm_root_read(c->r, "/etc/login.defs", &buf, &len) == 0) {
		if (gm_logindefs_get(buf, len, "UID_MIN", val, sizeof(val), &line) > 0) {
			char *end;
			unsigned long v = strtoul(val, &end, 10);
			if (!*end && end != val)
				u = v;
		}
		free(buf);
	}
	return u;
}

static int act_nologin(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *nologin = gm_root_exists(c->r, "/usr/sbin/nologin", true) ? "/usr/sbin/nologin"
			      : gm_root_exists(c->r, "/sbin/nologin", true) ? "/sbin/nologin" : NULL;
	char *buf, *out = NULL, names[400];
	size_t len, outlen;
	unsigned long umin = uid_min(c);
	int rc = gm_root_read(c->r, "/etc/passwd", &buf, &len);

	if (rc == -ENOENT) {
		say(o, GM_STATUS_NA, "no /etc/passwd");
		return 0;
	}
	if (rc < 0)
		return gm_error_set(c->err, rc, "/etc/passwd: %s", strerror(-rc));
	snprintf(o->file, sizeof(o->file), "/etc/passwd");
	rc = gm_passwd_nologin(buf, len, umin, nologin ? nologin : "/usr/sbin/nologin", &out,
			       &outlen, names, sizeof(names));
	if (rc == 0) {
		say(o, GM_STATUS_PASS, "every account with uid < %lu (but root, sync, shutdown, "
		    "halt) has a nologin/false shell", umin);
	} else if (rc > 0 && !c->apply) {
		say(o, GM_STATUS_FAIL, "system accounts with a login shell: %s", names);
	} else if (rc > 0 && !nologin) {
		say(o, GM_STATUS_WARN, "no /usr/sbin/nologin or /sbin/nologin in the image");
		rc = add_summary(o, "skipped: no nologin in the image (accounts %s keep their "
				 "shells)", names);
	} else if (rc > 0 && (rc = write_same(c, "/etc/passwd", out, outlen)) == 0) {
		rc = add_summary(o, "/etc/passwd: %s for %s", nologin, names);
	}
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

static int act_lockroot(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	char *buf, *out = NULL;
	size_t len, outlen;
	int rc = gm_root_read(c->r, "/etc/shadow", &buf, &len);

	if (rc == -ENOENT) {
		say(o, GM_STATUS_NA, "no /etc/shadow");
		return 0;
	}
	if (rc < 0)
		return gm_error_set(c->err, rc, "/etc/shadow: %s", strerror(-rc));
	snprintf(o->file, sizeof(o->file), "/etc/shadow");
	rc = gm_shadow_lock(buf, len, "root", &out, &outlen);
	if (rc == 0)
		say(o, GM_STATUS_PASS, "root's password is locked (or root is absent)");
	else if (rc > 0 && !c->apply)
		say(o, GM_STATUS_FAIL, "root has a usable password field");
	else if (rc > 0 && (rc = write_same(c, "/etc/shadow", out, outlen)) == 0)
		rc = add_summary(o, "/etc/shadow: root locked ('!' prefixed, as usermod -L)");
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

/* ---------------- dispatch ---------------- */
typedef int (*act_fn)(struct ctx *c, const struct gm_action *a, struct outcome *o);
static const act_fn act_fns[] = {
	[GM_ACT_SSHD] = act_ssh, [GM_ACT_SSH] = act_ssh, [GM_ACT_SYSCTL] = act_sysctl,
	[GM_ACT_LOGINDEFS] = act_logindefs, [GM_ACT_GRUB] = act_grub, [GM_ACT_NTP] = act_ntp,
	[GM_ACT_REMOVE] = act_remove, [GM_ACT_EMPTY] = act_empty, [GM_ACT_FILE] = act_file,
	[GM_ACT_SYMLINK] = act_symlink, [GM_ACT_NOLOGIN] = act_nologin,
	[GM_ACT_LOCKROOT] = act_lockroot, [GM_ACT_TIMEZONE] = act_timezone,
};

/* Worst of two statuses: FAIL > WARN > PASS > N/A. */
static int rank(enum gm_status s)
{
	return s == GM_STATUS_FAIL ? 3 : s == GM_STATUS_WARN ? 2 : s == GM_STATUS_PASS ? 1 : 0;
}

static int run_rule(struct ctx *c, const struct gm_rule *rule, struct outcome *res)
{
	memset(res, 0, sizeof(*res));
	res->status = GM_STATUS_NA;
	for (size_t i = 0; i < rule->nact; i++) {
		struct outcome o = { 0 };
		int rc;

		o.status = GM_STATUS_PASS;
		o.summary = res->summary;   /* summaries accumulate */
		rc = act_fns[rule->act[i].kind](c, &rule->act[i], &o);
		res->summary = o.summary;
		if (rc < 0)
			return rc;
		if (rank(o.status) > rank(res->status) ||
		    (res->status == GM_STATUS_PASS && o.status == GM_STATUS_PASS && !res->reason[0])) {
			res->status = o.status;
			memcpy(res->reason, o.reason, sizeof(res->reason));
			memcpy(res->file, o.file, sizeof(res->file));
			res->line = o.line;
		} else if (o.status == res->status && rule->nact > 1 && o.status == GM_STATUS_FAIL) {
			size_t u = strlen(res->reason);
			snprintf(res->reason + u, sizeof(res->reason) - u, "; %s", o.reason);
		}
	}
	return 0;
}

int gm_policy_check_root(struct gm_policy *p, const struct gm_root *r, gm_result_fn fn,
			 void *priv, struct gm_error *err)
{
	struct ctx c = { r, err, false, { -1, -1 } };

	for (size_t i = 0; i < p->nrules; i++) {
		const struct gm_rule *rule = &p->rules[i];
		struct outcome o;
		struct gm_rule_result res = { 0 };
		int rc = run_rule(&c, rule, &o);

		free(o.summary);
		if (rc < 0)
			return rc;
		res.id = rule->id;
		res.level = rule->level;
		res.status = o.status;
		res.description = rule->description ? rule->description : rule->id;
		memcpy(res.reason, o.reason, sizeof(res.reason));
		memcpy(res.file, o.file, sizeof(res.file));
		res.line = o.line;
		if (fn)
			fn(priv, &res);
	}
	return 0;
}

int gm_policy_apply_root(struct gm_policy *p, const struct gm_root *r, bool dry_run,
			 gm_change_fn fn, void *priv, struct gm_error *err)
{
	struct gm_overlay *ov = gm_overlay_new(r);
	struct ctx c = { NULL, err, true, { -1, -1 } };
	int rc = 0;

	if (!ov)
		return -ENOMEM;
	c.r = gm_overlay_root(ov);
	for (size_t i = 0; i < p->nrules && rc == 0; i++) {
		const struct gm_rule *rule = &p->rules[i];
		struct outcome o;
		struct gm_rule_change ch = { 0 };
		char *diff = NULL;

		gm_overlay_begin(ov);
		rc = run_rule(&c, rule, &o);
		if (rc < 0) {
			if (err && !err->msg[0])
				gm_error_set(err, rc, "rule %s: %s", rule->id, strerror(-rc));
			else if (err) {
				char m[GM_ERRMSG_MAX];
				snprintf(m, sizeof(m), "%s", err->msg);
				gm_error_set(err, rc, "rule %s: %s", rule->id, m);
			}
		} else if (o.summary && o.summary[0]) {
			if (dry_run)
				diff = gm_overlay_diff(ov);
			ch.id = rule->id;
			ch.summary = o.summary;
			ch.diff = diff && diff[0] ? diff : NULL;
			if (fn)
				fn(priv, &ch);
		}
		free(diff);
		free(o.summary);
	}
	if (rc == 0 && !dry_run)
		rc = gm_overlay_commit(ov, err);
	gm_overlay_free(ov);
	return rc;
}
