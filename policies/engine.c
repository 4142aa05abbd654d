/* engine.c — runs a policy's rules: check (read only) and apply (through an
 * overlay, committed once at the end, so a failed run writes nothing and a
 * dry run computes the very same edits). The actions: act_config.c,
 * act_files.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/actions.h"

void gm_act_say(struct outcome *o, enum gm_status s, const char *fmt, ...)
{
	va_list ap;

	o->status = s;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
}

int gm_act_summary(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL, *t;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return -ENOMEM;
	t = o->summary && o->summary[0] ? gm_strdupf("%s; %s", o->summary, s) : strdup(s);
	free(s);
	free(o->summary);
	o->summary = t;
	return t ? 1 : -ENOMEM;
}

int gm_act_write(struct ctx *c, const char *path, const char *buf, size_t len)
{
	int rc = c->r->ops->write(c->r->h, path, buf, len, 0644, 0, 0);

	return rc < 0 ? gm_error_set(c->err, rc, "%s: %s", path, strerror(-rc)) : 0;
}

enum gm_status gm_act_judge(const struct gm_action *a, const char *have, bool icase)
{
	int (*eq)(const char *, const char *) = icase ? strcasecmp : strcmp;

	if (!eq(have, a->value))
		return GM_STATUS_PASS;
	for (char **p = a->accept; p && *p; p++)
		if (!eq(have, *p))
			return GM_STATUS_PASS;
	for (char **p = a->warn; p && *p; p++)
		if (!eq(have, *p))
			return GM_STATUS_WARN;
	return GM_STATUS_FAIL;
}

/* ---------------- dispatch ---------------- */
static const gm_act_fn act_fns[] = {
	[GM_ACT_SSHD] = gm_act_ssh, [GM_ACT_SSH] = gm_act_ssh, [GM_ACT_SYSCTL] = gm_act_sysctl,
	[GM_ACT_LOGINDEFS] = gm_act_logindefs, [GM_ACT_GRUB] = gm_act_grub, [GM_ACT_NTP] = gm_act_ntp,
	[GM_ACT_REMOVE] = gm_act_remove, [GM_ACT_EMPTY] = gm_act_empty, [GM_ACT_FILE] = gm_act_file,
	[GM_ACT_SYMLINK] = gm_act_symlink, [GM_ACT_NOLOGIN] = gm_act_nologin,
	[GM_ACT_LOCKROOT] = gm_act_lockroot, [GM_ACT_TIMEZONE] = gm_act_timezone, [GM_ACT_DHCLIENT] = gm_act_dhclient,
	[GM_ACT_APTCONF] = gm_act_aptconf, [GM_ACT_PAMHASH] = gm_act_pamhash,
	[GM_ACT_GRUB_ABSENT] = gm_act_grub_absent,
};

/* Worst of two statuses: FAIL > WARN > PASS > N/A. */
static int rank(enum gm_status s)
{
	return s == GM_STATUS_FAIL ? 3 : s == GM_STATUS_WARN ? 2 : s == GM_STATUS_PASS ? 1 : 0;
}


static int run_rule(struct ctx *c, const struct gm_rule *rule, struct outcome *res)
{
	memset(res, 0, sizeof(*res));
	res->status = GM_STATUS_NA;
	if (rule->when) {
		bool any = false;

		for (char **w = rule->when; *w && !any; w++)
			any = gm_root_exists(c->r, *w, true);
		if (!any) {
			gm_act_say(res, GM_STATUS_NA, "no %s in the image", rule->when[0]);
			return 0;
		}
	}
	for (size_t i = 0; i < rule->nact; i++) {
		struct outcome o = { 0 };
		int rc;

		o.status = GM_STATUS_PASS;
		o.summary = res->summary;   /* summaries accumulate */
		rc = act_fns[rule->act[i].kind](c, &rule->act[i], &o);
		res->summary = o.summary;
		if (rc < 0)
			return rc;
		if (rank(o.status) > rank(res->status) ||
		    (res->status == GM_STATUS_PASS && o.status == GM_STATUS_PASS && !res->reason[0])) {
			res->status = o.status;
			memcpy(res->reason, o.reason, sizeof(res->reason));
			memcpy(res->file, o.file, sizeof(res->file));
			res->line = o.line;
		} else if (o.status == res->status && rule->nact > 1 && o.status == GM_STATUS_FAIL) {
			size_t u = strlen(res->reason);
			snprintf(res->reason + u, sizeof(res->reason) - u, "; %s", o.reason);
		}
	}
	/* a project preference stricter than the guide is advice, never a FAIL */
	if (rule->advice && res->status == GM_STATUS_FAIL) {
		char r[sizeof(res->reason)];
		snprintf(r, sizeof(r), "%s", res->reason);
		gm_act_say(res, GM_STATUS_WARN, "advice: %s", r);
	}
	if (rule->note && res->status == GM_STATUS_WARN) {
		size_t u = strlen(res->reason);
		snprintf(res->reason + u, sizeof(res->reason) - u, " (%s)", rule->note);
	}
	if (rule->override_origin && res->status != GM_STATUS_NA) {
		size_t u = strlen(res->reason);
		snprintf(res->reason + u, sizeof(res->reason) - u, " [value set by override at %s]",
			 rule->override_origin);
	}
	return 0;
}

void gm_policy_each_rule(const struct gm_policy *p, gm_result_fn fn, void *priv)
{
	for (size_t i = 0; i < p->nrules; i++) {
		struct gm_rule_result res = { 0 };

		res.id = p->rules[i].id;
		res.level = p->rules[i].level;
		res.source = p->rules[i].source;
		res.status = GM_STATUS_NA;
		res.description = p->rules[i].description ? p->rules[i].description : p->rules[i].id;
		fn(priv, &res);
	}
}

/* "FILE:LINE" into the row's file and line. */
static void origin_to_row(const char *origin, struct gm_rule_result *res)
{
	const char *colon = strrchr(origin, ':');

	if (!colon) {
		snprintf(res->file, sizeof(res->file), "%s", origin);
		return;
	}
	snprintf(res->file, sizeof(res->file), "%.*s", (int)(colon - origin), origin);
	res->line = atoi(colon + 1);
}

int gm_policy_check_root(struct gm_policy *p, const struct gm_root *r, gm_result_fn fn,
			 void *priv, struct gm_error *err)
{
	struct ctx c = { r, err, false, { -1, -1 } };

	for (size_t i = 0; i < p->nrules; i++) {
		const struct gm_rule *rule = &p->rules[i];
		struct outcome o;
		struct gm_rule_result res = { 0 };
		int rc;

		res.id = rule->id;
		res.level = rule->level;
		res.source = rule->source;
		res.description = rule->description ? rule->description : rule->id;
		if (rule->skip || rule->waive_reason) {
			res.status = rule->skip ? GM_STATUS_SKIP : GM_STATUS_WAIVED;
			if (rule->skip) {
				snprintf(res.reason, sizeof(res.reason), "skipped on the command line");
			} else {
				snprintf(res.reason, sizeof(res.reason), "waived: %s (%s)",
					 rule->waive_reason, rule->waive_origin);
				origin_to_row(rule->waive_origin, &res);
			}
			if (fn)
				fn(priv, &res);
			continue;
		}
		rc = run_rule(&c, rule, &o);
		free(o.summary);
		if (rc < 0)
			return rc;
		res.status = o.status;
		memcpy(res.reason, o.reason, sizeof(res.reason));
		memcpy(res.file, o.file, sizeof(res.file));
		res.line = o.line;
		if (fn)
			fn(priv, &res);
	}
	return 0;
}

int gm_policy_apply_root(struct gm_policy *p, const struct gm_root *r, bool dry_run,
			 gm_change_fn fn, void *priv, struct gm_error *err)
{
	struct gm_overlay *ov = gm_overlay_new(r);
	struct ctx c = { NULL, err, true, { -1, -1 } };
	int rc = 0;

	if (!ov)
		return -ENOMEM;
	c.r = gm_overlay_root(ov);
	for (size_t i = 0; i < p->nrules && rc == 0; i++) {
		const struct gm_rule *rule = &p->rules[i];
		struct outcome o;
		struct gm_rule_change ch = { 0 };
		char *diff = NULL;

		if (rule->skip || rule->waive_reason)
			continue;   /* --skip, or waived by a policy file */
		gm_overlay_begin(ov);
		rc = run_rule(&c, rule, &o);
		if (rc < 0) {
			if (err && !err->msg[0])
				gm_error_set(err, rc, "rule %s: %s", rule->id, strerror(-rc));
			else if (err) {
				char m[GM_ERRMSG_MAX];
				snprintf(m, sizeof(m), "%s", err->msg);
				gm_error_set(err, rc, "rule %s: %s", rule->id, m);
			}
		} else if (o.summary && o.summary[0]) {
			if (dry_run)
				diff = gm_overlay_diff(ov);
			ch.id = rule->id;
			ch.summary = o.summary;
			ch.diff = diff && diff[0] ? diff : NULL;
			if (fn)
				fn(priv, &ch);
		}
		free(diff);
		free(o.summary);
	}
	if (rc == 0 && !dry_run)
		rc = gm_overlay_commit(ov, err);
	gm_overlay_free(ov);
	return rc;
}
