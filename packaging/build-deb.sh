#!/usr/bin/env bash
# Build megalog_<version>_<arch>.deb: the app, its production node_modules (native addons built here),
# the Node.js runtime it was built with (an appliance must not depend on the distribution's Node
# version), our addon (native/: sd_notify and flock, no libsystemd), systemd units, config, nginx site, sysctl.
# Needs what `npm ci` needs: g++, make, python3 (node-gyp). Usage: packaging/build-deb.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist-deb}
version=$(node -p "require('$root/package.json').version")
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
scratch=$(mktemp -d)
trap 'rm -rf "$stage" "$scratch"' EXIT
app=$stage/usr/lib/megalog

(cd "$root" && npx tsc -p tsconfig.json)
mkdir -p "$app" "$stage/usr/bin" "$stage/etc/megalog" "$stage/lib/systemd/system" "$stage/etc/nginx/sites-available" \
  "$stage/etc/sysctl.d" "$stage/usr/share/doc/megalog" "$stage/DEBIAN"
cp -r "$root/dist" "$root/bin" "$root/templates" "$root/static" "$root/package.json" "$root/package-lock.json" "$app/"
rm -rf "$app/dist/test"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null && npm rebuild better-sqlite3 >/dev/null)
# Our addon, native/megalog.c (sd_notify for the Type=notify units, flock for the directory locks),
# built here from source by node-gyp (the root package's install script). Without it the units never
# become ready and nothing can lock its directories, so no package is built without it.
cp -r "$root/binding.gyp" "$root/native" "$app/"
(cd "$app" && npm run install >/dev/null)
addon=$app/build/Release/megalog.node
[ -f "$addon" ] || { echo "build-deb: $addon was not built" >&2; exit 1; }
# Ship the two addons' .node files only (no obj.target, Makefile or sources), ours stripped.
cp "$addon" "$scratch/megalog.node"
rm -rf "$app/build" "$app/binding.gyp" "$app/native"
install -D -m 0755 "$scratch/megalog.node" "$addon"
strip --strip-unneeded "$addon"
sqlite=$app/node_modules/better-sqlite3/build
find "$sqlite" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
find "$sqlite/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
mkdir -p "$app/node/bin"
cp "$(command -v node)" "$app/node/bin/node"
"$app/node/bin/node" -e 'const a = require(process.argv[1]); if (typeof a.send !== "function" || typeof a.lock !== "function") process.exit(1)' "$addon" \
  || { echo "build-deb: $addon does not load" >&2; exit 1; }
cat > "$stage/usr/bin/megalog" <<'SH'
#!/bin/sh
exec /usr/lib/megalog/node/bin/node /usr/lib/megalog/bin/megalog.js "$@"
SH
chmod 0755 "$stage/usr/bin/megalog"
cp "$root/packaging/etc/megalog.yaml" "$stage/etc/megalog/megalog.yaml"
cp "$root/systemd/"*.service "$stage/lib/systemd/system/"
cp "$root/packaging/nginx/megalog" "$stage/etc/nginx/sites-available/megalog"
cp "$root/packaging/etc/sysctl-megalog.conf" "$stage/etc/sysctl.d/60-megalog.conf"
cp "$root/README.md" "$stage/usr/share/doc/megalog/"
cp "$root/packaging/debian/postinst" "$root/packaging/debian/prerm" "$root/packaging/debian/postrm" "$stage/DEBIAN/"
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
printf '/etc/megalog/megalog.yaml\n/etc/nginx/sites-available/megalog\n/etc/sysctl.d/60-megalog.conf\n' > "$stage/DEBIAN/conffiles"
size=$(du -sk "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CTL
Package: megalog
Version: $version
Architecture: $arch
Maintainer: MegaLog engineers <megalog@localhost>
Installed-Size: $size
Depends: adduser, libc6, libstdc++6, openssl
Recommends: nginx, rsyslog
Section: net
Priority: optional
Description: forensic CGNAT log appliance
 Receives NAT logs from routers as syslog (UDP, TCP, TLS), keeps every line for a year
 in one SQLite file per day, and answers "who used public IP X, port Y, at time T"
 from a web console with an audited search, as Brazil's Marco Civil da Internet requires.
CTL
mkdir -p "$out"
dpkg-deb --root-owner-group --build "$stage" "$out/megalog_${version}_${arch}.deb" >/dev/null
echo "$out/megalog_${version}_${arch}.deb"
