#!/bin/bash
# it_messages.sh — a table of every message the file verbs (ls, cat, put,
# rm, repack) print, checked word for word with its exit status: one line,
# "gcemount: IMAGE: PATH: problem" (or "gcemount: VERB: problem (see ...)"
# for usage errors), strerror's words in lower case, the filesystem's detail
# in parentheses where it says more, never the path twice. Also what ls
# prints for symbolic links, and that --help lists each verb's own flags.
. "$GM_TOP/tests/lib.sh"
[ -x "$GM_BIN" ] || skip "no $GM_BIN"

note "fixtures"
mkdir -p tree/etc tree/srv tree/usr/lib/target/sub tree/ro/sub tree/dev
echo myhost > tree/etc/hostname
touch tree/usr/lib/target/a tree/usr/lib/target/sub/b tree/ro/sub/file
ln -s target tree/usr/lib/alias
ln -s /nowhere tree/etc/dangling
ln -s loop2 tree/etc/loop1; ln -s loop1 tree/etc/loop2
make_disk d.raw tree 64
spec=$(fs_spec d.raw)
printf 'cd /dev\nmknod null c 1 3\nmknod fifo p\n' > cmds
debugfs -w -f cmds "$spec" >/dev/null 2>&1
ino=$(debugfs -R 'stat /ro/sub/file' "$spec" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
debugfs -w -R "set_inode_field /ro/sub/file flags 0x80010" "$spec" >/dev/null 2>&1   # +i
make_targz d.raw img.tar.gz
# full: no free block left
cp d.raw full.raw
free=$(dumpe2fs -h "$(fs_spec full.raw)" 2>/dev/null | awk -F: '/^Free blocks/{print $2 * 4096}')
head -c $((free + 65536)) /dev/zero > big.bin
# recovery: the journal needs recovery (read-only only)
cp d.raw rec.raw; debugfs -w -R "feature needs_recovery" "$(fs_spec rec.raw)" >/dev/null 2>&1
# bad: /etc/hostname's first extent points outside the filesystem
make_disk bad.raw tree 64 mbr -O ^metadata_csum
python3 - bad.raw "$(fs_spec bad.raw)" <<'PY'
import re, subprocess, struct, sys
disk, spec = sys.argv[1], sys.argv[2]
off = int(spec.split("offset=")[1])
out = subprocess.run(["debugfs", "-R", "imap /etc/hostname", spec], capture_output=True, text=True).stdout
blk, o = re.search(r"block (\d+), offset 0x([0-9a-f]+)", out).groups()
with open(disk, "r+b") as f:
    f.seek(off + int(blk) * 4096 + int(o, 16) + 40 + 12 + 6); f.write(struct.pack("<HI", 0x7FFF, 0xFFFFFF00))
PY
echo data > f
echo junk > junk.tar.gz

# exit|command (IMG, RAW, FULL, REC, BAD: the fixtures)|the one line on stderr ("" for none)
table=$(cat <<'EOF'
64|ls|gcemount: ls: missing arguments; gcemount ls [-l] [-a] [OPTIONS] IMAGE [PATH] (see 'gcemount ls --help')
64|ls IMG / /etc|gcemount: ls: too many arguments; gcemount ls [-l] [-a] [OPTIONS] IMAGE [PATH] (see 'gcemount ls --help')
64|ls -x IMG|gcemount: ls: unknown option '-x' (see 'gcemount ls --help')
64|ls --bogus IMG|gcemount: ls: unknown option '--bogus' (see 'gcemount ls --help')
64|cat IMG|gcemount: cat: missing arguments; gcemount cat [OPTIONS] IMAGE PATH... (see 'gcemount cat --help')
64|put IMG f /x --mode|gcemount: put: option '--mode' needs a value (see 'gcemount put --help')
64|put -m 9 IMG f /x|gcemount: --mode: '9' is not an octal mode
64|put --partition 0 IMG f /x|gcemount: --partition: '0' is not a partition number (1-128)
64|ls --owner x IMG|gcemount: --owner: 'x' is not UID:GID (numbers)
64|rm IMG|gcemount: rm: missing arguments; gcemount rm [-r] [-f] [OPTIONS] IMAGE PATH... (see 'gcemount rm --help')
64|rm -z IMG /x|gcemount: rm: unknown option '-z' (see 'gcemount rm --help')
64|repack IMG IMG|gcemount: repack: too many arguments; gcemount repack [OPTIONS] IMAGE (see 'gcemount repack --help')
2|ls nofile.tar.gz|gcemount: nofile.tar.gz: no such file or directory
2|ls junk.tar.gz|gcemount: junk.tar.gz: not gzip-compressed (named like a tar.gz)
1|ls IMG /nope|gcemount: IMG: /nope: no such file or directory
1|ls IMG /etc/hostname/x|gcemount: IMG: /etc/hostname/x: not a directory
1|cat IMG /etc/loop1|gcemount: IMG: /etc/loop1: too many levels of symbolic links
0|ls IMG /etc/loop1|
1|cat IMG /etc|gcemount: IMG: /etc: is a directory
1|cat IMG /etc/hostname/|gcemount: IMG: /etc/hostname/: not a directory
1|cat BAD /etc/hostname|gcemount: BAD: /etc/hostname: structure needs cleaning (inode @BADINO@: data at block 140737488355072, outside the filesystem (16128 blocks))
1|put IMG nofile /x|gcemount: nofile: no such file or directory
1|put IMG . /x|gcemount: .: not a regular file
1|put IMG f /srv/newdir/|gcemount: IMG: /srv/newdir/: not a directory
1|put IMG f /etc/hostname/|gcemount: IMG: /etc/hostname/: not a directory
1|put IMG f /nodir/x|gcemount: IMG: /nodir/x: no such file or directory
1|put IMG f /dev/null|gcemount: IMG: /dev/null: not a regular file (a character device)
1|put IMG f /dev/fifo|gcemount: IMG: /dev/fifo: not a regular file (a FIFO)
1|put IMG f /ro/sub/file|gcemount: IMG: /ro/sub/file: operation not permitted (inode @INO@ is immutable (chattr +i))
1|put FULL big.bin /big|gcemount: FULL: /big: no space left on device (write file data: could not allocate block in ext2 filesystem)
1|put REC f /x|gcemount: REC: the journal needs recovery (the filesystem was not cleanly unmounted); run e2fsck, or open read-only
1|rm IMG /|gcemount: IMG: /: refusing to remove the root directory
1|rm IMG /etc/..|gcemount: IMG: /etc/..: refusing to remove the root directory
1|rm IMG /etc/.|gcemount: IMG: /etc/.: refusing to remove '.' or '..'
1|rm IMG /etc|gcemount: IMG: /etc: directory not empty
1|rm IMG /nope|gcemount: IMG: /nope: no such file or directory
0|rm -f IMG /nope|
1|rm IMG /etc/hostname/|gcemount: IMG: /etc/hostname/: not a directory
1|rm -r IMG /usr/lib/alias/|gcemount: IMG: /usr/lib/alias/: not a directory
1|rm -r IMG /ro|gcemount: IMG: /ro/sub/file: operation not permitted ('file' is immutable or append-only)
1|rm BAD /etc/hostname|gcemount: BAD: /etc/hostname: structure needs cleaning (free data blocks: block 140737488355072 of inode @BADINO@ lies outside the filesystem)
EOF
)
for r in full rec bad; do cp --sparse=always $r.raw $r.before; done
badino=$(debugfs -R 'stat /etc/hostname' "$(fs_spec bad.raw)" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p')
rows=0
while IFS='|' read -r want cmd line; do
  [ -n "$want" ] || continue
  rows=$((rows + 1))
  args=()
  for w in $cmd; do
    case $w in
      IMG) args+=(img.tar.gz) ;; FULL) args+=(full.raw) ;; REC) args+=(rec.raw) ;; BAD) args+=(bad.raw) ;;
      *) args+=("$w") ;;
    esac
  done
  line=${line//@INO@/$ino}; line=${line//@BADINO@/$badino}
  line=${line//gcemount: IMG:/gcemount: img.tar.gz:}; line=${line//gcemount: FULL:/gcemount: full.raw:}
  line=${line//gcemount: REC:/gcemount: rec.raw:}; line=${line//gcemount: BAD:/gcemount: bad.raw:}
  set +e; "$GM_BIN" "${args[@]}" >last.out 2>last.err; rc=$?; set -e
  got=$(cat last.err)
  if [ "$rc" != "$want" ] || [ "$got" != "$line" ]; then
    echo "gcemount $cmd"
    echo "  want: [$want] $line"
    echo "  got:  [$rc] $got"
    fail "message table row $rows"
  fi
done <<< "$table"
note "$rows messages as in the table"

note "a failed verb wrote nothing"
extract_disk img.tar.gz x
python3 "$GM_TOP/tests/tools/fsdump.py" "$(fs_spec x/disk.raw)" > after.dump
python3 "$GM_TOP/tests/tools/fsdump.py" "$(fs_spec d.raw)" > before.dump
diff before.dump after.dump || fail "a failing verb changed the image"
for r in full rec bad; do cmp -s $r.raw $r.before || fail "a failing verb changed the raw disk $r.raw"; done

note "ls and symbolic links, as GNU ls"
gm ls -l img.tar.gz /etc/dangling > out
grep -q '^lrwxrwxrwx .* /etc/dangling -> /nowhere$' out || { cat out; fail "ls -l of a dangling link"; }
[ "$(gm ls img.tar.gz /etc/dangling)" = /etc/dangling ] || fail "ls of a dangling link"
[ "$(gm ls img.tar.gz /usr/lib/alias | tr '\n' ' ')" = "a sub " ] || fail "ls of a link to a directory lists it"
gm ls -l img.tar.gz /usr/lib/alias | grep -q '^l.* /usr/lib/alias -> target$' || fail "ls -l of a link shows the link"
[ "$(gm ls -l img.tar.gz /usr/lib/alias/ | wc -l)" = 2 ] || fail "ls -l link/ lists the directory"

note "--help lists each verb's own flags"
gm ls --help | grep -q -- '-l ' && gm ls --help | grep -q -- '-a, --all' || fail "ls --help"
gm rm --help | grep -q -- '-r, -R, --recursive' && gm rm --help | grep -q -- '-f, --force' || fail "rm --help"
gm put --help | grep -q -- '--mode MODE' || fail "put --help"
for v in ls cat put rm repack; do
  gm $v --help | grep -q -- '--cache DIR' || fail "$v --help lacks the common options"
done
echo ok
