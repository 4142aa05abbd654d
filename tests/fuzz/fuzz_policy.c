/* fuzz_policy.c — libFuzzer target: the policy-file parser through
 * gm_policy_load() on a temp file (docs/policies.md), and check's pure
 * parsers (kernel .config lookup, initramfs module listing, file sniffing,
 * the ext4 superblock check) on the same bytes.
 * Invariants: a refused policy gives one message line naming the file; a
 * loaded one has a name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policies/check.h"
#include "policies/policy.h"
#include "tests/fuzz/fuzz_common.h"

static void fuzz_policy_module(void *priv, const char *module)
{
	(void)priv;
	GM_FUZZ_ASSERT(module != NULL);
}

static int fuzz_policy_one(const uint8_t *data, size_t n)
{
	char path[4200], val[128], why[256];
	struct gm_error err = { 0 };
	struct gm_policy *p = NULL;
	struct gm_rule_result r;
	int line = 0;

	gm_fuzz_path(path, sizeof(path), "fuzz.policy");
	gm_fuzz_write_file(path, data, n);
	if (gm_policy_load(path, &p, &err) < 0) {
		const char *m = gm_error_msg(&err);
		GM_FUZZ_ASSERT(m[0] != '\0' && strchr(m, '\n') == NULL);
	} else {
		GM_FUZZ_ASSERT(gm_policy_name(p) != NULL);
		gm_policy_free(p);
	}
	gm_kconfig_lookup((const char *)data, n, "CONFIG_VIRTIO_NET", val, sizeof(val), &line);
	for (const struct gm_kconfig_req *q = gm_kconfig_reqs; q->id; q++) {
		bool needs_module = false;
		memset(&r, 0, sizeof(r));
		gm_kconfig_eval(q, (const char *)data, n, &r, &needs_module);
		GM_FUZZ_ASSERT(memchr(r.reason, 0, sizeof(r.reason)) != NULL);
	}
	gm_initramfs_modules(data, n, fuzz_policy_module, NULL);
	gm_sniff(data, n);
	if (n >= 1024)
		gm_check_ext4_superblock(data, n, why, sizeof(why));
	return 0;
}

GM_FUZZ_ENTRY(fuzz_policy_one)
