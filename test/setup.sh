#!/usr/bin/env bash
# Install what the test suite needs from Debian, once: rsyslog (real peer), chromium (browser tests),
# openssl (TLS certificates). Idempotent and quick when everything is there. Runs as root (CI) or sudo.
set -euo pipefail
need=()
command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || need+=(rsyslog)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# libsystemd headers: npm builds the optional sd-notify binding against them (sd_notify readiness, watchdog)
[ -e /usr/include/systemd/sd-daemon.h ] || need+=(libsystemd-dev)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "test/setup.sh: installing ${need[*]} from Debian" >&2
  $SUDO apt-get update -qq
  # policy-rc.d keeps apt from starting the system rsyslog: the tests start their own.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
