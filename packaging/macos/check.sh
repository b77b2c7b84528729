#!/usr/bin/env bash
# The macOS bundle, checked as far as Linux allows (scripts/xplat.sh runs
# this): make-app.sh --layout-only assembles Switchyard.app around a stand-in
# executable (no macOS binary can be linked here), then the layout and the
# Info.plist are checked: the executable where CFBundleExecutable says, the
# bundle id notifications are sent as (src/desktop/notify.rs), no Dock icon
# (LSUIElement), versions from Cargo.toml, every icon size iconutil needs.
# What needs macOS — the .icns, the signature, notarization — is not checked.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version=$(grep -m1 '^version' "$root/Cargo.toml" | cut -d'"' -f2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '#!/bin/sh\necho "switchyard %s"\n' "$version" >"$work/switchyard"
chmod +x "$work/switchyard"
bash "$root/packaging/macos/make-app.sh" --layout-only --binary "$work/switchyard" >/dev/null
python3 - "$root/target/package" "$version" <<'PY'
import os, plistlib, sys
out, version = sys.argv[1], sys.argv[2]
app = os.path.join(out, "Switchyard.app", "Contents")
info = plistlib.load(open(os.path.join(app, "Info.plist"), "rb"))
problems = []
def want(key, value):
    if info.get(key) != value:
        problems.append(f"Info.plist {key} = {info.get(key)!r}, want {value!r}")
want("CFBundleIdentifier", "dev.switchyard.app")
want("CFBundleExecutable", "switchyard")
want("CFBundlePackageType", "APPL")
want("LSUIElement", True)
want("CFBundleShortVersionString", version)
want("CFBundleVersion", version.split("-")[0].split("+")[0])
exe = os.path.join(app, "MacOS", info.get("CFBundleExecutable", "?"))
if not os.access(exe, os.X_OK):
    problems.append(f"{exe} is not an executable")
if open(os.path.join(app, "PkgInfo")).read() != "APPL????":
    problems.append("PkgInfo is not APPL????")
iconset = os.path.join(out, "switchyard.iconset")
for name in ["16x16", "16x16@2x", "32x32", "32x32@2x", "128x128", "128x128@2x",
             "256x256", "256x256@2x", "512x512"]:
    if not os.path.isfile(os.path.join(iconset, f"icon_{name}.png")):
        problems.append(f"iconset lacks icon_{name}.png")
for key in ["CFBundleIconFile", "LSMinimumSystemVersion", "NSHighResolutionCapable"]:
    if key not in info:
        problems.append(f"Info.plist has no {key}")
if problems:
    sys.exit("macOS bundle check failed:\n  " + "\n  ".join(problems))
print(f"macOS bundle check: OK (Switchyard.app {version}: layout, Info.plist, iconset)")
PY
