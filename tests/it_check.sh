#!/bin/bash
# `gcemount check`: the sample image before and after `gcemount apply
# gce-hardening`, and crafted failures (pax, 1.5 GiB disk, GPT, no disk.raw,
# kernel without VIRTIO_NET, needs_recovery, unreadable files), each with the
# right level and exit status; the JSON validated with jq; the input never
# modified. Fixtures are built here (sparse, no root).
. "$GM_TOP/tests/lib.sh"

"$GM_BIN" --help 2>/dev/null | grep -q '^  check ' || skip "gcemount has no check verb"
command -v jq >/dev/null || skip "jq not installed"

sample_root=$GM_TOP/tests/data/sample-root
kver=6.1.0-13-amd64

# check_json IMAGE WANT_EXIT [args...]: runs check --json, asserts the exit
# status, validates the schema with jq and that the exit status agrees with
# the rows; the report is left in IMAGE.json.
check_json() {
  local img=$1 want=$2; shift 2
  local before; before=$(sha "$img")
  expect_exit "$want" gm check --json "$@" "$img"
  cp last.out "$img.json"
  jq -e '
    (.schema == "gcemount-check") and (.schema_version == 2) and (.image | type == "string")
    and (.ok | type == "boolean") and (.results | type == "array") and (.results | length > 0)
    and (.fail_on | IN("required", "strongly-recommended", "recommended", "optional"))
    and all(.results[];
          (.id | type == "string") and (.group | type == "string")
          and (.level | IN("required", "strongly-recommended", "recommended", "optional"))
          and (.source | IN("gce-guide", "cos", "gcemount"))
          and (.status | IN("PASS", "FAIL", "WARN", "N/A", "SKIP", "WAIVED"))
          and (.reason | type == "string" and length > 0)
          and (.file == null or (.file | type == "string" and startswith("/")))
          and (.line == null or (.line | type == "number" and . > 0))
          and (.description == null or (.description | type == "string")))
    and (.summary | (.total == .pass + .fail + .warn + .na + .skip + .waived))
    and (.summary.total == (.results | length))
    and (.summary.required_fail == ([.results[] | select(.level == "required" and .status == "FAIL")] | length))
    and (.ok == (.summary.gate_fail == 0))' "$img.json" >/dev/null \
    || { cat "$img.json" >&2; fail "check --json of $img: schema"; }
  [ "$(jq -r .ok "$img.json")" = "$([ "$want" = 0 ] && echo true || echo false)" ] \
    || fail "$img: exit $want but ok=$(jq -r .ok "$img.json")"
  [ "$(sha "$img")" = "$before" ] || fail "check modified $img"
}

# row IMAGE ID [FILE]: "level status" of the row (the first one with that id).
row() {
  jq -r --arg id "$2" --arg f "${3:-}" \
    '[.results[] | select(.id == $id and ($f == "" or .file == $f))][0] | "\(.level) \(.status)"' "$1.json"
}
expect_row() {   # IMAGE ID "LEVEL STATUS" [FILE]
  local got; got=$(row "$1" "$2" "${4:-}")
  [ "$got" = "$3" ] || { jq -c ".results[] | select(.id == \"$2\")" "$1.json" >&2
                         fail "$1: $2 is '$got', expected '$3'"; }
}
reason() { jq -r --arg id "$2" '[.results[] | select(.id == $id)][0].reason' "$1.json"; }

# newc_initrd OUT MODULE...: a gzip'd newc cpio after an uncompressed early
# cpio, as Debian's initramfs-tools writes them.
newc_initrd() {
  python3 - "$@" <<'PY'
import gzip, sys
def entry(name, data=b""):
    n = name.encode() + b"\0"
    h = b"070701" + b"".join(b"%08X" % v for v in
        (1, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(n), 0))
    out = h + n
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)
out, mods = sys.argv[1], sys.argv[2:]
early = entry("kernel/x86/microcode/AuthenticAMD.bin", b"ucode") + entry("TRAILER!!!")
main = b"".join(entry("usr/lib/modules/6.1.0-13-amd64/kernel/drivers/%s.ko" % m, b"\x7fELF")
                for m in mods) + entry("TRAILER!!!")
open(out, "wb").write(early + gzip.compress(main))
PY
}

note "the sample image, before hardening"
"$GM_TOP/scripts/make-sample.sh" sample.tar.gz 1024
t0=$SECONDS
set +e; gm check sample.tar.gz > table.out 2> table.err; st=$?; set -e
[ $st -le 1 ] || { cat table.err >&2; fail "check of the sample exited $st"; }
cat table.out
grep -q '^packaging\.gzip  *required  *gce-guide  *PASS ' table.out || fail "table row packaging.gzip"
grep -Eq '^summary: [0-9]+ PASS, [0-9]+ FAIL, [0-9]+ WARN, [0-9]+ N/A(, [0-9]+ SKIP, [0-9]+ WAIVED)?; ' table.out || fail "no summary line"
grep -q "/boot/config-$kver:[0-9]*: " table.out || fail "table does not show file:line"
check_json sample.tar.gz $st
for id in packaging.gzip packaging.tar-format packaging.disk-raw packaging.disk-size \
          packaging.partition-table packaging.ext4 packaging.fs-clean; do
  expect_row sample.tar.gz $id "required PASS"
done
expect_row sample.tar.gz packaging.sparse-entry "strongly-recommended PASS"
expect_row sample.tar.gz packaging.free-space "recommended PASS"
expect_row sample.tar.gz kernel.virtio-pci "required PASS" /boot/config-$kver
# VIRTIO_NET=m, no initrd in the sample, listed in /etc/initramfs-tools/modules
# VIRTIO_NET=m, in the initramfs make-sample.sh builds from initramfs-tools/modules
expect_row sample.tar.gz kernel.virtio-net "required PASS"
reason sample.tar.gz kernel.virtio-net | grep -q "found in /boot/initrd.img-$kver" \
  || fail "virtio-net reason: $(reason sample.tar.gz kernel.virtio-net)"
expect_row sample.tar.gz kernel.devkmem "strongly-recommended PASS"
expect_row sample.tar.gz kernel.x86-pae "strongly-recommended N/A"
[ "$(jq -r '[.results[] | select(.id == "kernel.security-yama")][0].source' sample.tar.gz.json)" = gcemount ] \
  || fail "kernel.security-yama is not marked as gcemount's own"
expect_row sample.tar.gz system.sshd "strongly-recommended PASS"
expect_row sample.tar.gz system.python "recommended PASS"
expect_row sample.tar.gz system.dhcp-client "required PASS"
[ "$(jq '[.results[] | select(.group == "kernel")] | length' sample.tar.gz.json)" -ge 15 ] \
  || fail "too few kernel rows"
note "check took $((SECONDS - t0)) s (two runs)"

note "read-only: the cache is left clean, a writer can open the image"
gm ls sample.tar.gz /etc >/dev/null || fail "ls after check"

note "after gcemount apply gce-hardening"
if "$GM_BIN" --help 2>/dev/null | grep -q '^  apply '; then
  cp sample.tar.gz hardened.tar.gz
  gm apply hardened.tar.gz gce-hardening > apply.out 2>&1 || { cat apply.out >&2; fail "apply failed"; }
  # check and apply agree row by row: a rule apply changed was not PASS/N/A
  for id in $(sed -n 's/^\([a-z0-9.-]*\): .*/\1/p' apply.out | sort -u); do
    st=$(jq -r --arg id "$id" '[.results[] | select(.group == "gce-hardening" and .id == $id)][0].status' sample.tar.gz.json)
    case $st in PASS|N/A) fail "apply changed $id, which check called $st" ;; esac
  done
  # and every gce-hardening rule check did not PASS was changed (or is advice/N/A)
  for id in $(jq -r '.results[] | select(.group == "gce-hardening" and .status == "FAIL") | .id' sample.tar.gz.json); do
    grep -q "^$id: " apply.out || fail "check FAILs $id but apply did not change it"
  done
  set +e; gm check hardened.tar.gz > hardened.out; st=$?; set -e
  cat hardened.out
  check_json hardened.tar.gz $st
  bad=$(jq -r '.results[] | select(.group == "gce-hardening" and (.status == "FAIL" or .status == "WARN"))
              | "\(.id) \(.status) \(.reason)"' hardened.tar.gz.json)
  [ -z "$bad" ] || fail "hardening rules still failing after apply: $bad"
  [ "$(jq '[.results[] | select(.group == "gce-hardening")] | length' hardened.tar.gz.json)" -gt 0 ] \
    || fail "no gce-hardening rows"
  # --policy replaces the default set; an unknown policy is a usage error.
  set +e; gm check --json --policy ssh sample.tar.gz > ssh.json; set -e
  jq -e '([.results[] | select(.group == "gce-hardening")] | length) == 0
         and ([.results[] | select(.group == "ssh")] | length) > 0' ssh.json >/dev/null \
    || fail "--policy ssh: wrong groups"
  expect_exit 64 gm check --policy no-such-policy-here sample.tar.gz
else
  echo "SKIP-PART: gcemount has no apply verb yet: the after-hardening check did not run"
fi

note "--fail-on: the gate at each level"
# the sample carries GRUB's BIOS boot code (make-sample.sh): BIOS-bootable
expect_exit 0 gm check -q sample.tar.gz
grep -Eq '^layout.boot-mode +required +gce-guide +PASS +.*BIOS \(GRUB boot code in the MBR' last.out \
  || { grep '^layout.boot-mode' last.out >&2; fail "the sample's GRUB boot code is not seen"; }
expect_exit 1 gm check -q --fail-on strongly-recommended sample.tar.gz
grep -q "at or above strongly-recommended fail" last.out || fail "--fail-on summary"
expect_exit 1 gm check -q --fail-on recommended sample.tar.gz
note "a disk without boot code fails the required boot-mode row"
cp --sparse=always sample.tar.gz nb.tar.gz; mkdir nb; tar -xSzf nb.tar.gz -C nb
dd if=/dev/zero of=nb/disk.raw bs=440 count=1 conv=notrunc status=none
tar --format=oldgnu -Sczf nb.tar.gz -C nb disk.raw; rm -rf nb
expect_exit 1 gm check -q nb.tar.gz
grep -Eq '^layout.boot-mode .* FAIL .*MBR without boot code' last.out || fail "no boot code not reported"
expect_exit 64 gm check --fail-on sometimes sample.tar.gz
if [ -e hardened.tar.gz ]; then
  set +e; gm check -q --json --fail-on optional hardened.tar.gz > h.json; st=$?; set -e
  want=$(jq '[.results[] | select(.status == "FAIL")] | length' h.json)
  if [ "$want" -eq 0 ]; then exp=0; else exp=1; fi
  [ $st -eq $exp ] || fail "--fail-on optional: exit $st with $want FAIL rows"
  [ "$(jq -r .fail_on h.json)" = optional ] || fail "fail_on not in the JSON"
fi

note "--skip, waive and override round-trip through check"
cat > site.policy <<'EOF2'
# one file for the site: the shipped rules plus its exceptions
include gce-hardening
waive sysctl.ip-forward "this VM routes for the VPN"
override ssh.client-alive-interval 300
EOF2
set +e; gm check -q --json --policy ./site.policy --skip 'cleanup.*' --skip kernel.pci-msi \
  sample.tar.gz > site.json; set -e
cp site.json site.tar.gz.json
[ "$(row site.tar.gz sysctl.ip-forward)" = "strongly-recommended WAIVED" ] || fail "ip-forward not WAIVED"
jq -e --arg f "$(realpath site.policy)" '[.results[] | select(.id == "sysctl.ip-forward")][0]
  | (.file == $f) and (.line == 3) and (.reason | contains("routes for the VPN"))' site.json >/dev/null \
  || fail "WAIVED row: file, line, reason: $(jq -c '.results[] | select(.id == "sysctl.ip-forward")' site.json)"
[ "$(jq '[.results[] | select(.id | startswith("cleanup.")) | select(.status != "SKIP")] | length' site.json)" = 0 ] \
  || fail "--skip 'cleanup.*' left rows"
[ "$(jq -r '[.results[] | select(.id == "kernel.pci-msi")][0].reason' site.json)" = "skipped on the command line" ] \
  || fail "--skip of a kernel row"
reason site.tar.gz ssh.client-alive-interval | grep -q "want 300 \[value set by override at .*site.policy:4\]" \
  || fail "override not reported: $(reason site.tar.gz ssh.client-alive-interval)"
printf 'include gce-hardening\nwaive no.such.rule "x"\n' > bad-site.policy
expect_exit 64 gm check --policy ./bad-site.policy sample.tar.gz
grep -q "bad-site.policy:2: waive: no rule no.such.rule" last.err || fail "waive of an unknown rule"
# apply honours the same file and --skip: ip_forward not written, ClientAliveInterval 300,
# machine-id (cleanup, skipped) left; check then agrees row by row
cp sample.tar.gz site.tar.gz
gm apply --skip 'cleanup.*' site.tar.gz ./site.policy --output site-out.tar.gz > site-apply.out 2> site-apply.err
grep -q "changed site-out.tar.gz, written from site.tar.gz" site-apply.err || fail "apply --output names: $(cat site-apply.err)"
grep -q '^cleanup\.' site-apply.out && fail "a skipped rule was applied"
set +e; gm check -q --json --policy ./site.policy site-out.tar.gz > site-out.tar.gz.json; set -e
expect_row site-out.tar.gz ssh.client-alive-interval "recommended PASS"
expect_row site-out.tar.gz sysctl.ip-forward "strongly-recommended WAIVED"
expect_row site-out.tar.gz cleanup.machine-id "recommended WARN"
bad=$(jq -r '.results[] | select(.group == "./site.policy" and .status == "FAIL" and (.id | startswith("cleanup.") | not))
             | "\(.id) \(.reason)"' site-out.tar.gz.json)
[ -z "$bad" ] || fail "after apply with the site policy, still failing: $bad"
extract_disk site-out.tar.gz siteout
spec=$(fs_spec siteout/disk.raw)
debugfs -R 'cat /etc/sysctl.d/60-gce-hardening.conf' "$spec" 2>/dev/null | grep -q ip_forward \
  && fail "a waived rule wrote net.ipv4.ip_forward"
debugfs -R 'cat /etc/ssh/sshd_config' "$spec" 2>/dev/null | grep -q '^ClientAliveInterval 300$' \
  || fail "override value not written"

note "JUnit and SARIF, validated against their schemas"
set +e; gm check -q --format junit --policy ./site.policy --skip 'cleanup.*' sample.tar.gz > report.xml
gm check -q --format sarif --policy ./site.policy --skip 'cleanup.*' sample.tar.gz > report.sarif
gm check -q --json --policy ./site.policy --skip 'cleanup.*' sample.tar.gz > site.json; set -e
/usr/bin/python3 "$GM_TOP/tests/tools/validate_report.py" junit report.xml \
  "$GM_TOP/tests/data/schemas/junit.xsd" site.json || fail "JUnit report invalid"
/usr/bin/python3 "$GM_TOP/tests/tools/validate_report.py" sarif report.sarif \
  "$GM_TOP/tests/data/schemas/sarif-schema-2.1.0.json" site.json || fail "SARIF report invalid"
expect_exit 64 gm check --format yaml sample.tar.gz

note "automatic updates as the timers will run them"
mkdir -p upd; cp -a "$sample_root/." upd/
mkdir -p upd/etc/systemd/system upd/usr/bin
printf '#!/bin/sh\n' > upd/usr/bin/unattended-upgrade; chmod 755 upd/usr/bin/unattended-upgrade
printf 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n' \
  > upd/etc/apt/apt.conf.d/20auto-upgrades
ln -sf /dev/null upd/etc/systemd/system/apt-daily-upgrade.timer
make_disk upd.raw upd 64; make_targz upd.raw upd.tar.gz
set +e; gm check upd.tar.gz >/dev/null 2>&1; st=$?; set -e
check_json upd.tar.gz $st
expect_row upd.tar.gz system.auto-updates "recommended FAIL"
reason upd.tar.gz system.auto-updates | grep -q masked || fail "masked timer reason"
# dnf-automatic: apply_updates = yes, but its timer is not enabled
rm -f upd/etc/systemd/system/apt-daily-upgrade.timer upd/usr/bin/unattended-upgrade upd/etc/apt/apt.conf.d/20auto-upgrades
mkdir -p upd/etc/dnf; printf '[commands]\napply_updates = yes\n' > upd/etc/dnf/automatic.conf
make_disk dnf.raw upd 64; make_targz dnf.raw dnf.tar.gz
set +e; gm check dnf.tar.gz >/dev/null 2>&1; st=$?; set -e
check_json dnf.tar.gz $st
expect_row dnf.tar.gz system.auto-updates "recommended FAIL"
mkdir -p upd/etc/systemd/system/timers.target.wants
ln -s /usr/lib/systemd/system/dnf-automatic.timer upd/etc/systemd/system/timers.target.wants/
make_disk dnf2.raw upd 64; make_targz dnf2.raw dnf2.tar.gz
set +e; gm check dnf2.tar.gz >/dev/null 2>&1; st=$?; set -e
check_json dnf2.tar.gz $st
expect_row dnf2.tar.gz system.auto-updates "recommended PASS"

note "crafted images"
mkdir -p tree; cp -a "$sample_root/." tree/
good_tree=tree

# pax: FAIL required
make_disk pax.raw "$good_tree" 1024
make_targz pax.raw pax.tar.gz pax
check_json pax.tar.gz 1
expect_row pax.tar.gz packaging.tar-format "required FAIL"
reason pax.tar.gz packaging.tar-format | grep -q pax || fail "pax reason: $(reason pax.tar.gz packaging.tar-format)"

# 1.5 GiB disk: FAIL required
make_disk odd.raw "$good_tree" 1536
make_targz odd.raw odd.tar.gz
check_json odd.tar.gz 1
expect_row odd.tar.gz packaging.disk-size "required FAIL"
reason odd.tar.gz packaging.disk-size | grep -q '1.50 GiB' || fail "size reason"

# GPT: the table the guide accepts (PASS); that this one has neither a BIOS
# boot partition nor an ESP is layout.boot-mode's FAIL, not the table's
make_disk gpt.raw "$good_tree" 1024 gpt
make_targz gpt.raw gpt.tar.gz
set +e; gm check gpt.tar.gz >/dev/null 2>&1; st=$?; set -e
check_json gpt.tar.gz $st
expect_row gpt.tar.gz packaging.partition-table "required PASS"
reason gpt.tar.gz packaging.partition-table | grep -q layout.boot-mode || fail "GPT reason"
expect_row gpt.tar.gz layout.boot-mode "required FAIL"
[ -z "$(jq -r '.results[] | select(.group == "packaging" and .status == "FAIL") | .id' gpt.tar.gz.json)" ] \
  || fail "GPT image: a packaging row fails"

# no disk.raw: a readable tarball, FAIL required, exit 1
mkdir -p nodisk; cp --sparse=always pax.raw nodisk/disk.img
tar --format=oldgnu -Sczf nodisk.tar.gz -C nodisk disk.img
check_json nodisk.tar.gz 1
expect_row nodisk.tar.gz packaging.disk-raw "required FAIL"
reason nodisk.tar.gz packaging.disk-raw | grep -q "disk.img" || fail "no-disk reason"

# kernel without VIRTIO_NET; an initramfs carrying virtio_scsi only
mkdir -p knet; cp -a "$sample_root/." knet/
sed -i 's/^CONFIG_VIRTIO_NET=m$/# CONFIG_VIRTIO_NET is not set/' knet/boot/config-$kver
grep -q '^# CONFIG_VIRTIO_NET is not set' knet/boot/config-$kver || fail "fixture: sed"
printf '# no modules listed\n' > knet/etc/initramfs-tools/modules
newc_initrd knet/boot/initrd.img-$kver scsi/virtio_scsi
make_disk knet.raw knet 1024
make_targz knet.raw knet.tar.gz
check_json knet.tar.gz 1
expect_row knet.tar.gz kernel.virtio-net "required FAIL" /boot/config-$kver
line=$(jq '[.results[] | select(.id == "kernel.virtio-net")][0].line' knet.tar.gz.json)
[ "$(sed -n "${line}p" knet/boot/config-$kver)" = "# CONFIG_VIRTIO_NET is not set" ] \
  || fail "kernel.virtio-net line $line is not the option's line"
expect_row knet.tar.gz kernel.scsi-virtio "required PASS"
reason knet.tar.gz kernel.scsi-virtio | grep -q "found in /boot/initrd.img-$kver" \
  || fail "scsi-virtio reason: $(reason knet.tar.gz kernel.scsi-virtio)"

# a module neither in the initramfs nor listed: WARN
sed -i 's/^# CONFIG_VIRTIO_NET is not set$/CONFIG_VIRTIO_NET=m/' knet/boot/config-$kver
make_disk kmod.raw knet 1024
make_targz kmod.raw kmod.tar.gz
set +e; gm check kmod.tar.gz >/dev/null 2>&1; st=$?; set -e
check_json kmod.tar.gz $st
expect_row kmod.tar.gz kernel.virtio-net "required WARN"
reason kmod.tar.gz kernel.virtio-net | grep -q "not in /boot/initrd.img-$kver" || fail "module WARN reason"

# the network driver is in /lib/modules: udev loads it after the root mount
mkdir -p knet/lib/modules/$kver/kernel/drivers/net
printf '\177ELF' > knet/lib/modules/$kver/kernel/drivers/net/virtio_net.ko
make_disk kmod2.raw knet 1024
make_targz kmod2.raw kmod2.tar.gz
set +e; gm check kmod2.tar.gz >/dev/null 2>&1; st=$?; set -e
check_json kmod2.tar.gz $st
expect_row kmod2.tar.gz kernel.virtio-net "required PASS"
reason kmod2.tar.gz kernel.virtio-net | grep -q "udev loads it" || fail "module on disk reason"

# the boot disk's driver is a module the initramfs lacks: provably no root
# filesystem at boot, a required FAIL (a naive reader sees "=m" and passes)
newc_initrd knet/boot/initrd.img-$kver net/virtio_net
make_disk kscsi.raw knet 1024
make_targz kscsi.raw kscsi.tar.gz
check_json kscsi.tar.gz 1
expect_row kscsi.tar.gz kernel.scsi-virtio "required FAIL"
reason kscsi.tar.gz kernel.scsi-virtio | grep -q "boot disk cannot be reached" || fail "scsi FAIL reason"

# needs_recovery: FAIL required, exit 1
make_disk dirty.raw "$good_tree" 1024
debugfs -w -R 'feature needs_recovery' "dirty.raw?offset=$GM_PART_OFFSET" >/dev/null 2>&1
make_targz dirty.raw dirty.tar.gz
check_json dirty.tar.gz 1
expect_row dirty.tar.gz packaging.fs-clean "required FAIL"
reason dirty.tar.gz packaging.fs-clean | grep -q recovery || fail "needs_recovery reason"

# stored whole (no -S): WARN on sparseness and on the stored free space
make_disk whole.raw "$good_tree" 64
mkdir -p w; cp whole.raw w/disk.raw
tar --format=oldgnu -czf whole.tar.gz -C w disk.raw
set +e; gm check whole.tar.gz >/dev/null 2>&1; st=$?; set -e
check_json whole.tar.gz $st
expect_row whole.tar.gz packaging.sparse-entry "strongly-recommended WARN"
expect_row whole.tar.gz packaging.free-space "recommended WARN"

# an uncompressed tar and an xz'd tar: readable tarballs, FAIL required
mkdir -p un; cp --sparse=always pax.raw un/disk.raw
tar --format=oldgnu -Scf plain.tar -C un disk.raw
check_json plain.tar 1
expect_row plain.tar packaging.gzip "required FAIL"
if command -v xz >/dev/null; then
  tar --format=oldgnu -ScJf plain.tar.xz -C un disk.raw
  check_json plain.tar.xz 1
  expect_row plain.tar.xz packaging.gzip "required FAIL"
  reason plain.tar.xz packaging.gzip | grep -q xz || fail "xz reason: $(reason plain.tar.xz packaging.gzip)"
else
  echo "SKIP-PART: no xz program: the xz'd tarball case did not run"
fi

# a raw disk is not what Compute Engine imports: FAIL required
cp --sparse=always pax.raw plain.img
check_json plain.img 1
expect_row plain.img packaging.gzip "required FAIL"

note "an XFS root: not a guide failure; file checks N/A with the reason"
if command -v mkfs.xfs >/dev/null; then
  truncate -s 1G xfs.raw
  printf 'label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' | sfdisk -q xfs.raw
  truncate -s 400M xfs.part; mkfs.xfs -q -f xfs.part
  dd if=xfs.part of=xfs.raw bs=1M seek=1 conv=notrunc,sparse status=none; rm -f xfs.part
  make_targz xfs.raw xfs.tar.gz
  set +e; gm check xfs.tar.gz > xfs.table 2>&1; st=$?; set -e
  check_json xfs.tar.gz $st
  expect_row xfs.tar.gz packaging.ext4 "required N/A"
  reason xfs.tar.gz packaging.ext4 | grep -q "gcemount cannot read this filesystem (xfs)" || fail "xfs reason"
  [ "$(jq '[.results[] | select(.status == "FAIL" and (.id | (startswith("packaging.") or startswith("layout.")) | not))] | length' xfs.tar.gz.json)" = 0 ] \
    || fail "an XFS root gets FAIL rows for file checks"
  [ "$(jq '[.results[] | select(.group == "gce-hardening" and .status == "N/A"
             and (.reason | contains("cannot read this filesystem (xfs)")))] | length' xfs.tar.gz.json)" -gt 20 ] \
    || fail "policy rows of an XFS root are not N/A with the reason"
  expect_row xfs.tar.gz system.dhcp-client "required N/A"
  [ "$(jq '[.results[] | select(.status == "N/A" and (.reason | length) == 0)] | length' xfs.tar.gz.json)" = 0 ] \
    || fail "an N/A row without a reason"
else
  echo "SKIP-PART: no mkfs.xfs: the XFS case did not run"
fi

note "unreadable files: exit 2 with one line"
head -c 1048576 /dev/urandom > junk.bin
expect_exit 2 gm check junk.bin
[ "$(wc -l < last.err)" -eq 1 ] || { cat last.err >&2; fail "junk: not one line"; }
grep -q junk.bin last.err || fail "junk: message does not name the file"
head -c 65536 /dev/urandom | gzip > junk.gz
expect_exit 2 gm check junk.gz
[ "$(wc -l < last.err)" -eq 1 ] || { cat last.err >&2; fail "junk.gz: not one line"; }
expect_exit 2 gm check no-such-file.tar.gz
expect_exit 64 gm check
expect_exit 64 gm check --output x.tar.gz sample.tar.gz
echo "it_check: all passed"
