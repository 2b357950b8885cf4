#!/usr/bin/env bash
# The console's browser tests drive Debian's chromium (Playwright's own browser download does not
# work here). Installed from Debian's packages when missing and we are root (CI starts clean).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "chromium not found: installing it from Debian's packages"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || { echo "could not install chromium" >&2; exit 1; }
else
  echo "chromium is missing (apt-get install chromium); the browser tests will fail" >&2
fi
