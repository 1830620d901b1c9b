#!/usr/bin/env bash
# Builds the real Espruino interpreter (Linux target) with a board's fixed variable pool, for the
# calibration tool (`npm run calibrate`). Optional: CI never needs it. See README.md beside this file.
#
#   scripts/real-espruino/build.sh <espruino-checkout-dir> <out-dir> [puckjs|pico ...]
#
# <espruino-checkout-dir>: a git checkout of the public Espruino source (tested at 2v29.277,
# c5ff787b1). It is patched in place (git apply; skipped when already applied) and rebuilt per board.
# <out-dir>: receives espruino-puckjs / espruino-pico and build-info.json (source commit, flags).
# Needs gcc with 32-bit multilib (gcc-multilib), make and python3.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="${1:?usage: build.sh <espruino-checkout-dir> <out-dir> [puckjs|pico ...]}"
out="${2:?usage: build.sh <espruino-checkout-dir> <out-dir> [puckjs|pico ...]}"
shift 2
boards=("$@")
[ ${#boards[@]} -eq 0 ] && boards=(puckjs pico)
[ -f "$src/src/jsvar.c" ] || { echo "build.sh: $src is not an Espruino checkout (no src/jsvar.c)" >&2; exit 2; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"

cd "$src"
# Order matters: kc-rig.patch sits on top of memmapped-flash.patch in targets/linux/jshardware.c.
for p in "$here"/boards.patch "$here"/memmapped-flash.patch "$here"/kc-rig.patch; do
  if git apply --reverse --check "$p" 2>/dev/null; then
    echo "build.sh: $(basename "$p") already applied"
  else
    git apply "$p"
    echo "build.sh: applied $(basename "$p")"
  fi
done
commit="$(git rev-parse HEAD)"
describe="$(git describe --tags 2>/dev/null || echo unknown)"

jobs="$(nproc 2>/dev/null || echo 2)"
info_boards=""
for b in "${boards[@]}"; do
  case "$b" in
    puckjs) board=LINUX_KC_PUCKJS ;;
    pico) board=LINUX_KC_PICO ;;
    *) echo "build.sh: unknown board '$b' (puckjs or pico)" >&2; exit 2 ;;
  esac
  echo "build.sh: building $board (make clean first: the generated platform config is per board)"
  BOARD=$board RELEASE=1 make clean >/dev/null 2>&1 || true
  make clean >/dev/null 2>&1 || true
  BOARD=$board RELEASE=1 make -j"$jobs" > "$out/build-$b.log" 2>&1 || { tail -30 "$out/build-$b.log" >&2; exit 1; }
  # copy then rename: a running instance of the old binary keeps its file ("Text file busy" otherwise)
  cp bin/espruino "$out/.espruino-$b.new" && mv -f "$out/.espruino-$b.new" "$out/espruino-$b"
  vars="$(sed -n 's/^#define JSVAR_CACHE_SIZE *\([0-9]*\).*/\1/p' gen/platform_config.h)"
  flash="$(sed -n 's/^#define FLASH_TOTAL (\([0-9]*\)\*1024)/\1/p' gen/platform_config.h)"
  # Smoke check: the pool is fixed at the board's size, 13 bytes per var.
  t="$(mktemp -d)"
  printf 'print("KC",JSON.stringify(process.memory()));quit()\n' > "$t/check.js"
  got="$(cd "$t" && timeout 10 "$out/espruino-$b" check.js </dev/null 2>/dev/null | sed -n 's/^KC //p')"
  rm -rf "$t"
  echo "build.sh: $out/espruino-$b: process.memory() = $got"
  case "$got" in *"\"total\":$vars,"*"\"blocksize\":13"*) ;; *) echo "build.sh: expected total $vars and blocksize 13" >&2; exit 1 ;; esac
  info_boards="$info_boards${info_boards:+,}\"$b\":{\"board\":\"$board\",\"vars\":$vars,\"varBytes\":13,\"storageKB\":$flash,\"binary\":\"espruino-$b\"}"
done
cat > "$out/build-info.json" <<JSON
{"espruinoCommit":"$commit","espruinoDescribe":"$describe","builtAt":"$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "make":"BOARD=<board> RELEASE=1 make","flags":["-m32","-DUSE_CALLFUNCTION_HACK","-Os","-DLINUX_MEMMAPPED_FLASH=1","-DLINUX_KC_RIG=1","USE_CRYPTO=1","USE_SHA256=1","USE_AES=1","no ESPR_UNICODE_SUPPORT"],
 "patches":["boards.patch","memmapped-flash.patch","kc-rig.patch"],"gcc":"$(gcc --version | head -1)",
 "boards":{$info_boards}}
JSON
echo "build.sh: wrote $out/build-info.json"
