#!/usr/bin/env bash
# The packaging check CI runs (last step of scripts/test.sh), as root on
# Debian/Ubuntu:
#   1. desktop-file-validate accepts the menu entry;
#   2. the .deb builds, installs with dpkg -i, the INSTALLED /usr/bin/switchyard
#      prints the Cargo version and answers /healthz from `switchyard serve`,
#      and dpkg -r removes every file of the package;
#   3. the tarball's install.sh / uninstall.sh work for a user without root
#      (run as `nobody` when possible) in a temporary HOME with a space in it:
#      quoted Exec=, nothing left after uninstall, user data kept without
#      --purge and deleted with it, XDG_DATA_HOME / XDG_CONFIG_HOME honoured.
# It never touches the real ~ (the user flows run under `env -i HOME=...`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/setup-deps.sh
source packaging/linux/common.sh

fail() {
  echo "packaging check: FAILED: $*" >&2
  exit 1
}
step() { echo "--> $*"; }
indent() { sed 's/^/      /'; }

missing=()
command -v desktop-file-validate >/dev/null 2>&1 || missing+=(desktop-file-utils)
command -v objdump >/dev/null 2>&1 || missing+=(binutils)
command -v dpkg-deb >/dev/null 2>&1 || fail "dpkg-deb is missing: this check runs on Debian or Ubuntu"
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

VERSION="$(cargo_version)"
WORK="$(mktemp -d /tmp/switchyard-pkg.XXXXXX)"
chmod 0755 "$WORK"
serve_pid=""
deb_installed_by_us=false
cleanup() {
  local status=$?
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then kill -KILL "$serve_pid" 2>/dev/null || true; fi
  if $deb_installed_by_us && dpkg-query -W -f='${db:Status-Status}' switchyard 2>/dev/null | grep -qx installed; then
    echo "(removing the switchyard package this check installed)" >&2
    as_root dpkg -r switchyard >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

# desktop-file-validate exits 0 with hints; errors and warnings fail here.
# A hint already shown for an earlier file is not repeated.
shown_hints=""
validate_desktop() {
  local file="$1" out hints
  out="$(desktop-file-validate "$file" 2>&1)" || {
    echo "$out" | indent
    fail "desktop-file-validate rejects $file"
  }
  if echo "$out" | grep -Eq '(error|warning):'; then
    echo "$out" | indent
    fail "desktop-file-validate complains about $file"
  fi
  hints="$(echo "$out" | sed -n 's/^[^:]*: hint: //p')"
  if [ -n "$hints" ] && [ "$hints" != "$shown_hints" ]; then
    echo "$hints" | sed 's/^/      hint (not an error): /'
    shown_hints="$hints"
  fi
  echo "    desktop-file-validate: $file accepted"
}

# ============================================================================
step "desktop-file-validate packaging/linux/switchyard.desktop"
validate_desktop packaging/linux/switchyard.desktop

# ============================================================================
step "build the .deb"
bash packaging/linux/build-deb.sh | tee "$WORK/build-deb.out"
deb="$(tail -n 1 "$WORK/build-deb.out")"
[ -f "$deb" ] || fail "build-deb.sh made no .deb"
arch="$(dpkg --print-architecture)"
[ "$(basename "$deb")" = "switchyard_${VERSION//-/\~}_${arch}.deb" ] || fail "unexpected name $deb"
[ "$(dpkg-deb -f "$deb" Version)" = "${VERSION//-/\~}" ] || fail "the .deb's Version is not $VERSION"
contents="$(dpkg-deb -c "$deb")"
for path in ./usr/bin/switchyard ./usr/share/applications/switchyard.desktop \
  ./usr/share/icons/hicolor/scalable/apps/switchyard.svg ./usr/share/doc/switchyard/copyright; do
  grep -q " $path\$" <<<"$contents" || fail "$path is not in the .deb"
done
if grep -v ' root/root ' <<<"$contents" | grep -q .; then fail "files in the .deb not owned by root/root"; fi
echo "    depends: $(dpkg-deb -f "$deb" Depends)"

step "dpkg -i $(basename "$deb")"
if dpkg-query -W -f='${db:Status-Status}' switchyard 2>/dev/null | grep -qx installed; then
  echo "    switchyard $(dpkg-query -W -f='${Version}' switchyard) is already installed here: replacing it (it is removed again at the end)"
fi
deb_installed_by_us=true
as_root dpkg -i "$deb" 2>&1 | indent
dpkg-query -W -f='${db:Status-Status}' switchyard | grep -qx installed || fail "dpkg -i did not install switchyard"
package_files="$(dpkg -L switchyard)"

step "the installed binary"
[ "$(command -v switchyard)" = /usr/bin/switchyard ] || fail "switchyard on PATH is $(command -v switchyard), not /usr/bin/switchyard"
reported="$(/usr/bin/switchyard --version)"
[ "$reported" = "switchyard $VERSION" ] || fail "/usr/bin/switchyard --version says '$reported', expected 'switchyard $VERSION'"
echo "    /usr/bin/switchyard --version: $reported"
validate_desktop /usr/share/applications/switchyard.desktop
for size in $(icon_sizes); do
  [ -f "/usr/share/icons/hicolor/${size}x${size}/apps/switchyard.png" ] || fail "icon ${size}x${size} not installed"
done

step "switchyard serve smoke request (/healthz)"
smoke_home="$WORK/serve-home"
mkdir "$smoke_home"
SWITCHYARD_HOME="$smoke_home" RUST_LOG=switchyard=info /usr/bin/switchyard serve --port 0 2>"$WORK/serve.log" &
serve_pid=$!
addr=""
for _ in $(seq 300); do
  addr="$(grep -o 'listening on http://[^ ]*' "$WORK/serve.log" | head -n 1 | sed 's|.*http://||')" || true
  [ -n "$addr" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { indent <"$WORK/serve.log"; fail "switchyard serve exited before listening"; }
  sleep 0.1
done
[ -n "$addr" ] || { indent <"$WORK/serve.log"; fail "switchyard serve did not log 'listening on' within 30 s"; }
health="$(curl -fsS --max-time 10 "http://$addr/healthz")" || { indent <"$WORK/serve.log"; fail "GET http://$addr/healthz failed"; }
echo "    GET http://$addr/healthz -> $health"
grep -q '"status":"ok"' <<<"$health" || fail "/healthz did not say status ok"
grep -q "\"version\":\"$VERSION\"" <<<"$health" || fail "/healthz did not report version $VERSION"
kill -TERM "$serve_pid"
serve_status=0
for _ in $(seq 100); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$serve_pid" 2>/dev/null && fail "switchyard serve did not stop within 10 s of SIGTERM"
wait "$serve_pid" || serve_status=$?
serve_pid=""
[ "$serve_status" -eq 0 ] || { indent <"$WORK/serve.log"; fail "switchyard serve exited with $serve_status after SIGTERM"; }
echo "    stopped by SIGTERM, exit status 0"

step "dpkg -r switchyard"
as_root dpkg -r switchyard 2>&1 | indent
deb_installed_by_us=false
if dpkg -s switchyard >/dev/null 2>&1; then
  fail "dpkg -s still knows switchyard after dpkg -r: $(dpkg-query -W -f='${Status}' switchyard)"
fi
left=()
while IFS= read -r path; do
  [ -n "$path" ] && [ "$path" != /. ] || continue
  if [ -d "$path" ] && [ ! -L "$path" ]; then
    # A folder stays when something else is in it or another package owns it.
    if [ -z "$(ls -A "$path")" ] && ! dpkg -S "$path" >/dev/null 2>&1; then left+=("$path (empty folder)"); fi
  elif [ -e "$path" ] || [ -L "$path" ]; then
    left+=("$path")
  fi
done <<<"$package_files"
if compgen -G "/var/lib/dpkg/info/switchyard.*" >/dev/null; then left+=(/var/lib/dpkg/info/switchyard.*); fi
[ "${#left[@]}" -eq 0 ] || fail "left behind by dpkg -r: ${left[*]}"
echo "    every one of the package's $(grep -c . <<<"$package_files") paths is gone (shared folders aside); dpkg -s: not installed"

# ============================================================================
step "build the tarball"
bash packaging/linux/build-tarball.sh | tee "$WORK/build-tarball.out"
tarball="$(tail -n 1 "$WORK/build-tarball.out")"
name="$(basename "$tarball" .tar.gz)"
[ "$name" = "switchyard-$VERSION-linux-$(uname -m)" ] || fail "unexpected name $tarball"
tar -xzf "$tarball" -C "$WORK"
dist="$WORK/$name"
for path in bin/switchyard share/applications/switchyard.desktop share/icons/hicolor/scalable/apps/switchyard.svg \
  LICENSE README.txt install.sh uninstall.sh; do
  [ -e "$dist/$path" ] || fail "$path is not in the tarball"
done
validate_desktop "$dist/share/applications/switchyard.desktop"
n_icons="$(find "$dist/share/icons" -type f | wc -l)"

# The user flows run with nothing of this environment but HOME (and the XDG
# folders a test sets), as `nobody` when this runs as root: no root needed.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && id nobody >/dev/null 2>&1; then
  run_user_prefix=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
  user_name=nobody
else
  run_user_prefix=()
  user_name="$(id -un)"
fi
# run_user HOME [VAR=value ...] -- COMMAND ...
run_user() {
  local home="$1" vars=()
  shift
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  "${run_user_prefix[@]}" env -i HOME="$home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "${vars[@]}" "$@"
}
new_home() {
  mkdir -p "$1"
  if [ "$user_name" = nobody ]; then chown -R nobody:"$(id -gn nobody)" "$(dirname "$1")"; fi
}
snapshot() { (cd "$1" && find . -mindepth 1 -printf '%y %p\n' | LC_ALL=C sort); }
same_tree() {
  local before="$1" home="$2" what="$3" now
  now="$(snapshot "$home")"
  if [ "$now" != "$before" ]; then
    diff <(printf '%s\n' "$before") <(printf '%s\n' "$now") | indent || true
    fail "$what: the home folder differs from before the install (< before, > now)"
  fi
}

# --- A: plain install, reinstall, uninstall, uninstall again ---------------
home="$WORK/x y/home"
step "tarball, user $user_name, HOME=\"$home\": install.sh"
new_home "$home"
before="$(snapshot "$home")"
run_user "$home" -- bash "$dist/install.sh" >"$WORK/install.out" 2>&1 || { indent <"$WORK/install.out"; fail "install.sh failed"; }
indent <"$WORK/install.out"
grep -q 'is not on your PATH' "$WORK/install.out" || fail "install.sh did not say how to put ~/.local/bin on PATH"
bin="$home/.local/bin/switchyard"
reported="$(run_user "$home" -- "$bin" --version)"
[ "$reported" = "switchyard $VERSION" ] || fail "the installed $bin --version says '$reported'"
echo "    installed binary --version: $reported"
entry="$home/.local/share/applications/switchyard.desktop"
exec_line="$(grep '^Exec=' "$entry")"
[ "$exec_line" = "Exec=\"$bin\"" ] || fail "menu entry has $exec_line, expected Exec=\"$bin\""
echo "    menu entry: $exec_line"
validate_desktop "$entry"
[ "$(find "$home/.local/share/icons" -type f -name 'switchyard.*' | wc -l)" -eq "$n_icons" ] || fail "not all $n_icons icons were installed"
manifest_first="$(cat "$home/.local/share/switchyard/installed-files")"
installed_tree="$(snapshot "$home")"

step "install.sh again (idempotent)"
run_user "$home" -- bash "$dist/install.sh" >"$WORK/install.out" 2>&1 || { indent <"$WORK/install.out"; fail "install.sh failed the second time"; }
[ "$(cat "$home/.local/share/switchyard/installed-files")" = "$manifest_first" ] || fail "a second install.sh changed the file list"
same_tree "$installed_tree" "$home" "install.sh twice"
echo "    same files, same list"

step "switchyard-uninstall"
run_user "$home" -- "$home/.local/bin/switchyard-uninstall" 2>&1 | indent
same_tree "$before" "$home" "after switchyard-uninstall"
echo "    nothing left: the home folder is as before the install"
step "uninstall.sh again (nothing installed)"
run_user "$home" -- bash "$dist/uninstall.sh" 2>&1 | indent
same_tree "$before" "$home" "after a second uninstall"

# --- B: with user data and launch at login ----------------------------------
home="$WORK/x y/home \$data 100%"
step "tarball, HOME=\"$home\" with other apps' entries: install, launch at login, user data"
new_home "$home"
mkdir -p "$home/.config/autostart" "$home/.local/share/applications"
printf '[Desktop Entry]\nType=Application\nName=Other\nExec=other\n' >"$home/.config/autostart/other.desktop"
cp "$home/.config/autostart/other.desktop" "$home/.local/share/applications/other.desktop"
new_home "$home"
before="$(snapshot "$home")"
run_user "$home" -- bash "$dist/install.sh" >"$WORK/install.out" 2>&1 || { indent <"$WORK/install.out"; fail "install.sh failed"; }
bin="$home/.local/bin/switchyard"
run_user "$home" -- "$bin" config set desktop.launch_at_login true 2>&1 | indent
run_user "$home" -- "$bin" accounts list 2>&1 | indent
autostart="$home/.config/autostart/switchyard.desktop"
[ -f "$autostart" ] || fail "launch at login wrote no $autostart"
menu_exec="$(grep '^Exec=' "$home/.local/share/applications/switchyard.desktop")"
login_exec="$(grep '^Exec=' "$autostart")"
# The app and install.sh quote the same path the same way.
[ "$login_exec" = "$menu_exec --hidden" ] || fail "launch-at-login entry has $login_exec, the menu entry $menu_exec"
echo "    launch at login: $login_exec"
validate_desktop "$home/.local/share/applications/switchyard.desktop"
config="$home/.config/switchyard/config.toml"
db="$home/.local/share/switchyard/switchyard.db"
[ -f "$config" ] && [ -f "$db" ] || fail "no user data made ($config, $db)"
config_sum="$(sha256sum <"$config")"

step "switchyard-uninstall (no --purge): the install and the login entry go, user data stays"
run_user "$home" -- "$home/.local/bin/switchyard-uninstall" 2>&1 | indent
[ ! -e "$autostart" ] || fail "the launch-at-login entry is still there"
[ -f "$home/.config/autostart/other.desktop" ] && [ -f "$home/.local/share/applications/other.desktop" ] ||
  fail "another app's entry was removed"
[ -f "$config" ] && [ "$(sha256sum <"$config")" = "$config_sum" ] || fail "config.toml was removed or changed"
[ -f "$db" ] || fail "the database was removed"
extra="$(comm -13 <(echo "$before") <(snapshot "$home") |
  grep -Ev '^. \./(\.config/switchyard|\.local/share/switchyard)(/|$)' || true)"
[ -z "$extra" ] || fail "left behind besides user data: $extra"
gone="$(comm -23 <(echo "$before") <(snapshot "$home"))"
[ -z "$gone" ] || fail "removed what was there before: $gone"
echo "    kept: config.toml, switchyard.db; nothing else left"

step "uninstall.sh --purge: user data goes"
run_user "$home" -- bash "$dist/uninstall.sh" --purge 2>&1 | indent
same_tree "$before" "$home" "after uninstall.sh --purge"
echo "    the home folder is as before the install"

# --- C: XDG_DATA_HOME and XDG_CONFIG_HOME -----------------------------------
home="$WORK/x y/home xdg"
step "tarball, XDG_DATA_HOME and XDG_CONFIG_HOME set: install, launch at login, uninstall --purge"
new_home "$home"
mkdir -p "$home/xdg data" "$home/xdg config/autostart"
new_home "$home"
xdg=(XDG_DATA_HOME="$home/xdg data" XDG_CONFIG_HOME="$home/xdg config")
before="$(snapshot "$home")"
run_user "$home" "${xdg[@]}" -- bash "$dist/install.sh" >"$WORK/install.out" 2>&1 || { indent <"$WORK/install.out"; fail "install.sh failed"; }
[ -f "$home/xdg data/applications/switchyard.desktop" ] || fail "XDG_DATA_HOME not honoured (no menu entry there)"
[ ! -e "$home/.local/share" ] || fail "XDG_DATA_HOME not honoured (~/.local/share was made)"
run_user "$home" "${xdg[@]}" -- "$home/.local/bin/switchyard" config set desktop.launch_at_login true 2>&1 | indent
[ -f "$home/xdg config/autostart/switchyard.desktop" ] || fail "no launch-at-login entry under XDG_CONFIG_HOME"
run_user "$home" "${xdg[@]}" -- "$home/.local/bin/switchyard-uninstall" --purge 2>&1 | indent
same_tree "$before" "$home" "XDG install after uninstall --purge"
echo "    the home folder is as before the install"

echo "packaging check: OK (.deb installed, smoke-tested and removed; tarball install/uninstall as $user_name)"
