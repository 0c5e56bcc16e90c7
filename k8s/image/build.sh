#!/usr/bin/env bash
# Builds CallMesh's OCI images without a Docker daemon or a registry (k8s/README.md: images):
#   - the .NET apps published self-contained for linux-x64 (no runtime in the image to patch separately);
#   - a Debian 12 root filesystem of only the libraries .NET needs, made by mmdebstrap from Debian's packages;
#   - assembled by umoci into one OCI layout (.callmesh/images/oci) as callmesh/silo, callmesh/gateway and
#     callmesh/migrator, tagged VERSION and VERSION-COMMIT; non-root user 10001, for a read-only root filesystem;
#   - an SBOM per image (CycloneDX JSON: the Debian packages and the NuGet packages), inside the image and beside it.
# Usage: k8s/image/build.sh OUT_DIR VERSION COMMIT
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$1" VERSION="$2" COMMIT="$3"
LAYOUT="$OUT/oci"
WORK="$OUT/work"
# The shared libraries a self-contained .NET app loads on Debian 12 (ICU for globalization, OpenSSL for TLS and Npgsql).
PACKAGES="base-files,netbase,tzdata,ca-certificates,libc6,libgcc-s1,libstdc++6,zlib1g,libssl3,libicu72"

say() { printf '\033[1mimage:\033[0m %s\n' "$*" >&2; }

mkdir -p "$OUT" "$WORK"
rm -rf "$LAYOUT" "$WORK"/bundle-*

# --------------------------------------------------------------- the base root filesystem (cached by its package list)
base="$OUT/base-rootfs.tar"
if [ ! -s "$base" ] || [ "$(cat "$base.packages" 2>/dev/null)" != "$PACKAGES" ]; then
  say "building the Debian 12 base root filesystem ($PACKAGES)"
  # "extract": the packages' files only. No dpkg, shell or maintainer scripts in the image; what their scripts would
  # have made (the CA bundle, the users) the hooks make (extract hooks: the variant installs nothing, so it has no customize phase).
  mmdebstrap --quiet --variant=extract --include="$PACKAGES" --mode=root \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --extract-hook='printf "root:x:0:0:root:/root:/usr/sbin/nologin\ncallmesh:x:10001:10001:CallMesh:/nonexistent:/usr/sbin/nologin\n" > "$1/etc/passwd"' \
    --extract-hook='printf "root:x:0:\ncallmesh:x:10001:\n" > "$1/etc/group"' \
    --extract-hook='mkdir -p "$1/etc/ssl/certs" && cat "$1"/usr/share/ca-certificates/mozilla/*.crt > "$1/etc/ssl/certs/ca-certificates.crt"' \
    --extract-hook='mkdir -p "$1/tmp" && chmod 1777 "$1/tmp"' \
    --extract-hook="for deb in \"\$1\"/var/cache/apt/archives/*.deb; do dpkg-deb --show --showformat='\${Package}\t\${Version}\t\${Architecture}\n' \"\$deb\"; done | sort > '$base.packages.tsv'" \
    bookworm "$OUT/base-rootfs.tmp.tar" "${CALLMESH_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
  mv "$OUT/base-rootfs.tmp.tar" "$base"
  echo "$PACKAGES" >"$base.packages"
fi

# --------------------------------------------------------------- the apps
# Published from a copy of the sources: a self-contained publish rebuilds the referenced libraries into their usual
# bin/ folders, under the feet of silos and tests running from this checkout.
src="$WORK/src"
rm -rf "$src" && mkdir -p "$src"
tar -C "$ROOT" --exclude=./.git --exclude=./.callmesh --exclude=./tests --exclude=./bench --exclude='bin' --exclude='obj' -cf - . | tar -C "$src" -xf -
publish() { # PROJECT DIR
  say "publishing $1 (self-contained, linux-x64)"
  dotnet publish "$src/$1" -c Release -r linux-x64 --self-contained -nologo -v quiet -clp:ErrorsOnly \
    -p:DebugType=none -p:Version="$VERSION" -p:SourceRevisionId="$COMMIT" -o "$2" >&2
}
publish silo/CallMesh.Silo.csproj "$WORK/silo"
publish gateway/CallMesh.Gateway.csproj "$WORK/gateway"

# --------------------------------------------------------------- the OCI layout
umoci init --layout "$LAYOUT"
umoci new --image "$LAYOUT:base"
umoci unpack --image "$LAYOUT:base" "$WORK/bundle-base" >/dev/null
tar -xf "$base" -C "$WORK/bundle-base/rootfs"
umoci repack --image "$LAYOUT:base" "$WORK/bundle-base"
cp "$base.packages.tsv" "$WORK/debian-packages.tsv"

image() { # NAME APP_DIR ENTRYPOINT [CMD]
  local name="$1" app="$2" entrypoint="$3" cmd="${4:-}" bundle="$WORK/bundle-$1" tag="$LAYOUT:$1-$VERSION-$COMMIT"
  say "assembling callmesh/$name:$VERSION-$COMMIT"
  umoci unpack --image "$LAYOUT:base" "$bundle" >/dev/null
  mkdir -p "$bundle/rootfs/app" "$bundle/rootfs/usr/share/doc/callmesh" "$bundle/rootfs/var/lib/callmesh"
  cp -a "$app/." "$bundle/rootfs/app/"
  chown -R 0:0 "$bundle/rootfs/app"
  chown 10001:10001 "$bundle/rootfs/var/lib/callmesh"
  python3 "$ROOT/k8s/image/sbom.py" "callmesh/$name" "$VERSION-$COMMIT" "$WORK/debian-packages.tsv" "$app" \
    >"$bundle/rootfs/usr/share/doc/callmesh/sbom.cdx.json"
  cp "$bundle/rootfs/usr/share/doc/callmesh/sbom.cdx.json" "$OUT/$name-$VERSION-$COMMIT.cdx.json"
  umoci repack --image "$tag" "$bundle"
  local args=(--image "$tag" --config.user 10001:10001 --config.workingdir /app --config.entrypoint "$entrypoint"
    --config.env DOTNET_GCgen0size=0x1000000 --config.env DOTNET_EnableDiagnostics=0 --config.env CALLMESH_LOG_FORMAT=json
    --config.label "org.opencontainers.image.title=callmesh-$name" --config.label "org.opencontainers.image.version=$VERSION"
    --config.label "org.opencontainers.image.revision=$COMMIT" --config.label "org.opencontainers.image.licenses=MIT"
    --config.label "org.opencontainers.image.source=https://github.com/callmesh/callmesh")
  [ -z "$cmd" ] || args+=(--config.cmd "$cmd")
  umoci config "${args[@]}"
  umoci tag --image "$LAYOUT:$name-$VERSION-$COMMIT" "$name-$VERSION"
}
image silo "$WORK/silo" /app/CallMesh.Silo
image gateway "$WORK/gateway" /app/CallMesh.Gateway
image migrator "$WORK/silo" /app/CallMesh.Silo migrate
umoci rm --image "$LAYOUT:base"
umoci gc --layout "$LAYOUT"
rm -rf "$WORK"/bundle-*
umoci ls --layout "$LAYOUT"
