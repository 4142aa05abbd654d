/* lines.c — text buffers as line arrays (endings kept), and a unified diff. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/internal.h"

const char *gm_skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

size_t gm_word_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != ' ' && s[n] != '\t' && s[n] != '\r' && s[n] != '\n')
		n++;
	return n;
}

bool gm_word_eq(const char *s, size_t n, const char *w, bool icase)
{
	return strlen(w) == n && (icase ? !strncasecmp(s, w, n) : !strncmp(s, w, n));
}

char *gm_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static int grow(struct gm_lines *l)
{
	if (l->n < l->cap)
		return 0;
	size_t cap = l->cap ? l->cap * 2 : 64;
	struct gm_line *v = realloc(l->v, cap * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

int gm_lines_parse(struct gm_lines *l, const char *buf, size_t len)
{
	size_t i = 0, crlf = 0;

	memset(l, 0, sizeof(*l));
	l->eol = "\n";
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct gm_line *ln;

		if (grow(l) < 0)
			goto nomem;
		ln = &l->v[l->n];
		ln->eol = nl ? "\n" : "";
		ln->len = end - i;
		if (nl && ln->len && buf[end - 1] == '\r') {
			ln->eol = "\r\n";
			ln->len--;
			crlf++;
		}
		ln->text = malloc(ln->len + 1);
		if (!ln->text)
			goto nomem;
		memcpy(ln->text, buf + i, ln->len);
		ln->text[ln->len] = '\0';
		l->n++;
		i = nl ? end + 1 : len;
	}
	if (crlf && crlf * 2 >= l->n)
		l->eol = "\r\n";
	return 0;
nomem:
	gm_lines_free(l);
	return -ENOMEM;
}

void gm_lines_free(struct gm_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int gm_lines_insert(struct gm_lines *l, size_t at, const char *text)
{
	char *t = strdup(text);

	if (!t || grow(l) < 0) {
		free(t);
		return -ENOMEM;
	}
	if (at > l->n)
		at = l->n;
	if (at == l->n && l->n && !l->v[l->n - 1].eol[0])
		l->v[l->n - 1].eol = l->eol;
	memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof(l->v[0]));
	l->v[at].text = t;
	l->v[at].len = strlen(t);
	l->v[at].eol = l->eol;
	l->n++;
	return 0;
}

int gm_lines_replace(struct gm_lines *l, size_t at, const char *text)
{
	char *t = strdup(text);

	if (!t)
		return -ENOMEM;
	free(l->v[at].text);
	l->v[at].text = t;
	l->v[at].len = strlen(t);
	return 0;
}

void gm_lines_delete(struct gm_lines *l, size_t at)
{
	free(l->v[at].text);
	memmove(&l->v[at], &l->v[at + 1], (l->n - at - 1) * sizeof(l->v[0]));
	l->n--;
}

int gm_lines_join(const struct gm_lines *l, char **out, size_t *outlen)
{
	size_t total = 0, o = 0;
	char *b;

	for (size_t i = 0; i < l->n; i++)
		total += l->v[i].len + strlen(l->v[i].eol);
	b = malloc(total + 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		size_t e = strlen(l->v[i].eol);

		memcpy(b + o, l->v[i].text, l->v[i].len);
		o += l->v[i].len;
		memcpy(b + o, l->v[i].eol, e);
		o += e;
	}
	b[o] = '\0';
	*out = b;
	*outlen = o;
	return 0;
}

int gm_lines_edit(const char *in, size_t len, gm_line_fn fn, void *priv, char **out,
		  size_t *outlen)
{
	struct gm_lines l;
	int rc = gm_lines_parse(&l, in, len), changed = 0;

	if (rc < 0)
		return rc;
	for (size_t i = 0; rc >= 0 && i < l.n;) {
		char *nl = NULL;

		rc = fn(priv, l.v[i].text, &nl);
		if (rc == GM_LINE_REPLACE) {
			rc = nl ? gm_lines_replace(&l, i, nl) : -ENOMEM;
			changed = 1;
		} else if (rc == GM_LINE_DELETE) {
			gm_lines_delete(&l, i);
			changed = 1;
			continue;
		}
		free(nl);
		i++;
	}
	if (rc >= 0 && changed)
		rc = gm_lines_join(&l, out, outlen);
	gm_lines_free(&l);
	return rc < 0 ? rc : changed;
}

/* ---- diff ---- */
struct dbuf {
	char *s;
	size_t n, cap;
	bool oom;
};

static void dput(struct dbuf *d, const char *s, size_t n)
{
	if (d->oom)
		return;
	if (d->n + n + 1 > d->cap) {
		size_t cap = (d->n + n + 1) * 2;
		char *p = realloc(d->s, cap);

		if (!p) {
			d->oom = true;
			return;
		}
		d->s = p;
		d->cap = cap;
	}
	memcpy(d->s + d->n, s, n);
	d->n += n;
	d->s[d->n] = '\0';
}

static void dline(struct dbuf *d, char tag, const struct gm_line *ln)
{
	dput(d, &tag, 1);
	dput(d, ln->text, ln->len);
	dput(d, "\n", 1);
	if (!ln->eol[0])
		dput(d, "\\ No newline at end of file\n", 28);
}

static bool line_eq(const struct gm_line *a, const struct gm_line *b)
{
	return a->len == b->len && !strcmp(a->eol, b->eol) && !memcmp(a->text, b->text, a->len);
}

/* op: 0 equal, 1 delete (a), 2 insert (b) */
struct dop {
	unsigned char op;
	size_t ai, bi;
};

char *gm_diff(const char *path, const char *a, size_t alen, const char *b, size_t blen)
{
	struct gm_lines la, lb;
	struct dbuf d = { 0 };
	struct dop *ops = NULL;
	size_t nops = 0, pre = 0, suf = 0, n, m;
	uint32_t *dp = NULL;

	if (gm_lines_parse(&la, a, alen) < 0)
		return NULL;
	if (gm_lines_parse(&lb, b, blen) < 0) {
		gm_lines_free(&la);
		return NULL;
	}
	dput(&d, "", 0);
	if (alen == blen && !memcmp(a, b, alen))
		goto out;
	while (pre < la.n && pre < lb.n && line_eq(&la.v[pre], &lb.v[pre]))
		pre++;
	while (suf < la.n - pre && suf < lb.n - pre &&
	       line_eq(&la.v[la.n - 1 - suf], &lb.v[lb.n - 1 - suf]))
		suf++;
	n = la.n - pre - suf;
	m = lb.n - pre - suf;
	ops = malloc((la.n + lb.n + 1) * sizeof(*ops));
	if (!ops)
		goto oom;
	for (size_t i = 0; i < pre; i++)
		ops[nops++] = (struct dop){ 0, i, i };
	if (n && m && (uint64_t)(n + 1) * (m + 1) <= 4u << 20) {
		/* LCS table on the changed middle. */
		dp = calloc((n + 1) * (m + 1), sizeof(*dp));
		if (!dp)
			goto oom;
#define DP(i, j) dp[(i) * (m + 1) + (j)]
		for (size_t i = n; i-- > 0;)
			for (size_t j = m; j-- > 0;)
				DP(i, j) = line_eq(&la.v[pre + i], &lb.v[pre + j])
						   ? DP(i + 1, j + 1) + 1
						   : (DP(i + 1, j) > DP(i, j + 1) ? DP(i + 1, j) : DP(i, j + 1));
		size_t i = 0, j = 0;
		while (i < n || j < m) {
			if (i < n && j < m && line_eq(&la.v[pre + i], &lb.v[pre + j])) {
				ops[nops++] = (struct dop){ 0, pre + i, pre + j };
				i++, j++;
			} else if (i < n && (j == m || DP(i + 1, j) >= DP(i, j + 1))) {
				ops[nops++] = (struct dop){ 1, pre + i, pre + j };
				i++;
			} else {
				ops[nops++] = (struct dop){ 2, pre + i, pre + j };
				j++;
			}
		}
#undef DP
	} else {
		for (size_t i = 0; i < n; i++)
			ops[nops++] = (struct dop){ 1, pre + i, pre };
		for (size_t j = 0; j < m; j++)
			ops[nops++] = (struct dop){ 2, pre + n, pre + j };
	}
	for (size_t i = 0; i < suf; i++)
		ops[nops++] = (struct dop){ 0, pre + n + i, pre + m + i };

	{
		char hdr[8192];
		const char *sl = path[0] == '/' ? "" : "/";
		int hl = snprintf(hdr, sizeof(hdr), "--- a%s%s\n+++ b%s%s\n", sl, path, sl, path);

		dput(&d, hdr, (size_t)hl < sizeof(hdr) ? (size_t)hl : sizeof(hdr) - 1);
	}
	for (size_t k = 0; k < nops;) {
		size_t start, end, last, as, bs, ac = 0, bc = 0;
		char h[96];

		if (ops[k].op == 0) {
			k++;
			continue;
		}
		start = k >= 3 ? k - 3 : 0;
		/* last change of this hunk: the next change is at most 6 equal lines away */
		last = k;
		for (size_t t = k + 1; t < nops; t++) {
			if (ops[t].op == 0)
				continue;
			if (t - last - 1 > 6)
				break;
			last = t;
		}
		end = last + 4 < nops ? last + 4 : nops;
		as = ops[start].ai;
		bs = ops[start].bi;
		for (size_t t = start; t < end; t++) {
			if (ops[t].op != 2)
				ac++;
			if (ops[t].op != 1)
				bc++;
		}
		snprintf(h, sizeof(h), "@@ -%zu,%zu +%zu,%zu @@\n", ac ? as + 1 : as, ac,
			 bc ? bs + 1 : bs, bc);
		dput(&d, h, strlen(h));
		for (size_t t = start; t < end; t++) {
			if (ops[t].op == 0)
				dline(&d, ' ', &la.v[ops[t].ai]);
			else if (ops[t].op == 1)
				dline(&d, '-', &la.v[ops[t].ai]);
			else
				dline(&d, '+', &lb.v[ops[t].bi]);
		}
		k = end;
	}
	goto out;
oom:
	d.oom = true;
out:
	free(dp);
	free(ops);
	gm_lines_free(&la);
	gm_lines_free(&lb);
	if (d.oom) {
		free(d.s);
		return NULL;
	}
	return d.s;
}
