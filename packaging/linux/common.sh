# shellcheck shell=bash
# Shared by build-deb.sh, build-tarball.sh and check.sh (sourced, not run).
# Sets ROOT (the crate), VERSION (from Cargo.toml, through cargo metadata) and
# offers the release build and the icon list. Needs: cargo, python3 or sed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034 # used by the scripts that source this file
PACKAGING="$ROOT/packaging"
# Files in the packages are 0644/0755 whatever the caller's umask.
umask 022

die() {
  echo "packaging: error: $*" >&2
  exit 1
}

# The package version: the one `switchyard --version` prints, read from
# Cargo.toml through cargo, never written down anywhere else.
cargo_version() {
  local json version
  json="$(cd "$ROOT" && cargo metadata --no-deps --format-version 1)" ||
    die "cargo metadata failed"
  version="$(printf '%s' "$json" |
    sed -n 's/.*"name":"switchyard","version":"\([^"]*\)".*/\1/p' | head -n 1)"
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]] ||
    die "cannot read the package version from cargo metadata (got '$version')"
  printf '%s\n' "$version"
}

# Builds target/release/switchyard (incremental: quick when nothing changed)
# and checks that the binary reports the Cargo version (VERSION, set by the
# caller from cargo_version). Sets BINARY.
# shellcheck disable=SC2153
build_release() {
  echo "==> cargo build --release (fat LTO: the first build takes several minutes)"
  (cd "$ROOT" && cargo build --release --quiet)
  BINARY="$ROOT/target/release/switchyard"
  [ -x "$BINARY" ] || die "$BINARY was not built"
  local reported
  reported="$("$BINARY" --version)"
  [ "$reported" = "switchyard $VERSION" ] ||
    die "the binary says '$reported', Cargo.toml says $VERSION"
}

# The app icon sizes shipped in icons/png (app-N.png), smallest first; each
# PNG's header is checked to be N x N.
icon_sizes() {
  local png size width height
  for png in "$ROOT"/icons/png/app-*.png; do
    size="${png##*/app-}"
    size="${size%.png}"
    case "$size" in '' | *[!0-9]*) continue ;; esac
    # IHDR: width and height are the big-endian words at bytes 16 and 20.
    read -r width height < <(od -An -tu4 --endian=big -j16 -N8 "$png")
    [ "$width" = "$size" ] && [ "$height" = "$size" ] ||
      die "$png is ${width}x${height}, its name says ${size}x${size}"
    echo "$size"
  done | sort -n
}

# Installs the hicolor icons into DEST/share/icons/hicolor (mode 0644).
stage_icons() {
  local dest="$1" size
  for size in $(icon_sizes); do
    install -D -m 0644 "$ROOT/icons/png/app-$size.png" \
      "$dest/share/icons/hicolor/${size}x${size}/apps/switchyard.png"
  done
  install -D -m 0644 "$ROOT/icons/app.svg" "$dest/share/icons/hicolor/scalable/apps/switchyard.svg"
}
