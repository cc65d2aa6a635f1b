#!/usr/bin/env bash
# Set up Kybernetes on this machine (Debian 12, as root), from the repository checkout.
#
#   ./hack/install.sh          system packages + .venv with kybernetes installed (editable)
#   ./hack/install.sh --test   the same, plus the test dependencies (pytest, kubernetes client, mypy, ruff, ...)
#
# Idempotent and fast when nothing changed: apt runs only for missing packages, pip only when pyproject.toml
# (or the --test choice) changed since the last successful run. PYTHON=/path/to/python3 picks the interpreter.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV=$ROOT/.venv
WITH_TEST=0

for arg in "$@"; do
    case $arg in
        --test) WITH_TEST=1 ;;
        -h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "install.sh: $*" >&2; }

# ---------------------------------------------------------------------------------------------------------------
# System packages. Listed by Debian package name; installed only when missing.
# ---------------------------------------------------------------------------------------------------------------
APT_PACKAGES=(python3 python3-venv)

# >>> RUNTIME PACKAGES: later issues append here (containerd, runc, containernetworking-plugins, iptables,
# >>> nftables, docker-registry, ...). Keep one package per word; nothing is installed when all are present.
RUNTIME_APT_PACKAGES=(
    containerd runc containernetworking-plugins   # the container runtime (CRI), OCI runtime, CNI bridge/IPAM
    iptables nftables conntrack iproute2          # service rules, network safety net, netns/veth/routes
    skopeo umoci docker-registry                  # offline images: build (umoci), push (skopeo), local registry
    busybox-static gcc libc6-dev curl             # image recipes: busybox rootfs, the static pause binary
)
# <<< RUNTIME PACKAGES

apt_install_missing() {
    local missing=() pkg
    for pkg in "$@"; do
        if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) != 0 ]]; then
        log "missing Debian packages: ${missing[*]} (run as root, or install them first)"
        exit 1
    fi
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if command -v dpkg-query >/dev/null; then
    apt_install_missing "${APT_PACKAGES[@]}" "${RUNTIME_APT_PACKAGES[@]}"
else
    log "not a Debian system: skipping system packages"
fi

# ---------------------------------------------------------------------------------------------------------------
# Python virtual environment (.venv) with the package installed editable.
# ---------------------------------------------------------------------------------------------------------------
python_ok() { "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

PYTHON=${PYTHON:-$(command -v python3 || true)}
if [[ -z $PYTHON ]] || ! python_ok "$PYTHON"; then
    log "need Python >= 3.11 with venv and ensurepip (got: ${PYTHON:-none}); on Debian 12: apt-get install python3-venv"
    exit 1
fi

if ! [[ -x $VENV/bin/python ]] || ! python_ok "$VENV/bin/python"; then
    log "creating $VENV with $PYTHON"
    "$PYTHON" -m venv --clear "$VENV"
fi

# The stamp records what the last successful pip run installed: the pyproject hash and whether with [test].
want_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
stamp=$VENV/.kybernetes-install
have_hash="" have_test=0
[[ -f $stamp ]] && read -r have_hash have_test <"$stamp"
if [[ $have_hash == "$want_hash" ]] && ((have_test >= WITH_TEST)) && [[ -x $VENV/bin/kyb ]] \
    && "$VENV/bin/python" -c 'import kybernetes' 2>/dev/null; then
    log "python environment up to date"
else
    spec=.
    ((WITH_TEST)) && spec=".[test]"
    log "pip install -e $spec"
    "$VENV/bin/python" -m pip install -q -e "$spec"
    echo "$want_hash $WITH_TEST" >"$stamp"
fi

# >>> IMAGES: later issues build the offline images here (pause, busybox, nginx) when they are missing.
# <<< IMAGES

log "ready: $VENV/bin/kyb"
