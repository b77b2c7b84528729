#!/usr/bin/env bash
# Removes what install.sh installed for the current user (the files listed in
# $XDG_DATA_HOME/switchyard/installed-files, and the folders it created when
# they are empty), and the launch-at-login entry when it starts that binary.
# Your settings and accounts stay, unless --purge is given.
# Installed as ~/.local/bin/switchyard-uninstall; also uninstall.sh in the tarball.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: switchyard-uninstall [--purge] [--yes]

Removes Switchyard installed by install.sh from ~/.local, and its
launch-at-login entry. Settings, accounts and the request log are kept.

  --purge   also delete your settings, accounts and request log
            (~/.config/switchyard and ~/.local/share/switchyard)
  --yes     do not ask before --purge deletes them (it only asks on a terminal)
EOF
}
purge=false
yes=false
for arg in "$@"; do
  case "$arg" in
    --purge) purge=true ;;
    --yes | -y) yes=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

die() {
  echo "uninstall: error: $*" >&2
  exit 1
}

# --- where things are (the same rules as install.sh) ------------------------
[ -n "${HOME:-}" ] && [ "${HOME:0:1}" = / ] || die "HOME is not set to an absolute path"
data_home="${XDG_DATA_HOME:-}"
[ "${data_home:0:1}" = / ] || data_home="$HOME/.local/share"
config_home="${XDG_CONFIG_HOME:-}"
[ "${config_home:0:1}" = / ] || config_home="$HOME/.config"
bin_dir="$HOME/.local/bin"
app_dir="$data_home/applications"
icon_dir="$data_home/icons/hicolor"
state_dir="$data_home/switchyard"
manifest="$state_dir/installed-files"
bin="$bin_dir/switchyard"
autostart="$config_home/autostart/switchyard.desktop"
# The app's own folders (what --purge deletes); SWITCHYARD_HOME is not ours to touch.
user_dirs=("$config_home/switchyard" "$data_home/switchyard")

# The same quoting install.sh and the app use for an Exec= argument.
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

# PIDs of processes running PATH (also once PATH is deleted).
running_from() {
  local path="$1" exe proc
  for proc in /proc/[0-9]*; do
    exe="$(readlink "$proc/exe" 2>/dev/null)" || continue
    [ "$exe" = "$path" ] || [ "$exe" = "$path (deleted)" ] || continue
    echo "${proc#/proc/}"
  done
}

# --- what was installed -----------------------------------------------------
declare -a files=() dirs=()
if [ -f "$manifest" ]; then
  while IFS=$'\t' read -r kind path; do
    case "$kind" in
      f) files+=("$path") ;;
      d) dirs+=("$path") ;;
    esac
  done <"$manifest"
  files+=("$manifest")
else
  # No manifest (deleted by hand?): the fixed names install.sh uses. Folders
  # are then left as they are.
  for f in "$bin" "$bin_dir/switchyard-uninstall" "$app_dir/switchyard.desktop" \
    "$icon_dir"/*/apps/switchyard.png "$icon_dir"/*/apps/switchyard.svg; do
    if [ -e "$f" ]; then files+=("$f"); fi
  done
fi
installed=false
for f in "${files[@]}"; do
  if [ -e "$f" ] || [ -L "$f" ]; then installed=true; fi
done

pids="$(running_from "$bin" | paste -sd ' ')"
if [ -n "$pids" ]; then
  if $purge; then
    die "Switchyard is running from $bin (pid $pids): quit it first (tray menu › Quit), then run this again"
  fi
  echo "note: Switchyard is still running from $bin (pid $pids); it keeps running until you quit it (tray menu › Quit)."
fi

# --- remove the install -----------------------------------------------------
if $installed; then
  echo "Removing the Switchyard that install.sh installed (the files listed in $manifest)"
  removed=0
  for f in "${files[@]}"; do
    if [ -e "$f" ] || [ -L "$f" ]; then
      rm -f -- "$f"
      removed=$((removed + 1))
    fi
  done
  echo "  removed $removed files (binary, uninstaller, menu entry, icons, file list)"
  # Folders install.sh created, deepest first, when nothing else is in them.
  kept=()
  for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
    d="${dirs[i]}"
    [ -d "$d" ] || continue
    if rmdir -- "$d" 2>/dev/null; then :; else kept+=("$d"); fi
  done
  if [ "${#kept[@]}" -gt 0 ]; then
    echo "  kept folders it had created that now hold other files: ${kept[*]}"
  fi
  # The menu notices the entry is gone by the folder's time; so do icon themes.
  if [ -d "$icon_dir" ]; then touch "$icon_dir"; fi
else
  echo "No Switchyard installed by install.sh here (no $manifest): nothing to remove."
fi

# --- launch at login --------------------------------------------------------
# The app writes Exec=<quoted path> --hidden. Only an entry that starts this
# install's binary is removed; one for another copy (e.g. /usr/bin/switchyard
# from the .deb) is that copy's.
if [ -f "$autostart" ]; then
  exec_line="$(sed -n '/^\[Desktop Entry\]/,/^\[/{s/^Exec[[:space:]]*=[[:space:]]*//p}' "$autostart" | head -n 1)"
  ours=false
  candidates=("$bin")
  real="$(readlink -f -- "$bin_dir" 2>/dev/null || true)"
  if [ -n "$real" ]; then candidates+=("$real/switchyard"); fi
  for candidate in "${candidates[@]}"; do
    for form in "$(desktop_exec_arg "$candidate")" "$candidate"; do
      case "$exec_line" in "$form" | "$form "*) ours=true ;; esac
    done
  done
  if $ours; then
    rm -f -- "$autostart"
    echo "  removed the launch-at-login entry $autostart"
  else
    echo "  left the launch-at-login entry $autostart: it starts another copy (Exec=$exec_line)"
  fi
fi

# --- settings and accounts --------------------------------------------------
present=()
for d in "${user_dirs[@]}"; do
  if [ -e "$d" ]; then present+=("$d"); fi
done
if ! $purge; then
  if [ "${#present[@]}" -gt 0 ]; then
    echo "Your settings, accounts and request log are kept in:"
    for d in "${present[@]}"; do echo "  $d"; done
    echo "To delete them too: run uninstall.sh --purge from the tarball, or: rm -rf$(printf ' %q' "${present[@]}")"
  fi
  echo "Done."
  exit 0
fi

if [ "${#present[@]}" -eq 0 ]; then
  echo "--purge: no settings or accounts to delete."
  echo "Done."
  exit 0
fi
echo
echo "--purge deletes your Switchyard settings, accounts (with their refresh tokens),"
echo "API key and request log, for good:"
for d in "${present[@]}"; do echo "  $d"; done
if [ -n "${SWITCHYARD_HOME:-}" ]; then
  echo "(SWITCHYARD_HOME=$SWITCHYARD_HOME is set; that folder is not touched.)"
fi
if ! $yes && [ -t 0 ]; then
  read -r -p "Type 'yes' to delete them: " answer
  [ "$answer" = yes ] || die "nothing deleted"
fi
for d in "${present[@]}"; do
  rm -rf -- "$d"
  echo "  deleted $d"
done
echo "Done."
