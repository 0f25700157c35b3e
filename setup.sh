#!/usr/bin/env bash
# Set up card-audit on a Debian machine and run it.
#   bash setup.sh demo   install everything, then audit the bundled demo invoice
#   bash setup.sh test   install everything, then run the test suite
#   bash setup.sh install   install everything, nothing else (CI jobs that then run card-audit)
# Installs: Python 3.11+ with venv (apt, if missing), Debian's chromium (if no Chromium is found),
# Debian's webext-ublock-origin-chromium (its filter lists, for --adblock lists), and the project with its dependencies into .venv;
# in test mode also Node.js/npm (apt, if missing) and tests/libs' pinned npm packages (npm ci). Nothing is fetched from outside the package
# registries: Playwright's own browser download is not needed.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-demo}"
case "$mode" in demo|test|install) ;; *) echo "usage: bash setup.sh demo|test|install" >&2; exit 2 ;; esac

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

python_ok() {
  command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null
}
if ! python_ok; then
  echo "setup: installing Python 3 with venv (apt)" >&2
  apt_install python3 python3-venv python3-pip
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
echo "setup: installing card-audit and its dependencies into .venv" >&2
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[test]'

if ! .venv/bin/python -c 'from audit.browser import find_browser; find_browser()' >/dev/null 2>&1; then
  echo "setup: no Chromium found; installing Debian's chromium (apt)" >&2
  apt_install chromium fonts-dejavu-core
fi
.venv/bin/python -c 'from audit.browser import find_browser; print("setup: browser", find_browser())' >&2

# The filter lists a payer's ad blocker runs (`--adblock lists`, `card-audit adblock-matrix`): uBlock
# Origin as Debian packages it, with EasyList, EasyPrivacy and uBlock's own lists.
if [ ! -f /usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist/easyprivacy.txt ]; then
  echo "setup: installing Debian's uBlock Origin filter lists (apt: webext-ublock-origin-chromium)" >&2
  apt_install webext-ublock-origin-chromium ||
    echo "setup: could not install webext-ublock-origin-chromium; --adblock lists will need adblock.lists" >&2
fi

# The real browser libraries the real-library red-team cases load (tests/test_real_libraries.py):
# pinned in tests/libs/package-lock.json, installed from the npm registry, never committed.
if [ "$mode" = test ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing Node.js and npm (apt)" >&2
    apt_install nodejs npm
  fi
  echo "setup: installing the real-library test pages' packages (npm ci --prefix tests/libs)" >&2
  npm ci --prefix tests/libs --no-audit --no-fund --loglevel=error
fi

if [ "$mode" = test ] && ! command -v xvfb-run >/dev/null 2>&1; then
  echo "setup: installing xvfb for the headed (--present) test (apt)" >&2
  apt_install xvfb xauth
fi

if [ "$mode" = demo ]; then
  exec .venv/bin/card-audit demo
elif [ "$mode" = install ]; then
  exit 0
else
  # A test that fails is run once more (pytest-rerunfailures); the summary line counts the
  # reruns ("N rerun") and names them, and a test that fails twice fails the run.
  exec .venv/bin/python -m pytest -q --reruns 1 --reruns-delay 2 -r R "${@:2}"
fi
