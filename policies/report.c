/* report.c — the check report: rows, counts, the table and the JSON. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fnmatch.h>

#include "policies/check.h"
#include "policies/report_sb.h"

void gm_check_report_init(struct gm_check_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->fail_on = GM_LEVEL_REQUIRED;
}

/* Rows of check itself that are this project's own, not the guide's. */
const char *gm_check_row_source(const struct gm_rule_result *r)
{
	static const char *const own[] = {
		"packaging.free-space", "system.sshd", "image.open", "policy.*", "kernel.config",
		"kernel.security-yama*", "boot.default-entry",
	};

	if (r->source)
		return r->source;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!fnmatch(own[i], r->id, 0))
			return GM_SOURCE_GCEMOUNT;
	return GM_SOURCE_GUIDE;
}

void gm_check_report_skip(struct gm_check_report *rep, const char *const *globs, size_t n)
{
	for (size_t i = 0; i < rep->n; i++)
		for (size_t j = 0; j < n; j++)
			if (!fnmatch(globs[j], rep->rows[i].id, 0) &&
			    rep->rows[i].status != GM_STATUS_SKIP) {
				rep->rows[i].status = GM_STATUS_SKIP;
				snprintf(rep->rows[i].reason, sizeof(rep->rows[i].reason),
					 "skipped on the command line");
				rep->rows[i].file[0] = '\0';
				rep->rows[i].line = 0;
			}
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
	row->source = r->source ? keep(rep, r->source) : NULL;
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
		case GM_STATUS_SKIP: c->skip++; break;
		case GM_STATUS_WAIVED: c->waived++; break;
		default: c->na++; break;
		}
		if (r->status == GM_STATUS_FAIL && r->level <= rep->fail_on)
			c->gate_fail++;
	}
}

bool gm_check_report_ok(const struct gm_check_report *rep)
{
	struct gm_check_counts c;

	gm_check_report_counts(rep, &c);
	return c.gate_fail == 0 && !rep->oom;
}

void gm_check_report_summary(const struct gm_check_report *rep, char *buf, size_t len)
{
	struct gm_check_counts c;
	char extra[64] = "", what[64];

	gm_check_report_counts(rep, &c);
	if (c.skip || c.waived)
		snprintf(extra, sizeof(extra), ", %u SKIP, %u WAIVED", c.skip, c.waived);
	if (rep->fail_on == GM_LEVEL_REQUIRED)
		snprintf(what, sizeof(what), "required check%s", c.gate_fail == 1 ? "" : "s");
	else
		snprintf(what, sizeof(what), "check%s at or above %s", c.gate_fail == 1 ? "" : "s",
			 gm_level_name(rep->fail_on));
	if (rep->oom)
		snprintf(buf, len, "summary: out of memory, the report is incomplete");
	else if (c.gate_fail)
		snprintf(buf, len, "summary: %u PASS, %u FAIL, %u WARN, %u N/A%s; %u %s fail%s", c.pass,
			 c.fail, c.warn, c.na, extra, c.gate_fail, what, c.gate_fail == 1 ? "s" : "");
	else if (rep->fail_on == GM_LEVEL_REQUIRED)
		snprintf(buf, len, "summary: %u PASS, %u FAIL, %u WARN, %u N/A%s; image meets the "
			 "requirements", c.pass, c.fail, c.warn, c.na, extra);
	else
		snprintf(buf, len, "summary: %u PASS, %u FAIL, %u WARN, %u N/A%s; no check at or above "
			 "%s fails", c.pass, c.fail, c.warn, c.na, extra, gm_level_name(rep->fail_on));
}

/* ---- a tiny string builder ---- */

void gm_sb_add(struct gm_sb *b, const char *fmt, ...)
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

char *gm_sb_done(struct gm_sb *b)
{
	if (b->oom || !b->s) {
		free(b->s);
		return NULL;
	}
	return b->s;
}

char *gm_check_report_table(const struct gm_check_report *rep, const char *image)
{
	struct gm_sb b = { 0 };
	size_t w = 4;
	char sum[256];

	for (size_t i = 0; i < rep->n; i++) {
		size_t l = strlen(rep->rows[i].id);
		if (l > w)
			w = l;
	}
	if (w > 40)
		w = 40;
	gm_sb_add(&b, "gcemount check %s\n\n", image);
	gm_sb_add(&b, "%-*s  %-20s  %-9s  %-6s  %s\n", (int)w, "RULE", "LEVEL", "SOURCE", "STATUS",
		  "REASON");
	for (size_t i = 0; i < rep->n; i++) {
		const struct gm_rule_result *r = &rep->rows[i];

		if (i == 0 || strcmp(rep->groups[i], rep->groups[i - 1]))
			gm_sb_add(&b, "%s[%s]\n", i ? "\n" : "", rep->groups[i]);
		gm_sb_add(&b, "%-*s  %-20s  %-9s  %-6s  ", (int)w, r->id, gm_level_name(r->level),
			  gm_check_row_source(r), gm_status_name(r->status));
		/* Where it applies, unless the reason already says it. */
		bool said = r->file[0] && strstr(r->reason, r->file);
		if (r->file[0] && !said && r->line > 0)
			gm_sb_add(&b, "%s:%d: ", r->file, r->line);
		else if (r->file[0] && !said)
			gm_sb_add(&b, "%s: ", r->file);
		gm_sb_add(&b, "%s\n", r->reason);
	}
	gm_check_report_summary(rep, sum, sizeof(sum));
	gm_sb_add(&b, "\n%s\n", sum);
	return gm_sb_done(&b);
}

void gm_sb_json_str(struct gm_sb *b, const char *s)
{
	gm_sb_add(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': gm_sb_add(b, "\\\""); break;
		case '\\': gm_sb_add(b, "\\\\"); break;
		case '\n': gm_sb_add(b, "\\n"); break;
		case '\r': gm_sb_add(b, "\\r"); break;
		case '\t': gm_sb_add(b, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				gm_sb_add(b, "\\u%04x", *p);
			else
				gm_sb_add(b, "%c", *p);
		}
	}
	gm_sb_add(b, "\"");
}

char *gm_check_report_json(const struct gm_check_report *rep, const char *image)
{
	struct gm_check_counts c;
	struct gm_sb b = { 0 };

	gm_check_report_counts(rep, &c);
	gm_sb_add(&b, "{\n  \"schema\": \"gcemount-check\",\n  \"schema_version\": %d,\n  \"image\": ",
	       GM_CHECK_SCHEMA_VERSION);
	gm_sb_json_str(&b, image);
	gm_sb_add(&b, ",\n  \"ok\": %s,\n  \"fail_on\": \"%s\",\n  \"results\": [",
		  gm_check_report_ok(rep) ? "true" : "false", gm_level_name(rep->fail_on));
	for (size_t i = 0; i < rep->n; i++) {
		const struct gm_rule_result *r = &rep->rows[i];

		gm_sb_add(&b, "%s\n    {\"id\": ", i ? "," : "");
		gm_sb_json_str(&b, r->id);
		gm_sb_add(&b, ", \"group\": ");
		gm_sb_json_str(&b, rep->groups[i]);
		gm_sb_add(&b, ", \"level\": ");
		gm_sb_json_str(&b, gm_level_name(r->level));
		gm_sb_add(&b, ", \"source\": ");
		gm_sb_json_str(&b, gm_check_row_source(r));
		gm_sb_add(&b, ", \"status\": ");
		gm_sb_json_str(&b, gm_status_name(r->status));
		gm_sb_add(&b, ", \"reason\": ");
		gm_sb_json_str(&b, r->reason);
		gm_sb_add(&b, ", \"file\": ");
		if (r->file[0])
			gm_sb_json_str(&b, r->file);
		else
			gm_sb_add(&b, "null");
		if (r->line > 0)
			gm_sb_add(&b, ", \"line\": %d", r->line);
		else
			gm_sb_add(&b, ", \"line\": null");
		gm_sb_add(&b, ", \"description\": ");
		if (r->description && r->description[0])
			gm_sb_json_str(&b, r->description);
		else
			gm_sb_add(&b, "null");
		gm_sb_add(&b, "}");
	}
	gm_sb_add(&b, "%s],\n  \"summary\": {\"total\": %zu, \"pass\": %u, \"fail\": %u, \"warn\": %u, "
		  "\"na\": %u, \"skip\": %u, \"waived\": %u, \"required_fail\": %u, "
		  "\"gate_fail\": %u}\n}\n",
		  rep->n ? "\n  " : "", rep->n, c.pass, c.fail, c.warn, c.na, c.skip, c.waived,
		  c.required_fail, c.gate_fail);
	return gm_sb_done(&b);
}
