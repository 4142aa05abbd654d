/* textconf.c — small config formats: login.defs, /etc/default/grub,
 * ntp.conf / chrony.conf, systemd timesyncd.conf. Pure buffer -> buffer;
 * every line not concerned stays byte for byte. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/internal.h"

static int finish(struct gm_lines *l, int rc, char **out, size_t *outlen)
{
	if (rc == 1) {
		int r2 = gm_lines_join(l, out, outlen);
		if (r2 < 0)
			rc = r2;
	}
	gm_lines_free(l);
	return rc;
}

/* first word == key (case-sensitive unless icase) */
static bool first_word(const char *text, const char *key, bool icase, const char **rest)
{
	const char *s = gm_skip_ws(text);
	size_t n = gm_word_len(s);

	if (!gm_word_eq(s, n, key, icase))
		return false;
	if (rest)
		*rest = gm_skip_ws(s + n);
	return true;
}

static bool commented(const char *text, const char *key)
{
	const char *s = gm_skip_ws(text);

	if (*s != '#')
		return false;
	s = gm_skip_ws(s + 1);
	size_t n = strlen(key);
	return !strncmp(s, key, n) && (s[n] == ' ' || s[n] == '\t' || s[n] == '=' || !s[n]);
}

static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* ---------------- login.defs (last occurrence wins, as getdef.c) ---------------- */
int gm_logindefs_get(const char *in, size_t len, const char *key, char *value, size_t vlen,
		     int *line)
{
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len), found = 0;

	if (rc < 0)
		return rc;
	*line = 0;
	value[0] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		const char *rest;

		if (!first_word(l.v[i].text, key, false, &rest))
			continue;
		size_t n = trimmed_len(rest);
		if (n >= 2 && rest[0] == '"' && rest[n - 1] == '"')
			rest++, n -= 2;
		if (n >= vlen)
			n = vlen - 1;
		memcpy(value, rest, n);
		value[n] = '\0';
		*line = (int)i + 1;
		found = 1;
	}
	gm_lines_free(&l);
	return found;
}

int gm_logindefs_set(const char *in, size_t len, const char *key, const char *value, char **out,
		     size_t *outlen)
{
	struct gm_lines l;
	size_t last = (size_t)-1, cm = (size_t)-1;
	int rc = gm_lines_parse(&l, in, len);
	char *nl;

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		if (first_word(l.v[i].text, key, false, NULL))
			last = i;
		else if (commented(l.v[i].text, key))
			cm = i;
	}
	if (last != (size_t)-1) {
		const char *t = l.v[last].text, *s = gm_skip_ws(t), *rest = "";
		first_word(t, key, false, &rest);
		if ((size_t)trimmed_len(rest) == strlen(value) && !strncmp(rest, value, strlen(value)))
			return finish(&l, 0, out, outlen);
		/* keep indentation, key and the separator as written */
		nl = gm_strdupf("%.*s%s", (int)(rest - t), t, value);
		if (rest == s + strlen(key)) {   /* "KEY" alone: add a separator */
			free(nl);
			nl = gm_strdupf("%.*s\t%s", (int)(rest - t), t, value);
		}
		rc = nl ? gm_lines_replace(&l, last, nl) : -ENOMEM;
	} else {
		nl = gm_strdupf("%s %s", key, value);
		rc = nl ? gm_lines_insert(&l, cm != (size_t)-1 ? cm + 1 : l.n, nl) : -ENOMEM;
	}
	free(nl);
	return finish(&l, rc < 0 ? rc : 1, out, outlen);
}

/* ---------------- /etc/default/grub ---------------- */
#define GRUB_VAR "GRUB_CMDLINE_LINUX"

struct gassign {
	const char *val;     /* value text (after '=') */
	size_t vallen;       /* to the end of the value (quotes included) */
	char quote;          /* '"', '\'' or 0 */
};

static bool grub_assign(const char *text, struct gassign *a)
{
	const char *s = gm_skip_ws(text);
	size_t n = strlen(GRUB_VAR), i;

	if (!strncmp(s, "export ", 7))
		s = gm_skip_ws(s + 7);
	if (strncmp(s, GRUB_VAR, n) || s[n] != '=')
		return false;
	a->val = s + n + 1;
	a->quote = (*a->val == '"' || *a->val == '\'') ? *a->val : 0;
	if (a->quote) {
		for (i = 1; a->val[i] && a->val[i] != a->quote; i++)
			if (a->quote == '"' && a->val[i] == '\\' && a->val[i + 1])
				i++;
		a->vallen = a->val[i] ? i + 1 : i;
	} else {
		a->vallen = gm_word_len(a->val);
	}
	return true;
}

/* Inner text of the value (without quotes). */
static void inner(const struct gassign *a, const char **s, size_t *n)
{
	*s = a->val;
	*n = a->vallen;
	if (a->quote) {
		(*s)++;
		*n = *n >= 2 && a->val[a->vallen - 1] == a->quote ? a->vallen - 2 : a->vallen - 1;
	}
}

static bool self_ref(const char *s, size_t n)
{
	return memmem(s, n, "$" GRUB_VAR, strlen(GRUB_VAR) + 1) ||
	       memmem(s, n, "${" GRUB_VAR "}", strlen(GRUB_VAR) + 3);
}

/* the parameter part that must be unique: "console=ttyS0" of
 * "console=ttyS0,38400n8", "foo=" of "foo=bar", the word itself otherwise */
size_t gm_karg_param_len(const char *arg, size_t n)
{
	const char *eq = memchr(arg, '=', n);

	if (!eq)
		return n;
	if (!strncmp(arg, "console=", 8)) {
		const char *comma = memchr(arg, ',', n);
		return comma ? (size_t)(comma - arg) : n;
	}
	return (size_t)(eq - arg) + 1;
}

bool gm_karg_has(const char *s, size_t n, const char *arg)
{
	size_t an = strlen(arg);

	for (size_t i = 0; i < n;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		size_t w = 0;
		while (i + w < n && s[i + w] != ' ' && s[i + w] != '\t')
			w++;
		if (w == an && !memcmp(s + i, arg, an))
			return true;
		i += w;
	}
	return false;
}

int gm_grub_has_arg(const char *in, size_t len, const char *arg, int *line)
{
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len), has = 0;
	struct gassign a;

	if (rc < 0)
		return rc;
	*line = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *s;
		size_t n;

		if (!grub_assign(l.v[i].text, &a))
			continue;
		inner(&a, &s, &n);
		if (gm_karg_has(s, n, arg))
			has = 1;
		else if (!self_ref(s, n))
			has = 0;
		*line = (int)i + 1;
	}
	gm_lines_free(&l);
	return has;
}

/* The assignment line t without tokens of arg's parameter (another value of
 * it), with arg appended when add; quoting kept (double quotes added to an
 * unquoted value that now has a blank). */
static char *rewrite(const char *t, const struct gassign *a, const char *arg, bool add)
{
	const char *s;
	size_t n, pl = gm_karg_param_len(arg, strlen(arg)), k = 0, lead = 0, trail;
	char *kept, *nl, q;

	inner(a, &s, &n);
	if (!(kept = malloc(n + 1)))
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t sp = i, w = 0;

		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		while (i + w < n && s[i + w] != ' ' && s[i + w] != '\t')
			w++;
		if (w && gm_karg_param_len(s + i, w) == pl && !memcmp(s + i, arg, pl) &&
		    (pl == w || s[i + pl - 1] == '=' || s[i + pl] == ',')) {
			i += w;
			continue;   /* dropped with the blanks before it */
		}
		memcpy(kept + k, s + sp, i + w - sp);
		k += i + w - sp;
		i += w;
	}
	kept[k] = '\0';
	while (lead < k && (kept[lead] == ' ' || kept[lead] == '\t'))
		lead++;
	trail = k;
	while (trail > lead && (kept[trail - 1] == ' ' || kept[trail - 1] == '\t'))
		trail--;
	q = a->quote ? a->quote : (add || strpbrk(kept, " \t") ? '"' : 0);
	if (q)
		nl = gm_strdupf("%.*s%c%.*s%s%s%.*s%c%s", (int)(a->val - t), t, q, (int)trail, kept,
				add && trail > lead ? " " : "", add ? arg : "", (int)(k - trail),
				kept + trail, q, a->val + a->vallen);
	else
		nl = gm_strdupf("%.*s%s%s", (int)(a->val - t), t, kept, a->val + a->vallen);
	free(kept);
	return nl;
}

int gm_grub_add_arg(const char *in, size_t len, const char *arg, char **out, size_t *outlen)
{
	struct gm_lines l;
	size_t last = (size_t)-1;
	struct gassign a;
	int line, rc = gm_grub_has_arg(in, len, arg, &line);
	char *nl = NULL;

	if (rc != 0)
		return rc < 0 ? rc : 0;
	if ((rc = gm_lines_parse(&l, in, len)) < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++)
		if (grub_assign(l.v[i].text, &a))
			last = i;
	if (last == (size_t)-1) {
		nl = gm_strdupf(GRUB_VAR "=\"%s\"", arg);
		rc = nl ? gm_lines_insert(&l, l.n, nl) : -ENOMEM;
		free(nl);
		return finish(&l, rc < 0 ? rc : 1, out, outlen);
	}
	/* the assignments that make the effective value: the last one and the
	 * ones it extends ("$GRUB_CMDLINE_LINUX ...") */
	size_t first = last;
	for (;;) {
		const char *s;
		size_t n;

		grub_assign(l.v[first].text, &a);
		inner(&a, &s, &n);
		if (!self_ref(s, n) || first == 0)
			break;
		size_t j = first;
		while (j-- > 0 && !grub_assign(l.v[j].text, &a))
			;
		if (j == (size_t)-1)
			break;
		first = j;
	}
	for (size_t i = first; i <= last && rc == 0; i++) {
		if (!grub_assign(l.v[i].text, &a))
			continue;
		/* an unquoted value with a quote or backslash in it (a shell
		 * syntax error such as x") cannot be rewritten safely (found by
		 * fuzzing: the edit produced broken, ever-growing quoting) */
		const char *q = a.quote ? NULL : strpbrk(a.val, "\"'\\");
		if (q && q < a.val + a.vallen) {
			rc = -EINVAL;
			break;
		}
		nl = rewrite(l.v[i].text, &a, arg, i == last);
		if (!nl)
			rc = -ENOMEM;
		else if (strcmp(nl, l.v[i].text))
			rc = gm_lines_replace(&l, i, nl);
		free(nl);
	}
	return finish(&l, rc < 0 ? rc : 1, out, outlen);
}

/* ---------------- ntp.conf / chrony.conf ---------------- */
static bool ntp_server_line(const char *text)
{
	return first_word(text, "server", false, NULL) || first_word(text, "pool", false, NULL) ||
	       first_word(text, "peer", false, NULL);
}

int gm_ntpconf_servers(const char *in, size_t len, char *list, size_t listlen)
{
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len), n = 0;

	if (rc < 0)
		return rc;
	list[0] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		const char *rest;

		if (!first_word(l.v[i].text, "server", false, &rest) &&
		    !first_word(l.v[i].text, "pool", false, &rest) &&
		    !first_word(l.v[i].text, "peer", false, &rest))
			continue;
		size_t used = strlen(list);
		snprintf(list + used, listlen - used, "%s%.*s", n ? " " : "", (int)gm_word_len(rest),
			 rest);
		n++;
	}
	gm_lines_free(&l);
	return n;
}

int gm_ntpconf_set(const char *in, size_t len, const char *server, char **out, size_t *outlen)
{
	struct gm_lines l;
	size_t first = (size_t)-1, count = 0;
	bool ok = false;
	int rc = gm_lines_parse(&l, in, len);
	char *nl;

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		const char *rest;

		if (!ntp_server_line(l.v[i].text))
			continue;
		count++;
		if (first == (size_t)-1)
			first = i;
		if (server && first_word(l.v[i].text, "server", false, &rest) &&
		    gm_word_eq(rest, gm_word_len(rest), server, true))
			ok = true;
	}
	if (!server) {   /* a drop-in: no source of its own */
		for (size_t i = l.n; i-- > 0;)
			if (ntp_server_line(l.v[i].text))
				gm_lines_delete(&l, i);
		return finish(&l, count ? 1 : 0, out, outlen);
	}
	if (count == 1 && ok)
		return finish(&l, 0, out, outlen);
	nl = gm_strdupf("server %s iburst", server);
	if (!nl) {
		gm_lines_free(&l);
		return -ENOMEM;
	}
	if (first == (size_t)-1) {
		rc = gm_lines_insert(&l, l.n, nl);
	} else {
		rc = gm_lines_replace(&l, first, nl);
		for (size_t i = l.n; rc == 0 && i-- > first + 1;)
			if (ntp_server_line(l.v[i].text))
				gm_lines_delete(&l, i);
	}
	free(nl);
	return finish(&l, rc < 0 ? rc : 1, out, outlen);
}

/* ---------------- timesyncd.conf ([Time] NTP=) ---------------- */
static bool section(const char *text, const char **name, size_t *n)
{
	const char *s = gm_skip_ws(text), *e;

	if (*s != '[' || !(e = strchr(s, ']')))
		return false;
	*name = s + 1;
	*n = (size_t)(e - s - 1);
	return true;
}

static bool ntp_key(const char *text, const char **val)
{
	const char *s = gm_skip_ws(text);

	if (strncmp(s, "NTP", 3))
		return false;
	s = gm_skip_ws(s + 3);
	if (*s != '=')
		return false;
	*val = gm_skip_ws(s + 1);
	return true;
}

int gm_timesyncd_get(const char *in, size_t len, char *list, size_t listlen, bool *set)
{
	struct gm_lines l;
	bool in_time = false;
	int rc = gm_lines_parse(&l, in, len);

	if (rc < 0)
		return rc;
	list[0] = '\0';
	*set = false;
	for (size_t i = 0; i < l.n; i++) {
		const char *name, *val;
		size_t n;

		if (section(l.v[i].text, &name, &n)) {
			in_time = gm_word_eq(name, n, "Time", false);
			continue;
		}
		if (!in_time || !ntp_key(l.v[i].text, &val))
			continue;
		*set = true;
		if (!*val) {
			list[0] = '\0';
			continue;
		}
		size_t used = strlen(list);
		snprintf(list + used, listlen - used, "%s%.*s", used ? " " : "", (int)trimmed_len(val),
			 val);
	}
	gm_lines_free(&l);
	return 0;
}

int gm_timesyncd_set(const char *in, size_t len, const char *server, bool drop, char **out,
		     size_t *outlen)
{
	struct gm_lines l;
	bool in_time = false;
	size_t time_sec = (size_t)-1, first = (size_t)-1, cm = (size_t)-1, count = 0;
	bool ok = false;
	int rc = gm_lines_parse(&l, in, len);
	char *nl = NULL;

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l.n; i++) {
		const char *name, *val;
		size_t n;

		if (section(l.v[i].text, &name, &n)) {
			in_time = gm_word_eq(name, n, "Time", false);
			if (in_time && time_sec == (size_t)-1)
				time_sec = i;
			continue;
		}
		if (!in_time)
			continue;
		if (ntp_key(l.v[i].text, &val)) {
			count++;
			if (first == (size_t)-1)
				first = i;
			ok = trimmed_len(val) == strlen(server) && !strncmp(val, server, strlen(server));
		} else if (cm == (size_t)-1 && commented(l.v[i].text, "NTP")) {
			cm = i;
		}
	}
	if (drop ? count == 0 : (count == 1 && ok))
		return finish(&l, 0, out, outlen);
	/* delete every NTP= in [Time] (backwards), then put ours in */
	in_time = false;
	size_t at = (size_t)-1;
	for (size_t i = 0; i < l.n; i++) {
		const char *name, *val;
		size_t n;

		if (section(l.v[i].text, &name, &n)) {
			in_time = gm_word_eq(name, n, "Time", false);
			continue;
		}
		if (in_time && ntp_key(l.v[i].text, &val)) {
			if (at == (size_t)-1)
				at = i;
			gm_lines_delete(&l, i);
			i--;
		}
	}
	if (!drop) {
		nl = gm_strdupf("NTP=%s", server);
		if (!nl)
			rc = -ENOMEM;
		else if (at != (size_t)-1)
			rc = gm_lines_insert(&l, at, nl);
		else if (cm != (size_t)-1)
			rc = gm_lines_insert(&l, cm + 1, nl);
		else if (time_sec != (size_t)-1)
			rc = gm_lines_insert(&l, time_sec + 1, nl);
		else if ((rc = gm_lines_insert(&l, l.n, "[Time]")) == 0)
			rc = gm_lines_insert(&l, l.n, nl);
	}
	free(nl);
	return finish(&l, rc < 0 ? rc : 1, out, outlen);
}

/* ---------------- dhclient.conf ---------------- */
/* Whether a "request ...;" or "also request ...;" statement names option
 * (comments skipped; statements may span lines). */
static bool dhclient_requests(const char *in, size_t len, const char *option)
{
	size_t on = strlen(option);
	bool in_req = false, word_start = true;

	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '#') {
			while (i < len && in[i] != '\n')
				i++;
			word_start = true;
			continue;
		}
		if (ch == ';' || ch == '{' || ch == '}') {
			in_req = false;
			word_start = true;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == ',') {
			word_start = true;
			continue;
		}
		if (!word_start)
			continue;
		word_start = false;
		size_t w = 0;
		while (i + w < len && !strchr(" \t\r\n,;{}#", in[i + w]))
			w++;
		if (w == 7 && !strncmp(in + i, "request", 7))
			in_req = true;
		else if (in_req && w == on && !strncmp(in + i, option, on))
			return true;
		i += w - 1;
	}
	return false;
}

int gm_dhclient_request(const char *in, size_t len, const char *option, char **out,
			size_t *outlen)
{
	struct gm_lines l;
	char *nl;
	int rc;

	if (dhclient_requests(in, len, option))
		return 0;
	if ((rc = gm_lines_parse(&l, in, len)) < 0)
		return rc;
	nl = gm_strdupf("also request %s;", option);
	rc = nl ? gm_lines_insert(&l, l.n, nl) : -ENOMEM;
	free(nl);
	return finish(&l, rc < 0 ? rc : 1, out, outlen);
}

