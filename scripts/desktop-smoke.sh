#!/usr/bin/env bash
# Desktop smoke test: the real app under Xvfb with a private D-Bus session, a
# notification daemon (dunst) and a tray host (gtk-sni-tray-standalone), against
# the mock upstream. Installs what it needs (Debian/Ubuntu), then runs
# tests/desktop_smoke.rs. Screenshots go to $SMOKE_OUT (default docs/screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-deps.sh

packages=(xvfb imagemagick x11-utils xdotool xclip dbus dunst haskell-gtk-sni-tray-utils
  at-spi2-core gir1.2-atspi-2.0 python3-gi
  python3-dbus libx11-6 libx11-xcb1 libxcursor1 libxi6 libxkbcommon-x11-0
  libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri procps)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

export SMOKE_OUT="${SMOKE_OUT:-$PWD/docs/screenshots}"
export XDG_RUNTIME_DIR="$(mktemp -d)"
chmod 700 "$XDG_RUNTIME_DIR"
cargo test --no-run --quiet --test desktop_smoke

dbus-run-session -- bash -euo pipefail -c '
  display=:$((90 + RANDOM % 9))
  Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  export DISPLAY=$display
  for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
  gtk-sni-tray-standalone --bottom --watcher >/dev/null 2>&1 &
  dunst >/dev/null 2>&1 &
  # The accessibility bus on, as with a screen reader running: AccessKit then
  # publishes the window over AT-SPI (tests/desktop/atspi_probe.py reads it).
  dbus-send --session --print-reply --dest=org.a11y.Bus /org/a11y/bus \
    org.freedesktop.DBus.Properties.Set string:org.a11y.Status string:IsEnabled variant:boolean:true >/dev/null
  sleep 1
  status=0
  cargo test --quiet --test desktop_smoke -- --ignored --nocapture || status=$?
  kill $xvfb 2>/dev/null || true
  exit $status
'
