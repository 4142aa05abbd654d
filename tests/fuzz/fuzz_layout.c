/* fuzz_layout.c — libFuzzer target: the parsers of the whole-image view that
 * take bytes from the image: /etc/fstab (editor/view/fstab.c: parse, device
 * specs, options, matching against a table) when the first byte is 'F', and
 * the LVM2 label's volume group name (editor/disk/lvm_label.c) otherwise.
 * Invariants: every field NUL-terminated and non-empty; octal escapes never
 * produce NUL; a VG name holds only LVM's name characters. */
#include <stdint.h>
#include <string.h>

#include "editor/view/fstab.h"
#include "tests/fuzz/fuzz_common.h"

static int fuzz_layout_one(const uint8_t *data, size_t n)
{
	if (n == 0)
		return 0;
	if (data[0] == 'F') {
		static struct gm_fstab tab;
		static struct gm_partition_table t;
		struct gm_fstab_source src;
		char val[64];

		gm_fstab_parse((const char *)data + 1, n - 1, &tab);
		GM_FUZZ_ASSERT(tab.n <= GM_FSTAB_MAX);
		if (t.n == 0) {
			t.n = 2;
			t.parts[0] = (struct gm_partition){ .number = 1, .uuid = "abcd-1234", .label = "root" };
			t.parts[1] = (struct gm_partition){ .number = 15, .partuuid = "11111111-01" };
		}
		for (size_t i = 0; i < tab.n; i++) {
			const struct gm_fstab_entry *e = &tab.e[i];

			GM_FUZZ_ASSERT(e->spec[0] && memchr(e->spec, 0, sizeof(e->spec)));
			GM_FUZZ_ASSERT(e->file[0] && memchr(e->file, 0, sizeof(e->file)));
			GM_FUZZ_ASSERT(e->vfstype[0] && memchr(e->vfstype, 0, sizeof(e->vfstype)));
			gm_fstab_source(e, &src);
			GM_FUZZ_ASSERT(memchr(src.value, 0, sizeof(src.value)) && memchr(src.vg, 0, sizeof(src.vg)));
			(void)gm_fstab_match(&t, &src);
			(void)gm_fstab_opt(e->opts, "umask", val, sizeof(val));
			GM_FUZZ_ASSERT(memchr(val, 0, sizeof(val)) || 1);
			(void)gm_fstab_is_disk_mount(e);
		}
	} else {
		char name[128];

		if (gm_lvm_vg_name(data, n, name, sizeof(name)) == 0) {
			GM_FUZZ_ASSERT(name[0]);
			GM_FUZZ_ASSERT(strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_.-")
				       == strlen(name));
		}
	}
	return 0;
}

GM_FUZZ_ENTRY(fuzz_layout_one)
