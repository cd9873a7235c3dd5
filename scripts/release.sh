#!/usr/bin/env bash
# Builds what a server without a Swift toolchain installs: the release binary
# with the Swift runtime linked in (--static-swift-stdlib), stripped, beside
# the resource folders it reads (rules, dashboard, OpenAPI), as
#   dist/rca-assistant-VERSION-linux-ARCH.tar.gz  (binary, resources, README,
#                                                  example env, systemd unit)
#   dist/rca-assistant_VERSION_ARCH.deb          (packaging/, README.md
#                                                  "Install on a server")
# The build has its own folder so that it leaves the ordinary debug and
# release builds alone. Prints the two paths and sizes.
#   RELEASE_BUILD_PATH  that folder (default .build/release-static)
#   RELEASE_VERSION  overrides the version (default: rca-assistant --version)
#   DEB_MAINTAINER   the package's Maintainer field
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server-helpers.sh

binary="$(static_release_binary)"
bin="$(dirname "$binary")"

swift_libraries="$(ldd "$binary" | grep libswift || true)"
if [ -n "$swift_libraries" ]; then
    printf 'release.sh: the binary still loads Swift runtime libraries:\n%s\n' "$swift_libraries" >&2
    exit 1
fi

version="${RELEASE_VERSION:-$("$binary" --version)}"
arch="$(dpkg --print-architecture)"
case "$arch" in amd64) machine=x86_64 ;; arm64) machine=aarch64 ;; *) machine="$arch" ;; esac
mkdir -p dist
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The binary and the resource folders its modules look for beside it.
stage_program() {
    install -d "$1"
    install -m 0755 "$binary" "$1/rca-assistant"
    strip "$1/rca-assistant"
    for bundle in RCAAnalysis RCAServer; do
        cp -R "$bin/rca-assistant_$bundle.resources" "$1/"
    done
    chmod -R u=rwX,go=rX "$1"
}

# The tarball: run ./rca-assistant serve in its folder.
name="rca-assistant-$version-linux-$machine"
stage_program "$work/$name"
install -m 0644 README.md "$work/$name/README.md"
install -m 0644 packaging/env "$work/$name/env.example"
install -m 0644 packaging/rca-assistant.service "$work/$name/rca-assistant.service"
tarball="dist/$name.tar.gz"
tar -C "$work" --owner=0 --group=0 --numeric-owner -czf "$tarball" "$name"

# The Debian package.
root="$work/deb"
stage_program "$root/usr/lib/rca-assistant"
install -d "$root/usr/bin"
ln -s ../lib/rca-assistant/rca-assistant "$root/usr/bin/rca-assistant"
install -D -m 0644 packaging/rca-assistant.service "$root/lib/systemd/system/rca-assistant.service"
install -D -m 0640 packaging/env "$root/etc/rca-assistant/env"
install -D -m 0644 README.md "$root/usr/share/doc/rca-assistant/README.md"
install -d "$root/DEBIAN"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
echo /etc/rca-assistant/env >"$root/DEBIAN/conffiles"

# Depends: the packages of the shared libraries the binary still loads (the C
# and C++ runtimes), at the versions its symbols need (dpkg-shlibdeps); passwd
# for the service's user; ca-certificates for HTTPS calls to Slack, Jira and
# model endpoints.
install -d "$work/shlibs/debian"
printf 'Source: rca-assistant\n\nPackage: rca-assistant\nArchitecture: any\n' >"$work/shlibs/debian/control"
libraries="$(cd "$work/shlibs" && dpkg-shlibdeps -O -e "$root/usr/lib/rca-assistant/rca-assistant" 2>"$work/shlibs.log")" \
    || { cat "$work/shlibs.log" >&2; exit 1; }
depends="passwd, ca-certificates, ${libraries#shlibs:Depends=}"

cat >"$root/DEBIAN/control" <<EOF
Package: rca-assistant
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-RCA Assistant developers <maintainers@rca-assistant.invalid>}
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends
Section: net
Priority: optional
Description: turns pipeline-failure alerts into analysed tickets
 RCA Assistant receives the webhooks of Azure Monitor, Data Factory,
 Databricks and Alertmanager, keeps one durable ticket per failure, explains
 its root cause, notifies Slack and Jira and shows everything on a live
 dashboard. The service keeps its data in /var/lib/rca-assistant and reads
 its configuration from /etc/rca-assistant/env.
EOF
deb="dist/rca-assistant_${version}_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null

for artifact in "$tarball" "$deb"; do
    echo "$artifact $(stat -c %s "$artifact") bytes"
done
