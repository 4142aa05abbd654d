/* fs_fail.c — recording failures on the gm_fs handle (see fs_private.h). */
#include "editor/fs/fs_private.h"

#include <stdarg.h>

int gm_fs_fail_ext2(struct gm_fs *fs, long errcode, const char *what)
{
	return gm_error_set(&fs->err, gm_errno_from_ext2(errcode), "%s: %s", what,
			    gm_ext2_strerror(errcode));
}

int gm_fs_fail(struct gm_fs *fs, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = gm_error_vset(&fs->err, code, fmt, ap);
	va_end(ap);
	return code;
}
