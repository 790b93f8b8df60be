#!/usr/bin/env bash
# Install Debian's Dovecot IMAP server for the email-channel tests, if it is missing.
#
# The tests never use the system service: each test session starts its own dovecot on
# a free 127.0.0.1 port with a generated config in a temp dir (tests/channels/
# email_servers.py). So the package's maintainer scripts must not start the system
# daemon either: a temporary policy-rc.d (exit 101 = "action forbidden") tells
# invoke-rc.d to leave it stopped. Idempotent and quiet when already installed.
set -euo pipefail

have_dovecot() { command -v dovecot >/dev/null 2>&1 && [ -x /usr/lib/dovecot/imap ]; }

if have_dovecot; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-dovecot: dovecot-imapd is missing and installing it needs root" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'cleanup; rm -f "$log"' EXIT
# Quiet on success; the whole apt output on failure.
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends dovecot-imapd; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-dovecot: apt-get failed" >&2
  exit 1
fi

if ! have_dovecot; then
  echo "install-dovecot: dovecot-imapd installed but dovecot/imap binaries not found" >&2
  exit 1
fi
echo "install-dovecot: $(dovecot --version 2>/dev/null || echo installed)"
