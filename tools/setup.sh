#!/usr/bin/env bash
# Set up a fresh machine and run the main job on the bundled protocols:
#   1. Debian packages (graphviz for rendering, chromium + chromium-driver for the browser
#      tests) when missing and we are root;
#   2. a virtual environment in .venv with triage-dsl and its development tools;
#   3. check every bundled protocol, run their scenarios with coverage, and evaluate
#      the two example protocols against their example answers.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# Debian packages: graphviz (triage render/book), chromium + chromedriver (browser tests),
# postgresql (the service's PostgreSQL tests).
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
# PostgreSQL server binaries: the service's tests start a throwaway server with them.
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing[*]} (Debian)"
    (apt-get update -qq >/dev/null \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || echo "warning: could not install ${missing[*]}; rendering writes DOT only and browser tests skip"
  else
    echo "warning: not installed: ${missing[*]} (apt-get install ${missing[*]}); rendering writes DOT only and browser tests skip"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "== installing triage-dsl and its development tools"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e ".[dev]"

if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi

echo "== triage check protocols/"
.venv/bin/triage check protocols/
echo "== triage test protocols/ --min-coverage 100"
.venv/bin/triage test protocols/ --min-coverage 100
echo "== triage eval protocols/telephone/chest_pain_adult.triage --answers protocols/examples/chest_pain_emergency.json --format note"
.venv/bin/triage eval protocols/telephone/chest_pain_adult.triage \
  --answers protocols/examples/chest_pain_emergency.json --format note
echo "== triage eval protocols/rules/news2.triage --answers protocols/examples/news2_high.json --format note"
.venv/bin/triage eval protocols/rules/news2.triage --answers protocols/examples/news2_high.json --format note
echo "== done: the bundled protocols check, pass their scenarios and evaluate"
