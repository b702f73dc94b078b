#!/usr/bin/env bash
# install.sh: builds fxrates and installs it for the current user. Safe to run
# again: it changes only what differs, and says so. See ./install.sh --help.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: ./install.sh [--prefix DIR] [--cron] [--uninstall]

Builds fxrates (cargo build --release --locked) and installs, for the current
user:
  DIR/bin/fxrates                      the program
  DIR/share/man/man1/fxrates*.1        man pages
  DIR/share/{bash-completion,zsh,fish} shell completions
  $XDG_DATA_HOME/fxrates/              the data directory (0700), default
                                       ~/.local/share/fxrates
  $XDG_CONFIG_HOME/fxrates/env         settings and the API key (0600), default
                                       ~/.config/fxrates/env; never overwritten

Running it again changes only what differs, and says so.

Options:
  --prefix DIR   install under DIR (default: $PREFIX, else ~/.local)
  --cron         also add the 9:00 Monday-Friday `fxrates ingest` entry to
                 your crontab (once, however often this runs; other entries
                 are left alone)
  --uninstall    remove the program, its man pages, completions and crontab
                 entry; the data and the settings file stay
  -h, --help     print this help
EOF
}

die() {
  echo "install.sh: error: $*" >&2
  exit "${2:-1}"
}

prefix=${PREFIX:-${HOME:?HOME is not set}/.local}
action=install
cron=false
while [ $# -gt 0 ]; do
  case $1 in
    --prefix)
      if [ $# -lt 2 ] || [ -z "$2" ]; then
        die "--prefix needs a directory; see ./install.sh --help" 2
      fi
      prefix=$2
      shift 2
      ;;
    --prefix=?*) prefix=${1#--prefix=}; shift ;;
    --cron) cron=true; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1'; see ./install.sh --help" 2 ;;
  esac
done
case $prefix in
  /*) ;;
  *) prefix=$PWD/$prefix ;;
esac
prefix=${prefix%/}

if [ "$action" = install ] && ! command -v cargo >/dev/null 2>&1; then
  die "cargo is not installed (or not on PATH); install Rust from https://rustup.rs, open a new shell, and run ./install.sh again"
fi

src_dir=$(cd "${0%/*}" && pwd)
bin=$prefix/bin/fxrates
man_dir=$prefix/share/man/man1
bash_completion=$prefix/share/bash-completion/completions/fxrates
zsh_completion=$prefix/share/zsh/site-functions/_fxrates
fish_completion=$prefix/share/fish/vendor_completions.d/fxrates.fish
config_home=${XDG_CONFIG_HOME:-}
case $config_home in /*) ;; *) config_home=$HOME/.config ;; esac
env_file=$config_home/fxrates/env
data_home=${XDG_DATA_HOME:-}
case $data_home in /*) ;; *) data_home=$HOME/.local/share ;; esac
data_dir=$data_home/fxrates
# Every crontab line this script owns ends with this comment.
marker='# fxrates: managed by install.sh'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

changes=0
changed() {
  echo "install.sh: $*"
  changes=$((changes + 1))
}

# Copies $1 to $2 (mode $3) unless $2 already holds the same bytes. The copy
# is renamed into place, so a running cron job never sees half a file.
put() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    return
  fi
  mkdir -p "${2%/*}"
  install -m "$3" "$1" "$2.new.$$"
  mv -f "$2.new.$$" "$2"
  changed "installed $2"
}

remove() {
  if [ -e "$1" ]; then
    rm -f "$1"
    changed "removed $1"
  fi
}

# The user's crontab, or nothing when there is none; any other failure stops
# here, so a crontab that could not be read is never overwritten.
read_crontab() {
  if crontab -l >"$work/crontab" 2>"$work/crontab.err"; then
    return
  fi
  if grep -qi 'no crontab' "$work/crontab.err"; then
    : >"$work/crontab"
    return
  fi
  die "cannot read your crontab ($(head -n 1 "$work/crontab.err")); nothing was changed there"
}

# Replaces this script's lines in the crontab with $1 (nothing to remove them).
write_crontab() {
  read_crontab
  { grep -vF "$marker" "$work/crontab" || true; } >"$work/crontab.new"
  if [ -n "$1" ]; then
    printf '%s\n' "$1" >>"$work/crontab.new"
  fi
  if cmp -s "$work/crontab" "$work/crontab.new"; then
    return 1
  fi
  crontab "$work/crontab.new" || die "crontab refused the new table; your crontab is unchanged"
}

cron_line() {
  local flock
  flock=$(command -v flock) ||
    die "flock is not installed (it is in util-linux); install it so that two runs never overlap, then run ./install.sh --cron again"
  case "$bin$env_file$data_dir" in
    *[%\'\\]*) die "a path contains %, ' or \\, which a crontab line cannot carry; choose another --prefix or data directory" ;;
  esac
  # The settings are read from the env file, never written into the crontab;
  # the run's output goes to a file and reaches cron mail only on failure.
  # The log is opened inside the locked command: a run that flock skips must
  # not truncate the log of the run still going.
  printf "%s" "0 9 * * 1-5 set -a; . '$env_file'; set +a; '$flock' -n -E 73 '$data_dir/cron.lock' /bin/sh -c 'exec \"\$0\" ingest >\"\$1\" 2>&1' '$bin' '$data_dir/last-run.log' || { echo \"fxrates ingest failed with exit code \$?:\"; cat '$data_dir/last-run.log'; } $marker"
}

env_template() {
  cat <<EOF
# fxrates settings. Read by cron (the line \`./install.sh --cron\` adds reads
# it with the shell) and by systemd (EnvironmentFile=). NAME='value' lines:
# every value in single quotes, as below, so that what the shell would read
# specially (the & of a PostgreSQL URL, a space, \$) stays in the value; no
# spaces around '=', no \`export\`; a value cannot hold a single quote. This
# file holds your API key: keep it mode 0600.

# Your fixer.io API key (required). Never put it in the crontab or on a
# command line.
FIXER_API_KEY=''
# Or keep the key alone in a file of its own (mode 0600) and name it here:
#FIXER_API_KEY_FILE='${env_file%/*}/key'

# APILayer accounts (the key goes in a header automatically):
#FIXER_ENDPOINT='https://api.apilayer.com/fixer'
# Old fixer.io free plans refuse HTTPS (the key then crosses the network in
# clear text):
#FIXER_ENDPOINT='http://data.fixer.io/api'

# The database (default shown), or a PostgreSQL URL (see the README):
#FXRATES_DB='$data_dir/rates.db'
#FXRATES_DB='postgresql://fxrates@db.example.internal/finance?sslmode=verify-full&sslrootcert=/etc/fxrates/ca.pem'

# Dead-man's switch: pinged at the start, success (URL) and failure (URL/fail)
# of every ingest and backfill, e.g. a healthchecks.io check.
#FXRATES_PING_URL='https://hc-ping.com/your-check-uuid'

# Prometheus metrics for node_exporter's textfile collector, rewritten by
# every ingest and backfill.
#FXRATES_METRICS_FILE='/var/lib/prometheus/node-exporter/fxrates.prom'

# Requests your fixer plan allows per month (the free plan's is 100).
#FIXER_MONTHLY_QUOTA='100'

# Days of history to keep; ingest then prunes older days (at least 31).
#FXRATES_KEEP_DAYS='365'
EOF
}

# Warns about each setting in the env file $1 whose value is not in single
# quotes and holds a character the shell reads specially: cron's line reads
# the file with the shell, which would cut the value at '&' or ';' (fxrates
# then runs without it), or change it. The value itself is never shown.
check_env_file() {
  local n=0 line name value
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    case $line in
      [A-Za-z_]*=*) ;;
      *) continue ;;
    esac
    name=${line%%=*}
    value=${line#*=}
    case $value in
      \'*\') ;;
      *[\&\;\|\<\>\(\)\$\`\\\"\'\ \	]*)
        echo "install.sh: warning: $1, line $n: the value of $name is not in single quotes and holds a character the shell reads specially, so cron's line would cut or change it; write it as $name='...'" >&2
        ;;
    esac
  done <"$1"
}

install_all() {
  echo "install.sh: building fxrates (cargo build --release --locked)" >&2
  local built
  if ! built=$(cd "$src_dir" && cargo build --release --locked --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\/fxrates\)".*/\1/p' | tail -n 1); then
    die "the build failed (see cargo's messages above); nothing was installed"
  fi
  if [ -z "$built" ] || [ ! -x "$built" ]; then
    die "cargo built no fxrates binary; see the messages above"
  fi

  put "$built" "$bin" 0755

  mkdir -p "$work/man"
  "$built" manpage --dir "$work/man"
  for page in "$work"/man/*.1; do
    put "$page" "$man_dir/${page##*/}" 0644
  done
  "$built" completions bash >"$work/bash"
  "$built" completions zsh >"$work/zsh"
  "$built" completions fish >"$work/fish"
  put "$work/bash" "$bash_completion" 0644
  put "$work/zsh" "$zsh_completion" 0644
  put "$work/fish" "$fish_completion" 0644

  if [ ! -d "$data_dir" ]; then
    mkdir -p "$data_dir"
    chmod 0700 "$data_dir"
    changed "created the data directory $data_dir"
  fi

  if [ ! -e "$env_file" ]; then
    mkdir -p "${env_file%/*}"
    chmod 0700 "${env_file%/*}"
    (umask 077 && env_template >"$env_file.new.$$")
    mv -f "$env_file.new.$$" "$env_file"
    changed "wrote the settings template $env_file (mode 0600)"
  else
    if [ -n "$(find "$env_file" -perm /077 2>/dev/null)" ]; then
      echo "install.sh: warning: $env_file is readable by others and holds your API key; run: chmod 600 '$env_file'" >&2
    fi
    check_env_file "$env_file"
  fi

  if $cron; then
    local line
    line=$(cron_line)
    if write_crontab "$line"; then
      changed "added the 9:00 Monday-Friday entry to your crontab"
    fi
  fi
}

uninstall_all() {
  remove "$bin"
  for page in "$man_dir"/fxrates.1 "$man_dir"/fxrates-*.1; do
    remove "$page"
  done
  remove "$bash_completion"
  remove "$zsh_completion"
  remove "$fish_completion"
  if command -v crontab >/dev/null 2>&1 && write_crontab ""; then
    changed "removed the fxrates entry from your crontab"
  fi
}

if [ "$action" = uninstall ]; then
  uninstall_all
  if [ "$changes" -eq 0 ]; then
    echo "install.sh: nothing changed: fxrates was not installed under $prefix"
  fi
  echo "install.sh: kept your data ($data_dir) and settings ($env_file); delete them yourself if you no longer need them"
  exit 0
fi

install_all
if [ "$changes" -eq 0 ]; then
  echo "install.sh: nothing changed: $bin is up to date"
fi
# Without the bin directory on PATH every `fxrates ...` in the README fails
# with "command not found": say which line to add, and where.
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *)
    case ${SHELL##*/} in
      fish) path_line="fish_add_path '$prefix/bin'" rc="~/.config/fish/config.fish" ;;
      zsh) path_line="export PATH=\"$prefix/bin:\$PATH\"" rc="~/.zshrc" ;;
      bash) path_line="export PATH=\"$prefix/bin:\$PATH\"" rc="~/.bashrc" ;;
      *) path_line="export PATH=\"$prefix/bin:\$PATH\"" rc="~/.profile" ;;
    esac
    cat <<EOF
install.sh: note: $prefix/bin is not on your PATH, so \`fxrates\` alone is
not found. Add this line to $rc, then open a new shell:
  $path_line
EOF
    ;;
esac
cat <<EOF

Next steps:
  1. Put your fixer.io API key in $env_file
     (FIXER_API_KEY='...'); it must never go into the crontab or a command line.
  2. Fetch the last month:
       (set -a; . '$env_file'; '$bin' backfill --days 31)
  3. Check the history:
       (set -a; . '$env_file'; '$bin' status)
  4. Schedule the daily run: ./install.sh --cron, or the systemd units in
     contrib/systemd (see DEPLOYMENT.md).
EOF
