#!/usr/bin/env bash
# The compare benchmark (BENCHMARKS.md): installs what it compares against and runs it.
# Debian's MariaDB (as .ci/mariadb does) and percona-toolkit (pt-table-sync) with apt when
# missing; .ci/run never installs percona-toolkit: only this benchmark needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/mariadb
if ! command -v pt-table-sync >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends percona-toolkit >/dev/null
fi
pt-table-sync --version
cargo run --release --example bench_compare -- "$@"
