#!/usr/bin/env bash
# A real systemd (254, from bookworm-backports) booted as PID 1 of its own namespaces, for the tests of
# the units in docs/operations.md and of `tsdaemon unit` (test/engines/systemd*.test.mjs). The host stays as it
# is: the machine's root is an overlay of the host's / with a tmpfs as its upper layer, so whatever the
# machine writes is gone after `halt`.
#
#   test/engines/systemd.sh prepare     systemd-container (pinned to the host's systemd), systemd 254
#                                       unpacked into $CACHE/systemd-254 (once)
#   test/engines/systemd.sh boot        prepare, boot a machine, wait until it runs; prints
#                                       MACHINE=DIR NSPAWN_PID=N PID1=N (PID1 as the host sees it)
#   test/engines/systemd.sh halt DIR    power it off, unmount, remove DIR
#   test/engines/systemd.sh check       boot and halt once: says loudly whether it works here
#
# Drive a machine with `nsenter -t $PID1 -a systemctl …` (or journalctl …). DIR/root is its root seen from
# the host (write unit files there). It has its own network namespace with only loopback
# (--private-network), so ports such as 80 in the documented units collide with nothing on the host. It
# boots tsdaemon-ci.target: basic.target (journald, sockets, timers) and nothing else, with every service
# the host enabled masked. systemd-nspawn runs with --register=no --keep-unit (the host's systemd is not
# PID 1) and SYSTEMD_NSPAWN_TMPFS_TMP=0 (the machine's /tmp is the host's, through the overlay). No
# CAP_SYS_RESOURCE inside: LimitNOFILE= cannot exceed the host's hard limit.
#
# Cache: $TSDAEMON_CI_CACHE (default /var/cache/tsdaemon-ci), kept between CI runs on the same machine.
set -euo pipefail

CACHE=${TSDAEMON_CI_CACHE:-/var/cache/tsdaemon-ci}
SYSTEMD_VERSION=254
LAYER="$CACHE/systemd-$SYSTEMD_VERSION"
BOOT_TIMEOUT_S=60

say() { printf '[systemd.sh] %s\n' "$*" >&2; }

die() {
  {
    printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    printf '!!! NO SYSTEMD MACHINE: %s\n' "$*"
    printf '!!! test/engines/systemd*.test.mjs will skip.\n'
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n'
  } >&2
  exit 1
}

# apt with its own sources (bookworm-backports only), lists and archives under the cache: the host's apt
# configuration and state stay as they are.
APT_PRIVATE=(-o "Dir::Etc::SourceList=$CACHE/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
  -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache::Archives=$CACHE/apt/archives"
  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1)
apt_private() { apt-get "${APT_PRIVATE[@]}" "$@"; }
apt_cache_private() { apt-cache "${APT_PRIVATE[@]}" "$@"; }

prepare() {
  [ "$(id -u)" = 0 ] || die "needs root"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/systemd.lock"
  flock 9
  if ! command -v systemd-nspawn >/dev/null; then
    local version
    version=$(dpkg-query -W -f '${Version}' systemd 2>/dev/null) || die "the host has no Debian systemd package"
    say "installing systemd-container=$version"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "systemd-container=$version" \
      >"$CACHE/apt-systemd.log" 2>&1 ||
      die "apt-get install systemd-container=$version failed (see $CACHE/apt-systemd.log)"
  fi
  if [ ! -x "$LAYER/usr/bin/systemctl" ]; then
    local mirror dir debs
    mirror=$(grep -h -m1 -E '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -n1)
    mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/archives/partial"
    echo "deb ${mirror:-http://deb.debian.org/debian} bookworm-backports main" >"$CACHE/apt/sources.list"
    say "fetching systemd $SYSTEMD_VERSION from bookworm-backports"
    apt_private update >"$CACHE/apt-backports.log" 2>&1 || die "apt-get update of bookworm-backports failed"
    local full
    full=$(apt_cache_private madison systemd | awk -F'|' '/bookworm-backports/ { gsub(/ /, "", $2); print $2 }' |
      grep "^$SYSTEMD_VERSION\." | head -n1 || true)
    [ -n "$full" ] || die "no systemd $SYSTEMD_VERSION in bookworm-backports"
    debs=$(mktemp -d "$CACHE/.debs-XXXXXX")
    (cd "$debs" && apt_private download "systemd=$full" "libsystemd-shared=$full" "libsystemd0=$full" \
      >>"$CACHE/apt-backports.log" 2>&1) || die "downloading systemd $full failed"
    dir=$(mktemp -d "$CACHE/.systemd-XXXXXX")
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dir"; done
    # The host's /bin, /sbin and /lib are symlinks into /usr (merged /usr): as real directories in the
    # upper layer they would hide the host's. Fold them into usr/.
    for top in bin sbin lib lib64; do
      if [ -d "$dir/$top" ] && [ ! -L "$dir/$top" ]; then
        mkdir -p "$dir/usr/$top"
        cp -a "$dir/$top/." "$dir/usr/$top/"
        rm -rf "${dir:?}/$top"
      fi
    done
    rm -rf "$debs" "$LAYER"
    mv "$dir" "$LAYER"
  fi
  flock -u 9
}

# The machine's pid 1: the child of systemd-nspawn that lives in a pid namespace of its own (nspawn's
# first child is a short-lived helper in ours).
pid1_of() {
  local nspawn=$1 child
  for _ in $(seq 1 200); do
    child=$(cat "/proc/$nspawn/task/$nspawn/children" 2>/dev/null | awk '{print $1}')
    if [ -n "$child" ] && [ "$(readlink "/proc/$child/ns/pid" 2>/dev/null)" != "$(readlink /proc/self/ns/pid)" ] &&
      [ "$(readlink "/proc/$child/ns/pid" 2>/dev/null)" != "" ]; then
      echo "$child"
      return 0
    fi
    kill -0 "$nspawn" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

boot() {
  prepare
  local dir root nspawn pid1 unit
  dir=$(mktemp -d /run/tsdaemon-nspawn.XXXXXX)
  chmod 755 "$dir"
  # tmpfs first: the upper layer must not be inside the lower one (the host's /).
  mount -t tmpfs -o mode=755 tsdaemon-nspawn "$dir"
  mkdir "$dir/upper" "$dir/work" "$dir/root"
  cp -a "$LAYER/." "$dir/upper/"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$dir/upper,workdir=$dir/work" "$dir/root" ||
    { umount "$dir"; rmdir "$dir"; die "cannot mount an overlay of / (kernel without overlayfs?)"; }
  root="$dir/root"
  # What the host enabled does not start in the machine.
  for unit in /etc/systemd/system/*.wants/* /etc/systemd/system/*.requires/*; do
    [ -e "$unit" ] || [ -L "$unit" ] || continue
    ln -sfn /dev/null "$root/etc/systemd/system/$(basename "$unit")"
  done
  # The machine's /tmp is the host's (SYSTEMD_NSPAWN_TMPFS_TMP=0), where tests keep their files; Debian's
  # tmp.conf (D /tmp) would empty it at boot (as whiteouts in the upper layer, but the machine would not
  # see them).
  mkdir -p "$root/etc/tmpfiles.d"
  echo 'd /tmp 1777 root root -' >"$root/etc/tmpfiles.d/tmp.conf"
  cat >"$root/etc/systemd/system/tsdaemon-ci.target" <<'EOF'
[Unit]
Description=tsdaemon's test machine: the basic system, nothing else
Requires=basic.target
After=basic.target
AllowIsolate=yes
EOF
  local name
  name=$(basename "$dir" | tr '.' '-')
  SYSTEMD_NSPAWN_TMPFS_TMP=0 setsid systemd-nspawn --boot --directory="$root" --machine="$name" \
    --register=no --keep-unit --private-network --console=read-only --quiet \
    -- systemd.unit=tsdaemon-ci.target >"$dir/nspawn.log" 2>&1 </dev/null &
  nspawn=$!
  echo "$nspawn" >"$dir/nspawn.pid"
  pid1=$(pid1_of "$nspawn") || { cat "$dir/nspawn.log" >&2; halt "$dir"; die "systemd-nspawn exited at once"; }
  if ! timeout "$BOOT_TIMEOUT_S" bash -c "until nsenter -t $pid1 -a systemctl is-system-running --wait >/dev/null 2>&1; do
      state=\$(nsenter -t $pid1 -a systemctl is-system-running 2>/dev/null || true)
      [ \"\$state\" = degraded ] && exit 0; sleep 0.2; done"; then
    tail -n 20 "$dir/nspawn.log" >&2 || true
    halt "$dir"
    die "the machine did not finish booting within $BOOT_TIMEOUT_S s"
  fi
  echo "MACHINE=$dir NSPAWN_PID=$nspawn PID1=$pid1"
}

halt() {
  local dir=${1:?usage: halt DIR}
  case $dir in /run/tsdaemon-nspawn.*) ;; *) die "halt: $dir is not a machine of this script" ;; esac
  local nspawn
  nspawn=$(cat "$dir/nspawn.pid" 2>/dev/null || true)
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    # SIGTERM: systemd-nspawn asks the machine's systemd to power off.
    kill -TERM "$nspawn" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nspawn" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
  fi
  umount "$dir/root" 2>/dev/null || umount -l "$dir/root" 2>/dev/null || true
  umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null || true
  rmdir "$dir" 2>/dev/null || true
}

cmd=${1:-check}
shift || true
case $cmd in
  prepare) prepare ;;
  boot) boot ;;
  halt) halt "$@" ;;
  check)
    start=$(date +%s%N)
    out=$(boot)
    dir=$(sed -n 's/.*MACHINE=\([^ ]*\).*/\1/p' <<<"$out")
    pid1=$(sed -n 's/.*PID1=\([0-9]*\).*/\1/p' <<<"$out")
    version=$(nsenter -t "$pid1" -a systemctl --version | head -n1)
    halt "$dir"
    say "$version boots here ($((($(date +%s%N) - start) / 1000000)) ms to boot and halt)"
    ;;
  *)
    echo "usage: $0 prepare|boot|halt DIR|check" >&2
    exit 64
    ;;
esac
