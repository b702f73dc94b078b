#!/usr/bin/env bash
# contrib/debian/build.sh: builds the Debian package
# target/debian/fxrates_<version>-<revision>_<arch>.deb (under CARGO_TARGET_DIR
# when that is set) and prints its path last. Needs cargo-deb:
#   cargo install cargo-deb --locked
#
# The man pages and completions come from the built binary itself, so they say
# what its --help says. cargo-deb cannot run a step between its build and its
# packaging, hence this script:
#   1. cargo build --release --locked
#   2. the binary writes its man pages and completions into target/deb-assets/,
#      and the systemd units (fxrates.service and .timer, fxrates-serve.service)
#      are copied there with ExecStart=/usr/bin/fxrates
#   3. cargo deb --locked --no-build packages that binary and those files, as
#      [package.metadata.deb] in Cargo.toml lists them.
# The package's version is the top entry of contrib/debian/changelog, whose
# upstream part must be the binary's own version: a release adds an entry
# there. Other arguments are passed on to cargo deb (e.g. --output DIR).
set -euo pipefail

die() {
  echo "build.sh: error: $*" >&2
  exit 1
}

cd "$(dirname "$0")/../.."

command -v cargo >/dev/null 2>&1 ||
  die "cargo is not installed (or not on PATH); install Rust from https://rustup.rs"
cargo deb --version >/dev/null 2>&1 ||
  die "cargo-deb is not installed; run: cargo install cargo-deb --locked"

echo "build.sh: building fxrates (cargo build --release --locked)" >&2
built=$(cargo build --release --locked --message-format=json-render-diagnostics |
  sed -n 's/.*"executable":"\([^"]*\/fxrates\)".*/\1/p' | tail -n 1) ||
  die "the build failed (see cargo's messages above)"
[ -n "$built" ] && [ -x "$built" ] || die "cargo built no fxrates binary; see the messages above"

version=$("$built" --version | sed -n 's/^fxrates //p')
deb_version=$(sed -n '1s/^fxrates (\([^)]*\)).*/\1/p' contrib/debian/changelog)
case $deb_version in
  "$version"-*) ;;
  *) die "contrib/debian/changelog starts with version '$deb_version', not $version-<revision>; add an entry for $version-1 at its top" ;;
esac

# A fixed place in the source tree: Cargo.toml names these files, and the
# systemd unit directory of cargo-deb cannot follow CARGO_TARGET_DIR.
assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions" "$assets/systemd"

"$built" manpage --dir "$assets/man"
[ -f "$assets/man/fxrates.1" ] || die "fxrates manpage wrote no fxrates.1"
for shell in bash zsh fish; do
  "$built" completions "$shell" >"$assets/completions/$shell"
done

# The packaged service runs the packaged binary, and its opening comment says
# how to change it without editing a file that the next upgrade replaces.
{
  cat <<'EOF'
# fxrates: the daily ingest as a hardened systemd service, started by
# fxrates.timer. Installed by the fxrates package, which does not enable it.
#
#   install -m 0600 /dev/null /etc/fxrates/fixer-api-key
#   $EDITOR /etc/fxrates/fixer-api-key         # the key alone on one line
#   systemctl enable --now fxrates.timer       # 9:00, Monday to Friday
#   systemctl start fxrates.service            # the first run, now
#   journalctl -u fxrates.service              # its log
#
# Optional settings: /etc/fxrates/env. Change the unit with
# `systemctl edit fxrates.service`, not here: an upgrade replaces this file.
# /usr/share/doc/fxrates/DEPLOYMENT.md has the rest.

EOF
  sed -e '1,/^$/d' -e 's|^ExecStart=/usr/local/bin/fxrates |ExecStart=/usr/bin/fxrates |' \
    contrib/systemd/fxrates.service
} >"$assets/systemd/fxrates.service"
grep -q '^ExecStart=/usr/bin/fxrates ingest$' "$assets/systemd/fxrates.service" ||
  die "contrib/systemd/fxrates.service has no 'ExecStart=/usr/local/bin/fxrates ingest' line to point at /usr/bin/fxrates"
cp contrib/systemd/fxrates.timer "$assets/systemd/fxrates.timer"
{
  cat <<'EOF'
# fxrates-serve: the stored rates over HTTP (`fxrates serve`) on
# 127.0.0.1:8080, reading the history fxrates.service stores. Installed by the
# fxrates package, which does not enable it:
#
#   systemctl enable --now fxrates-serve.service
#   curl -s http://127.0.0.1:8080/api/latest
#   journalctl -u fxrates-serve.service        # a line per request
#
# Optional settings: /etc/fxrates/env. Change the unit (another address and
# its token, for one) with `systemctl edit fxrates-serve.service`, not here:
# an upgrade replaces this file. /usr/share/doc/fxrates/DEPLOYMENT.md,
# "Serving the rates", has the rest.

EOF
  sed -e '1,/^$/d' -e 's|^ExecStart=/usr/local/bin/fxrates |ExecStart=/usr/bin/fxrates |' \
    contrib/systemd/fxrates-serve.service
} >"$assets/systemd/fxrates-serve.service"
grep -q '^ExecStart=/usr/bin/fxrates serve$' "$assets/systemd/fxrates-serve.service" ||
  die "contrib/systemd/fxrates-serve.service has no 'ExecStart=/usr/local/bin/fxrates serve' line to point at /usr/bin/fxrates"

cargo deb --locked --no-build --deb-version "$deb_version" "$@"
