# Sourced by start.sh and test.sh: `ensure_venv LOCK_FILE [EXTRA]` makes .venv hold exactly the
# locked dependencies plus this project (editable), installing only when the lock file or
# pyproject.toml changed since the last successful install, so a start needs no network.

ensure_venv() {
    local lock="$1" extra="${2:-}"
    local marker=".venv/.installed-$lock.sha256"
    local wanted
    wanted="$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)"

    # A venv left half-made (interrupted, or made without ensurepip) has no working pip: redo it.
    if [ -d .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
        echo "The .venv folder is incomplete; recreating it."
        rm -rf .venv
    fi
    if [ ! -d .venv ]; then
        if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "sora-bot needs Python 3.11 or newer as python3 (found: $(python3 --version 2>&1))." >&2
            exit 1
        fi
        if ! python3 -m venv .venv >/dev/null 2>&1; then
            rm -rf .venv
            echo "python3 -m venv failed: Python's venv module is missing. On Debian or Ubuntu run" \
                "'sudo apt install python3-venv' (or python3.11-venv), then run this again." >&2
            exit 1
        fi
    fi
    if [ "$(cat "$marker" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    echo "Installing the locked dependencies from $lock ..."
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e ".$extra"
    echo "$wanted" >"$marker"
}
