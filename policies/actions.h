/* actions.h — what the engine and the action files share (private). */
#ifndef GM_POLICIES_ACTIONS_H
#define GM_POLICIES_ACTIONS_H

#include "policies/internal.h"

#define SSHD_CONFIG "/etc/ssh/sshd_config"
#define SSH_CONFIG "/etc/ssh/ssh_config"
#define SYSCTL_DROPIN "/etc/sysctl.d/60-gce-hardening.conf"

/* What an action found (check) or did (apply). */
struct outcome {
	enum gm_status status;
	char reason[512];
	char file[256];
	int line;
	char *summary;     /* apply: what changed ("" none); malloc'd */
};

struct ctx {
	const struct gm_root *r;
	struct gm_error *err;
	bool apply;
	int ssh_version[2];   /* server, client; -1 not read yet */
};

void gm_act_say(struct outcome *o, enum gm_status s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends to o->summary ("; " between); 1, or -ENOMEM. */
int gm_act_summary(struct outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Replaces a file's content (mode and owner kept; new: 0644 root). */
int gm_act_write(struct ctx *c, const char *path, const char *buf, size_t len);

/* PASS when have is want or an accepted value, WARN for a warn value,
 * FAIL otherwise (icase: compare ignoring case). */
enum gm_status gm_act_judge(const struct gm_action *a, const char *have, bool icase);

/* One per action kind: 0 (outcome filled) or -errno (message in c->err). */
typedef int (*gm_act_fn)(struct ctx *c, const struct gm_action *a, struct outcome *o);
/* act_ssh.c */
int gm_act_ssh(struct ctx *c, const struct gm_action *a, struct outcome *o);
/* act_config.c */
int gm_act_sysctl(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_logindefs(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_grub(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_grub_absent(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_ntp(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_dhclient(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_aptconf(struct ctx *c, const struct gm_action *a, struct outcome *o);
/* act_files.c */
int gm_act_remove(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_empty(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_file(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_symlink(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_timezone(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_nologin(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_lockroot(struct ctx *c, const struct gm_action *a, struct outcome *o);
int gm_act_pamhash(struct ctx *c, const struct gm_action *a, struct outcome *o);

#endif
