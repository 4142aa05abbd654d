/* check_layout.h — `check` rows about the whole disk (policies/check_layout.c):
 * the mount table, how the image can boot (BIOS and/or UEFI), and the
 * guest OS features to create it with.
 *
 * Rows (group "layout"):
 *   layout.mounts        which partition serves which mount point (gcemount)
 *   layout.boot-mode     BIOS (MBR boot code, or a GPT BIOS boot partition)
 *                        and/or UEFI (an EFI system partition holding
 *                        \EFI\BOOT\BOOTX64.EFI); FAIL when neither (gce-guide)
 *   layout.uefi-loader   the ESP's loader and grub.cfg stubs (gce-guide)
 *   layout.gcloud-flags  the reason is exactly the flags for
 *                        `gcloud compute images create` (one field in --json)
 * v may be NULL (the root filesystem could not be opened: XFS, LVM, ...);
 * the rows that need no filesystem are still given. */
#ifndef GM_CHECK_LAYOUT_H
#define GM_CHECK_LAYOUT_H

#include "editor/container/image.h"
#include "editor/view/view.h"
#include "policies/check.h"

int gm_check_layout(struct gm_image *img, struct gm_view *v, struct gm_check_report *rep);

/* The flags for `gcloud compute images create` (pure, for tests): uefi,
 * gve (CONFIG_GVE=y|m), virtio_scsi (CONFIG_SCSI_VIRTIO=y|m). "" if none. */
void gm_layout_gcloud_flags(bool uefi, bool gve, bool virtio_scsi, char *buf, size_t len);

#endif
