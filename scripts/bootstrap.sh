# Shared set-up for scripts/demo.sh and .ci/run (sourced, not run): Debian/Ubuntu packages with apt
# (through sudo only when not root, waiting for another apt/dpkg to finish), and the project's
# virtual environment `.venv` made with the distribution's own Python (PEP 668 forbids installing
# into it directly). Both commands share one `.venv`: the first creates it, the second reuses it.

GOMCU_VENV="${GOMCU_VENV:-.venv}"

_as_root() {
    if [ "$(id -u)" = "0" ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "gomcu set-up: need root for: $*; run as root or install sudo" >&2
        return 1
    fi
}

# apt_install PKG...: install the packages that are missing (dpkg -s says which); waits up to 15
# minutes for the dpkg lock instead of failing at once when another apt process holds it.
apt_install() {
    local missing="" p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "gomcu set-up: installing with apt:$missing"
    local lock=(-o DPkg::Lock::Timeout=900)
    local tries=0
    until _as_root env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" update -qq; do
        tries=$((tries + 1))
        [ "$tries" -ge 30 ] && { echo "gomcu set-up: apt-get update kept failing" >&2; return 1; }
        sleep 10  # the package lists' lock has no timeout option: wait for the other apt
    done
    # shellcheck disable=SC2086
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -qq \
        --no-install-recommends $missing >/dev/null
}

# make_venv: the distribution's python3 with venv, and what the emulator's native hook compiles
# with (gcc and the Python headers; without them gomcu still works, about 10x slower when emulating).
make_venv() {
    local py_pkgs="python3 python3-venv python3-dev gcc libc6-dev"
    if command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip, sysconfig, os, sys; \
            sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null \
            && command -v gcc >/dev/null 2>&1; then
        :  # a Python with venv, headers and a compiler is already there (not necessarily Debian's)
    else
        # shellcheck disable=SC2086
        apt_install $py_pkgs
    fi
    if [ ! -x "$GOMCU_VENV/bin/python" ]; then
        echo "gomcu set-up: creating $GOMCU_VENV"
        python3 -m venv "$GOMCU_VENV"
    fi
    "$GOMCU_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
}
