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
    (.schema == "gcemount-check") and (.schema_version == 1) and (.image | type == "string")
    and (.ok | type == "boolean") and (.results | type == "array") and (.results | length > 0)
    and all(.results[];
          (.id | type == "string") and (.group | type == "string")
          and (.level | IN("required", "strongly-recommended", "recommended", "optional"))
          and (.status | IN("PASS", "FAIL", "WARN", "N/A"))
          and (.reason | type == "string" and length > 0)
          and (.file == null or (.file | type == "string" and startswith("/")))
          and (.line == null or (.line | type == "number" and . > 0))
          and (.description == null or (.description | type == "string")))
    and (.summary | (.total == .pass + .fail + .warn + .na))
    and (.summary.total == (.results | length))
    and (.summary.required_fail == ([.results[] | select(.level == "required" and .status == "FAIL")] | length))
    and (.ok == (.summary.required_fail == 0))' "$img.json" >/dev/null \
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
grep -q '^packaging\.gzip  *required  *PASS ' table.out || fail "table row packaging.gzip"
grep -Eq '^summary: [0-9]+ PASS, [0-9]+ FAIL, [0-9]+ WARN, [0-9]+ N/A; ' table.out || fail "no summary line"
grep -q "/boot/config-$kver:[0-9]*: " table.out || fail "table does not show file:line"
check_json sample.tar.gz $st
for id in packaging.gzip packaging.tar-format packaging.disk-raw packaging.disk-size \
          packaging.partition-table packaging.ext4 packaging.fs-clean; do
  expect_row sample.tar.gz $id "required PASS"
done
expect_row sample.tar.gz packaging.sparse-entry "recommended PASS"
expect_row sample.tar.gz packaging.free-space "recommended PASS"
expect_row sample.tar.gz kernel.virtio-pci "required PASS" /boot/config-$kver
# VIRTIO_NET=m, no initrd in the sample, listed in /etc/initramfs-tools/modules
expect_row sample.tar.gz kernel.virtio-net "required PASS"
reason sample.tar.gz kernel.virtio-net | grep -q 'listed in /etc/initramfs-tools/modules:[0-9]' \
  || fail "virtio-net reason: $(reason sample.tar.gz kernel.virtio-net)"
expect_row sample.tar.gz kernel.devkmem "recommended PASS"
expect_row sample.tar.gz kernel.x86-pae "recommended N/A"
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

# GPT: WARN, not a failure
make_disk gpt.raw "$good_tree" 1024 gpt
make_targz gpt.raw gpt.tar.gz
set +e; gm check gpt.tar.gz >/dev/null 2>&1; st=$?; set -e
check_json gpt.tar.gz $st
expect_row gpt.tar.gz packaging.partition-table "required WARN"
reason gpt.tar.gz packaging.partition-table | grep -q UEFI || fail "GPT reason"
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
expect_row whole.tar.gz packaging.sparse-entry "recommended WARN"
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
