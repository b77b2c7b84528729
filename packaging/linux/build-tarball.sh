#!/usr/bin/env bash
# Builds target/package/switchyard-VERSION-linux-ARCH.tar.gz: a portable,
# per-user install for any glibc Linux (install.sh / uninstall.sh inside).
# VERSION comes from Cargo.toml, ARCH from `uname -m`. Prints the path of the
# tarball as its last line.
#
#   bash packaging/linux/build-tarball.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION="$(cargo_version)"
ARCH="$(uname -m)"
build_release

NAME="switchyard-$VERSION-linux-$ARCH"
OUT="$ROOT/target/package"
STAGE="$OUT/tarball-root"
TARBALL="$OUT/$NAME.tar.gz"
TOP="$STAGE/$NAME"
echo "==> staging $NAME in $STAGE"
rm -rf "$STAGE"
mkdir -p "$TOP"

install -D -m 0755 "$BINARY" "$TOP/bin/switchyard"
# The template: Exec=switchyard, which install.sh replaces by the quoted
# absolute path of the installed binary.
install -D -m 0644 "$PACKAGING/linux/switchyard.desktop" "$TOP/share/applications/switchyard.desktop"
stage_icons "$TOP"
install -m 0755 "$PACKAGING/linux/tarball/install.sh" "$PACKAGING/linux/tarball/uninstall.sh" "$TOP/"
install -m 0644 "$ROOT/LICENSE" "$TOP/LICENSE"
glibc_min="$(objdump -T "$BINARY" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1 || true)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@GLIBC@/${glibc_min:-2.17}/" \
  "$PACKAGING/linux/tarball/README.txt" >"$TOP/README.txt"
chmod 0644 "$TOP/README.txt"

echo "==> tar"
rm -f "$TARBALL"
# Same bytes for the same inputs: sorted names, root owner, fixed times.
mtime="@${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)}"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" \
  -C "$STAGE" -cf - "$NAME" | gzip -n -9 >"$TARBALL"
echo "    $(du -h "$TARBALL" | cut -f1)  $TARBALL"
echo "$TARBALL"
