#!/usr/bin/env bash
# Set up the project in .venv (Python 3.11 or newer, packages from PyPI) and run a task.
#   bash dev.sh serve [options]  the service with demo data on SQLite (mobility-match serve --demo)
#   bash dev.sh demo [options]   the demo matching round on data/companies/, from the command line
#   bash dev.sh test             ruff, ruff format --check, mypy --strict, pytest
#   bash dev.sh bench [options]  the benchmark of benchmarks/run.py
set -euo pipefail
cd "$(dirname "$0")"

# The first interpreter that really runs and is 3.11 or newer (version managers may
# leave shims for versions that are not installed).
is_recent() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3 python3.13 python3.12 python3.11; do
    if is_recent "$candidate"; then python=$candidate; break; fi
  done
fi
if [ -z "$python" ] || ! is_recent "$python"; then
  echo "dev.sh: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last install.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

task=${1:-}
shift || true
case "$task" in
  serve)
    .venv/bin/mobility-match serve --demo "$@"
    ;;
  demo)
    .venv/bin/mobility-match demo "$@"
    ;;
  test)
    .venv/bin/ruff check src tests benchmarks scripts
    .venv/bin/ruff format --check src tests benchmarks scripts
    .venv/bin/mypy --strict src
    # Two workers (the machines have 2 cores); the browser tests share one worker and
    # one live server (tests/browser/conftest.py).
    .venv/bin/pytest -n 2 --dist loadgroup "$@"
    ;;
  bench)
    .venv/bin/python benchmarks/run.py "$@"
    ;;
  *)
    echo "usage: bash dev.sh serve|demo|test|bench [options]" >&2
    exit 2
    ;;
esac
