#!/bin/bash
# gcemount apply on a Debian-like image: dry run writes nothing, apply fixes
# every rule of gce-hardening, a second apply has nothing to do. Verified
# without gcemount: e2fsck -fn, GNU tar + Python tarfile, debugfs, sshd -T.
. "$GM_TOP/tests/lib.sh"

command -v debugfs >/dev/null || skip "no debugfs"
[ -x /usr/sbin/sshd ] || skip "no sshd (openssh-server) for the oracle"

# The sample tree, made a little harder: sshd_config is a symlink, a drop-in
# sets PasswordAuthentication yes (the first value wins: the drop-in's), a
# persistent-net rule, sysctl.d with the Debian symlink to sysctl.conf and a
# vendor file that sets a key badly.
cp -a "$GM_TOP/tests/data/sample-root" tree
mv tree/etc/ssh/sshd_config tree/etc/ssh/sshd_config.real
ln -s sshd_config.real tree/etc/ssh/sshd_config
mkdir -p tree/etc/ssh/sshd_config.d tree/etc/udev/rules.d tree/etc/sysctl.d tree/usr/lib/sysctl.d \
  tree/etc/apt/apt.conf.d
printf 'PasswordAuthentication yes\n' > tree/etc/ssh/sshd_config.d/50-cloud-init.conf
printf 'SUBSYSTEM=="net", ACTION=="add", ATTR{address}=="42:01:0a:80:00:02", NAME="eth0"\n' \
  > tree/etc/udev/rules.d/70-persistent-net.rules
ln -s ../sysctl.conf tree/etc/sysctl.d/99-sysctl.conf
printf 'kernel.kptr_restrict = 0\nfs.protected_fifos = 1\n' > tree/usr/lib/sysctl.d/99-zz-vendor.conf
mkdir -p tree/etc/systemd/system/multi-user.target.wants
ln -s /lib/systemd/system/irqbalance.service tree/etc/systemd/system/multi-user.target.wants/
# grub.cfg as Debian's update-grub writes it: the console must reach the
# kernel line of the default entry at the next boot, not only /etc/default/grub
mkdir -p tree/boot/grub
cp "$GM_TOP/tests/data/configs/grubcfg/debian12.cfg" tree/boot/grub/grub.cfg

"$GM_TOP/scripts/make-sample.sh" disk.raw 64 "$PWD/tree"
spec=$(fs_spec disk.raw)
debugfs -w -R 'sif /etc/shadow gid 42' "$spec" 2>/dev/null
make_targz disk.raw img.tar.gz
rm -f disk.raw

note "unknown policy: usage error before the image is opened"
expect_exit 64 gm apply img.tar.gz no-such-policy
grep -q "no shipped policy 'no-such-policy'" last.err || fail "no message for an unknown policy"
printf 'rule x\n  sshd PermitRootLogin\n' > bad.policy
expect_exit 64 gm apply img.tar.gz ./bad.policy
grep -q 'bad.policy:2: sshd takes 2 or more arguments' last.err || fail "no FILE:LINE for a bad policy"

note "dry run: a diff of every change, nothing written"
before=$(sha img.tar.gz)
gm apply --dry-run img.tar.gz gce-hardening > dry.out
[ "$(sha img.tar.gz)" = "$before" ] || fail "dry run changed the image"
grep -q '^-PermitRootLogin yes$' dry.out || fail "dry run shows no sshd_config diff"
grep -q '^+PermitRootLogin no$' dry.out || fail "dry run shows no sshd_config diff"
grep -q '^+++ b/etc/ssh/sshd_config.d/50-cloud-init.conf$' dry.out || fail "drop-in not in the diff"
grep -q '^removed /etc/ssh/ssh_host_ed25519_key$' dry.out || fail "host key removal not shown"
grep -q '^dry run: ' dry.out || fail "no dry-run summary"

note "apply gce-hardening"
export SOURCE_DATE_EPOCH=1700000000
gm apply img.tar.gz gce-hardening > apply.out
grep -q '^ssh.permit-root-login: /etc/ssh/sshd_config:33: PermitRootLogin no (was yes)$' apply.out \
  || fail "permit-root-login not reported with FILE:LINE"
grep -q '^ssh.password-authentication: /etc/ssh/sshd_config.d/50-cloud-init.conf:1: ' apply.out \
  || fail "the effective drop-in was not the one fixed"
[ "$(sha img.tar.gz)" != "$before" ] || fail "apply wrote nothing"

note "second apply: nothing to change, image byte-identical"
after=$(sha img.tar.gz)
gm apply img.tar.gz gce-hardening > apply2.out
grep -q '^nothing to change' apply2.out || { cat apply2.out; fail "second apply changed something"; }
[ "$(sha img.tar.gz)" = "$after" ] || fail "second apply rewrote the image"
# forced write-back of the unchanged result (--output): the same bytes
gm apply -q --output again.tar.gz img.tar.gz gce-hardening > apply3.out
grep -q '^nothing to change' apply3.out || fail "third apply changed something"
# (a write-back may splice the old gzip stream, a forced re-pack writes it
# whole: the same disk.raw, not necessarily the same gzip bytes)
extract_disk img.tar.gz cmp1; extract_disk again.tar.gz cmp2
same_bytes cmp1/disk.raw cmp2/disk.raw || fail "re-packing the applied image changed disk.raw"
rm -rf cmp1 cmp2

note "gcemount check agrees: no rule of gce-hardening fails any more"
set +e; gm check img.tar.gz > check.out 2>&1; set -e
grep -E '^(ssh|ssh-hostkeys|accounts|sysctl|time|console|network|updates|cleanup)\.' check.out > rules.out \
  || fail "check lists no gce-hardening rule"
grep -Ev ' (PASS|N/A) ' rules.out && fail "check still fails the rules above"
grep -E '^system.auto-updates .* PASS ' check.out || fail "check: automatic updates not enabled"

note "independent checks: tar, e2fsck, debugfs, sshd -T"
extract_disk img.tar.gz out
e2fsck_clean out/disk.raw
spec=$(fs_spec out/disk.raw)
dbg() { debugfs -R "$1" "$spec" 2>/dev/null; }
dbg 'cat /etc/ssh/sshd_config.real' > sshd_config
dbg 'cat /etc/ssh/sshd_config.d/50-cloud-init.conf' > 50-cloud-init.conf
grep -qx 'PasswordAuthentication no' 50-cloud-init.conf || fail "drop-in not fixed in place"
dbg 'stat /etc/ssh/sshd_config' | grep -q 'Type: symlink' || fail "sshd_config is no longer a symlink"
mkdir -p dropins && mv 50-cloud-init.conf dropins/
sed -i "s|^Include /etc/ssh/sshd_config.d/\*.conf|Include $PWD/dropins/*.conf|" sshd_config
ssh-keygen -q -t ed25519 -N '' -f hostkey
mkdir -p /run/sshd 2>/dev/null || true
/usr/sbin/sshd -T -f sshd_config -h "$PWD/hostkey" > sshd-T.out || fail "sshd -T rejects the result"
for kv in 'permitrootlogin no' 'passwordauthentication no' 'permittunnel no' \
          'allowtcpforwarding yes' 'x11forwarding no' 'clientaliveinterval 420' \
          'hostbasedauthentication no'; do
  grep -qx "$kv" sshd-T.out || fail "sshd -T: not '$kv'"
done
dbg 'cat /etc/ssh/ssh_config' > ssh_config
ssh -G -F ssh_config vm.example < /dev/null > ssh-G.out 2>/dev/null || fail "ssh -G rejects the client config"
for kv in 'forwardagent no' 'forwardx11 no' 'hostbasedauthentication no' \
          'serveraliveinterval 420' 'stricthostkeychecking ask'; do
  grep -qx "$kv" ssh-G.out || fail "ssh -G: not '$kv'"
done
dbg 'cat /boot/grub/grub.cfg' > grub.cfg
grub-script-check grub.cfg || fail "grub-script-check rejects the edited grub.cfg"
[ "$(grep -c 'console=ttyS0,38400n8' grub.cfg)" = 3 ] || fail "not every normal kernel line has the console"
grep -q 'ro single console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200$' grub.cfg \
  || fail "the recovery entry was edited"
diff <(grep -v 'linux\s' "$GM_TOP/tests/data/configs/grubcfg/debian12.cfg") <(grep -v 'linux\s' grub.cfg) \
  || fail "grub.cfg lines other than kernel lines changed"
dbg 'ls /etc/ssh' | grep -q 'ssh_host_' && fail "host keys left"
dbg 'ls /boot' | grep -q 'System.map' && fail "System.map left"
dbg 'ls /etc/systemd/system/multi-user.target.wants' | grep -q irqbalance && fail "irqbalance enabled"
dbg 'ls /etc/udev/rules.d' | grep -q '70-persistent-net' && fail "persistent-net rule left"
[ -z "$(dbg 'cat /etc/machine-id')" ] || fail "machine-id not empty"
dbg 'stat /etc/machine-id' | grep -q 'Size: 0' || fail "machine-id not empty"
dbg 'stat /etc/localtime' | grep -q 'Fast link dest: "/usr/share/zoneinfo/Etc/UTC"' \
  || fail "localtime is not a link to UTC"
[ "$(dbg 'cat /etc/timezone')" = "Etc/UTC" ] || fail "/etc/timezone not UTC"
dbg 'cat /etc/shadow' | grep -q '^root:!\$y\$' || fail "root not locked"
dbg 'stat /etc/shadow' | grep -q 'Mode:  0640' || fail "shadow mode changed"
dbg 'stat /etc/shadow' | grep -Eq 'Group: +42 ' || fail "shadow group changed"
dbg 'cat /etc/passwd' | grep -q '^www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin$' \
  || fail "www-data still has a shell"
dbg 'cat /etc/passwd' | grep -q '^alice:.*:/bin/bash$' || fail "a user lost her shell"
dbg 'cat /etc/passwd' | grep -q '^sync:x:4:65534:sync:/bin:/bin/sync$' || fail "sync changed"
dbg 'cat /etc/login.defs' | grep -Eq '^ENCRYPT_METHOD[[:space:]]+(SHA512|YESCRYPT)$' \
  || fail "ENCRYPT_METHOD"
dbg 'cat /etc/default/grub' | grep -q '^GRUB_CMDLINE_LINUX=".*console=ttyS0,38400n8' \
  || fail "no serial console"
dbg 'cat /etc/chrony/chrony.conf' | grep -E '^(server|pool) ' > ntp.out
[ "$(cat ntp.out)" = "server metadata.google.internal iburst" ] || fail "NTP: $(cat ntp.out)"
dbg 'cat /etc/dhcp/dhclient.conf' | grep -qx 'also request interface-mtu;' || fail "dhclient MTU"
dbg 'cat /etc/apt/apt.conf.d/20auto-upgrades' | grep -qx 'APT::Periodic::Unattended-Upgrade "1";' \
  || fail "unattended-upgrades not enabled"
dbg 'cat /etc/sysctl.d/99-zz-vendor.conf' > vendor.out
grep -qx 'kernel.kptr_restrict = 1' vendor.out || fail "vendor sysctl not overridden in /etc"
grep -qx 'fs.protected_fifos = 1' vendor.out || fail "vendor file copy lost a line"
dbg 'stat /etc/sysctl.d/99-sysctl.conf' | grep -q 'Type: symlink' || fail "99-sysctl.conf link replaced"
dbg 'cat /etc/sysctl.d/60-gce-hardening.conf' | grep -qx 'kernel.perf_event_paranoid = 2' \
  || fail "sysctl drop-in"
# A key already set in /etc/sysctl.d is fixed where it is set.
dbg 'cat /etc/sysctl.d/99-sample.conf' | grep -qx 'kernel.yama.ptrace_scope = 1' \
  || fail "sysctl not fixed in place"

note "a site policy: file with mode and owner, symlink, through the image"
cat > site.policy <<'EOF2'
include console
rule site.motd
  level optional
  file /etc/motd 0600 0:42 "Authorized use only.\n"
rule site.link
  symlink ../motd /etc/default/motd-link
EOF2
gm apply img.tar.gz ./site.policy > site.out
grep -q '^site.motd: wrote /etc/motd (mode 0600, owner 0:42)$' site.out || fail "site.motd"
grep -q '^console.serial' site.out && fail "console applied twice"
extract_disk img.tar.gz out2
spec=$(fs_spec out2/disk.raw)
e2fsck_clean out2/disk.raw
[ "$(debugfs -R 'cat /etc/motd' "$spec" 2>/dev/null)" = "Authorized use only." ] || fail "motd content"
debugfs -R 'stat /etc/motd' "$spec" 2>/dev/null | grep -Eq 'Mode: +0600' || fail "motd mode"
debugfs -R 'stat /etc/motd' "$spec" 2>/dev/null | grep -Eq 'Group: +42 ' || fail "motd group"
debugfs -R 'stat /etc/default/motd-link' "$spec" 2>/dev/null | grep -q 'Fast link dest: "../motd"' \
  || fail "symlink"
gm apply img.tar.gz ./site.policy | grep -q '^nothing to change' || fail "site policy not idempotent"

note "a raw disk is edited in place"
"$GM_TOP/scripts/make-sample.sh" raw.img 64
gm apply raw.img ssh accounts > raw.out
grep -q '^accounts.lock-root: ' raw.out || fail "raw: root not locked"
e2fsck_clean raw.img
debugfs -R 'cat /etc/shadow' "$(fs_spec raw.img)" 2>/dev/null | grep -q '^root:!' || fail "raw: shadow"
gm apply raw.img ssh accounts | grep -q '^nothing to change' || fail "raw: not idempotent"

note "apply --run without FUSE support says so"
set +e; gm apply img.tar.gz --run /bin/true >/dev/null 2>run.err; rc=$?; set -e
[ $rc -eq 0 ] || [ $rc -eq 5 ] || { cat run.err; fail "apply --run exited $rc"; }
echo "PASS"
