#!/usr/bin/env bash
# Builds the container image harmy:VERSION (and harmy:latest) from the Containerfile with
# podman: the release binary (stripped, as the Debian package's), the shared libraries
# `ldd` says it loads, CA certificates, /etc/passwd and /etc/group with the user harmy
# (10001), and the directories it writes. The two archives the Containerfile adds are
# staged in target/image/ with their owners set inside them, so no step needs root.
# Prints the image's id last.
set -euo pipefail
cd "$(dirname "$0")/.."

# The user and group of the image (any id outside the host's usual ranges).
readonly HARMY_UID=10001

export CARGO_TERM_COLOR=never
cargo build --release --locked >&2
metadata=$(cargo metadata --no-deps --format-version 1 --locked)
version=$(sed -n 's/.*"name":"harmy","version":"\([^"]*\)".*/\1/p' <<<"$metadata")
target=$(sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p' <<<"$metadata")
binary=$target/release/harmy

context=$target/image
rm -rf "$context"
mkdir -p "$context/system/usr/bin" "$context/system/etc/ssl/certs" "$context/system/tmp" \
    "$context/system/var/lib" "$context/system/run" \
    "$context/state/var/lib/harmy" "$context/state/run/harmy"
strip --strip-unneeded -o "$context/system/usr/bin/harmy" "$binary"

# Every library at the path the dynamic loader resolves it to (the loader itself is the
# line with no "=>"), copied as a file even where the host has a symlink.
libraries=$(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
[ -n "$libraries" ] || { echo "build-image: ldd named no library" >&2; exit 1; }
for library in $libraries; do
    mkdir -p "$context/system$(dirname "$library")"
    cp -L "$library" "$context/system$library"
done

cp -L /etc/ssl/certs/ca-certificates.crt "$context/system/etc/ssl/certs/"
echo "harmy:x:$HARMY_UID:$HARMY_UID:harmy:/var/lib/harmy:/usr/sbin/nologin" >"$context/system/etc/passwd"
echo "harmy:x:$HARMY_UID:" >"$context/system/etc/group"

chmod 0755 "$context/system/usr/bin/harmy"
chmod 0644 "$context/system/etc/passwd" "$context/system/etc/group" "$context/system/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$context/system/tmp"
chmod 0700 "$context/state/var/lib/harmy" "$context/state/run/harmy"

# Fixed owners and times, sorted names: the same inputs make the same archives.
archive() {
    local dir=$1 owner=$2 out=$3
    shift 3
    tar -C "$dir" --sort=name --mtime=@0 --owner="$owner" --group="$owner" --numeric-owner -cf "$out" "$@"
}
(cd "$context/system" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) | archive "$context/system" 0 "$context/system.tar" --no-recursion -T -
archive "$context/state" "$HARMY_UID" "$context/state.tar" --no-recursion var/lib/harmy run/harmy

# --layers=false: no intermediate image per instruction (FROM scratch has nothing to cache).
id=$(podman build --quiet --layers=false --format docker --build-arg "VERSION=$version" -f Containerfile \
    -t "harmy:$version" -t harmy:latest "$context")
# The build before, untagged by this one.
podman image prune --force --filter label=org.opencontainers.image.title=harmy >/dev/null
echo "$id"
