#!/usr/bin/env bash
# Installs the .deb of scripts/release.sh into a minimal Debian root without
# a Swift toolchain (debootstrap --variant=minbase, cached under .build), runs
# the service there as its unit does (user, working folder, command read from
# the installed unit), posts an alert and reads /ready and the ticket; then
# removes and purges the package. Needs root (chroot, mount) and the Debian
# mirror for debootstrap and the package's dependencies.
#   DEB=path.deb         test this package instead of building one
#   DEBIAN_MIRROR        default http://deb.debian.org/debian
#   DEBIAN_SUITE         default: this machine's (bookworm here)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh

fail() { echo "package-test: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (chroot and mount)"
command -v debootstrap >/dev/null || fail "debootstrap is needed (apt-get install -y debootstrap)"

deb="${DEB:-}"
if [ -z "$deb" ]; then
    built="$(scripts/release.sh)" || fail "scripts/release.sh failed"
    deb="$(awk '/\.deb / { print $1 }' <<<"$built")"
fi
[ -f "$deb" ] || fail "no package at '$deb'"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite="${DEBIAN_SUITE:-$(. /etc/os-release && echo "$VERSION_CODENAME")}"

cache=".build/debian-$suite-minbase.tar"
if [ ! -f "$cache" ]; then
    fresh="$(mktemp -d)"
    debootstrap --variant=minbase "$suite" "$fresh" "$mirror" >"$fresh.log" 2>&1 \
        || { tail -n 20 "$fresh.log" >&2; fail "debootstrap failed"; }
    tar -C "$fresh" -cf "$cache.partial" . && mv "$cache.partial" "$cache"
    rm -rf "$fresh" "$fresh.log"
fi

root="$(mktemp -d)"
server=""
cleanup() {
    [ -z "$server" ] || kill "$server" 2>/dev/null || true
    [ -z "$server" ] || wait "$server" 2>/dev/null || true
    umount "$root/proc" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$cache"
chmod 0755 "$root"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
if in_root sh -c 'command -v swift' >/dev/null || [ -n "$(find "$root" -name 'libswiftCore*' -print -quit)" ]; then
    fail "the Debian root has Swift in it; the test would prove nothing"
fi
mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"

cp "$deb" "$root/tmp/rca-assistant.deb"
in_root apt-get update -qq >"$root/tmp/update.log" 2>&1 || { cat "$root/tmp/update.log" >&2; fail "apt-get update failed in the root"; }
in_root apt-get install -y -qq /tmp/rca-assistant.deb >"$root/tmp/install.log" 2>&1 \
    || { cat "$root/tmp/install.log" >&2; fail "the package did not install"; }
echo "package-test: installed $(basename "$deb") ($(stat -c %s "$deb") bytes, $(in_root dpkg-query -W -f='${Installed-Size}' rca-assistant) KiB installed) into a $suite minbase root"

in_root rca-assistant --version >/dev/null || fail "rca-assistant --version failed in the root"
modes="$(in_root stat -c '%U:%G %a' /etc/rca-assistant/env)"
[ "$modes" = "root:rca-assistant 640" ] || fail "/etc/rca-assistant/env is $modes, expected root:rca-assistant 640"

# The service as its unit runs it, on a free port of this machine (the root
# shares its network).
unit="$root/lib/systemd/system/rca-assistant.service"
unit_value() { sed -n "s/^$1=//p" "$unit"; }
user="$(unit_value User)"
group="$(unit_value Group)"
folder="$(unit_value WorkingDirectory)"
command="$(unit_value ExecStart)"
port="$(free_port)"
sed -i "s/^PORT=.*/PORT=$port/" "$root/etc/rca-assistant/env"
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin setpriv --reuid="$user" --regid="$group" --init-groups -- \
    sh -c "cd '$folder' && exec $command" >"$root/tmp/server.out" 2>"$root/tmp/server.err" &
server=$!
wait_ready "$port" || { cat "$root/tmp/server.err" >&2; fail "the installed server did not become ready"; }

base="http://127.0.0.1:$port"
token="$(cat "$root/var/lib/rca-assistant/webhook_token")"
password="$(sed -n 's/^First start: created user "admin" with password //p' "$root/tmp/server.out")"
[ -n "$password" ] || { cat "$root/tmp/server.out" >&2; fail "no first admin password in the banner"; }
[ "$(in_root stat -c %U /var/lib/rca-assistant/rca.sqlite)" = "$user" ] || fail "the database is not owned by $user"

accepted="$(curl -fsS "$base/azure-monitor" -H "X-RCA-Token: $token" -H 'Content-Type: application/json' --data-binary @bench/adf-alert.json)" \
    || fail "the alert was refused"
ticket="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["ticket_ids"][0])' <<<"$accepted")"
jwt="$(curl -fsS "$base/api/login" -H 'Content-Type: application/json' \
    -d "$(python3 -c 'import json, sys; print(json.dumps({"email": "admin", "password": sys.argv[1]}))' "$password")" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
for _ in $(seq 100); do
    answer="$(curl -fsS "$base/api/tickets/$ticket" -H "Authorization: Bearer $jwt")"
    state="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["ticket"]["analysis_state"])' <<<"$answer")"
    [ "$state" = pending ] || break
    sleep 0.1
done
[ "$state" = done ] || fail "ticket $ticket was not analysed in the root: $answer"
echo "package-test: ticket $ticket stored and analysed: $(python3 -c 'import json, sys; t = json.load(sys.stdin)["ticket"]; print(t["error_type"], "/", t["severity"], "/", t["status"])' <<<"$answer")"

kill "$server"
wait "$server" || fail "the server did not stop cleanly on SIGTERM"
server=""
in_root dpkg --purge rca-assistant >/dev/null || fail "the package did not purge"
[ ! -e "$root/usr/bin/rca-assistant" ] || fail "/usr/bin/rca-assistant is left after purge"
[ -f "$root/var/lib/rca-assistant/rca.sqlite" ] || fail "purge removed the tickets"
echo "package-test: passed"
