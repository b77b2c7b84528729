#!/usr/bin/env bash
# Installs Switchyard for the current user, without root:
#   ~/.local/bin/switchyard                         the program
#   ~/.local/bin/switchyard-uninstall               removes it again (this tarball's uninstall.sh)
#   $XDG_DATA_HOME/applications/switchyard.desktop  the menu entry (Exec = the absolute path, quoted)
#   $XDG_DATA_HOME/icons/hicolor/*/apps/switchyard.*
#   $XDG_DATA_HOME/switchyard/installed-files       what was installed, for the uninstaller
# ($XDG_DATA_HOME defaults to ~/.local/share.) Running it again updates the
# install in place. Your settings and accounts are not touched.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<'EOF'
Usage: ./install.sh

Installs Switchyard for the current user under ~/.local (no root needed).
Remove it with `switchyard-uninstall` (or ./uninstall.sh); add --purge there
to delete your settings and accounts too.
EOF
}
case "${1:-}" in
  "") ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac

die() {
  echo "install.sh: error: $*" >&2
  exit 1
}

# --- where things go (the same rules as uninstall.sh) -----------------------
[ -n "${HOME:-}" ] && [ "${HOME:0:1}" = / ] || die "HOME is not set to an absolute path"
case "$HOME" in *$'\n'* | *$'\t'*) die "HOME contains a newline or tab; a menu entry cannot name such a path" ;; esac
# The XDG Base Directory spec: a relative value is ignored.
data_home="${XDG_DATA_HOME:-}"
[ "${data_home:0:1}" = / ] || data_home="$HOME/.local/share"
bin_dir="$HOME/.local/bin"
app_dir="$data_home/applications"
icon_dir="$data_home/icons/hicolor"
state_dir="$data_home/switchyard"
manifest="$state_dir/installed-files"
bin="$bin_dir/switchyard"

# One argument of a .desktop Exec= value, as the Desktop Entry spec wants it
# in the file: in double quotes, with ", `, $ and \ escaped by a backslash and
# % doubled, and then every backslash doubled once more (the escaping of all
# string values). The same rule the app uses for its launch-at-login entry.
desktop_exec_arg() {
  local in="$1" out='"' c i
  for ((i = 0; i < ${#in}; i++)); do
    c="${in:i:1}"
    case "$c" in
      '"') out+='\\"' ;;
      '`') out+='\\`' ;;
      '$') out+='\\$' ;;
      \\) out+='\\\\' ;;
      %) out+='%%' ;;
      *) out+="$c" ;;
    esac
  done
  printf '%s"' "$out"
}

# --- what is being installed ------------------------------------------------
for f in bin/switchyard share/applications/switchyard.desktop share/icons/hicolor uninstall.sh; do
  [ -e "$here/$f" ] || die "$here/$f is missing: run install.sh from the unpacked tarball"
done
version="$("$here/bin/switchyard" --version 2>&1)" ||
  die "$here/bin/switchyard does not run on this machine ($version)"
echo "Installing $version for $(id -un 2>/dev/null || id -u) (no root needed)"
[ "$(id -u)" -ne 0 ] || echo "  note: you are root, so this installs into root's home, $HOME"

# --- bookkeeping ------------------------------------------------------------
# The manifest lists every file installed ("f<TAB>path") and every folder
# created ("d<TAB>path"), so the uninstaller removes exactly those. Folders
# created by an earlier run stay recorded when this run finds them present.
declare -a files=() dirs=()
declare -A old_files=()
if [ -f "$manifest" ]; then
  while IFS=$'\t' read -r kind path; do
    case "$kind" in
      d) dirs+=("$path") ;;
      f) old_files["$path"]=1 ;;
    esac
  done <"$manifest"
fi

# mkdir -p that records each folder it creates.
make_dir() {
  local dir="$1" missing=() d
  d="$dir"
  while [ ! -d "$d" ]; do
    missing=("$d" "${missing[@]}")
    d="$(dirname "$d")"
  done
  for d in "${missing[@]}"; do
    mkdir -m 0755 "$d"
    dirs+=("$d")
  done
}

# Copies SOURCE to DEST (mode MODE) through a temporary file and a rename, so
# a running copy of the old binary is never overwritten in place.
put() {
  local source="$1" dest="$2" mode="$3"
  make_dir "$(dirname "$dest")"
  cp -- "$source" "$dest.tmp.$$"
  chmod "$mode" "$dest.tmp.$$"
  mv -f -- "$dest.tmp.$$" "$dest"
  files+=("$dest")
  unset 'old_files[$dest]'
}

# --- install ----------------------------------------------------------------
put "$here/bin/switchyard" "$bin" 0755
put "$here/uninstall.sh" "$bin_dir/switchyard-uninstall" 0755

# The menu entry: the template with Exec= naming the installed binary.
exec_arg="$(desktop_exec_arg "$bin")"
entry_tmp="$(mktemp)"
trap 'rm -f "$entry_tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    Exec=*) printf 'Exec=%s\n' "$exec_arg" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$here/share/applications/switchyard.desktop" >"$entry_tmp"
put "$entry_tmp" "$app_dir/switchyard.desktop" 0644

while IFS= read -r -d '' icon; do
  put "$icon" "$icon_dir/${icon#"$here/share/icons/hicolor/"}" 0644
done < <(find "$here/share/icons/hicolor" -type f -name 'switchyard.*' -print0 | sort -z)

# Files an earlier version installed that this one does not ship any more.
for path in "${!old_files[@]}"; do
  if [ -e "$path" ] || [ -L "$path" ]; then
    rm -f -- "$path"
    echo "  removed $path (no longer shipped)"
  fi
done

make_dir "$state_dir"
{
  for d in "${dirs[@]}"; do printf 'd\t%s\n' "$d"; done | awk '!seen[$0]++'
  for f in "${files[@]}"; do printf 'f\t%s\n' "$f"; done
} >"$manifest.tmp.$$"
mv -f -- "$manifest.tmp.$$" "$manifest"

# Menus and icon themes notice new files by their folders' times; touching
# the theme folder is what the icon theme spec asks of installers. (No
# update-desktop-database: the entry declares no MimeType, and its cache file
# would be one more file to leave behind.)
touch "$icon_dir"

# --- report -----------------------------------------------------------------
echo "  $bin"
echo "  $bin_dir/switchyard-uninstall"
echo "  $app_dir/switchyard.desktop   (menu entry: Exec=$exec_arg)"
echo "  $icon_dir/…/apps/switchyard.{png,svg}   ($(printf '%s\n' "${files[@]}" | grep -c '/apps/switchyard\.') icons)"
echo "  $manifest   (the list of installed files)"
echo "Done. Start Switchyard from your applications menu, or run: switchyard"
echo "Launch at login: the tray menu's \"Launch at login\", or: switchyard config set desktop.launch_at_login true"
case ":${PATH:-}:" in
  *":$bin_dir:"* | *":$bin_dir/:"*) ;;
  *)
    echo
    echo "$bin_dir is not on your PATH, so the command \`switchyard\` is not found yet"
    echo "(the menu entry works anyway). Many distributions add it at your next login"
    echo "once the folder exists; otherwise add this line to ~/.profile (or ~/.bashrc, ~/.zshrc):"
    echo "  export PATH=\"\$HOME/.local/bin:\$PATH\""
    ;;
esac
echo "Remove it with: switchyard-uninstall   (add --purge to also delete your settings and accounts)"
