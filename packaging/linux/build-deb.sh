#!/usr/bin/env bash
# Builds target/package/switchyard_VERSION_ARCH.deb from a release build, with
# plain dpkg-deb (no cargo-deb). VERSION comes from Cargo.toml, ARCH from
# `dpkg --print-architecture`. Prints the path of the .deb as its last line.
#
#   bash packaging/linux/build-deb.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb is missing (a Debian or Ubuntu machine builds the .deb)"
command -v objdump >/dev/null 2>&1 || die "objdump is missing (Debian package binutils)"

VERSION="$(cargo_version)"
# Debian sorts "~" before anything, so a Cargo pre-release 1.0.0-rc.1 becomes
# 1.0.0~rc.1 and sorts before 1.0.0, as it should.
DEB_VERSION="${VERSION//-/\~}"
ARCH="$(dpkg --print-architecture)"
build_release

OUT="$ROOT/target/package"
STAGE="$OUT/deb-root"
DEB="$OUT/switchyard_${DEB_VERSION}_${ARCH}.deb"
echo "==> staging the package in $STAGE"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN"

# Files. install -D makes the folders (0755); dpkg-deb --root-owner-group
# records everything as root:root.
install -D -m 0755 "$BINARY" "$STAGE/usr/bin/switchyard"
install -D -m 0644 "$PACKAGING/linux/switchyard.desktop" "$STAGE/usr/share/applications/switchyard.desktop"
stage_icons "$STAGE/usr"
install -D -m 0644 /dev/null "$STAGE/usr/share/doc/switchyard/copyright"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: switchyard"
  echo "Source: the Switchyard source tree (Cargo.toml, LICENSE)"
  echo
  echo "Files: *"
  echo "Copyright: 2026 the Switchyard authors"
  echo "License: MIT"
  echo
  echo "License: MIT"
  # The license text, each line indented by one space, empty lines as " .".
  sed -e 's/^$/./' -e 's/^/ /' "$ROOT/LICENSE"
} >"$STAGE/usr/share/doc/switchyard/copyright"

# Depends: what the binary links (NEEDED). Everything else it uses (X11,
# Wayland, GL/EGL, xkbcommon) is dlopened by the window at run time, so those
# are Recommends: the gateway (`switchyard serve`) runs without them.
needed="$(objdump -p "$BINARY" | awk '$1 == "NEEDED" { print $2 }' | sort -u)"
depends=()
for lib in $needed; do
  case "$lib" in
    libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux*.so.*) ;;
    libgcc_s.so.1) depends+=("libgcc-s1") ;;
    *) die "the binary links $lib, which this script does not know the package of: add it to Depends" ;;
  esac
done
glibc_min="$(objdump -T "$BINARY" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
[ -n "$glibc_min" ] || die "cannot find the glibc symbol versions the binary needs"
depends=("libc6 (>= $glibc_min)" "${depends[@]}")
echo "    links: ${needed//$'\n'/ } -> Depends: $(IFS=,; echo "${depends[*]}" | sed 's/,/, /g')"

installed_kib="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
cat >"$STAGE/DEBIAN/control" <<EOF
Package: switchyard
Version: $DEB_VERSION
Architecture: $ARCH
Maintainer: The Switchyard authors <switchyard@users.noreply.invalid>
Installed-Size: $installed_kib
Depends: $(IFS=,; echo "${depends[*]}" | sed 's/,/, /g')
Recommends: libgl1, libegl1, libx11-6, libx11-xcb1, libxcursor1, libxi6, libxkbcommon0, libxkbcommon-x11-0, libwayland-client0, libwayland-cursor0, libwayland-egl1
Suggests: gnome-shell-extension-appindicator
Section: net
Priority: optional
Description: local AI gateway in the menu bar
 Switchyard listens on http://127.0.0.1:8045, speaks the OpenAI, Anthropic and
 Gemini protocols, and forwards every request to one of a pool of upstream
 accounts, picking the account, refreshing its tokens and converting requests
 and answers between protocols.
 .
 It is a menu-bar app (tray icon, window, notifications, launch at login); the
 same binary runs headless as "switchyard serve". The window needs an X11 or
 Wayland session with OpenGL; the tray needs a StatusNotifierItem host (on
 GNOME, the AppIndicator extension).
EOF

# postinst refreshes the icon cache and the desktop database when their tools
# are there (the icon cache only where a theme index exists, so no stray cache
# file lands in a folder the package would otherwise leave empty). On Debian
# and Ubuntu, hicolor-icon-theme and desktop-file-utils also do it through dpkg
# file triggers ("interest-noawait" on those folders), on install and on
# removal. There is deliberately no postrm: dpkg keeps a removed package that
# has one in the "config-files" state until it is purged, so after `dpkg -r`
# it would still be listed; the triggers cover removal.
cat >"$STAGE/DEBIAN/postinst" <<'END'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f /usr/share/icons/hicolor/index.theme ]; then
    gtk-update-icon-cache -q -f /usr/share/icons/hicolor || true
  fi
  if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q /usr/share/applications || true
  fi
fi
exit 0
END
chmod 0755 "$STAGE/DEBIAN/postinst"

(cd "$STAGE" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/md5sums"

echo "==> dpkg-deb --build --root-owner-group"
rm -f "$DEB"
dpkg-deb --build --root-owner-group "$STAGE" "$DEB" >/dev/null
echo "    $(du -h "$DEB" | cut -f1)  $DEB"
echo "$DEB"
