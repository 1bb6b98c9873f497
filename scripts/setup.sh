#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: the independent
# oracles (oathtool from Debian; pyotp and python-vipaccess from PyPI) and the
# JVM test kit for the Kotlin bindings (JNA and JUnit 4 from Debian, a JDK;
# kotlinc itself comes from npm in scripts/kotlin-test.sh).
# Safe to run again: it installs only what is missing.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_missing=()
command -v oathtool >/dev/null 2>&1 || apt_missing+=(oathtool)
[ -f /usr/share/java/jna.jar ] || apt_missing+=(libjna-java)
[ -f /usr/share/java/junit4.jar ] || apt_missing+=(junit4)
command -v javac >/dev/null 2>&1 || apt_missing+=(openjdk-17-jdk-headless)
command -v npm >/dev/null 2>&1 || apt_missing+=(npm)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "setup: installing ${apt_missing[*]} (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

if ! python3 -c "import pyotp, vipaccess.provision, oath" >/dev/null 2>&1; then
  echo "setup: installing pyotp python-vipaccess (pip)"
  python3 -m pip install --quiet --disable-pip-version-check pyotp python-vipaccess
fi
