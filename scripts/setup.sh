#!/usr/bin/env bash
# Idempotent setup: Debian packages, a Python 3.10 virtual environment in .venv,
# and the project installed into it with its dev extras. Safe to run again;
# each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# systemd: its systemd-analyze checks the service unit (tests/test_operations.py).
APT_PACKAGES=(espeak-ng libespeak-ng1 libportaudio2 postgresql redis-server chromium chromium-driver fonts-lohit-deva systemd)
VENV=.venv
STAMP="$VENV/.installed"
# The installer (scripts/setup.sh: install_project); pinned like every other tool.
UV_VERSION=0.13.10

install_apt_packages() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "setup: installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

find_python310() {
    if command -v python3.10 >/dev/null 2>&1 && python3.10 -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
        echo "python3.10"
    elif command -v pyenv >/dev/null 2>&1 && PYENV_VERSION=3.10.13 pyenv exec python -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
        echo "env PYENV_VERSION=3.10.13 pyenv exec python"
    else
        echo "setup: Python 3.10 is required (Rasa 3.6). Install it, e.g. 'pyenv install 3.10.13'." >&2
        exit 1
    fi
}

# This machine's pip configuration names index folders that may not exist;
# pip warns about each one, which buries real messages.
quiet_pip() {
    grep -v "is ignored: it is neither a file nor a directory" || true
}

create_venv() {
    [ -x "$VENV/bin/python" ] && return 0
    echo "setup: creating $VENV with Python 3.10"
    $(find_python310) -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade "pip<25" wheel "setuptools>=68,<71" 2> >(quiet_pip >&2)
}

install_project() {
    if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ]; then
        return 0
    fi
    echo "setup: installing the project and its dev extras into $VENV"
    # uv installs the same pinned versions as pip in about 20 s instead of
    # about 2 minutes (measured on a fresh machine of this kind). Where uv
    # cannot be had or cannot reach an index, pip does it as before.
    if "$VENV/bin/python" -m pip install -q "uv==$UV_VERSION" 2> >(quiet_pip >&2) &&
        "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" -e ".[dev]"; then
        touch "$STAMP"
        return 0
    fi
    echo "setup: uv could not install it; pip does (takes a few minutes the first time)"
    "$VENV/bin/python" -m pip install -q -e ".[dev]" 2> >(quiet_pip >&2)
    touch "$STAMP"
}

install_apt_packages
create_venv
install_project
