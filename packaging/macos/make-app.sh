#!/usr/bin/env bash
# Assembles target/package/Switchyard.app (and a .zip of it) on macOS from a
# release build (see SIGNING.md). CI, on Linux, runs it as far as it can
# there: `--layout-only --binary PATH` assembles the bundle and lints its
# Info.plist (with Python's plistlib when plutil is missing), and stops
# before the steps that need macOS (iconutil, codesign, ditto); check.sh
# beside this file then checks the layout.
#
#   bash packaging/macos/make-app.sh --layout-only --binary PATH   # (CI) bundle layout only
#
#   bash packaging/macos/make-app.sh                 # cargo build --release, this Mac's architecture
#   bash packaging/macos/make-app.sh --universal     # arm64 + x86_64 in one binary (lipo)
#   bash packaging/macos/make-app.sh --binary PATH   # an existing switchyard binary
#
# Signing: with SIGN_IDENTITY="Developer ID Application: …" set, the bundle is
# signed with the hardened runtime and a secure timestamp, ready for
# notarization (SIGNING.md); without it, it is signed ad hoc ("-"), which runs
# on the Mac that built it but is refused by Gatekeeper elsewhere.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$here/../.." && pwd)"

die() {
  echo "make-app.sh: error: $*" >&2
  exit 1
}

binary=""
universal=false
layout_only=false
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --universal) universal=true; shift ;;
    --layout-only) layout_only=true; shift ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

if $layout_only; then
  [ -n "$binary" ] || die "--layout-only needs --binary (no macOS build here)"
else
  for tool in iconutil codesign plutil; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: make-app.sh runs on macOS (with the Xcode command line tools)"
  done
fi

# The version: Cargo.toml's, the same `switchyard --version` prints.
version="$(cd "$ROOT" && cargo metadata --no-deps --format-version 1 |
  sed -n 's/.*"name":"switchyard","version":"\([^"]*\)".*/\1/p' | head -n 1)"
[ -n "$version" ] || die "cannot read the version from cargo metadata"
# CFBundleVersion must be numbers and dots: 1.2.3-rc.1 -> 1.2.3.
bundle_version="${version%%[-+]*}"

if [ -z "$binary" ]; then
  if $universal; then
    for target in aarch64-apple-darwin x86_64-apple-darwin; do
      rustup target add "$target" >/dev/null
      (cd "$ROOT" && cargo build --release --target "$target")
    done
    binary="$ROOT/target/package/switchyard-universal"
    mkdir -p "$ROOT/target/package"
    lipo -create -output "$binary" \
      "$ROOT/target/aarch64-apple-darwin/release/switchyard" \
      "$ROOT/target/x86_64-apple-darwin/release/switchyard"
  else
    (cd "$ROOT" && cargo build --release)
    binary="$ROOT/target/release/switchyard"
  fi
fi
[ -x "$binary" ] || die "$binary is not an executable"
reported="$("$binary" --version 2>/dev/null || true)"
[ -z "$reported" ] || [ "$reported" = "switchyard $version" ] ||
  die "$binary says '$reported', Cargo.toml says $version"

out="$ROOT/target/package"
app="$out/Switchyard.app"
echo "==> assembling $app ($version)"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp "$binary" "$app/Contents/MacOS/switchyard"
chmod 0755 "$app/Contents/MacOS/switchyard"
sed -e '/<!-- Template:/,/-->/d' -e "s/@VERSION@/$version/g" -e "s/@BUNDLE_VERSION@/$bundle_version/g" \
  "$here/Info.plist" >"$app/Contents/Info.plist"
if grep -q '@[A-Z_]*@' "$app/Contents/Info.plist"; then die "Info.plist still has a placeholder"; fi
if command -v plutil >/dev/null 2>&1; then
  plutil -lint "$app/Contents/Info.plist" >/dev/null || die "Info.plist does not parse"
else
  python3 -c 'import plistlib, sys; plistlib.load(open(sys.argv[1], "rb"))' "$app/Contents/Info.plist" ||
    die "Info.plist does not parse"
fi
printf 'APPL????' >"$app/Contents/PkgInfo"
cp "$ROOT/LICENSE" "$app/Contents/Resources/LICENSE"

echo "==> switchyard.icns (iconutil)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
iconset="$work/switchyard.iconset"
mkdir "$iconset"
png="$ROOT/icons/png"
# name in the iconset  <-  pixel size
for pair in 16x16:16 16x16@2x:32 32x32:32 32x32@2x:64 128x128:128 128x128@2x:256 \
  256x256:256 256x256@2x:512 512x512:512; do
  cp "$png/app-${pair#*:}.png" "$iconset/icon_${pair%%:*}.png"
done
# 1024 px (512x512@2x) is not among the committed PNGs: rendered from the SVG
# when rsvg-convert is there (brew install librsvg), else left out.
if command -v rsvg-convert >/dev/null 2>&1; then
  rsvg-convert -w 1024 -h 1024 "$ROOT/icons/app.svg" -o "$iconset/icon_512x512@2x.png"
else
  echo "    (no rsvg-convert: the icon stops at 512 px; 1024 px for Retina 512 is left out)"
fi
if $layout_only; then
  # No iconutil off macOS: the iconset is kept for check.sh to look at.
  rm -rf "$out/switchyard.iconset"
  cp -R "$iconset" "$out/switchyard.iconset"
  echo "$app (layout only: no .icns, no signature, no zip)"
  exit 0
fi
iconutil -c icns -o "$app/Contents/Resources/switchyard.icns" "$iconset"

echo "==> codesign"
if [ -n "${SIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --options runtime \
    --entitlements "$here/switchyard.entitlements" \
    --sign "$SIGN_IDENTITY" "$app"
else
  echo "    SIGN_IDENTITY not set: ad-hoc signature (runs on this Mac only; see SIGNING.md)"
  codesign --force --sign - "$app"
fi
codesign --verify --strict --verbose=2 "$app"

zip="$out/Switchyard-$version-macos.zip"
rm -f "$zip"
# ditto keeps the bundle's symlinks, modes and signature intact (zip -r does not).
ditto -c -k --keepParent "$app" "$zip"
echo "$app"
echo "$zip"
