#!/usr/bin/env bash
# The Debian package as an operator meets it: builds it with `cargo deb`, runs lintian
# (no error allowed), installs it with dpkg, and checks the binary, the man pages, the
# completions in bash, zsh and fish, the unit (systemd-analyze verify), the installed
# config (harmy config check), then that `dpkg -r` and `dpkg --purge` leave nothing behind.
#
# Needs root for dpkg (sudo when not root). The install happens in a private mount
# namespace whose /usr, /etc and /var are overlays on the real ones, thrown away at the
# end: the machine's own files and its dpkg database never see the package, so a test
# run cannot leave harmy installed, nor a /etc/harmy/config.toml that the config search
# of other harmy processes on the machine would find. What is missing is installed
# first, for good: cargo-deb (cargo install), lintian, bash-completion, zsh and fish (apt).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

fail() {
    echo "test-deb: FAIL: $*" >&2
    exit 1
}

# The checks on the installed package; run as root inside the private namespace.
inside() {
    local deb=$1 version=$2 scratch=$3
    for dir in usr etc var; do
        mkdir -p "$scratch/upper/$dir" "$scratch/work/$dir"
        mount -t overlay overlay \
            -o "lowerdir=/$dir,upperdir=$scratch/upper/$dir,workdir=$scratch/work/$dir" "/$dir"
    done

    dpkg -i "$deb"

    [ "$(command -v harmy)" = /usr/bin/harmy ] || fail "harmy is not /usr/bin/harmy: $(command -v harmy)"
    [ "$(harmy --version)" = "harmy $version" ] || fail "harmy --version says $(harmy --version)"
    echo "ok: harmy --version: harmy $version"

    for page in harmy harmy-kv-set harmy-config-check; do
        [ "$(man -w $page)" = "/usr/share/man/man1/$page.1.gz" ] || fail "man -w $page: $(man -w $page 2>&1)"
    done
    echo "ok: man -w harmy, harmy-kv-set, harmy-config-check"

    # Each shell as an interactive one would be: bash through bash-completion's loader
    # (what it runs on the first Tab after `harmy`), zsh through compinit and its
    # default fpath, fish through its completion path.
    local out
    out=$(bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader harmy; complete -p harmy')
    [[ $out == *" harmy" ]] || fail "bash: complete -p harmy says: $out"
    out=$(zsh -fc 'autoload -Uz compinit && compinit -u -d "$1/zcompdump" && print -r -- ${_comps[harmy]}' zsh "$scratch")
    [ "$out" = _harmy ] || fail "zsh: _comps[harmy] is '$out'"
    out=$(HOME=$scratch fish -c 'complete --do-complete "harmy kv "')
    grep -q '^set' <<<"$out" || fail "fish: no completion of 'harmy kv ': $out"
    echo "ok: completions found by bash, zsh and fish"

    systemd-analyze verify /usr/lib/systemd/system/harmy.service
    echo "ok: systemd-analyze verify harmy.service"
    [ ! -e /etc/systemd/system/multi-user.target.wants/harmy.service ] || fail "the unit was enabled on install"

    local conffiles
    conffiles=$(dpkg-query -W -f='${Conffiles}\n' harmy)
    [[ $conffiles == " /etc/harmy/config.toml "* ]] || fail "conffiles: $conffiles"
    harmy --config /etc/harmy/config.toml config check
    echo "ok: /etc/harmy/config.toml is a conffile and parses"
    for doc in README.md copyright changelog.Debian.gz; do
        [ -s "/usr/share/doc/harmy/$doc" ] || fail "no /usr/share/doc/harmy/$doc"
    done
    grep -q '^License: Expat$' /usr/share/doc/harmy/copyright || fail "the copyright file names no license"
    echo "ok: README, copyright and changelog in /usr/share/doc/harmy"

    # Files and directories of the package, then removal: the conffile stays until the purge.
    local listed
    listed=$(dpkg -L harmy)
    dpkg -r harmy
    [ -e /etc/harmy/config.toml ] || fail "dpkg -r removed the conffile (only --purge should)"
    dpkg --purge harmy
    local left=()
    while IFS= read -r path; do
        [ -e "$path" ] || [ -L "$path" ] || continue
        # A directory stays when another package owns it or puts files in it.
        if [ -d "$path" ] && [ ! -L "$path" ]; then
            if [ -n "$(ls -A "$path")" ] || dpkg -S "$path" >/dev/null 2>&1; then continue; fi
        fi
        left+=("$path")
    done <<<"$listed"
    [ ${#left[@]} -eq 0 ] || fail "left behind after purge: ${left[*]}"
    # Whatever else the install wrote (systemd's state, dpkg's own records): the overlays
    # hold every file that changed, and none of them may still name harmy. Except man's
    # cache of formatted pages, man-db's own (its daily job expires it), which reading a
    # page fills: systemd-analyze verify read the unit's Documentation= pages.
    local traces
    traces=$(cd "$scratch/upper" && find . -name '*harmy*' ! -path './var/cache/man/*' | sed 's|^\./|/|')
    [ -z "$traces" ] || fail "left behind after purge: $traces"
    echo "ok: dpkg -r keeps the conffile; dpkg --purge leaves no file of the package"
}

if [ "${1:-}" = --inside ]; then
    shift
    inside "$@"
    exit 0
fi

start=$SECONDS
export CARGO_TERM_COLOR=never
if ! command -v cargo-deb >/dev/null 2>&1; then
    cargo install cargo-deb --locked
fi
missing=()
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
[ -f /usr/share/bash-completion/bash_completion ] || missing+=(bash-completion)
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
if [ ${#missing[@]} -gt 0 ]; then
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "test-deb: tools ready after $((SECONDS - start)) s"

version=$(cargo metadata --no-deps --format-version 1 --locked | sed -n 's/.*"name":"harmy","version":"\([^"]*\)".*/\1/p')
[ -n "$version" ] || fail "no version in cargo metadata"
# The package's version and the changelog's first line agree (lintian checks the format).
head -1 packaging/debian/changelog | grep -q "^harmy ($version-1) " ||
    fail "packaging/debian/changelog does not start with harmy ($version-1)"

deb=$(cargo deb --locked | tail -1)
[ -f "$deb" ] || fail "cargo deb printed no package path: $deb"
deb=$(realpath "$deb")
echo "test-deb: built $deb ($(stat -c %s "$deb") bytes) after $((SECONDS - start)) s"

# The package holds only /usr and /etc (which the namespace's overlays cover), and no
# maintainer script makes a user: DynamicUser= does.
if dpkg-deb -c "$deb" | awk '{print $6}' | grep -Ev '^\./$|^\./(usr|etc)/'; then
    fail "files outside /usr and /etc (above)"
fi
control=$(mktemp -d)
dpkg-deb -e "$deb" "$control"
if grep -lE 'useradd|adduser|systemd-sysusers' "$control"/* 2>/dev/null; then
    fail "a maintainer script creates a user (above)"
fi
rm -rf "$control"

lintian --fail-on error "$deb"
echo "ok: lintian shows no error"

scratch=$(mktemp -d)
trap 'as_root rm -rf "$scratch"' EXIT
as_root unshare --mount --propagation private bash "$0" --inside "$deb" "$version" "$scratch"
echo "test-deb: all checks passed in $((SECONDS - start)) s"
