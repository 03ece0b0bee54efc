#!/bin/sh
# `make image`: builds dpc-notify:VERSION with scripts/docker-build.sh and
# saves it with `docker save` to dist/dpc-notify-VERSION-image.tar (Docker
# 25 and later write it in the OCI image layout; older daemons write
# Docker's own archive format, which `docker load` reads alike). Prints the
# image id, which is the digest of its config (sha256:...), and the
# tarball's sha256, also written next to it. Environment as for
# scripts/docker-build.sh (DOCKER, BASE).
set -eu

cd "$(dirname "$0")/.."
DOCKER=${DOCKER:-docker}
VERSION=$(cat VERSION)
IMAGE=dpc-notify:$VERSION
OUT=dist/dpc-notify-$VERSION-image.tar

IMAGE="$IMAGE" sh scripts/docker-build.sh
mkdir -p dist
"$DOCKER" save -o "$OUT.tmp" "$IMAGE"
mv "$OUT.tmp" "$OUT"
id=$("$DOCKER" image inspect --format '{{.Id}}' "$IMAGE")
(cd dist && sha256sum "$(basename "$OUT")" >"$(basename "$OUT").sha256")
echo "image:   $IMAGE"
echo "digest:  $id (image id: the config digest; a registry digest exists once pushed)"
echo "tarball: $OUT sha256:$(cut -d' ' -f1 "$OUT.sha256")"
