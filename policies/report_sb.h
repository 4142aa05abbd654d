/* report_sb.h — the growing string the report renderers write into
 * (report.c, report_ci.c; private to policies/). */
#ifndef GM_REPORT_SB_H
#define GM_REPORT_SB_H

#include <stddef.h>

struct gm_sb {
	char *s;
	size_t len, cap;
	int oom;
};

void gm_sb_add(struct gm_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string (caller frees), or NULL after an allocation failure. */
char *gm_sb_done(struct gm_sb *b);
/* s as a JSON string literal, quotes included. */
void gm_sb_json_str(struct gm_sb *b, const char *s);
/* s with XML's five special characters escaped; control bytes dropped. */
void gm_sb_xml(struct gm_sb *b, const char *s);

#endif
