#!/usr/bin/env bash
# Renders the SVG sources in this folder to the PNGs under png/.
# Usage: bash icons/render.sh   (from anywhere; needs rsvg-convert from librsvg2-bin)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/png"

if ! command -v rsvg-convert >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing librsvg2-bin (rsvg-convert)" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends librsvg2-bin >/dev/null
    else
        echo "rsvg-convert is missing: install librsvg2-bin (sudo apt-get install librsvg2-bin)" >&2
        exit 1
    fi
fi

mkdir -p "$out"

render() { # render SOURCE.svg SIZE OUTPUT.png
    rsvg-convert --width "$2" --height "$2" --keep-aspect-ratio --format png \
        --output "$3" "$here/$1"
}

for size in 16 22 24 32 48 64 128 256 512; do
    render app.svg "$size" "$out/app-$size.png"
done

for state in running stopped degraded error; do
    for size in 22 32 64; do
        render "tray-$state.svg" "$size" "$out/tray-$state-$size.png"
    done
done

echo "wrote $(find "$out" -name '*.png' | wc -l) PNGs to $out" >&2
