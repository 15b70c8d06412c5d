#!/usr/bin/env bash
# Install what the test suite needs from Debian, once: rsyslog (real peer), chromium (browser tests),
# openssl (TLS certificates), nginx (the shipped site in front of the console), and what `npm ci` needs
# to build native/megalog.c (node-gyp: g++, make, python3, which also plays systemd in
# test/systemd.test.ts), lintian (the .deb in test/scenario/packaging.test.ts), systemd-analyze (the
# units' sandbox scores), promtool from Debian's prometheus package (the alerting rules), unshare
# (util-linux: the maintainer scripts run in a mount namespace), and mmdebstrap and systemd-nspawn
# (systemd-container: the .deb on a clean Debian 12 in test/scenario/deb-install.test.ts), radclient
# (freeradius-utils: RADIUS accounting in test/scenario/radius.test.ts), and clickhouse-server (the
# ClickHouse store, test/scenario/clickhouse-*.test.ts). Idempotent
# and quick when everything is there. Runs as root (CI) or sudo. On a machine where systemd runs,
# installing prometheus also starts a Prometheus server; stop it with `systemctl disable --now prometheus`.
set -euo pipefail
need=()
command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || need+=(rsyslog)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# pdftotext reads back the court report PDF in the tests
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
[ -x /usr/sbin/nginx ] || need+=(nginx)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v lintian >/dev/null 2>&1 || need+=(lintian)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
# radclient (freeradius-utils): a real RADIUS client sends accounting in test/scenario/radius.test.ts
command -v radclient >/dev/null 2>&1 || need+=(freeradius-utils)
# clickhouse-server (Debian 12: 18.16): the ClickHouse store's scenario tests start their own servers
# on loopback (test/helpers/clickhouse.ts), never the system service. Debian 13 has no package: those
# tests then skip, saying so.
if [ ! -x /usr/sbin/clickhouse-server ] && grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release; then need+=(clickhouse-server); fi
# zookeeper coordinates the two replicas of test/scenario/clickhouse-replicas.test.ts; only where a
# Java runtime is already installed (else that test skips, saying so), to keep a JRE out of the setup.
if [ ! -e /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1 && grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release; then need+=(zookeeper); fi
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "test/setup.sh: installing ${need[*]} from Debian" >&2
  $SUDO apt-get update -qq
  # RUNLEVEL=1 keeps invoke-rc.d from starting the system rsyslog and nginx: the tests start their own.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
