#!/usr/bin/env bash
# Installs the system tools some tests use: socat (pseudo-terminal serial ports); pcscd, pcsc-tools
# and vsmartcard-vpcd (the NFC tests over PC/SC: hil-tests/pcsc.test.ts starts its own private pcscd
# with a vpcd reader); libpcsclite-dev, which `npm ci` needs to build the optional @pokusew/pcsclite;
# postgresql (server binaries only: the PostgreSQL ledger tests and bench start their own private
# cluster with initdb/postgres from /usr/lib/postgresql/*/bin; Debian's default cluster is not used).
# Runs before `npm ci` (.ci/run). Best effort: a test whose tool is still missing skips itself and
# prints why.
set -u
need=()
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v pcscd >/dev/null 2>&1 || need+=(pcscd)
command -v pcsc_scan >/dev/null 2>&1 || need+=(pcsc-tools)
[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || need+=(vsmartcard-vpcd)
[ -e /usr/include/PCSC/winscard.h ] || need+=(libpcsclite-dev)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: missing ${need[*]} (not root or no apt-get); the tests that need them will be skipped"
  exit 0
fi
echo "install-system-deps: installing ${need[*]}"
timeout 300 apt-get update -qq >/dev/null 2>&1 || echo "install-system-deps: apt-get update failed"
timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
  || echo "install-system-deps: could not install ${need[*]}; the tests that need them will be skipped"
exit 0
