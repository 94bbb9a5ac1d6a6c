#!/usr/bin/env bash
# Installs every Debian package the build, the demo and the tests need.
# Idempotent: skips apt entirely when everything is already present.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config ninja-build git
  protobuf-compiler libprotobuf-dev          # message model, config/mapping schema
  libuv1-dev                                 # the one event loop
  libsqlite3-dev sqlite3                     # device registry
  nlohmann-json3-dev                         # JSON + CBOR value trees
  libtinyxml2-dev                            # oneM2M XML primitives, OIC <rest> payloads
  libssl-dev openssl                         # OSAP crypto, TLS
  libmosquitto-dev mosquitto mosquitto-clients
  libgloox-dev prosody lua-sec
  libcoap3-dev libcoap3-bin
  doctest-dev
  clang libclang-rt-14-dev                   # libFuzzer targets
  python3 python3-paho-mqtt python3-slixmpp  # independent peers for integration tests
  python3-cbor2                              # CBOR primitives of the oneM2M paho tests
  procps iproute2
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Debian packages start their daemons; the gateway and the tests run their own on loopback.
for svc in mosquitto prosody; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true; systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
done
echo "setup: all dependencies present"
