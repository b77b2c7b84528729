#!/usr/bin/env bash
# The test command (README, and .ci/run): installs what the tests need, then
# checks formatting, lints, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup-deps.sh

# The official SDKs for the compatibility tests, pinned, in a private venv.
if ! python3 -m venv --help >/dev/null 2>&1; then apt_install python3 python3-venv; fi
venv=.venv-sdk
stamp="$venv/.installed-$(sha256sum tests/sdk/requirements.txt | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing the SDKs for the compatibility tests into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
  touch "$stamp"
fi
export SWITCHYARD_SDK_PYTHON="$PWD/$venv/bin/python"

# A real browser for the cross-site test (tests/browser.rs).
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Chromium for the browser test"
  apt_install chromium
fi
SWITCHYARD_CHROMIUM="$(command -v chromium)"
export SWITCHYARD_CHROMIUM

echo "==> cargo fmt --check"
cargo fmt --check
echo "==> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
echo "==> cargo test"
cargo test --quiet 2>&1

echo "==> desktop smoke test (Xvfb, D-Bus session, dunst, tray host)"
SMOKE_OUT="$PWD/target/desktop-smoke" bash scripts/desktop-smoke.sh

echo "==> packaging check"
bash packaging/linux/check.sh

echo "==> macOS and Windows checks (scripts/xplat.sh; scratch folder outside the clone)"
bash scripts/xplat.sh
