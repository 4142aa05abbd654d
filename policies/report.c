/* report.c — the check report: rows, counts, the table and the JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/check.h"

void gm_check_report_init(struct gm_check_report *rep)
{
	memset(rep, 0, sizeof(*rep));
}

void gm_check_report_free(struct gm_check_report *rep)
{
	if (!rep)
		return;
	for (size_t i = 0; i < rep->nstrs; i++)
		free(rep->strs[i]);
	free(rep->strs);
	free(rep->rows);
	free(rep->groups);
	memset(rep, 0, sizeof(*rep));
}

static const char *keep(struct gm_check_report *rep, const char *s)
{
	char *c;

	if (!s)
		return NULL;
	if (rep->nstrs == rep->capstrs) {
		size_t cap = rep->capstrs ? rep->capstrs * 2 : 64;
		char **n = realloc(rep->strs, cap * sizeof(*n));

		if (!n)
			return NULL;
		rep->strs = n;
		rep->capstrs = cap;
	}
	c = strdup(s);
	if (c)
		rep->strs[rep->nstrs++] = c;
	return c;
}

/* One line: newlines and tabs become spaces. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
}

int gm_check_report_add(struct gm_check_report *rep, const struct gm_rule_result *r)
{
	struct gm_rule_result *row;

	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 32;
		struct gm_rule_result *n = realloc(rep->rows, cap * sizeof(*n));
		const char **g;

		if (!n) {
			rep->oom = 1;
			return -ENOMEM;
		}
		rep->rows = n;
		g = realloc(rep->groups, cap * sizeof(*g));
		if (!g) {
			rep->oom = 1;
			return -ENOMEM;
		}
		rep->groups = g;
		rep->cap = cap;
	}
	rep->groups[rep->n] = rep->group ? rep->group : "other";
	row = &rep->rows[rep->n];
	*row = *r;
	row->id = keep(rep, r->id ? r->id : "(unnamed)");
	row->description = r->description ? keep(rep, r->description) : NULL;
	if (!row->id || (r->description && !row->description)) {
		rep->oom = 1;
		return -ENOMEM;
	}
	row->reason[sizeof(row->reason) - 1] = '\0';
	row->file[sizeof(row->file) - 1] = '\0';
	one_line(row->reason);
	rep->n++;
	return 0;
}

void gm_check_report_group(struct gm_check_report *rep, const char *group)
{
	const char *g = keep(rep, group);

	if (!g)
		rep->oom = 1;
	rep->group = g;
}

int gm_check_add(struct gm_check_report *rep, const char *id, enum gm_level level,
		 enum gm_status status, const char *file, int line, const char *fmt, ...)
{
	struct gm_rule_result r;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.level = level;
	r.status = status;
	snprintf(r.file, sizeof(r.file), "%s", file ? file : "");
	r.line = file ? line : 0;
	va_start(ap, fmt);
	vsnprintf(r.reason, sizeof(r.reason), fmt, ap);
	va_end(ap);
	return gm_check_report_add(rep, &r);
}

void gm_check_report_collect(void *priv, const struct gm_rule_result *r)
{
	gm_check_report_add(priv, r);
}

void gm_check_report_counts(const struct gm_check_report *rep, struct gm_check_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < rep->n; i++) {
		const struct gm_rule_result *r = &rep->rows[i];

		switch (r->status) {
		case GM_STATUS_PASS: c->pass++; break;
		case GM_STATUS_FAIL:
			c->fail++;
			if (r->level == GM_LEVEL_REQUIRED)
				c->required_fail++;
			break;
		case GM_STATUS_WARN: c->warn++; break;
		default: c->na++; break;
		}
	}
}

bool gm_check_report_ok(const struct gm_check_report *rep)
{
	struct gm_check_counts c;

	gm_check_report_counts(rep, &c);
	return c.required_fail == 0 && !rep->oom;
}

void gm_check_report_summary(const struct gm_check_report *rep, char *buf, size_t len)
{
	struct gm_check_counts c;

	gm_check_report_counts(rep, &c);
	if (c.required_fail)
		snprintf(buf, len, "summary: %u PASS, %u FAIL, %u WARN, %u N/A; %u required check%s fail%s",
			 c.pass, c.fail, c.warn, c.na, c.required_fail,
			 c.required_fail == 1 ? "" : "s", c.required_fail == 1 ? "s" : "");
	else if (rep->oom)
		snprintf(buf, len, "summary: out of memory, the report is incomplete");
	else
		snprintf(buf, len, "summary: %u PASS, %u FAIL, %u WARN, %u N/A; image meets the requirements",
			 c.pass, c.fail, c.warn, c.na);
}

/* ---- a tiny string builder ---- */

struct sb {
	char *s;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->oom = 1;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

static char *sb_done(struct sb *b)
{
	if (b->oom || !b->s) {
		free(b->s);
		return NULL;
	}
	return b->s;
}

char *gm_check_report_table(const struct gm_check_report *rep, const char *image)
{
	struct sb b = { 0 };
	size_t w = 4;
	char sum[256];

	for (size_t i = 0; i < rep->n; i++) {
		size_t l = strlen(rep->rows[i].id);
		if (l > w)
			w = l;
	}
	if (w > 40)
		w = 40;
	sb_add(&b, "gcemount check %s\n\n", image);
	sb_add(&b, "%-*s  %-20s  %-6s  %s\n", (int)w, "RULE", "LEVEL", "STATUS", "REASON");
	for (size_t i = 0; i < rep->n; i++) {
		const struct gm_rule_result *r = &rep->rows[i];

		if (i == 0 || strcmp(rep->groups[i], rep->groups[i - 1]))
			sb_add(&b, "%s[%s]\n", i ? "\n" : "", rep->groups[i]);
		sb_add(&b, "%-*s  %-20s  %-6s  ", (int)w, r->id, gm_level_name(r->level),
		       gm_status_name(r->status));
		/* Where it applies, unless the reason already says it. */
		bool said = r->file[0] && strstr(r->reason, r->file);
		if (r->file[0] && !said && r->line > 0)
			sb_add(&b, "%s:%d: ", r->file, r->line);
		else if (r->file[0] && !said)
			sb_add(&b, "%s: ", r->file);
		sb_add(&b, "%s\n", r->reason);
	}
	gm_check_report_summary(rep, sum, sizeof(sum));
	sb_add(&b, "\n%s\n", sum);
	return sb_done(&b);
}

static void json_str(struct sb *b, const char *s)
{
	sb_add(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': sb_add(b, "\\\""); break;
		case '\\': sb_add(b, "\\\\"); break;
		case '\n': sb_add(b, "\\n"); break;
		case '\r': sb_add(b, "\\r"); break;
		case '\t': sb_add(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sb_add(b, "\\u%04x", *p);
			else
				sb_add(b, "%c", *p);
		}
	}
	sb_add(b, "\"");
}

char *gm_check_report_json(const struct gm_check_report *rep, const char *image)
{
	struct gm_check_counts c;
	struct sb b = { 0 };

	gm_check_report_counts(rep, &c);
	sb_add(&b, "{\n  \"schema\": \"gcemount-check\",\n  \"schema_version\": %d,\n  \"image\": ",
	       GM_CHECK_SCHEMA_VERSION);
	json_str(&b, image);
	sb_add(&b, ",\n  \"ok\": %s,\n  \"results\": [", gm_check_report_ok(rep) ? "true" : "false");
	for (size_t i = 0; i < rep->n; i++) {
		const struct gm_rule_result *r = &rep->rows[i];

		sb_add(&b, "%s\n    {\"id\": ", i ? "," : "");
		json_str(&b, r->id);
		sb_add(&b, ", \"group\": ");
		json_str(&b, rep->groups[i]);
		sb_add(&b, ", \"level\": ");
		json_str(&b, gm_level_name(r->level));
		sb_add(&b, ", \"status\": ");
		json_str(&b, gm_status_name(r->status));
		sb_add(&b, ", \"reason\": ");
		json_str(&b, r->reason);
		sb_add(&b, ", \"file\": ");
		if (r->file[0])
			json_str(&b, r->file);
		else
			sb_add(&b, "null");
		if (r->line > 0)
			sb_add(&b, ", \"line\": %d", r->line);
		else
			sb_add(&b, ", \"line\": null");
		sb_add(&b, ", \"description\": ");
		if (r->description && r->description[0])
			json_str(&b, r->description);
		else
			sb_add(&b, "null");
		sb_add(&b, "}");
	}
	sb_add(&b, "%s],\n  \"summary\": {\"total\": %zu, \"pass\": %u, \"fail\": %u, \"warn\": %u, "
		   "\"na\": %u, \"required_fail\": %u}\n}\n",
	       rep->n ? "\n  " : "", rep->n, c.pass, c.fail, c.warn, c.na, c.required_fail);
	return sb_done(&b);
}
