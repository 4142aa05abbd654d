/* policy.h — the rule engine: load a policy, check it, apply it.
 *
 * A policy is a text file of rules (format: docs/policies.md). Every rule can
 * both check and apply, idempotently, through the editor API only (path.h),
 * so it works with no FUSE. Shipped policies are found by name; anything
 * containing a '/' or ending in .policy is a path on the host.
 */
#ifndef GM_POLICY_H
#define GM_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "editor/error.h"
#include "editor/view/view.h"

/* The levels Compute Engine's image guide uses. */
enum gm_level {
	GM_LEVEL_REQUIRED = 0,
	GM_LEVEL_STRONGLY_RECOMMENDED,
	GM_LEVEL_RECOMMENDED,
	GM_LEVEL_OPTIONAL,
};

enum gm_status {
	GM_STATUS_PASS = 0,
	GM_STATUS_FAIL,
	GM_STATUS_WARN,
	GM_STATUS_NA,        /* does not apply to this image */
};

/* One rule's outcome in check mode (also the unit of `check --json`). */
struct gm_rule_result {
	const char *id;            /* e.g. "ssh.permit-root-login" */
	enum gm_level level;
	enum gm_status status;
	const char *description;   /* the rule's one-line description */
	char reason[512];          /* one line: why */
	char file[256];            /* file in the image the reason is about, or "" */
	int line;                  /* 1-based line in file, or 0 */
};

/* One rule's effect in apply mode. diff is a unified diff of the file it
 * changed (only filled when dry_run), or NULL. */
struct gm_rule_change {
	const char *id;
	const char *summary;       /* e.g. "/etc/ssh/sshd_config: PermitRootLogin no" */
	const char *diff;
};

struct gm_policy;

typedef void (*gm_result_fn)(void *priv, const struct gm_rule_result *r);
typedef void (*gm_change_fn)(void *priv, const struct gm_rule_change *c);

/* Loads a shipped policy by name or a policy file by path. Syntax errors give
 * -EINVAL with "FILE:LINE: problem" in err. *out untouched on failure. */
int gm_policy_load(const char *name_or_path, struct gm_policy **out, struct gm_error *err);
/* Loads several (names or paths) as one policy, as if a file included each
 * in turn: a policy named twice (or included by two of them) counts once,
 * so one apply run commits everything or nothing. Added for `apply`. */
int gm_policy_load_many(const char *const *names, size_t n, struct gm_policy **out,
			struct gm_error *err);
void gm_policy_free(struct gm_policy *p);                 /* accepts NULL */
const char *gm_policy_name(const struct gm_policy *p);
/* Names of the shipped policies, NULL-terminated, static. */
const char *const *gm_policy_builtin_names(void);

/* Checks every rule; fn is called once per rule. Returns 0, or -errno when
 * the filesystem could not be read at all (rule-level problems are results). */
int gm_policy_check(struct gm_policy *p, struct gm_view *v, gm_result_fn fn, void *priv,
		    struct gm_error *err);

/* Applies every rule; fn is called once per change made (none when nothing
 * needed changing). dry_run: compute diffs, write nothing.
 * 0 or -errno (message in err); on failure some rules may have applied. */
int gm_policy_apply(struct gm_policy *p, struct gm_view *v, bool dry_run, gm_change_fn fn,
		    void *priv, struct gm_error *err);

const char *gm_level_name(enum gm_level l);    /* "required", "strongly-recommended", ... */
const char *gm_status_name(enum gm_status s);  /* "PASS", "FAIL", "WARN", "N/A" */

#endif
