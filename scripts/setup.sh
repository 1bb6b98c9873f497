#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: the independent
# oracles (oathtool from Debian; pyotp and python-vipaccess from PyPI), the
# JVM test kit for the Kotlin bindings (JNA and JUnit 4 from Debian, a JDK;
# kotlinc itself comes from npm in scripts/kotlin-test.sh), schemathesis for
# the token service's API check, headless Chromium and its WebDriver for the
# branch console's browser tests, and a PostgreSQL server on 127.0.0.1:5432
# (Debian's, started here) where none answers there already.
# Safe to run again: it installs only what is missing.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_missing=()
command -v oathtool >/dev/null 2>&1 || apt_missing+=(oathtool)
[ -f /usr/share/java/jna.jar ] || apt_missing+=(libjna-java)
[ -f /usr/share/java/junit4.jar ] || apt_missing+=(junit4)
command -v javac >/dev/null 2>&1 || apt_missing+=(openjdk-17-jdk-headless)
command -v npm >/dev/null 2>&1 || apt_missing+=(npm)
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_missing+=(chromium-driver)
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "setup: installing ${apt_missing[*]} (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

if ! python3 -c "import pyotp, vipaccess.provision, oath" >/dev/null 2>&1; then
  echo "setup: installing pyotp python-vipaccess (pip)"
  python3 -m pip install --quiet --disable-pip-version-check pyotp python-vipaccess
fi
if ! command -v schemathesis >/dev/null 2>&1 && ! command -v st >/dev/null 2>&1; then
  echo "setup: installing schemathesis (pip)"
  python3 -m pip install --quiet --disable-pip-version-check schemathesis
fi

# PostgreSQL for the token service's tests: the one on 127.0.0.1:5432 when it
# answers (user postgres, trust on loopback), else Debian's, installed and
# started here with trust for the postgres user on loopback only.
pg_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_answers; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "setup: installing postgresql (apt)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  cluster=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $1" "$2}')
  if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    as_root pg_createcluster "$version" main >/dev/null
    cluster="$version main"
  fi
  set -- $cluster
  hba="/etc/postgresql/$1/$2/pg_hba.conf"
  if ! as_root grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  fi
  echo "setup: starting PostgreSQL $1/$2 on 127.0.0.1:5432"
  as_root pg_ctlcluster "$1" "$2" start || as_root pg_ctlcluster "$1" "$2" reload
  for _ in $(seq 1 30); do pg_answers && break; sleep 1; done
  pg_answers || { echo "setup: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
fi
