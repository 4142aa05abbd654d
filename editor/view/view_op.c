/* view_op.c — see view.h: operations and damage over every read-write
 * member of a view. The members share their image's undo log
 * (editor/disk/undo.h); an operation opens a level on each ext member in
 * mount-table order and ends them in reverse order, all kept or all undone:
 * one operation across root and /boot. */
#include "editor/view/view_private.h"

#include <errno.h>

int gm_view_op_begin(struct gm_view *v, unsigned flags)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < v->n; i++) {
		if (v->mem[i].m.kind != GM_MOUNT_EXT || !v->mem[i].fs)
			continue;
		rc = gm_fs_op_begin(v->mem[i].fs, flags);
		if (rc)
			break;
	}
	if (rc) {
		gm_view_fail(v, rc, "%s", gm_fs_errmsg(v->mem[i].fs));
		while (i-- > 0)
			if (v->mem[i].m.kind == GM_MOUNT_EXT && v->mem[i].fs)
				gm_fs_op_end(v->mem[i].fs, -ECANCELED);
	}
	return rc;
}

int gm_view_op_end(struct gm_view *v, int rc)
{
	for (size_t i = v->n; i-- > 0;)
		if (v->mem[i].m.kind == GM_MOUNT_EXT && v->mem[i].fs)
			gm_fs_op_end(v->mem[i].fs, rc);
	return rc;
}

bool gm_view_damaged(const struct gm_view *v, const char **what, uint64_t *offset)
{
	for (size_t i = 0; v && i < v->n; i++) {
		if (v->mem[i].m.kind == GM_MOUNT_EXT && v->mem[i].fs &&
		    gm_fs_damaged(v->mem[i].fs, what)) {
			if (offset)
				*offset = gm_fs_partition(v->mem[i].fs)->offset;
			return true;
		}
	}
	if (what)
		*what = "";
	return false;
}

int gm_view_errcode(const struct gm_view *v)
{
	return v ? v->err.code : 0;
}
