#!/usr/bin/env bash
# Installs every Debian 12 package custos needs to build, test and run.
# Idempotent: when everything is present it only checks (well under a second).
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build make pkg-config ccache git
  clang-14 libclang-rt-14-dev clang-format clang-tidy
  # libraries
  libabsl-dev libssl-dev openssl nlohmann-json3-dev
  # key storage: PKCS#11 (SoftHSM2, p11-kit's pkcs11.h), TPM 2.0 (tpm2-tss, swtpm)
  softhsm2 libp11-kit-dev libtss2-dev swtpm swtpm-tools
  # control plane: SQLite, HTTPS (cpp-httplib), MQTT (mosquitto broker, libmosquitto, plug-in headers)
  libsqlite3-dev libcpp-httplib-dev mosquitto libmosquitto-dev mosquitto-dev
  # tests, benchmarks, constant-time check
  libgtest-dev libgmock-dev libbenchmark-dev valgrind
  # the README's examples talk to the API with curl and jq
  curl jq
)

# Node.js and npm run the independent MQTT client of the tests (the npm mqtt
# package). Use the machine's own Node.js when it has one (it may come from
# another Debian-format repository whose nodejs conflicts with Debian's npm).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$package")
  fi
done

# The npm packages of the tests (testing/node/package-lock.json), installed
# when missing or older than the lock file.
install_node_packages() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/testing/node"
  local marker="$dir/node_modules/.package-lock.json"
  if [[ -f "$marker" && "$marker" -nt "$dir/package-lock.json" ]]; then
    return
  fi
  echo "install-deps: npm ci in testing/node"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

if [[ ${#missing[@]} -eq 0 ]]; then
  install_node_packages
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    SUDO=(sudo)
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_node_packages
echo "install-deps: done"
