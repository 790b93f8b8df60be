#!/usr/bin/env bash
# Debian's Chromium for the headless browser tests (Playwright drives it through
# executable_path; Playwright never downloads a browser of its own here).
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ERROR: /usr/bin/chromium is missing; install Debian's chromium package (as root: apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-noto-core fonts-noto-ui-core >/dev/null
test -x /usr/bin/chromium
