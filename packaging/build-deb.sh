#!/usr/bin/env bash
# Build megalog_<version>_<arch>.deb: the app, its production node_modules (native addons built here),
# the Node.js runtime it was built with (an appliance must not depend on the distribution's Node
# version), systemd units, config, nginx site, sysctl. Usage: packaging/build-deb.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist-deb}
version=$(node -p "require('$root/package.json').version")
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
app=$stage/usr/lib/megalog

(cd "$root" && npx tsc -p tsconfig.json)
mkdir -p "$app" "$stage/usr/bin" "$stage/etc/megalog" "$stage/lib/systemd/system" "$stage/etc/nginx/sites-available" \
  "$stage/etc/sysctl.d" "$stage/usr/share/doc/megalog" "$stage/DEBIAN"
cp -r "$root/dist" "$root/bin" "$root/templates" "$root/static" "$root/package.json" "$root/package-lock.json" "$app/"
rm -rf "$app/dist/test"
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null && npm rebuild better-sqlite3 >/dev/null && (npm rebuild sd-notify >/dev/null 2>&1 || echo "build-deb: sd-notify not built (install libsystemd-dev): no sd_notify" >&2))
mkdir -p "$app/node/bin"
cp "$(command -v node)" "$app/node/bin/node"
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
Depends: adduser, libc6, libstdc++6, libsystemd0
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
