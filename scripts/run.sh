#!/usr/bin/env bash
# Builds and runs Switchyard (release build). Arguments go to switchyard:
#   bash scripts/run.sh serve          # the gateway, headless
#   bash scripts/run.sh accounts add --refresh-token -
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-deps.sh
exec cargo run --release --quiet -- "$@"
