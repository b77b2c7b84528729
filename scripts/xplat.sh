#!/usr/bin/env bash
# The macOS and Windows checks of the test command (issue 14), on Debian 12:
#   1. clippy -D warnings on x86_64- and aarch64-apple-darwin (a type check:
#      nothing is linked, and C sources are not compiled — no macOS SDK here),
#      and the .app bundle's layout (packaging/macos/check.sh);
#   2. a real build for x86_64-pc-windows-gnu (mingw-w64), clippy -D warnings;
#   3. under Wine: `switchyard.exe --version`, `serve --port N` answering
#      /healthz and stopping, and the unit tests and the gateway integration
#      tests.
#
# The compiler is Debian's rustc-web/cargo-web with its std sources
# (rust-web-src), building std for each target (-Zbuild-std): nothing is
# fetched beyond the Debian and crates.io registries. The facts behind this
# are in ../shared/reference/cross-platform-ci.md.
#
# Everything it builds goes to a scratch folder outside the clone,
# $XPLAT (default /var/tmp/switchyard-xplat), so a later run on the same
# machine is incremental. It never writes into the checkout.
#
# Usage: bash scripts/xplat.sh [STEP...]   steps: setup macos windows wine
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
XPLAT=${XPLAT:-/var/tmp/switchyard-xplat}
STEPS=("$@")
[ ${#STEPS[@]} -eq 0 ] && STEPS=(setup macos windows wine)
MAC_TARGETS=(x86_64-apple-darwin aarch64-apple-darwin)
WIN=x86_64-pc-windows-gnu
mkdir -p "$XPLAT/bin" "$XPLAT/objects" "$XPLAT/logs"
source scripts/setup-deps.sh

step() { printf '==> %s\n' "$*"; }

# run_cargo LOG TARGET_DIR ARGS...: cargo for a foreign target; the whole
# output goes to LOG, our own diagnostics and the result are printed.
run_cargo() {
  local log=$1 dir=$2 start=$SECONDS status=0
  shift 2
  CARGO_TARGET_DIR="$dir" nice -n 10 cargo "$@" >"$log" 2>&1 || status=$?
  grep -E '^(src|tests|benches|build\.rs)|^(error|warning)(\[|:)' "$log" | head -60 || true
  echo "    cargo $1 → exit $status in $((SECONDS - start)) s (log: $log)"
  return $status
}

setup() {
  local packages=(rustc-web cargo-web rust-web-src rust-web-clippy gcc-mingw-w64-x86-64
    binutils-mingw-w64-x86-64 nasm clang llvm wine wine64)
  local absent=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || absent+=("$p")
  done
  if [ ${#absent[@]} -gt 0 ]; then
    step "installing ${absent[*]}"
    apt_install --no-install-recommends "${absent[@]}" >/dev/null
  fi
  local version
  version=$(/usr/bin/rustc --version | awk '{print $2}')
  [ -f "/usr/src/rustc-$version/library/Cargo.lock" ] || {
    echo "xplat: no std sources for rustc $version (rust-web-src must match rustc-web)" >&2
    exit 1
  }
  # Build scripts of C-using crates (SQLite, mimalloc, aws-lc, the macOS
  # notification bridge) run a C compiler even for `cargo check`. For the
  # Apple targets it is this stand-in: every compile "succeeds" with an
  # empty object of the target's format, so the Rust code — ours and every
  # dependency's — is checked for real and no C is compiled.
  cat >"$XPLAT/bin/apple-cc-check-only" <<'EOF'
#!/bin/sh
out="" previous="" preprocess=0
for arg in "$@"; do
  case "$arg" in
    '-?' | '/?') exit 1 ;;
    -E) preprocess=1 ;;
    --version | -dumpversion) echo "clang version 14.0.0 (check-only stand-in)"; exit 0 ;;
  esac
  [ "$previous" = "-o" ] && out="$arg"
  previous="$arg"
done
if [ "$preprocess" = 1 ]; then
  printf '#pragma message "clang"\n'
  exit 0
fi
if [ -n "$out" ]; then
  cp "$XPLAT_OBJECTS/empty-$TARGET.o" "$out" 2>/dev/null || : >"$out"
fi
exit 0
EOF
  chmod +x "$XPLAT/bin/apple-cc-check-only"
  for t in "${MAC_TARGETS[@]}"; do
    [ -f "$XPLAT/objects/empty-$t.o" ] || clang --target="$t" -c -x c /dev/null -o "$XPLAT/objects/empty-$t.o"
  done
}

cross_env() {
  # Debian's 1.96 compiler, cargo and clippy (rustup's cannot build these
  # std sources), allowed to build std.
  export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
  export XPLAT_OBJECTS="$XPLAT/objects" MACOSX_DEPLOYMENT_TARGET=11.0
  for t in "${MAC_TARGETS[@]}"; do
    local u=${t//-/_}
    export "CC_$u=$XPLAT/bin/apple-cc-check-only" "CXX_$u=$XPLAT/bin/apple-cc-check-only" "AR_$u=llvm-ar"
  done
  export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
  export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
}

macos() {
  cross_env
  local status=0
  for t in "${MAC_TARGETS[@]}"; do
    step "clippy --all-targets -D warnings for $t (type check)"
    run_cargo "$XPLAT/logs/clippy-$t.log" "$XPLAT/target-macos" clippy --locked -Zbuild-std \
      --target "$t" --all-targets --message-format=short -- -D warnings || status=1
  done
  step "the .app bundle's layout (packaging/macos/check.sh)"
  bash packaging/macos/check.sh || status=1
  return $status
}

windows() {
  cross_env
  local status=0
  step "build for $WIN: the app and the tests that run under Wine"
  run_cargo "$XPLAT/logs/build-$WIN.log" "$XPLAT/target-windows" build --locked -Zbuild-std \
    --target "$WIN" --bins --message-format=short || status=1
  local wine_tests=(--lib --test gateway_openai --test gateway_anthropic --test gateway_gemini
    --test gateway_responses)
  run_cargo "$XPLAT/logs/tests-$WIN.log" "$XPLAT/target-windows" test --locked -Zbuild-std \
    --target "$WIN" --no-run "${wine_tests[@]}" --message-format=short || status=1
  # The test executables, by name, for the Wine step (built already: no work).
  CARGO_TARGET_DIR="$XPLAT/target-windows" cargo test --locked -Zbuild-std --target "$WIN" \
    --no-run "${wine_tests[@]}" --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["target"]["name"], m["executable"])
' >"$XPLAT/wine-tests.txt" || status=1
  step "clippy --all-targets -D warnings for $WIN"
  run_cargo "$XPLAT/logs/clippy-$WIN.log" "$XPLAT/target-windows" clippy --locked -Zbuild-std \
    --target "$WIN" --all-targets --message-format=short -- -D warnings || status=1
  return $status
}

wine_env() {
  export WINEPREFIX="$XPLAT/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  unset DISPLAY WAYLAND_DISPLAY
  if [ ! -d "$WINEPREFIX/drive_c/windows/system32" ]; then
    step "making the Wine prefix"
    timeout 300 wineboot -i >/dev/null 2>&1 || true
  fi
  # Rust's std (1.78+) takes random bytes from bcryptprimitives!ProcessPrng
  # (Windows 10+); Debian 12's Wine 8.0 has no such DLL. This one forwards
  # to RtlGenRandom. It lives in the test prefix only.
  local dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
  if [ ! -f "$dll" ]; then
    cat >"$XPLAT/objects/processprng.c" <<'EOF'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
EOF
    x86_64-w64-mingw32-gcc -O2 -shared -o "$dll" "$XPLAT/objects/processprng.c" -ladvapi32
  fi
}

wine_checks() {
  wine_env
  local exe="$XPLAT/target-windows/$WIN/debug/switchyard.exe" status=0
  step "wine switchyard.exe --version"
  local printed expected
  expected="switchyard $(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)"
  printed=$(timeout 120 wine "$exe" --version | tr -d '\r')
  echo "    $printed"
  [ "$printed" = "$expected" ] || { echo "xplat: expected '$expected'" >&2; status=1; }

  step "wine switchyard.exe serve: /healthz, then Ctrl-C stops it cleanly"
  # Started from a console (cmd), as a user does: the GUI-subsystem exe
  # attaches to it (its log reaches the terminal), and Wine turns SIGINT
  # into the console's Ctrl-C.
  local home port=47311
  home=$(mktemp -d)
  SWITCHYARD_HOME="$(winepath -w "$home")" timeout 120 \
    wine cmd /c "$(winepath -w "$exe")" serve --port "$port" >"$XPLAT/logs/wine-serve.log" 2>&1 &
  local pid=$! answered=1
  for _ in $(seq 1 60); do
    if curl -fs -m 2 "http://127.0.0.1:$port/healthz"; then answered=0; echo; break; fi
    sleep 1
  done
  [ $answered = 0 ] || { echo "xplat: serve did not answer; its output:" >&2; cat "$XPLAT/logs/wine-serve.log" >&2; status=1; }
  pkill -INT -f "^[^ ]*switchyard.exe serve --port $port" || true
  local stopped=1
  for _ in $(seq 1 30); do
    if ! pgrep -f "^[^ ]*switchyard.exe serve --port $port" >/dev/null; then stopped=0; break; fi
    sleep 1
  done
  if [ $stopped = 0 ] && grep -aq "shutting down" "$XPLAT/logs/wine-serve.log"; then
    echo "    stopped cleanly on Ctrl-C"
  else
    echo "xplat: serve did not stop cleanly on Ctrl-C; its output:" >&2
    tr -d '\r' <"$XPLAT/logs/wine-serve.log" >&2
    status=1
  fi
  wait "$pid" 2>/dev/null || true
  if curl -fs -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
    echo "xplat: serve still answers after its stop" >&2
    status=1
  fi
  wineserver -k 2>/dev/null || true
  rm -rf "$home"

  [ -s "$XPLAT/wine-tests.txt" ] || { echo "xplat: no test executables: run the windows step" >&2; return 1; }
  while read -r target test; do
    step "wine: $target tests"
    # Wine may exit 0 when its server is killed under it: a run counts only
    # with its "test result: ok" line.
    if timeout 900 wine "$test" --test-threads 2 >"$XPLAT/logs/wine-$target.log" 2>&1 &&
      grep -aq "^test result: ok" "$XPLAT/logs/wine-$target.log"; then
      grep -a "^test result" "$XPLAT/logs/wine-$target.log" | tr -d '\r' | sed 's/^/    /'
    else
      grep -a -E "^test .*FAILED|panicked|^test result" "$XPLAT/logs/wine-$target.log" | tr -d '\r' | head -40
      status=1
    fi
    wineserver -k 2>/dev/null || true
  done <"$XPLAT/wine-tests.txt"
  return $status
}

status=0
for s in "${STEPS[@]}"; do
  case "$s" in
    setup) setup ;;
    macos) macos || status=1 ;;
    windows) windows || status=1 ;;
    wine) wine_checks || status=1 ;;
    *) echo "xplat: unknown step $s" >&2; exit 2 ;;
  esac
done
exit $status
