#!/usr/bin/env bash
# The container image: builds it (packaging/build-image.sh), checks its configuration
# (user, entrypoint, variables, volume, health check), exports its root filesystem and
# checks that it holds exactly the binary, its libraries, the CA certificates, passwd,
# group and harmy's directories; then runs `harmy serve --demo` in that filesystem with
# chroot as the image's user, waits for /health, asks the image's own health check, and
# fetches a presence from outside.
#
# This machine cannot start containers (crun needs cgroups it does not have), hence
# chroot. Needs root for chroot and for the export's owners (sudo when not root); installs
# podman when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

fail() {
    echo "test-image: FAIL: $*" >&2
    exit 1
}

# The demo user (src/demo/guild.rs, DEMO_USER).
readonly DEMO_USER=1300000000000000001
readonly HARMY_UID=10001
# How long the demo gets to answer /health.
readonly DEADLINE_SECONDS=30
# env -i clears PATH: chroot by its path.
chroot=$(command -v chroot)

start=$SECONDS
if ! command -v podman >/dev/null 2>&1; then
    "${as_root[@]}" apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y podman
fi

image=$(packaging/build-image.sh)
echo "test-image: built image ${image:0:12} after $((SECONDS - start)) s"

config() { podman image inspect --format "$1" "$image"; }
[ "$(config '{{.Config.User}}')" = "$HARMY_UID:$HARMY_UID" ] || fail "user: $(config '{{.Config.User}}')"
[ "$(config '{{json .Config.Entrypoint}}')" = '["/usr/bin/harmy"]' ] || fail "entrypoint: $(config '{{json .Config.Entrypoint}}')"
[ "$(config '{{json .Config.Cmd}}')" = '["serve","--migrate"]' ] || fail "cmd: $(config '{{json .Config.Cmd}}')"
# (Read whole before grep: grep -q stops reading at the first match, and pipefail
# would count the writer's broken pipe as a failure.)
env=$(config '{{range .Config.Env}}{{println .}}{{end}}')
for var in HARMY_STORAGE_PATH=/var/lib/harmy/harmy.redb HARMY_ADMIN_SOCKET=/run/harmy/admin.sock \
    HARMY_HTTP_LISTEN=0.0.0.0:4001; do
    grep -qx "$var" <<<"$env" || fail "no $var in the environment: $env"
done
[ "$(config '{{json .Config.Volumes}}')" = '{"/var/lib/harmy":{}}' ] || fail "volumes: $(config '{{json .Config.Volumes}}')"
[ "$(config '{{json .Config.Healthcheck.Test}}')" = '["CMD","/usr/bin/harmy","health"]' ] ||
    fail "health check: $(config '{{json .Config.Healthcheck}}')"
echo "ok: user $HARMY_UID, entrypoint harmy serve --migrate, HARMY_* variables, volume, health check"

root=$(mktemp -d)
log=$(mktemp)
container=""
demo=""
cleanup() {
    [ -z "$demo" ] || "${as_root[@]}" kill -KILL "$demo" 2>/dev/null || true
    [ -z "$container" ] || podman rm --force "$container" >/dev/null
    "${as_root[@]}" rm -rf "$root" "$log"
}
trap cleanup EXIT
# No health check timer for a container that never starts (podman would ask systemd for one).
container=$(podman create --no-healthcheck "$image")
podman export "$container" | "${as_root[@]}" tar -x -C "$root"
# The root of the filesystem, as in a container (mktemp made it 0700).
chmod 0755 "$root"
podman rm "$container" >/dev/null
container=""

# Exactly these, nothing else: the binary, the libraries ldd names for it (and the
# directories that hold them), the certificates, passwd and group, harmy's directories.
expected=$(
    {
        printf '%s\n' /usr /usr/bin /usr/bin/harmy /etc /etc/passwd /etc/group /etc/ssl /etc/ssl/certs \
            /etc/ssl/certs/ca-certificates.crt /tmp /var /var/lib /var/lib/harmy /run /run/harmy
        for library in $(ldd "$root/usr/bin/harmy" | awk '$2 == "=>" {print $3} $1 ~ /^\// {print $1}'); do
            dir=$(dirname "$library")
            while [ "$dir" != / ]; do
                echo "$dir"
                dir=$(dirname "$dir")
            done
            echo "$library"
        done
    } | sort -u
)
found=$(cd "$root" && find . -mindepth 1 | sed 's|^\.||' | sort)
echo "test-image: the image's files:"
(cd "$root" && find . -mindepth 1 ! -type d -printf '  /%P %s bytes\n' | sort)
if [ "$found" != "$expected" ]; then
    diff <(echo "$expected") <(echo "$found") >&2 || true
    fail "the image's files are not the list (< expected, > found)"
fi
owner() { "${as_root[@]}" stat -c '%u:%g %a' "$root$1"; }
for dir in /var/lib/harmy /run/harmy; do
    [ "$(owner "$dir")" = "$HARMY_UID:$HARMY_UID 700" ] || fail "$dir is $(owner "$dir")"
done
[ "$(owner /usr/bin/harmy)" = "0:0 755" ] || fail "/usr/bin/harmy is $(owner /usr/bin/harmy)"
grep -qx "harmy:x:$HARMY_UID:$HARMY_UID:harmy:/var/lib/harmy:/usr/sbin/nologin" "$root/etc/passwd" ||
    fail "/etc/passwd: $(cat "$root/etc/passwd")"
echo "ok: the root filesystem holds only the list above; harmy's directories are its own"

# The demo, as the image's user, in the image's filesystem, with nothing of this
# machine's environment; port 0, read back from the log.
"${as_root[@]}" env -i PATH=/usr/bin HOME=/var/lib/harmy HARMY_LOG=info \
    "$chroot" --userspec="$HARMY_UID:$HARMY_UID" "$root" /usr/bin/harmy serve --demo --listen 127.0.0.1:0 \
    >/dev/null 2>"$log" &
demo=$!
deadline=$((SECONDS + DEADLINE_SECONDS))
address=""
until [ -n "$address" ]; do
    [ $SECONDS -lt $deadline ] || fail "the demo did not start; log: $(cat "$log")"
    kill -0 "$demo" 2>/dev/null || fail "the demo exited; log: $(cat "$log")"
    address=$(sed -n 's/.*harmy serve started.*http=\([0-9.:]*\).*/\1/p' "$log" | head -1)
    [ -n "$address" ] || sleep 0.1
done
until curl -fsS "http://$address/health" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "/health did not answer 200 within $DEADLINE_SECONDS s; log: $(cat "$log")"
    sleep 0.1
done
echo "ok: /health answers 200 from the demo in the image's filesystem, as user $HARMY_UID"

# The HEALTHCHECK's own command, as the image runs it: the address from HARMY_HTTP_LISTEN.
"${as_root[@]}" env -i "HARMY_HTTP_LISTEN=$address" "$chroot" --userspec="$HARMY_UID:$HARMY_UID" "$root" /usr/bin/harmy health ||
    fail "harmy health in the image failed"
echo "ok: the image's health check passes"

presence=$(curl -fsS "http://$address/user/$DEMO_USER")
grep -q "\"userId\":\"$DEMO_USER\"" <<<"$presence" || fail "GET /user/$DEMO_USER: $presence"
echo "ok: GET /user/$DEMO_USER from outside: ${presence:0:120}…"

"${as_root[@]}" kill -TERM "$demo"
wait "$demo" || fail "the demo did not exit 0 on SIGTERM; log: $(cat "$log")"
demo=""
[ -z "$("${as_root[@]}" find "$root/tmp" -mindepth 1)" ] || fail "the demo left files in /tmp"
echo "test-image: all checks passed in $((SECONDS - start)) s"
