#!/usr/bin/env bash
# Builds fxrates in release mode and runs its benchmark against a local
# fixer-compatible server (never the network). Markdown goes to stdout,
# progress to stderr.
#
#   bench/run.sh                      # every section, 5 runs per figure
#   bench/run.sh --runs 9 show status # some sections, more runs
#
# Sections: backfill free show status ingest peer schema http.
# The `http` section loads `fxrates serve` with wrk beside nginx serving the
# same bytes (apt-get install wrk nginx); it is skipped with a note without them.
# The `ingest` section compares with curl (apt-get install curl) and the
# `peer` section with Python's currencyconverter (pip install CurrencyConverter);
# each is skipped with a note when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --locked --bench fxbench -- "$@"
