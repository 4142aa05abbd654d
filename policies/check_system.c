/* check_system.c — what the guest OS needs on Compute Engine: an SSH server,
 * Python, automatic updates and a DHCP client (levels in docs/check.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "editor/view/path.h"
#include "policies/check.h"

#define CONF_MAX (1u << 20)

/* Collects glob matches, sorted (apt and networkd read files in name order). */
struct paths {
	char **v;
	size_t n, cap;
};

static int paths_add(void *priv, const char *path)
{
	struct paths *l = priv;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(path)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void paths_glob(struct gm_view *fs, const char *pattern, struct paths *l)
{
	gm_path_glob(fs, pattern, paths_add, l);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

static void paths_free(struct paths *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool exists(struct gm_view *fs, const char *path, bool exec)
{
	struct stat st;

	return gm_path_stat(fs, path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (!exec || (st.st_mode & 0111));
}

static const char *first_existing(struct gm_view *fs, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (exists(fs, list[i], true))
			return list[i];
	return NULL;
}

/* Finds "KEY<sep>VALUE" lines (sep: blanks, '=' or ':'; quotes and a final ';'
 * dropped) and returns fn(value) of the last one that fn recognises (-1: none),
 * its line in *last_line. */
typedef int (*value_fn)(const char *v, size_t n);   /* 1 on, 0 off, -1 not this key */

static int scan_lines(const char *buf, size_t len, const char *key, bool case_fold,
		      value_fn fn, int *last_line)
{
	const char *p = buf, *end = buf + len;
	size_t kl = strlen(key);
	int ln = 0, last = -1;

	*last_line = 0;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *q = p, *le;

		if (!eol)
			eol = end;
		le = eol;
		ln++;
		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		while (le > q && (le[-1] == ' ' || le[-1] == '\t' || le[-1] == '\r' || le[-1] == ';'))
			le--;
		if ((size_t)(le - q) > kl && (case_fold ? !strncasecmp(q, key, kl) : !strncmp(q, key, kl)) &&
		    strchr(" \t=:\"'", q[kl])) {
			const char *v = q + kl;

			while (v < le && (*v == ' ' || *v == '\t' || *v == '=' || *v == ':'))
				v++;
			if (v < le && (*v == '"' || *v == '\''))
				v++;
			size_t n = (size_t)(le - v);
			if (n && (v[n - 1] == '"' || v[n - 1] == '\''))
				n--;
			int r = fn(v, n);
			if (r >= 0) {
				last = r;
				*last_line = ln;
			}
		}
		p = eol + 1;
	}
	return last;
}

static bool word_is(const char *v, size_t n, const char *w)
{
	return strlen(w) == n && !strncasecmp(v, w, n);
}

static int apt_value(const char *v, size_t n)
{
	return n ? !(n == 1 && v[0] == '0') && !word_is(v, n, "false") : -1;
}

static int yes_value(const char *v, size_t n)
{
	return word_is(v, n, "yes") || word_is(v, n, "true") || word_is(v, n, "1") ||
	       word_is(v, n, "on");
}

static int dhcp_value(const char *v, size_t n)
{
	return word_is(v, n, "yes") || word_is(v, n, "true") || word_is(v, n, "ipv4") ||
	       word_is(v, n, "both") || word_is(v, n, "1");
}

/* Last value of key across the files (in order); file/line of that value. */
static int files_value(struct gm_view *fs, const struct paths *files, const char *key, bool fold,
		       value_fn fn, char *file, size_t flen, int *line)
{
	int val = -1;

	for (size_t i = 0; i < files->n; i++) {
		char *buf;
		size_t len;
		int ln, v;

		if (gm_path_read_file(fs, files->v[i], CONF_MAX, &buf, &len) < 0)
			continue;
		v = scan_lines(buf, len, key, fold, fn, &ln);
		free(buf);
		if (v >= 0) {
			val = v;
			snprintf(file, flen, "%s", files->v[i]);
			*line = ln;
		}
	}
	return val;
}

static void sshd_row(struct gm_view *fs, struct gm_check_report *rep)
{
	if (exists(fs, "/usr/sbin/sshd", true))
		gm_check_add(rep, "system.sshd", GM_LEVEL_STRONGLY_RECOMMENDED, GM_STATUS_PASS,
			     "/usr/sbin/sshd", 0, "an SSH server is installed");
	else
		gm_check_add(rep, "system.sshd", GM_LEVEL_STRONGLY_RECOMMENDED, GM_STATUS_FAIL, NULL, 0,
			     "no /usr/sbin/sshd: without an SSH server only the serial console "
			     "reaches the VM (install openssh-server)");
}

static int first_python(void *priv, const char *path)
{
	char *out = priv;

	if (!out[0])
		snprintf(out, 256, "%s", path);
	return 0;
}

static void python_row(struct gm_view *fs, struct gm_check_report *rep)
{
	char found[256] = "";
	struct paths all = { 0 };

	paths_glob(fs, "/usr/bin/python3*", &all);
	for (size_t i = 0; i < all.n && !found[0]; i++)
		if (!strchr(all.v[i] + strlen("/usr/bin/python3"), '-') && exists(fs, all.v[i], true))
			first_python(found, all.v[i]);
	paths_free(&all);
	if (found[0])
		gm_check_add(rep, "system.python", GM_LEVEL_RECOMMENDED, GM_STATUS_PASS, found, 0,
			     "Python 3 is installed");
	else
		gm_check_add(rep, "system.python", GM_LEVEL_RECOMMENDED, GM_STATUS_FAIL, NULL, 0,
			     "no /usr/bin/python3*: Python is used by guest tools and configuration "
			     "management (install python3)");
}

static void updates_row(struct gm_view *fs, struct gm_check_report *rep)
{
	static const char *const id = "system.auto-updates";
	char file[256] = "";
	int line = 0, v;
	struct paths apt = { 0 }, one = { 0 };
	bool uu = exists(fs, "/usr/bin/unattended-upgrade", true);

	paths_glob(fs, "/etc/apt/apt.conf.d/*", &apt);
	v = files_value(fs, &apt, "APT::Periodic::Unattended-Upgrade", false, apt_value,
			file, sizeof(file), &line);
	paths_free(&apt);
	if (v == 1 && uu) {
		gm_check_add(rep, id, GM_LEVEL_RECOMMENDED, GM_STATUS_PASS, file, line,
			     "unattended-upgrades is enabled");
		return;
	}
	if (v == 1) {
		gm_check_add(rep, id, GM_LEVEL_RECOMMENDED, GM_STATUS_WARN, file, line,
			     "APT::Periodic::Unattended-Upgrade is on but /usr/bin/unattended-upgrade "
			     "is missing (install unattended-upgrades)");
		return;
	}
	/* dnf-automatic, yum-cron: apply_updates = yes */
	static const char *const dnf[] = { "/etc/dnf/automatic.conf", "/etc/yum/yum-cron.conf", NULL };
	for (size_t i = 0; dnf[i]; i++) {
		if (paths_add(&one, dnf[i]) < 0)
			break;
		v = files_value(fs, &one, "apply_updates", true, yes_value, file, sizeof(file), &line);
		paths_free(&one);
		if (v == 1) {
			gm_check_add(rep, id, GM_LEVEL_RECOMMENDED, GM_STATUS_PASS, file, line,
				     "%s applies updates automatically",
				     i == 0 ? "dnf-automatic" : "yum-cron");
			return;
		}
	}
	if (uu)
		gm_check_add(rep, id, GM_LEVEL_RECOMMENDED, GM_STATUS_FAIL,
			     file[0] ? file : NULL, line,
			     "unattended-upgrades is installed but not enabled "
			     "(APT::Periodic::Unattended-Upgrade \"1\";)");
	else
		gm_check_add(rep, id, GM_LEVEL_RECOMMENDED, GM_STATUS_FAIL, NULL, 0,
			     "no automatic updates: neither unattended-upgrades, dnf-automatic nor "
			     "yum-cron is set up");
}

static void dhcp_row(struct gm_view *fs, struct gm_check_report *rep)
{
	static const char *const id = "system.dhcp-client";
	static const char *const bins[] = {
		"/usr/sbin/dhclient", "/sbin/dhclient", "/usr/sbin/dhcpcd", "/sbin/dhcpcd",
		"/usr/bin/dhcpcd", "/usr/sbin/NetworkManager", "/usr/sbin/udhcpc", "/sbin/udhcpc",
		NULL };
	char file[256] = "";
	int line = 0, v;
	struct paths l = { 0 };
	const char *bin;

	paths_glob(fs, "/etc/systemd/network/*.network", &l);
	paths_glob(fs, "/usr/lib/systemd/network/*.network", &l);
	v = files_value(fs, &l, "DHCP", false, dhcp_value, file, sizeof(file), &line);
	paths_free(&l);
	if (v == 1) {
		gm_check_add(rep, id, GM_LEVEL_REQUIRED, GM_STATUS_PASS, file, line,
			     "systemd-networkd configures DHCP");
		return;
	}
	paths_glob(fs, "/etc/netplan/*.yaml", &l);
	v = files_value(fs, &l, "dhcp4", false, yes_value, file, sizeof(file), &line);
	paths_free(&l);
	if (v == 1) {
		gm_check_add(rep, id, GM_LEVEL_REQUIRED, GM_STATUS_PASS, file, line,
			     "netplan configures DHCP");
		return;
	}
	bin = first_existing(fs, bins);
	if (bin)
		gm_check_add(rep, id, GM_LEVEL_REQUIRED, GM_STATUS_PASS, bin, 0,
			     "a DHCP client is installed");
	else
		gm_check_add(rep, id, GM_LEVEL_REQUIRED, GM_STATUS_FAIL, NULL, 0,
			     "no DHCP client (dhclient, dhcpcd, NetworkManager, systemd-networkd with "
			     "DHCP=): the VM gets its address, routes and MTU by DHCP");
}

int gm_check_system(struct gm_view *fs, struct gm_check_report *rep)
{
	sshd_row(fs, rep);
	python_row(fs, rep);
	updates_row(fs, rep);
	dhcp_row(fs, rep);
	return rep->oom ? -ENOMEM : 0;
}
