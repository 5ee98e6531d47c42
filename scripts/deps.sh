#!/bin/sh
# Installs what pnpkit needs on a fresh Debian 12 machine, and nothing when it is all there.
# Needs root (or sudo) only when something is missing.
set -e
need=""
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
# cmocka: the test framework (CTest runs it).
pkg-config --exists cmocka 2>/dev/null || [ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
pkg-config --exists libconfig 2>/dev/null || need="$need libconfig-dev"  # pnphost's configuration files
[ -z "$need" ] && exit 0
echo "pnpkit: installing$need" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "pnpkit: please install:$need (as root)" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
