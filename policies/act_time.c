/* act_time.c — the ntp action: the servers the NTP client the image starts
 * will use.
 *
 * Which client: the one enabled in systemd (a *.wants/ link for chrony,
 * chronyd, ntp, ntpd, ntpsec or systemd-timesyncd); with none found, every
 * client configuration present is judged. chrony reads chrony.conf and,
 * as chronyd does, every file its include, confdir (*.conf, a name in an
 * earlier directory hides a later one) and sourcedir (*.sources) lines
 * name; server, pool and peer lines are sources. systemd-timesyncd: NTP= in
 * timesyncd.conf and its drop-ins; with none at all it uses its compiled-in
 * servers (FallbackNTP), which is not the metadata server.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/actions.h"

#define MAX_CHRONY_FILES 64

struct srcfiles {
	char *path[MAX_CHRONY_FILES];
	bool main[MAX_CHRONY_FILES];
	size_t n;
};

static void add_file(struct srcfiles *s, const char *p, bool main)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->path[i], p))
			return;
	if (s->n < MAX_CHRONY_FILES && (s->path[s->n] = strdup(p)))
		s->main[s->n++] = main;
}

static void free_files(struct srcfiles *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->path[i]);
	s->n = 0;
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The directories of a confdir/sourcedir line: files with suffix, a name
 * in an earlier directory hiding the same name in a later one, in name order. */
static void dir_files(const struct gm_root *r, const char *dirs, const char *suffix,
		      struct srcfiles *out)
{
	char *list[MAX_CHRONY_FILES];
	size_t n = 0;

	for (const char *d = gm_skip_ws(dirs); *d; d = gm_skip_ws(d + gm_word_len(d))) {
		char pat[512], **m = NULL;

		snprintf(pat, sizeof(pat), "%.*s/*%s", (int)gm_word_len(d), d, suffix);
		if (gm_root_glob_sorted(r, pat, &m, NULL) < 0)
			continue;
		for (char **p = m; *p && n < MAX_CHRONY_FILES; p++) {
			bool seen = false;
			for (size_t i = 0; i < n && !seen; i++)
				seen = !strcmp(base_of(list[i]), base_of(*p));
			if (!seen && (list[n] = strdup(*p)))
				n++;
		}
		gm_strv_free(m);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(base_of(list[i]), base_of(list[j])) > 0) {
				char *t = list[i];
				list[i] = list[j];
				list[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		add_file(out, list[i], false);
		free(list[i]);
	}
}

/* chrony.conf and everything it pulls in, depth-first as chronyd reads. */
static void chrony_files(const struct gm_root *r, const char *path, bool main, int depth,
			 struct srcfiles *out)
{
	char *buf;
	size_t len;
	struct gm_lines l;

	if (depth > 8 || gm_root_read(r, path, &buf, &len) < 0)
		return;
	add_file(out, path, main);
	if (gm_lines_parse(&l, buf, len) < 0) {
		free(buf);
		return;
	}
	free(buf);
	for (size_t i = 0; i < l.n; i++) {
		const char *s = gm_skip_ws(l.v[i].text), *arg;
		size_t w = gm_word_len(s);

		arg = gm_skip_ws(s + w);
		if (gm_word_eq(s, w, "include", false)) {
			char pat[512], **m = NULL;
			snprintf(pat, sizeof(pat), "%.*s", (int)gm_word_len(arg), arg);
			if (gm_root_glob_sorted(r, pat, &m, NULL) == 0)
				for (char **p = m; *p; p++)
					chrony_files(r, *p, false, depth + 1, out);
			gm_strv_free(m);
		} else if (gm_word_eq(s, w, "confdir", false)) {
			struct srcfiles sub = { 0 };
			dir_files(r, arg, ".conf", &sub);
			for (size_t k = 0; k < sub.n; k++)
				chrony_files(r, sub.path[k], false, depth + 1, out);
			free_files(&sub);
		} else if (gm_word_eq(s, w, "sourcedir", false)) {
			dir_files(r, arg, ".sources", out);
		}
	}
	gm_lines_free(&l);
}

/* Whether a unit is enabled: a link in some *.wants directory. */
static bool unit_enabled(const struct gm_root *r, const char *unit)
{
	static const char *const dirs[] = { "/etc/systemd/system", "/usr/lib/systemd/system",
					    "/lib/systemd/system" };
	for (size_t i = 0; i < 3; i++) {
		char pat[256], **m = NULL;
		size_t n = 0;

		snprintf(pat, sizeof(pat), "%s/*.wants/%s", dirs[i], unit);
		if (gm_root_glob_sorted(r, pat, &m, &n) == 0 && n) {
			gm_strv_free(m);
			return true;
		}
		gm_strv_free(m);
	}
	return false;
}

struct judge {
	struct ctx *c;
	struct outcome *o;
	const char *server;
	char detail[480];
	int bad, seen;
};

static void note_bad(struct judge *j, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note_bad(struct judge *j, const char *path, const char *fmt, ...)
{
	size_t u = strlen(j->detail);
	va_list ap;

	j->bad++;
	snprintf(j->detail + u, sizeof(j->detail) - u, "%s%s: ", u ? "; " : "", path);
	u = strlen(j->detail);
	va_start(ap, fmt);
	vsnprintf(j->detail + u, sizeof(j->detail) - u, fmt, ap);
	va_end(ap);
	if (!j->o->file[0])
		snprintf(j->o->file, sizeof(j->o->file), "%s", path);
}

/* ntp.conf-style file (ntpd, ntpsec, chrony): main ones keep one server
 * line for ours, others lose their sources. */
static int ntp_file(struct judge *j, const char *p, bool main)
{
	char *buf, *out = NULL, list[256];
	size_t len, outlen;
	int rc = gm_root_read(j->c->r, p, &buf, &len), n;

	if (rc == -ENOENT || rc == -EISDIR)
		return 0;
	if (rc < 0)
		return gm_error_set(j->c->err, rc, "%s: %s", p, strerror(-rc));
	j->seen++;
	n = gm_ntpconf_servers(buf, len, list, sizeof(list));
	if (main && strcmp(list, j->server))
		note_bad(j, p, "%s", list[0] ? list : "(no server)");
	else if (!main && n > 0)
		note_bad(j, p, "adds %s", list);
	if (j->c->apply) {
		rc = gm_ntpconf_set(buf, len, main ? j->server : NULL, &out, &outlen);
		if (rc == 1 && (rc = gm_act_write(j->c, p, out, outlen)) == 0)
			rc = main ? gm_act_summary(j->o, "%s: only %s (was %s)", p, j->server,
						   list[0] ? list : "none")
				  : gm_act_summary(j->o, "%s: server/pool/peer lines removed", p);
	}
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

static int timesyncd(struct judge *j, bool enabled)
{
	const char *p = "/etc/systemd/timesyncd.conf";
	char *buf = NULL, *out = NULL, list[256] = "", **drop = NULL;
	size_t len = 0, outlen;
	bool set = false, any = false;
	int rc = gm_root_read(j->c->r, p, &buf, &len);

	if (rc < 0 && rc != -ENOENT)
		return gm_error_set(j->c->err, rc, "%s: %s", p, strerror(-rc));
	if (rc == -ENOENT && !enabled)
		return 0;
	j->seen++;
	if (buf) {
		gm_timesyncd_get(buf, len, list, sizeof(list), &set);
		any = set && list[0];
	}
	/* drop-ins add servers (or reset them with an empty NTP=) */
	if ((rc = gm_root_glob_sorted(j->c->r, "/etc/systemd/timesyncd.conf.d/*.conf", &drop, NULL)) < 0)
		goto out;
	for (char **d = drop; *d && rc >= 0; d++) {
		char *b, *o2 = NULL, l2[256];
		size_t bl, ol;
		bool s2;

		if (gm_root_read(j->c->r, *d, &b, &bl) < 0)
			continue;
		gm_timesyncd_get(b, bl, l2, sizeof(l2), &s2);
		if (s2) {
			note_bad(j, *d, "sets NTP=%s", l2);
			if (j->c->apply &&
			    (rc = gm_timesyncd_set(b, bl, j->server, true, &o2, &ol)) == 1 &&
			    (rc = gm_act_write(j->c, *d, o2, ol)) == 0)
				rc = gm_act_summary(j->o, "%s: NTP= removed", *d);
		}
		free(b);
		free(o2);
	}
	if (rc < 0)
		goto out;
	if (strcmp(list, j->server))
		note_bad(j, p, "%s", any ? list : buf ? "no NTP= (timesyncd uses its compiled-in "
			 "FallbackNTP servers)" : "absent (timesyncd uses its compiled-in "
			 "FallbackNTP servers)");
	if (j->c->apply) {
		if (!buf && !(buf = strdup("")))
			rc = -ENOMEM;
		else if ((rc = gm_timesyncd_set(buf, len, j->server, false, &out, &outlen)) == 1 &&
			 (rc = gm_act_write(j->c, p, out, outlen)) == 0)
			rc = gm_act_summary(j->o, "%s: NTP=%s (was %s)", p, j->server,
					    list[0] ? list : "unset");
	}
out:
	gm_strv_free(drop);
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

int gm_act_ntp(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	struct judge j = { c, o, a->argv[1], "", 0, 0 };
	bool chrony_on = unit_enabled(c->r, "chrony.service") || unit_enabled(c->r, "chronyd.service");
	bool ntp_on = unit_enabled(c->r, "ntp.service") || unit_enabled(c->r, "ntpd.service") ||
		      unit_enabled(c->r, "ntpsec.service");
	bool tsd_on = unit_enabled(c->r, "systemd-timesyncd.service");
	bool known = chrony_on || ntp_on || tsd_on;
	int rc = 0;

	if (!known || ntp_on) {
		if ((rc = ntp_file(&j, "/etc/ntp.conf", true)) < 0 ||
		    (rc = ntp_file(&j, "/etc/ntpsec/ntp.conf", true)) < 0)
			return rc;
	}
	if (!known || chrony_on) {
		static const char *const mains[] = { "/etc/chrony/chrony.conf", "/etc/chrony.conf" };
		for (size_t i = 0; i < 2 && rc >= 0; i++) {
			struct srcfiles f = { 0 };

			chrony_files(c->r, mains[i], true, 0, &f);
			for (size_t k = 0; k < f.n && rc >= 0; k++)
				rc = ntp_file(&j, f.path[k], f.main[k]);
			free_files(&f);
		}
		if (rc < 0)
			return rc;
	}
	if ((!known || tsd_on) && (rc = timesyncd(&j, tsd_on)) < 0)
		return rc;
	if (!j.seen)
		gm_act_say(o, GM_STATUS_NA, "no NTP client configuration in the image (ntp.conf, "
			   "chrony.conf, timesyncd.conf)");
	else if (j.bad)
		gm_act_say(o, GM_STATUS_FAIL, "servers other than %s%s: %s", j.server,
			   known ? " for the enabled client" : "", j.detail);
	else
		gm_act_say(o, GM_STATUS_PASS, "only %s%s", j.server,
			   chrony_on ? " (chrony, enabled)" : tsd_on ? " (systemd-timesyncd, enabled)" :
			   ntp_on ? " (ntpd, enabled)" : "");
	return 0;
}
