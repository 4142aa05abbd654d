/* act_files.c — actions on whole files: remove, empty, file, symlink, the
 * time zone, and the account files (passwd shells, root lock). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/actions.h"

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
	return gm_act_summary(x->o, "removed %s", path) < 0 ? -ENOMEM : 0;
}

int gm_act_remove(struct ctx *c, const struct gm_action *a, struct outcome *o)
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
		gm_act_say(o, GM_STATUS_FAIL, "present: %s", x.list);
	else
		gm_act_say(o, GM_STATUS_PASS, "none present");
	return 0;
}

int gm_act_empty(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	for (int i = 1; i < a->argc; i++) {
		struct stat st;
		const char *p = a->argv[i];

		if (c->r->ops->stat(c->r->h, p, true, &st) < 0) {
			if (o->status == GM_STATUS_PASS)
				gm_act_say(o, GM_STATUS_PASS, "%s absent", p);
			continue;
		}
		if (st.st_size == 0)
			continue;
		snprintf(o->file, sizeof(o->file), "%s", p);
		if (!c->apply) {
			gm_act_say(o, GM_STATUS_FAIL, "%s has %lld bytes", p, (long long)st.st_size);
			return 0;
		}
		int rc = gm_act_write(c, p, "", 0);
		if (rc < 0 || (rc = gm_act_summary(o, "emptied %s", p)) < 0)
			return rc;
	}
	if (o->status == GM_STATUS_PASS && !o->reason[0])
		gm_act_say(o, GM_STATUS_PASS, "empty");
	return 0;
}

int gm_act_file(struct ctx *c, const struct gm_action *a, struct outcome *o)
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
		gm_act_say(o, GM_STATUS_PASS, "%s as wanted", p);
		return 0;
	}
	if (rc == -ENOENT) {
		char parent[4096];
		snprintf(parent, sizeof(parent), "%s", p);
		*strrchr(parent, '/') = '\0';
		if (parent[0] && !gm_root_exists(c->r, parent, true)) {
			gm_act_say(o, GM_STATUS_NA, "no %s in the image", parent);
			return 0;
		}
	}
	if (!c->apply) {
		gm_act_say(o, GM_STATUS_FAIL, "%s %s", p, rc == -ENOENT ? "absent" : !content_ok ?
		    "has other content" : "has another mode or owner");
		return 0;
	}
	if (!content_ok && (rc = c->r->ops->write(c->r->h, p, want, strlen(want), a->mode, a->uid,
						  a->gid)) < 0)
		return gm_error_set(c->err, rc, "%s: %s", p, strerror(-rc));
	if ((rc = c->r->ops->chattr(c->r->h, p, a->mode, a->uid, a->gid)) < 0)
		return gm_error_set(c->err, rc, "%s: %s", p, strerror(-rc));
	rc = gm_act_summary(o, "wrote %s (mode %04o, owner %u:%u)", p, (unsigned)a->mode,
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
	return gm_act_summary(o, "%s -> %s", path, target);
}

int gm_act_symlink(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	char cur[4096];
	int rc = link_target(c, a->argv[2], cur, sizeof(cur));

	snprintf(o->file, sizeof(o->file), "%s", a->argv[2]);
	if (rc == 0 && !strcmp(cur, a->argv[1])) {
		gm_act_say(o, GM_STATUS_PASS, "%s -> %s", a->argv[2], cur);
		return 0;
	}
	if (rc == -EISDIR) {
		gm_act_say(o, GM_STATUS_FAIL, "%s is a directory", a->argv[2]);
		return c->apply ? gm_error_set(c->err, -EISDIR, "%s is a directory", a->argv[2]) : 0;
	}
	if (!c->apply) {
		gm_act_say(o, GM_STATUS_FAIL, "%s %s", a->argv[2], rc == -ENOENT ? "absent" :
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

int gm_act_timezone(struct ctx *c, const struct gm_action *a, struct outcome *o)
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
		gm_act_say(o, GM_STATUS_PASS, "/etc/localtime -> %s%s%s", cur, tz_present ? ", /etc/timezone " : "",
		    tz_present ? tz : "");
		goto out;
	}
	if (!c->apply) {
		if (!link_ok)
			gm_act_say(o, GM_STATUS_FAIL, "/etc/localtime %s%s", lrc == -ENOENT ? "absent" :
			    lrc == 0 ? "-> " : "is not a symlink", lrc == 0 ? cur : "");
		else
			gm_act_say(o, GM_STATUS_FAIL, "/etc/timezone says %s", tz);
		goto out;
	}
	if (!gm_root_exists(c->r, path, true)) {
		rc = gm_act_summary(o, "skipped: no %s in the image (tzdata not installed)", path);
		gm_act_say(o, GM_STATUS_WARN, "no %s in the image", path);
		goto out;
	}
	if (!link_ok && (rc = make_link(c, path, "/etc/localtime", o)) < 0)
		goto out;
	if (!tz_ok) {
		char line[300];
		snprintf(line, sizeof(line), "%s\n", want_tz);
		if ((rc = gm_act_write(c, "/etc/timezone", line, strlen(line))) == 0)
			rc = gm_act_summary(o, "/etc/timezone: %s", want_tz);
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

int gm_act_nologin(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *nologin = gm_root_exists(c->r, "/usr/sbin/nologin", true) ? "/usr/sbin/nologin"
			      : gm_root_exists(c->r, "/sbin/nologin", true) ? "/sbin/nologin" : NULL;
	char *buf, *out = NULL, names[400];
	size_t len, outlen;
	unsigned long umin = uid_min(c);
	int rc = gm_root_read(c->r, "/etc/passwd", &buf, &len);

	if (rc == -ENOENT) {
		gm_act_say(o, GM_STATUS_NA, "no /etc/passwd");
		return 0;
	}
	if (rc < 0)
		return gm_error_set(c->err, rc, "/etc/passwd: %s", strerror(-rc));
	snprintf(o->file, sizeof(o->file), "/etc/passwd");
	rc = gm_passwd_nologin(buf, len, umin, nologin ? nologin : "/usr/sbin/nologin", &out,
			       &outlen, names, sizeof(names));
	if (rc == 0) {
		gm_act_say(o, GM_STATUS_PASS, "every account with uid < %lu (but root, sync, shutdown, "
		    "halt) has a nologin/false shell", umin);
	} else if (rc > 0 && !c->apply) {
		gm_act_say(o, GM_STATUS_FAIL, "system accounts with a login shell: %s", names);
	} else if (rc > 0 && !nologin) {
		gm_act_say(o, GM_STATUS_WARN, "no /usr/sbin/nologin or /sbin/nologin in the image");
		rc = gm_act_summary(o, "skipped: no nologin in the image (accounts %s keep their "
				 "shells)", names);
	} else if (rc > 0 && (rc = gm_act_write(c, "/etc/passwd", out, outlen)) == 0) {
		rc = gm_act_summary(o, "/etc/passwd: %s for %s", nologin, names);
	}
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

int gm_act_lockroot(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	char *buf, *out = NULL;
	size_t len, outlen;
	int rc = gm_root_read(c->r, "/etc/shadow", &buf, &len);

	if (rc == -ENOENT) {
		gm_act_say(o, GM_STATUS_NA, "no /etc/shadow");
		return 0;
	}
	if (rc < 0)
		return gm_error_set(c->err, rc, "/etc/shadow: %s", strerror(-rc));
	snprintf(o->file, sizeof(o->file), "/etc/shadow");
	rc = gm_shadow_lock(buf, len, "root", &out, &outlen);
	if (rc == 0)
		gm_act_say(o, GM_STATUS_PASS, "root's password is locked (or root is absent)");
	else if (rc > 0 && !c->apply)
		gm_act_say(o, GM_STATUS_FAIL, "root has a usable password field");
	else if (rc > 0 && (rc = gm_act_write(c, "/etc/shadow", out, outlen)) == 0)
		rc = gm_act_summary(o, "/etc/shadow: root locked ('!' prefixed, as usermod -L)");
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

/* ---------------- PAM password hashing ---------------- */
/* The files whose "password ... pam_unix.so" line makes new hashes: Debian's
 * common-password (included by passwd and chpasswd), Red Hat's system-auth
 * and password-auth. Without a hash option pam_unix takes ENCRYPT_METHOD
 * from login.defs (Linux-PAM >= 1.4). */
int gm_act_pamhash(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	static const char *const files[] = {
		"/etc/pam.d/common-password", "/etc/pam.d/system-auth", "/etc/pam.d/password-auth",
	};
	char bad[400] = "", defm[64] = "";
	int seen = 0, rc = 0;

	{   /* login.defs' default, lowercased as pam_unix spells it */
		char *buf;
		size_t len;
		int line;

		if (gm_root_read(c->r, "/etc/login.defs", &buf, &len) == 0) {
			gm_logindefs_get(buf, len, "ENCRYPT_METHOD", defm, sizeof(defm), &line);
			free(buf);
			for (char *p = defm; *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		}
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && rc >= 0; i++) {
		char *buf, *out = NULL, m[64];
		size_t len, outlen;
		int line;

		if (gm_root_read(c->r, files[i], &buf, &len) < 0)
			continue;
		if (gm_pam_unix_hash(buf, len, m, sizeof(m), &line) <= 0) {
			free(buf);
			continue;
		}
		seen++;
		const char *eff = m[0] ? m : defm[0] ? defm : "des";
		if (gm_act_judge(a, eff, true) != GM_STATUS_PASS) {
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "%s%s:%d: pam_unix.so "
				 "hashes with %s%s", bad[0] ? "; " : "", files[i], line, eff,
				 m[0] ? "" : " (login.defs' ENCRYPT_METHOD)");
			if (!o->file[0]) {
				snprintf(o->file, sizeof(o->file), "%s", files[i]);
				o->line = line;
			}
			if (c->apply && (rc = gm_pam_unix_set_hash(buf, len, a->value, &out, &outlen)) == 1 &&
			    (rc = gm_act_write(c, files[i], out, outlen)) == 0)
				rc = gm_act_summary(o, "%s:%d: pam_unix.so %s (was %s)", files[i], line,
						    a->value, eff);
		} else if (!o->file[0]) {
			snprintf(o->file, sizeof(o->file), "%s", files[i]);
			o->line = line;
			gm_act_say(o, GM_STATUS_PASS, "pam_unix.so hashes new passwords with %s (%s:%d%s)",
				   eff, files[i], line, m[0] ? "" : ", from login.defs");
		}
		free(buf);
		free(out);
	}
	if (rc < 0)
		return rc;
	if (!seen)
		gm_act_say(o, GM_STATUS_NA, "no pam_unix password line in /etc/pam.d/common-password, "
			   "system-auth or password-auth");
	else if (bad[0])
		gm_act_say(o, GM_STATUS_FAIL, "%s, want %s", bad, a->value);
	return 0;
}
