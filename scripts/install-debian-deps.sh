#!/usr/bin/env bash
# Installs the Debian packages Postern's mail-stack tests and deployment rely on:
# Dovecot (IMAP, submission, Lua passdb), nginx with the mail module, and
# chromium + CJK fonts for browser tests. Safe to run again: it only calls
# apt-get when a package is missing.
#
# It does not start system services: Debian starts nginx and dovecot on
# install unless /usr/sbin/policy-rc.d forbids it, so one is put in place for
# the install when none exists. (Postern's tests run private instances on
# random high ports, so a running system daemon would not disturb them anyway;
# the administrator starts the real ones after copying the deploy/ configs.)
set -euo pipefail

packages=(
  dovecot-imapd
  dovecot-submissiond
  dovecot-auth-lua
  nginx
  libnginx-mod-mail
  chromium
  fonts-noto-cjk
  openssl
  oathtool
  zbar-tools
)

missing=()
for pkg in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" only for fully installed packages.
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "All Debian packages already installed."
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "Missing packages (${missing[*]}) and not root, with no sudo to install them." >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  "${as_root[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi

echo "Installing: ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q "${missing[@]}"
