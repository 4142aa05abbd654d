/* act_config.c — actions on configuration files: sshd/ssh, sysctl,
 * login.defs, GRUB command line, NTP. Check fills the outcome; apply edits
 * through c->r (the overlay). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/actions.h"

/* ---------------- sysctl ---------------- */
/* How the kernel combines net.ipv4.conf.all.X with an interface's own X
 * (include/linux/inetdevice.h, for a host: forwarding off). */
static const struct {
	const char *name;
	char how;   /* '|' IN_DEV_ORCONF, '&' IN_DEV_ANDCONF, 'M' IN_DEV_MAXCONF */
} if_keys[] = {
	{ "send_redirects", '|' }, { "accept_redirects", '|' }, { "secure_redirects", '|' },
	{ "log_martians", '|' }, { "accept_source_route", '&' }, { "rp_filter", 'M' },
};
/* The interfaces a Compute Engine VM has: ens4 (predictable names), eth0
 * (net.ifnames=0, as older images boot). */
static const char *const vm_ifaces[] = { "ens4", "eth0" };

/* For a net.ipv4.conf.all.X key: the value interface ifc gets (its own
 * setting, by name or glob, else what "default" gives a new interface),
 * combined with all as the kernel does. 0 with *bad when the combination is
 * not what the action wants; ifkey/iff say which setting decides. */
static int iface_check(struct ctx *c, const struct gm_action *a, const char *allval,
		       char *why, size_t whylen, char *fixkey, size_t fixlen)
{
	char nk[256];
	const char *x;
	char how = 0;

	gm_sysctl_normalize(a->argv[1], nk, sizeof(nk));
	if (strncmp(nk, "net.ipv4.conf.all.", 18))
		return 0;
	x = nk + 18;
	for (size_t i = 0; i < sizeof(if_keys) / sizeof(if_keys[0]); i++)
		if (!strcmp(x, if_keys[i].name))
			how = if_keys[i].how;
	if (!how)
		return 0;
	for (size_t i = 0; i < sizeof(vm_ifaces) / sizeof(vm_ifaces[0]); i++) {
		char k[300], dk[300], comb[32];
		struct gm_sysctl_found f, d;
		struct gm_error e = { 0 };
		long av = strtol(allval, NULL, 10), iv;

		snprintf(k, sizeof(k), "net.ipv4.conf.%s.%s", vm_ifaces[i], x);
		snprintf(dk, sizeof(dk), "net.ipv4.conf.default.%s", x);
		if (gm_sysctl_get(c->r, k, &f, &e) == 1) {
			iv = strtol(f.value, NULL, 10);
		} else if (gm_sysctl_get(c->r, dk, &d, &e) == 1) {
			continue;   /* the default row judges what new interfaces get */
		} else {
			continue;   /* the kernel's default: judged by the default row too */
		}
		long v = how == '|' ? (av || iv) : how == '&' ? (av && iv) : (av > iv ? av : iv);
		snprintf(comb, sizeof(comb), "%ld", v);
		if (gm_act_judge(a, comb, false) != GM_STATUS_FAIL)
			continue;
		int n = snprintf(why, whylen, "%.80s = %.40s at %.200s:%d%s", k, f.value, f.file, f.line,
				 f.glob ? " (a glob)" : "");
		if (n > 0 && (size_t)n < whylen)
			snprintf(why + n, whylen - (size_t)n, ": the kernel uses %s the interface's value, "
				 "so %.40s is effectively %ld on %s, want %.40s",
				 how == 'M' ? "the larger of all and" : how == '|' ? "all OR" : "all AND",
				 x, v, vm_ifaces[i], a->value);
		snprintf(fixkey, fixlen, "%s", k);
		return 1;
	}
	return 0;
}

int gm_act_sysctl(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	struct gm_sysctl_found f;
	char why[512], fixkey[300];
	int rc = gm_sysctl_get(c->r, a->argv[1], &f, c->err), bad;

	if (rc < 0)
		return rc;
	if (rc) {
		snprintf(o->file, sizeof(o->file), "%s", f.file);
		o->line = f.line;
	}
	enum gm_status j = rc ? gm_act_judge(a, f.value, false) : GM_STATUS_FAIL;
	bad = rc && j != GM_STATUS_FAIL &&
	      iface_check(c, a, f.value, why, sizeof(why), fixkey, sizeof(fixkey));
	if (!c->apply) {
		if (bad)
			gm_act_say(o, GM_STATUS_FAIL, "%s", why);
		else if (rc && j != GM_STATUS_FAIL)
			gm_act_say(o, j, "%s = %s (%s:%d%s)", a->argv[1], f.value, f.file,
			    f.line, f.glob ? ", by a glob" : "");
		else if (rc)
			gm_act_say(o, GM_STATUS_FAIL, "%s = %s at %s:%d, want %s", a->argv[1], f.value,
			    f.file, f.line, a->value);
		else
			gm_act_say(o, GM_STATUS_FAIL, "%s is set by no sysctl file (the kernel's default "
			    "applies), want %s", a->argv[1], a->value);
		return 0;
	}
	char old[300];
	snprintf(old, sizeof(old), "%s", rc ? f.value : "");
	if (rc && j == GM_STATUS_PASS && !bad)
		return 0;   /* an accepted value stays */
	if (!(rc && j == GM_STATUS_PASS)) {
		rc = gm_sysctl_set(c->r, a->argv[1], a->value, SYSCTL_DROPIN, c->err);
		if (rc < 0)
			return rc;
		gm_sysctl_get(c->r, a->argv[1], &f, c->err);
		if (old[0])
			rc = gm_act_summary(o, "%s:%d: %s = %s (was %s)", f.file, f.line, a->argv[1],
					    a->value, old);
		else
			rc = gm_act_summary(o, "%s:%d: %s = %s", f.file, f.line, a->argv[1], a->value);
		if (rc < 0)
			return rc;
	}
	/* interfaces whose own setting overrides all (by name or by a glob) */
	for (int pass = 0; pass < 4; pass++) {
		gm_sysctl_get(c->r, a->argv[1], &f, c->err);
		if (!iface_check(c, a, f.value, why, sizeof(why), fixkey, sizeof(fixkey)))
			return 0;
		if ((rc = gm_sysctl_set(c->r, fixkey, a->value, SYSCTL_DROPIN, c->err)) < 0)
			return rc;
		gm_sysctl_get(c->r, fixkey, &f, c->err);
		if ((rc = gm_act_summary(o, "%s:%d: %s = %s", f.file, f.line, fixkey, a->value)) < 0)
			return rc;
	}
	return gm_error_set(c->err, -EDEADLK, "%s: interfaces still override it", a->argv[1]);
}

/* ---------------- login.defs ---------------- */
static bool accepted(const struct gm_action *a, const char *v)
{
	return gm_act_judge(a, v, false) == GM_STATUS_PASS;
}

int gm_act_logindefs(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *path = "/etc/login.defs", *key = a->argv[1];
	char *buf, *out = NULL, val[256];
	size_t len, outlen;
	int line, rc = gm_root_read(c->r, path, &buf, &len);

	if (rc == -ENOENT) {
		gm_act_say(o, GM_STATUS_NA, "no %s in the image", path);
		return 0;
	}
	if (rc < 0)
		return gm_error_set(c->err, rc, "%s: %s", path, strerror(-rc));
	rc = gm_logindefs_get(buf, len, key, val, sizeof(val), &line);
	snprintf(o->file, sizeof(o->file), "%s", path);
	o->line = line;
	if (rc > 0 && accepted(a, val)) {
		gm_act_say(o, GM_STATUS_PASS, "%s %s (%s:%d)", key, val, path, line);
	} else if (!c->apply) {
		if (rc > 0)
			gm_act_say(o, GM_STATUS_FAIL, "%s is %s at %s:%d, want %s", key, val, path, line,
			    a->value);
		else
			gm_act_say(o, GM_STATUS_FAIL, "%s not set in %s, want %s", key, path, a->value);
	} else if ((rc = gm_logindefs_set(buf, len, key, a->value, &out, &outlen)) == 1 &&
		   (rc = gm_act_write(c, path, out, outlen)) == 0) {
		gm_logindefs_get(out, outlen, key, val, sizeof(val), &line);
		rc = gm_act_summary(o, "%s:%d: %s %s", path, line, key, a->value);
	}
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

/* ---------------- dhclient ---------------- */
/* The MTU set by hand, the guide's 1460 or any: dhclient's `supersede` or
 * `default interface-mtu N;`, `mtu N` in /etc/network/interfaces, or
 * networkd's MTUBytes=. where: what says so. */
static bool mtu_set(struct ctx *c, const char *dh, size_t dlen, char *where, size_t wlen)
{
	struct gm_lines l;
	bool found = false;
	char **nets = NULL;

	if (gm_lines_parse(&l, dh, dlen) == 0) {
		for (size_t i = 0; i < l.n && !found; i++) {
			const char *t = gm_skip_ws(l.v[i].text);
			if ((!strncmp(t, "supersede interface-mtu ", 24) ||
			     !strncmp(t, "default interface-mtu ", 22)) && strchr(t, ';')) {
				snprintf(where, wlen, "/etc/dhcp/dhclient.conf:%zu: %.200s", i + 1, t);
				found = true;
			}
		}
		gm_lines_free(&l);
	}
	const char *files[] = { "/etc/network/interfaces", NULL };
	for (size_t f = 0; files[f] && !found; f++) {
		char *buf;
		size_t len;
		if (gm_root_read(c->r, files[f], &buf, &len) < 0 || gm_lines_parse(&l, buf, len) < 0)
			continue;
		free(buf);
		for (size_t i = 0; i < l.n && !found; i++) {
			const char *t = gm_skip_ws(l.v[i].text);
			if (!strncmp(t, "mtu ", 4)) {
				snprintf(where, wlen, "%s:%zu: %.200s", files[f], i + 1, t);
				found = true;
			}
		}
		gm_lines_free(&l);
	}
	if (!found && gm_root_glob_sorted(c->r, "/etc/systemd/network/*.network", &nets, NULL) == 0)
		for (char **p = nets; *p && !found; p++) {
			char *buf;
			size_t len;
			if (gm_root_read(c->r, *p, &buf, &len) < 0 || gm_lines_parse(&l, buf, len) < 0)
				continue;
			free(buf);
			for (size_t i = 0; i < l.n && !found; i++)
				if (!strncmp(gm_skip_ws(l.v[i].text), "MTUBytes=", 9)) {
					snprintf(where, wlen, "%.200s:%zu: %.60s", *p, i + 1,
						 gm_skip_ws(l.v[i].text));
					found = true;
				}
			gm_lines_free(&l);
		}
	gm_strv_free(nets);
	return found;
}

int gm_act_dhclient(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *path = "/etc/dhcp/dhclient.conf", *opt = a->argv[1];
	char *buf, *out = NULL;
	size_t len, outlen;
	int rc = gm_root_read(c->r, path, &buf, &len);

	if (rc == -ENOENT) {
		gm_act_say(o, GM_STATUS_NA, "no %s (the image does not use ISC dhclient)", path);
		return 0;
	}
	if (rc < 0)
		return gm_error_set(c->err, rc, "%s: %s", path, strerror(-rc));
	snprintf(o->file, sizeof(o->file), "%s", path);
	rc = gm_dhclient_request(buf, len, opt, &out, &outlen);
	char fixed[300];
	if (rc > 0 && !strcmp(opt, "interface-mtu") && mtu_set(c, buf, len, fixed, sizeof(fixed))) {
		gm_act_say(o, GM_STATUS_PASS, "the MTU is set: %s", fixed);
		free(buf);
		free(out);
		return 0;
	}
	if (rc == 0)
		gm_act_say(o, GM_STATUS_PASS, "dhclient requests %s", opt);
	else if (rc > 0 && !c->apply)
		gm_act_say(o, GM_STATUS_FAIL, "dhclient does not request %s", opt);
	else if (rc > 0 && (rc = gm_act_write(c, path, out, outlen)) == 0)
		rc = gm_act_summary(o, "%s: also request %s", path, opt);
	free(buf);
	free(out);
	return rc < 0 ? rc : 0;
}

/* ---------------- apt.conf ---------------- */
/* apt reads /etc/apt/apt.conf.d/ in lexical order (then apt.conf); the last
 * assignment wins. Apply edits it in place, or adds the key to
 * 20auto-upgrades (the file dpkg-reconfigure unattended-upgrades writes). */
int gm_act_aptconf(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	const char *key = a->argv[1], *want = a->argv[2];
	char val[256], where[256] = "", target[300];
	int rc, line = 0;

	if (!gm_root_exists(c->r, "/etc/apt/apt.conf.d", true)) {
		gm_act_say(o, GM_STATUS_NA, "no /etc/apt/apt.conf.d (not an apt system)");
		return 0;
	}
	struct gm_apt_found af;
	rc = gm_apt_effective(c->r, key, &af, where, sizeof(where));
	if (rc < 0)
		return gm_error_set(c->err, rc, "/etc/apt/apt.conf.d: %s", strerror(-rc));
	snprintf(val, sizeof(val), "%s", rc ? af.value : "");
	line = af.line;
	/* apt's own default when nothing sets it */
	if (!rc && !strcasecmp(key, "APT::Periodic::Enable") && !strcmp(want, "1")) {
		gm_act_say(o, GM_STATUS_PASS, "%s not set: apt's default is \"1\"", key);
		return 0;
	}
	snprintf(o->file, sizeof(o->file), "%s", where);
	o->line = line;
	if (where[0] && !strcmp(val, want)) {
		gm_act_say(o, GM_STATUS_PASS, "%s \"%s\" (%s:%d)", key, val, where, line);
		return 0;
	}
	if (!c->apply) {
		if (where[0])
			gm_act_say(o, GM_STATUS_FAIL, "%s is \"%s\" at %s:%d, want \"%s\"", key, val,
				   where, line, want);
		else
			gm_act_say(o, GM_STATUS_FAIL, "%s not set, want \"%s\"", key, want);
		return 0;
	}
	snprintf(target, sizeof(target), "%s",
		 where[0] ? where : "/etc/apt/apt.conf.d/20auto-upgrades");
	char *buf = NULL, *out = NULL;
	size_t len = 0, outlen;
	rc = gm_root_read(c->r, target, &buf, &len);
	if (rc == -ENOENT) {
		buf = strdup("");
		rc = buf ? 0 : -ENOMEM;
	}
	if (rc == 0 && (rc = gm_aptconf_set(buf, len, key, want, &out, &outlen)) == 1 &&
	    (rc = gm_act_write(c, target, out, outlen)) == 0)
		rc = gm_act_summary(o, "%s: %s \"%s\"", target, key, want);
	free(buf);
	free(out);
	if (rc == -EINVAL)
		return gm_error_set(c->err, rc, "%s: does not parse as apt.conf (an open quote, "
				    "comment or statement); set %s by hand", target, key);
	if (rc < 0)
		return gm_error_set(c->err, rc, "%s: %s", target, strerror(-rc));
	return 0;
}
