/* check_boot.c — what the boot loader will do at first boot: the default
 * entry of grub.cfg as GRUB picks it (grubcfg.c), shown with its kernel
 * arguments (the console rules judge them: console.serial,
 * console.verbose-boot). Paths go through struct gm_root: a
 * separate /boot is seen where the view mounts it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/check.h"
#include "policies/internal.h"

static const char *const cfgs[] = { "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg" };

int gm_check_boot(struct gm_view *fs, struct gm_check_report *rep)
{
	struct gm_root_fs rf;
	struct gm_grub_entry e;
	const char *cfg = NULL;
	char *buf = NULL;
	size_t len;
	int rc = 0;

	gm_root_fs_init(&rf, fs);
	for (size_t i = 0; i < 2 && !cfg; i++)
		if (gm_root_read(&rf.root, cfgs[i], &buf, &len) == 0)
			cfg = cfgs[i];
	if (!cfg) {
		gm_check_add(rep, "boot.default-entry", GM_LEVEL_RECOMMENDED, GM_STATUS_NA, NULL, 0,
			     "no /boot/grub/grub.cfg or /boot/grub2/grub.cfg in the filesystem read "
			     "(a /boot on another partition is not seen yet)");
		return 0;
	}
	char **env = gm_grub_env(&rf.root, cfg);
	rc = gm_grubcfg_default(buf, len, (const char *const *)env, &e);
	gm_strv_free(env);
	if (rc <= 0) {
		gm_check_add(rep, "boot.default-entry", GM_LEVEL_RECOMMENDED, GM_STATUS_WARN, cfg,
			     e.defline, "the default \"%s\" names no entry with a linux line (a BLS "
			     "or hand-written configuration gcemount does not follow)", e.def);
		free(buf);
		return 0;
	}
	gm_check_add(rep, "boot.default-entry", GM_LEVEL_RECOMMENDED, GM_STATUS_PASS, cfg, e.line,
		     "GRUB boots '%s' (default \"%s\"%s): %s", e.title, e.def,
		     e.defline ? "" : ", none set", e.cmdline);
	free(buf);
	return rep->oom ? -ENOMEM : 0;
}
