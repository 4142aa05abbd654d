/* act_ssh.c — the sshd / ssh actions: the value the program will use.
 *
 * sshd: options on its command line (-o Key=Value in the systemd unit's
 * ExecStart, or Debian's SSHD_OPTS in /etc/default/ssh) come first; then
 * sshd_config with its Includes, first value wins; a Match block that
 * matches a connection overrides the global value for it. The server is
 * judged for an ordinary user and for root (gm_ssh_conn_user/_root), as
 * `sshd -T -C user=…,host=…,addr=…` would print. PasswordAuthentication no
 * also needs keyboard-interactive off when PAM is used (PAM asks for the
 * password). ssh: first value for every host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/actions.h"

static const char *const ssh_defaults[][3] = {
	/* kind, key, OpenSSH's default */
	{ "s", "PermitRootLogin", "prohibit-password" }, { "s", "PasswordAuthentication", "yes" },
	{ "s", "PermitTunnel", "no" }, { "s", "AllowTcpForwarding", "yes" },
	{ "s", "X11Forwarding", "no" }, { "s", "ClientAliveInterval", "0" },
	{ "s", "HostbasedAuthentication", "no" }, { "s", "PermitEmptyPasswords", "no" },
	{ "s", "KbdInteractiveAuthentication", "yes" }, { "s", "UsePAM", "no" },
	{ "c", "ForwardAgent", "no" }, { "c", "ForwardX11", "no" },
	{ "c", "HostbasedAuthentication", "no" }, { "c", "ServerAliveInterval", "0" },
	{ "c", "StrictHostKeyChecking", "ask" },
};

static const char *ssh_default(enum gm_ssh_kind kind, const char *key)
{
	for (size_t i = 0; i < sizeof(ssh_defaults) / sizeof(ssh_defaults[0]); i++)
		if (ssh_defaults[i][0][0] == (kind == GM_SSH_SERVER ? 's' : 'c') &&
		    !strcasecmp(ssh_defaults[i][1], key))
			return ssh_defaults[i][2];
	return NULL;
}

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

/* ---- sshd's command line ---- */
#define MAX_SRC 16
struct cmdsrc {
	char path[256];       /* file holding the option */
	const char *prefix;   /* "ExecStart=" or "SSHD_OPTS=" */
};

struct loader {
	struct ctx *c;
	struct gm_sshcfg *cfg;
	const char *file;
	int line;
	struct cmdsrc src[MAX_SRC];
	size_t nsrc;
};

static int on_opt(void *priv, const char *key, const char *value)
{
	struct loader *L = priv;

	return gm_sshcfg_add_cmdline(L->cfg, key, value, L->file, L->line);
}

static void add_src(struct loader *L, const char *path, const char *prefix)
{
	for (size_t i = 0; i < L->nsrc; i++)
		if (!strcmp(L->src[i].path, path) && L->src[i].prefix == prefix)
			return;
	if (L->nsrc < MAX_SRC) {
		snprintf(L->src[L->nsrc].path, sizeof(L->src[0].path), "%s", path);
		L->src[L->nsrc++].prefix = prefix;
	}
}

/* SSHD_OPTS of an environment file, as options. */
static int env_opts(struct loader *L, const char *path)
{
	char *buf, val[1024];
	size_t len;
	int line = 0, rc;

	if (gm_root_read(L->c->r, path, &buf, &len) < 0)
		return 0;
	rc = gm_shell_var(buf, len, "SSHD_OPTS", val, sizeof(val), &line);
	free(buf);
	if (rc <= 0)
		return rc;
	L->file = path;
	L->line = line;
	add_src(L, path, "SSHD_OPTS=");
	rc = gm_sshd_cmdline_opts(val, strlen(val), on_opt, L);
	return rc < 0 ? rc : 0;
}

static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system",
};
#define NUNIT_DIRS (sizeof(unit_dirs) / sizeof(unit_dirs[0]))

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The unit and its drop-ins in systemd's order; returns how many (paths in v). */
static size_t unit_files(const struct gm_root *r, const char *name, char v[][256], size_t max)
{
	size_t n = 0;

	for (size_t d = 0; d < NUNIT_DIRS && !n; d++) {
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", unit_dirs[d], name);
		if (gm_root_exists(r, p, true))
			snprintf(v[n++], 256, "%s", p);
	}
	if (!n)
		return 0;
	/* drop-ins: NAME.d/ *.conf, a name in an earlier dir hides a later one,
	 * all in lexical order of their names */
	size_t first = n;
	for (size_t d = 0; d < NUNIT_DIRS; d++) {
		char pat[300], **m = NULL;

		snprintf(pat, sizeof(pat), "%s/%s.d/*.conf", unit_dirs[d], name);
		if (gm_root_glob_sorted(r, pat, &m, NULL) < 0)
			continue;
		for (char **p = m; *p && n < max; p++) {
			bool seen = false;
			for (size_t i = first; i < n && !seen; i++)
				seen = !strcmp(base_of(v[i]), base_of(*p));
			if (!seen)
				snprintf(v[n++], 256, "%s", *p);
		}
		gm_strv_free(m);
	}
	for (size_t i = first; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(base_of(v[i]), base_of(v[j])) > 0) {
				char t[256];
				memcpy(t, v[i], 256);
				memcpy(v[i], v[j], 256);
				memcpy(v[j], t, 256);
			}
	return n;
}

static int load_cmdline(struct loader *L)
{
	static const char *const names[] = { "ssh.service", "sshd.service" };
	char files[24][256], exec[1024] = "", exec_file[256] = "", env[4][256];
	size_t nf = 0, nenv = 0;
	int exec_line = 0, rc = 0;

	for (size_t i = 0; i < 2 && !nf; i++)
		nf = unit_files(L->c->r, names[i], files, 24);
	if (!nf)   /* no systemd unit: the init script passes SSHD_OPTS */
		return env_opts(L, "/etc/default/ssh");
	for (size_t i = 0; i < nf; i++) {
		char *buf;
		size_t len;
		struct gm_lines l;

		if (gm_root_read(L->c->r, files[i], &buf, &len) < 0)
			continue;
		rc = gm_lines_parse(&l, buf, len);
		free(buf);
		if (rc < 0)
			return rc;
		for (size_t li = 0; li < l.n; li++) {
			const char *t = gm_skip_ws(l.v[li].text);

			if (!strncmp(t, "ExecStart=", 10)) {
				/* empty resets the list; the last command is sshd's */
				snprintf(exec, sizeof(exec), "%s", t + 10);
				snprintf(exec_file, sizeof(exec_file), "%s", files[i]);
				exec_line = (int)li + 1;
			} else if (!strncmp(t, "EnvironmentFile=", 16) && nenv < 4) {
				const char *e = t + 16;
				if (*e == '-')
					e++;
				snprintf(env[nenv++], 256, "%.*s", (int)gm_word_len(e), e);
			}
		}
		gm_lines_free(&l);
	}
	if (!exec[0])
		return 0;
	/* the command: options before $SSHD_OPTS, then SSHD_OPTS, then after */
	const char *var = strstr(exec, "$SSHD_OPTS");
	const char *var2 = strstr(exec, "${SSHD_OPTS}");
	size_t before = var2 ? (size_t)(var2 - exec) : var ? (size_t)(var - exec) : strlen(exec);
	size_t vlen = var2 ? 12 : var ? 10 : 0;

	L->file = exec_file;
	L->line = exec_line;
	add_src(L, exec_file, "ExecStart=");
	if ((rc = gm_sshd_cmdline_opts(exec, before, on_opt, L)) < 0)
		return rc;
	if (vlen)
		for (size_t i = 0; i < nenv && rc >= 0; i++)
			rc = env_opts(L, env[i]);
	L->file = exec_file;
	L->line = exec_line;
	if (rc >= 0 && vlen)
		rc = gm_sshd_cmdline_opts(exec + before + vlen, strlen(exec + before + vlen), on_opt, L);
	return rc < 0 ? rc : 0;
}

/* ---- judging ---- */
struct verdict {
	enum gm_status status;
	char reason[512];
	char file[256];
	int line;
};

static int rank(enum gm_status s)
{
	return s == GM_STATUS_FAIL ? 3 : s == GM_STATUS_WARN ? 2 : s == GM_STATUS_PASS ? 1 : 0;
}

/* Judges key for one connection (NULL: the client, or any connection). */
static void judge_one(const struct gm_sshcfg *cfg, enum gm_ssh_kind kind, const struct gm_action *a,
		      const char *key, const struct gm_ssh_conn *conn, struct verdict *v)
{
	struct gm_ssh_found f;
	const char *def = ssh_default(kind, key), *have;
	char who[64] = "";

	memset(v, 0, sizeof(*v));
	if (conn)
		snprintf(who, sizeof(who), " for %s", conn == &gm_ssh_conn_root ? "root" : "a user");
	if (gm_sshcfg_get_conn(cfg, key, conn, &f)) {
		have = f.value;
		snprintf(v->file, sizeof(v->file), "%s", f.file);
		v->line = f.line;
	} else {
		have = def ? def : "";
	}
	v->status = gm_act_judge(a, have, true);
	if (!f.file && !def)
		v->status = GM_STATUS_FAIL;
	const char *how = f.cmdline ? " on sshd's command line" : f.in_match ? " in a Match block" : "";
	if (!f.file)
		snprintf(v->reason, sizeof(v->reason), "%s not set; OpenSSH's default is %s%s%s",
			 key, def ? def : "unknown", v->status == GM_STATUS_PASS ? "" : ", want ",
			 v->status == GM_STATUS_PASS ? "" : a->value);
	else if (v->status == GM_STATUS_PASS)
		snprintf(v->reason, sizeof(v->reason), "%s %s (%s:%d%s)", key, have, f.file, f.line, how);
	else
		snprintf(v->reason, sizeof(v->reason), "%s is %s%s at %s:%d%s, want %s", key, have, who,
			 f.file, f.line, how, a->value);
	if (v->status == GM_STATUS_PASS && f.conditional_line) {
		v->status = GM_STATUS_WARN;
		char at[200];
		if (f.file)
			snprintf(at, sizeof(at), "%.180s:%d", f.file, f.line);
		else
			snprintf(at, sizeof(at), "OpenSSH's default");
		snprintf(v->reason, sizeof(v->reason), "%.60s %.60s (%.190s), but a %s block at %.150s:%d "
			 "sets it too", key, have, at, kind == GM_SSH_SERVER ? "Match" : "Host/Match", f.cfile,
			 f.conditional_line);
	}
}

/* PasswordAuthentication no with PAM: keyboard-interactive asks for the
 * password through PAM. FAIL verdict when both are on for conn. */
static bool pam_password(const struct gm_sshcfg *cfg, const struct gm_ssh_conn *conn,
			 struct verdict *v)
{
	struct gm_ssh_found k, p;
	bool kbd = true, pam = false;

	if (gm_sshcfg_get_conn(cfg, "KbdInteractiveAuthentication", conn, &k))
		kbd = !strcasecmp(k.value, "yes");
	if (gm_sshcfg_get_conn(cfg, "UsePAM", NULL, &p))
		pam = !strcasecmp(p.value, "yes");
	if (!kbd || !pam)
		return false;
	v->status = GM_STATUS_FAIL;
	snprintf(v->file, sizeof(v->file), "%s", k.file ? k.file : p.file);
	v->line = k.file ? k.line : p.line;
	char kat[200];
	if (k.file)
		snprintf(kat, sizeof(kat), "%.180s:%d", k.file, k.line);
	else
		snprintf(kat, sizeof(kat), "OpenSSH's default");
	snprintf(v->reason, sizeof(v->reason),
		 "KbdInteractiveAuthentication %.20s (%.190s) with UsePAM yes (%.150s:%d): PAM asks for "
		 "the password, so password authentication is on", k.file ? k.value : "yes", kat,
		 p.file, p.line);
	return true;
}

static bool wants_no_password(enum gm_ssh_kind kind, const struct gm_action *a)
{
	return kind == GM_SSH_SERVER && !strcasecmp(a->argv[1], "PasswordAuthentication") &&
	       !strcasecmp(a->value, "no");
}

/* The verdict of the whole action: the worst over the connections. */
static void judge(const struct gm_sshcfg *cfg, enum gm_ssh_kind kind, const struct gm_action *a,
		  struct verdict *out)
{
	const struct gm_ssh_conn *conns[] = { NULL, &gm_ssh_conn_user, &gm_ssh_conn_root };
	size_t n = kind == GM_SSH_SERVER ? 3 : 1;
	bool root_only = !strcasecmp(a->argv[1], "PermitRootLogin");

	memset(out, 0, sizeof(*out));
	out->status = GM_STATUS_NA;
	for (size_t i = 0; i < n; i++) {
		struct verdict v;

		if (root_only && conns[i] != &gm_ssh_conn_root)
			continue;   /* only root's connections can log in as root */
		judge_one(cfg, kind, a, a->argv[1], conns[i], &v);
		if (v.status == GM_STATUS_PASS && wants_no_password(kind, a) && conns[i])
			pam_password(cfg, conns[i], &v);
		if (rank(v.status) > rank(out->status))
			*out = v;
	}
}

static int load(struct ctx *c, enum gm_ssh_kind kind, bool with_cmdline, struct gm_sshcfg **cfg,
		struct loader *L)
{
	struct gm_error lerr = { 0 };
	int rc = gm_sshcfg_load(c->r, kind, kind == GM_SSH_SERVER ? SSHD_CONFIG : SSH_CONFIG, cfg,
				&lerr);

	if (rc < 0)
		return rc == -ENOENT ? rc : gm_error_set(c->err, rc, "%s", gm_error_msg(&lerr));
	memset(L, 0, sizeof(*L));
	L->c = c;
	L->cfg = *cfg;
	if (kind == GM_SSH_SERVER && with_cmdline && (rc = load_cmdline(L)) < 0) {
		gm_sshcfg_free(*cfg);
		*cfg = NULL;
		return gm_error_set(c->err, rc, "sshd command line: %s", strerror(-rc));
	}
	return 0;
}

/* Removes -o KEY from every command-line source; a vendor unit is
 * overridden by a copy under /etc/systemd/system. */
static int drop_cmdline(struct ctx *c, struct loader *L, const char *key, struct outcome *o)
{
	for (size_t i = 0; i < L->nsrc; i++) {
		char *buf, *out = NULL, target[300];
		size_t len, outlen;
		const char *sys = strstr(L->src[i].path, "/system/");
		int rc;

		if (gm_root_read(c->r, L->src[i].path, &buf, &len) < 0)
			continue;
		rc = gm_cmdline_drop_opt(buf, len, L->src[i].prefix, key, &out, &outlen);
		free(buf);
		if (rc < 0)
			return gm_error_set(c->err, rc, "%s: %s", L->src[i].path, strerror(-rc));
		if (rc == 0)
			continue;
		if (!strncmp(L->src[i].path, "/etc/", 5) || !sys)
			snprintf(target, sizeof(target), "%s", L->src[i].path);
		else
			snprintf(target, sizeof(target), "/etc/systemd/system/%s", sys + 8);
		rc = gm_act_write(c, target, out, outlen);
		free(out);
		if (rc < 0 || (rc = gm_act_summary(o, "%s: -o %s removed from sshd's command line",
						   target, key)) < 0)
			return rc;
	}
	return 0;
}

static int write_cfg(struct ctx *c, struct gm_sshcfg *cfg)
{
	for (size_t i = 0; i < gm_sshcfg_nfiles(cfg); i++) {
		char *buf;
		size_t len;
		bool changed;
		const char *path = gm_sshcfg_file(cfg, i, &buf, &len, &changed);
		int rc;

		if (!path)
			return -ENOMEM;
		if (changed && (rc = gm_act_write(c, path, buf, len)) < 0)
			return rc;
	}
	return 0;
}

/* Makes key=want effective in the files (command line already cleaned). */
static int set_key(struct ctx *c, enum gm_ssh_kind kind, struct gm_sshcfg *cfg, const char *key,
		   const char *want, struct outcome *o)
{
	struct gm_ssh_found f;
	char old[256];
	int rc;

	gm_sshcfg_get(cfg, key, &f);
	snprintf(old, sizeof(old), "%s", f.file ? f.value : "");
	rc = gm_sshcfg_set(cfg, key, want);
	if (rc == -EDEADLK)
		return gm_error_set(c->err, rc, "%s: could not make %s %s effective",
				    kind == GM_SSH_SERVER ? SSHD_CONFIG : SSH_CONFIG, key, want);
	if (rc <= 0)
		return rc;
	if ((rc = write_cfg(c, cfg)) < 0)
		return rc;
	gm_sshcfg_get(cfg, key, &f);
	if (old[0] && strcasecmp(old, want))
		return gm_act_summary(o, "%s:%d: %s %s (was %s)", f.file, f.line, key, want, old);
	return gm_act_summary(o, "%s:%d: %s %s", f.file, f.line, key, want);
}

int gm_act_ssh(struct ctx *c, const struct gm_action *a, struct outcome *o)
{
	enum gm_ssh_kind kind = a->kind == GM_ACT_SSHD ? GM_SSH_SERVER : GM_SSH_CLIENT;
	const char *main = kind == GM_SSH_SERVER ? SSHD_CONFIG : SSH_CONFIG;
	const char *key = a->argv[1], *want = a->value;
	struct gm_sshcfg *cfg = NULL;
	struct loader L;
	struct verdict v;
	char why[300];
	int rc = load(c, kind, true, &cfg, &L);

	if (rc == -ENOENT && !gm_root_exists(c->r, main, true)) {
		gm_act_say(o, GM_STATUS_NA, "no %s in the image", main);
		return 0;
	}
	if (rc < 0)
		return rc;
	if (!gm_ssh_setting_ok(kind, key, want, ssh_version(c, kind), why, sizeof(why))) {
		gm_act_say(o, GM_STATUS_WARN, "not written: %s", why);
		if (c->apply)
			rc = gm_act_summary(o, "skipped %s %s: %s", key, want, why);
		goto out;
	}
	judge(cfg, kind, a, &v);
	snprintf(o->file, sizeof(o->file), "%s", v.file[0] ? v.file : main);
	o->line = v.line;
	gm_act_say(o, v.status, "%s", v.reason);
	if (!c->apply || v.status == GM_STATUS_PASS)
		goto out;
	/* apply: the command line first, then the files; the same judgment
	 * must then say PASS */
	if ((rc = drop_cmdline(c, &L, key, o)) < 0)
		goto out;
	gm_sshcfg_free(cfg);
	cfg = NULL;
	if ((rc = load(c, kind, false, &cfg, &L)) < 0)
		goto out;
	judge(cfg, kind, a, &v);
	bool pam = v.status == GM_STATUS_FAIL && strstr(v.reason, "UsePAM yes");
	if (v.status != GM_STATUS_PASS && !pam && (rc = set_key(c, kind, cfg, key, want, o)) < 0)
		goto out;
	judge(cfg, kind, a, &v);
	if (v.status == GM_STATUS_FAIL && strstr(v.reason, "UsePAM yes")) {
		const char *kbd = ssh_version(c, kind) && ssh_version(c, kind) < 807
					  ? "ChallengeResponseAuthentication" : "KbdInteractiveAuthentication";
		if ((rc = drop_cmdline(c, &L, "KbdInteractiveAuthentication", o)) < 0 ||
		    (rc = drop_cmdline(c, &L, "ChallengeResponseAuthentication", o)) < 0 ||
		    (rc = set_key(c, kind, cfg, kbd, "no", o)) < 0)
			goto out;
	}
	/* what sshd will see now */
	gm_sshcfg_free(cfg);
	cfg = NULL;
	if ((rc = load(c, kind, true, &cfg, &L)) < 0)
		goto out;
	judge(cfg, kind, a, &v);
	if (v.status == GM_STATUS_FAIL)
		rc = gm_error_set(c->err, -EDEADLK, "%s: still not effective after the edit: %s", main,
				  v.reason);
out:
	gm_sshcfg_free(cfg);
	return rc < 0 ? rc : 0;
}
