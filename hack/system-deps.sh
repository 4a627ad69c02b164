#!/usr/bin/env bash
# Installs the Debian packages kubeweft's tests need, only when they are missing.
set -euo pipefail
need=()
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then need+=(postgresql); fi
if ! command -v go >/dev/null; then need+=(golang-go); fi
# The dashboard's browser tests (tests/e2e/test_dashboard.py): headless Chromium.
if ! command -v chromium >/dev/null; then need+=(chromium); fi
if ! command -v chromedriver >/dev/null; then need+=(chromium-driver); fi
if ((${#need[@]})); then
  echo "system-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian package starts a system cluster; tests run their own private one.
  if command -v pg_ctlcluster >/dev/null; then service postgresql stop >/dev/null 2>&1 || true; fi
fi
