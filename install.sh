#!/usr/bin/env bash
# Builds fxrates and installs the binary into ${PREFIX:-$HOME/.local}/bin.
set -euo pipefail
cd "$(dirname "$0")"

prefix=${PREFIX:-$HOME/.local}
if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo is not installed; get Rust from https://rustup.rs and run ./install.sh again" >&2
  exit 1
fi
cargo build --release --locked
install -d "$prefix/bin"
install -m 0755 target/release/fxrates "$prefix/bin/fxrates"
echo "installed $prefix/bin/fxrates"
