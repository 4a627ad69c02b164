#!/usr/bin/env bash
# Installs the Debian packages the tests need, only when they are missing: PostgreSQL
# (kubeweft's pytest plugin starts a private server) and Go (`kubeweft cluster build`
# compiles the local control plane once). Each argument adds a package the project's
# own tests need, as PACKAGE or PACKAGE:COMMAND when the command it installs has
# another name (e.g. `chromium chromium-driver:chromedriver`).
# Written by `kubeweft init`; kubeweft's own hack/system-deps.sh is this same file.
set -euo pipefail
need=()
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then need+=(postgresql); fi
if ! command -v go >/dev/null; then need+=(golang-go); fi
for extra in "$@"; do
  if ! command -v "${extra#*:}" >/dev/null; then need+=("${extra%%:*}"); fi
done
if ((${#need[@]})); then
  echo "system-deps: installing ${need[*]}" >&2
  sudo=()
  if ((EUID != 0)); then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian package starts a system cluster; the tests run their own private one.
  if command -v pg_ctlcluster >/dev/null; then
    "${sudo[@]}" service postgresql stop >/dev/null 2>&1 || true
  fi
fi
