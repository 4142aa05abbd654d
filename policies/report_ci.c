/* report_ci.c — the check report for CI systems: JUnit XML (GitLab,
 * Jenkins) and SARIF 2.1.0 (GitHub code scanning). Schemas: the JUnit XSD
 * in tests/data/schemas/junit.xsd, OASIS's sarif-schema-2.1.0.json. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/check.h"
#include "policies/report_sb.h"

void gm_sb_xml(struct gm_sb *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '<': gm_sb_add(b, "&lt;"); break;
		case '>': gm_sb_add(b, "&gt;"); break;
		case '&': gm_sb_add(b, "&amp;"); break;
		case '"': gm_sb_add(b, "&quot;"); break;
		case '\'': gm_sb_add(b, "&apos;"); break;
		default:
			/* XML 1.0 allows no control characters but tab, LF, CR */
			if (*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
				gm_sb_add(b, "%c", *p);
		}
	}
}

/* "FILE:LINE: " or "FILE: " or "" */
static void where(char *out, size_t n, const struct gm_rule_result *r)
{
	if (r->file[0] && r->line > 0)
		snprintf(out, n, "%s:%d: ", r->file, r->line);
	else if (r->file[0])
		snprintf(out, n, "%s: ", r->file);
	else
		out[0] = '\0';
}

static void group_counts(const struct gm_check_report *rep, const char *g, unsigned *tests,
			 unsigned *fail, unsigned *skipped)
{
	*tests = *fail = *skipped = 0;
	for (size_t i = 0; i < rep->n; i++) {
		if (strcmp(rep->groups[i], g))
			continue;
		(*tests)++;
		if (rep->rows[i].status == GM_STATUS_FAIL)
			(*fail)++;
		else if (rep->rows[i].status == GM_STATUS_SKIP ||
			 rep->rows[i].status == GM_STATUS_WAIVED || rep->rows[i].status == GM_STATUS_NA)
			(*skipped)++;
	}
}

char *gm_check_report_junit(const struct gm_check_report *rep, const char *image)
{
	struct gm_check_counts c;
	struct gm_sb b = { 0 };
	char sum[256];

	gm_check_report_counts(rep, &c);
	gm_check_report_summary(rep, sum, sizeof(sum));
	gm_sb_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gcemount check ");
	gm_sb_xml(&b, image);
	gm_sb_add(&b, "\" tests=\"%zu\" failures=\"%u\" errors=\"0\" skipped=\"%u\">\n", rep->n, c.fail,
		  c.na + c.skip + c.waived);
	for (size_t i = 0; i < rep->n; i++) {
		const char *g = rep->groups[i];
		unsigned t, f, s;

		if (i && !strcmp(g, rep->groups[i - 1]))
			continue;
		bool seen = false;   /* a group appears once even if its rows are apart */
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(rep->groups[j], g);
		if (seen)
			continue;
		group_counts(rep, g, &t, &f, &s);
		gm_sb_add(&b, "  <testsuite name=\"");
		gm_sb_xml(&b, g);
		gm_sb_add(&b, "\" tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\">\n", t, f, s);
		for (size_t j = i; j < rep->n; j++) {
			const struct gm_rule_result *r = &rep->rows[j];
			char w[300];

			if (strcmp(rep->groups[j], g))
				continue;
			where(w, sizeof(w), r);
			gm_sb_add(&b, "    <testcase name=\"");
			gm_sb_xml(&b, r->id);
			gm_sb_add(&b, "\" classname=\"gcemount.");
			gm_sb_xml(&b, g);
			gm_sb_add(&b, "\">\n");
			if (r->status == GM_STATUS_FAIL) {
				gm_sb_add(&b, "      <failure type=\"%s\" message=\"", gm_level_name(r->level));
				gm_sb_xml(&b, r->reason);
				gm_sb_add(&b, "\">");
				gm_sb_xml(&b, w);
				gm_sb_xml(&b, r->reason);
				gm_sb_add(&b, "</failure>\n");
			} else if (r->status == GM_STATUS_SKIP || r->status == GM_STATUS_WAIVED ||
				   r->status == GM_STATUS_NA) {
				gm_sb_add(&b, "      <skipped message=\"%s: ", gm_status_name(r->status));
				gm_sb_xml(&b, r->reason);
				gm_sb_add(&b, "\"/>\n");
			}
			gm_sb_add(&b, "      <system-out>%s %s (%s): ", gm_status_name(r->status),
				  gm_level_name(r->level), gm_check_row_source(r));
			gm_sb_xml(&b, w);
			gm_sb_xml(&b, r->reason);
			gm_sb_add(&b, "</system-out>\n    </testcase>\n");
		}
		gm_sb_add(&b, "  </testsuite>\n");
	}
	gm_sb_add(&b, "</testsuites>\n<!-- ");
	gm_sb_xml(&b, sum);
	gm_sb_add(&b, " -->\n");
	return gm_sb_done(&b);
}

static const char *sarif_level(enum gm_level l)
{
	return l <= GM_LEVEL_STRONGLY_RECOMMENDED ? "error" : l == GM_LEVEL_RECOMMENDED ? "warning"
											: "note";
}

/* A path as a URI reference: unreserved bytes as they are, others %XX. */
static void uri(struct gm_sb *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~/", *p))
			gm_sb_add(b, "%c", *p);
		else
			gm_sb_add(b, "%%%02X", *p);
	}
}

char *gm_check_report_sarif(const struct gm_check_report *rep, const char *image)
{
	struct gm_sb b = { 0 };
	char abs[PATH_MAX];
	bool first = true;

	if (!realpath(image, abs))
		snprintf(abs, sizeof(abs), "%s", image);
	gm_sb_add(&b, "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
		      "  \"version\": \"2.1.0\",\n  \"runs\": [{\n    \"tool\": {\"driver\": {"
		      "\"name\": \"gcemount\", \"informationUri\": "
		      "\"https://cloud.google.com/compute/docs/images\", \"rules\": [");
	/* one reportingDescriptor per distinct rule id */
	for (size_t i = 0; i < rep->n; i++) {
		const struct gm_rule_result *r = &rep->rows[i];
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(rep->rows[j].id, r->id);
		if (seen)
			continue;
		gm_sb_add(&b, "%s\n      {\"id\": ", first ? "" : ",");
		first = false;
		gm_sb_json_str(&b, r->id);
		gm_sb_add(&b, ", \"shortDescription\": {\"text\": ");
		gm_sb_json_str(&b, r->description && r->description[0] ? r->description : r->id);
		gm_sb_add(&b, "}, \"defaultConfiguration\": {\"level\": \"%s\"}, \"properties\": "
			      "{\"level\": \"%s\", \"source\": \"%s\", \"group\": ",
			  sarif_level(r->level), gm_level_name(r->level), gm_check_row_source(r));
		gm_sb_json_str(&b, rep->groups[i]);
		gm_sb_add(&b, "}}");
	}
	gm_sb_add(&b, "]}},\n    \"originalUriBaseIds\": {\"IMAGEROOT\": {\"uri\": \"file://");
	uri(&b, abs);
	char desc[PATH_MAX + 64];
	snprintf(desc, sizeof(desc), "the root filesystem inside %s", image);
	gm_sb_add(&b, "/\", \"description\": {\"text\": ");
	gm_sb_json_str(&b, desc);
	gm_sb_add(&b, "}}},\n    \"results\": [");
	first = true;
	for (size_t i = 0; i < rep->n; i++) {
		const struct gm_rule_result *r = &rep->rows[i];

		if (r->status != GM_STATUS_FAIL)
			continue;
		gm_sb_add(&b, "%s\n      {\"ruleId\": ", first ? "" : ",");
		first = false;
		gm_sb_json_str(&b, r->id);
		gm_sb_add(&b, ", \"level\": \"%s\", \"message\": {\"text\": ", sarif_level(r->level));
		gm_sb_json_str(&b, r->reason);
		gm_sb_add(&b, "}, \"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": \"");
		if (r->file[0] == '/') {
			uri(&b, r->file + 1);
			gm_sb_add(&b, "\", \"uriBaseId\": \"IMAGEROOT\"}");
			if (r->line > 0)
				gm_sb_add(&b, ", \"region\": {\"startLine\": %d}", r->line);
		} else {
			uri(&b, image);
			gm_sb_add(&b, "\"}");
		}
		gm_sb_add(&b, "}, \"message\": {\"text\": ");
		gm_sb_json_str(&b, image);
		gm_sb_add(&b, "}}], \"properties\": {\"level\": \"%s\", \"source\": \"%s\", \"image\": ",
			  gm_level_name(r->level), gm_check_row_source(r));
		gm_sb_json_str(&b, image);
		gm_sb_add(&b, "}}");
	}
	gm_sb_add(&b, "\n    ]\n  }]\n}\n");
	return gm_sb_done(&b);
}
