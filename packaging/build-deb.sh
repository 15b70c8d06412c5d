#!/usr/bin/env bash
# Build megalog_<version>_<arch>.deb: the app, its production node_modules (native addons built here),
# the Node.js runtime it was built with (an appliance must not depend on the distribution's Node
# version), our addon (native/: sd_notify and flock, no libsystemd), systemd units, config, nginx site, sysctl,
# the Grafana dashboard and Prometheus rules, and what Debian asks of a package (copyright, changelog,
# manual page, lintian overrides). It passes lintian with no error (test/scenario/packaging.test.ts).
# Needs what `npm ci` needs: g++, make, python3 (node-gyp). Usage: packaging/build-deb.sh [OUTDIR]
# DEBFULLNAME and DEBEMAIL name the Maintainer (set them to the team that supports your appliances);
# SOURCE_DATE_EPOCH, else the last commit's time, dates the changelog.
set -euo pipefail
umask 022
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist-deb}
version=$(node -p "require('$root/package.json').version")
arch=$(dpkg --print-architecture)
maintainer="${DEBFULLNAME:-MegaLog engineers} <${DEBEMAIL:-megalog@megalog.invalid}>"
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
stage=$(mktemp -d)
scratch=$(mktemp -d)
trap 'rm -rf "$stage" "$scratch"' EXIT
chmod 0755 "$stage" # mktemp's 0700 would become the mode of / in the data archive
app=$stage/usr/lib/megalog
doc=$stage/usr/share/doc/megalog

(cd "$root" && npx tsc -p tsconfig.json)
mkdir -p "$app" "$stage/usr/bin" "$stage/etc/megalog" "$stage/lib/systemd/system" "$stage/etc/nginx/sites-available" \
  "$stage/etc/sysctl.d" "$doc" "$stage/usr/share/man/man1" "$stage/usr/share/lintian/overrides" "$stage/DEBIAN"
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
# Ship the addons' .node files only (no obj.target, Makefile or sources).
cp "$addon" "$scratch/megalog.node"
rm -rf "$app/build" "$app/binding.gyp" "$app/native"
install -D -m 0644 "$scratch/megalog.node" "$addon"
# better-sqlite3 at run time is lib/ and its one .node: not its C++ and SQLite sources (deps/, src/),
# nor the build tree (obj.target, sqlite3.a, test_extension.node).
sqlite=$app/node_modules/better-sqlite3
rm -rf "$sqlite/deps" "$sqlite/src" "$sqlite/binding.gyp"
find "$sqlite/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
find "$sqlite/build/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
# Nothing that only serves development: source maps (no .ts ships), npm's dot files and .bin links,
# linter configs. Nothing under the app is run as a program but node itself (/usr/bin/megalog runs
# `node bin/megalog.js`), so no file keeps an execute bit, and the addons are stripped.
find "$app" -name '*.map' -type f -delete
find "$app/node_modules" -mindepth 1 -name '.*' -prune -exec rm -rf {} +
find "$app" -type f -perm /111 -exec chmod a-x {} +
find "$app" -name '*.node' -type f -exec strip --remove-section=.comment --remove-section=.note --strip-unneeded {} +
mkdir -p "$app/node/bin"
node=$(readlink -f "$(command -v node)")
install -m 0755 "$node" "$app/node/bin/node"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$app/node/bin/node"
# The runtime's licence (Node.js and what it embeds: V8, OpenSSL, zlib, ICU…), where a Node.js
# tarball keeps it: beside bin/.
license=""
for f in "$(dirname "$node")/../LICENSE" "$(dirname "$node")/../share/doc/node/LICENSE" /usr/share/doc/nodejs/LICENSE; do
  [ -f "$f" ] && { license=$f; break; }
done
[ -n "$license" ] || { echo "build-deb: no LICENSE found for the Node.js runtime $node" >&2; exit 1; }
install -m 0644 "$license" "$app/node/LICENSE"
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
install -D -m 0644 "$root/packaging/grafana/megalog.json" "$stage/usr/share/megalog/grafana/megalog.json"
install -D -m 0644 "$root/packaging/prometheus/megalog-rules.yml" "$stage/usr/share/megalog/prometheus/megalog-rules.yml"
install -D -m 0644 "$root/packaging/prometheus/scrape.yml" "$stage/usr/share/megalog/prometheus/scrape.yml"
cp "$root/README.md" "$doc/"
# copyright: ours (AGPL-3.0-only), the bundled software and each npm module's licence, then the AGPL text.
{
  cat "$root/packaging/debian/copyright"
  node "$root/packaging/notices.mjs" "$app" /usr/lib/megalog
  printf '\n\nGNU Affero General Public License, version 3\n---------------------------------------------\n\n'
  cat "$root/LICENSE"
} > "$doc/copyright"
# A native package's Debian changelog is changelog.gz (Debian Policy 12.7).
node "$root/packaging/changelog.mjs" "$root/docs/CHANGELOG.md" "$version" "$maintainer" "$(date -R -u -d "@$epoch")" \
  | gzip -9n > "$doc/changelog.gz"
gzip -9n < "$root/packaging/debian/megalog.1" > "$stage/usr/share/man/man1/megalog.1.gz"
install -m 0644 "$root/packaging/debian/lintian-overrides" "$stage/usr/share/lintian/overrides/megalog"
cp "$root/packaging/debian/postinst" "$root/packaging/debian/prerm" "$root/packaging/debian/postrm" "$stage/DEBIAN/"
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
printf '/etc/megalog/megalog.yaml\n/etc/nginx/sites-available/megalog\n/etc/sysctl.d/60-megalog.conf\n' > "$stage/DEBIAN/conffiles"
# md5sums of every file but the conffiles, as dh_md5sums writes it (for dpkg --verify, debsums).
(cd "$stage" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  > "$stage/DEBIAN/md5sums"
size=$(du -sk "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CTL
Package: megalog
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: adduser, libc6, libstdc++6, openssl
Recommends: nginx, rsyslog
Section: net
Priority: optional
Description: forensic CGNAT log appliance
 Receives NAT logs from routers as syslog (UDP, TCP, TLS), keeps every line
 for a year in one SQLite file per day, and answers "who used public IP X,
 port Y, at time T" from a web console with an audited search, as Brazil's
 Marco Civil da Internet requires.
CTL
mkdir -p "$out"
dpkg-deb --root-owner-group --build "$stage" "$out/megalog_${version}_${arch}.deb" >/dev/null
echo "$out/megalog_${version}_${arch}.deb"
