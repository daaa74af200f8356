#!/usr/bin/env bash
# Build the irisenv stand-in IRIS image (a TEST DOUBLE, never shipped).
#
#   bash tests/standin/build.sh
#
# 1. builds a rootfs from busybox-static (+ applet symlinks, /etc/passwd with
#    irisowner 51773) and imports it as irisenv-standin-base:latest
#    (skipped when an image with the same content hash already exists);
# 2. docker build tests/standin/Dockerfile on top of it, tagged
#    ${IRISENV_STANDIN_IMAGE:-irisenv-standin:latest}.
# Needs a Docker engine; no network (except apt-get when busybox is missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE=${IRISENV_STANDIN_IMAGE:-irisenv-standin:latest}
BASE=irisenv-standin-base:latest

find_busybox() {
    local b
    for b in /usr/bin/busybox /bin/busybox; do
        # must be static: the rootfs has no libc
        if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi
    done
    return 1
}

BUSYBOX=$(find_busybox || true)
if [ -z "$BUSYBOX" ]; then
    echo "build.sh: static busybox not found; installing busybox-static" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y busybox-static >&2
    BUSYBOX=$(find_busybox)
fi

# ---- base image: busybox rootfs, imported only when its content changed ----
rootfs_hash() {
    {
        sha256sum "$BUSYBOX" | cut -d' ' -f1
        "$BUSYBOX" --list-full
        sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
    } | sha256sum | cut -c1-16
}
HASH=$(rootfs_hash)
have_hash=$(docker image inspect --format '{{ index .Config.Labels "io.irisenv.standin.base-hash" }}' "$BASE" 2>/dev/null || true)
if [ "$have_hash" != "$HASH" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    root=$work/rootfs
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home/irisowner,proc,sys,dev,var/log,run}
    cp "$BUSYBOX" "$root/bin/busybox"
    chmod 0755 "$root/bin/busybox"
    # applet symlinks at their canonical paths (bin/sh, usr/bin/awk, ...)
    while read -r applet; do
        [ "$applet" = bin/busybox ] && continue
        mkdir -p "$root/$(dirname "$applet")"
        ln -sf /bin/busybox "$root/$applet"
    done < <("$BUSYBOX" --list-full)
    [ -e "$root/bin/sh" ] || ln -sf /bin/busybox "$root/bin/sh"
    [ -e "$root/usr/bin/env" ] || ln -sf /bin/busybox "$root/usr/bin/env"
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
irisowner:x:51773:51773:irisowner:/home/irisowner:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
irisowner:x:51773:
nogroup:x:65534:
EOF
    echo "irisenv-standin" >"$root/etc/hostname"
    chmod 1777 "$root/tmp"
    chown 51773:51773 "$root/home/irisowner" 2>/dev/null || true
    tar -C "$root" --sort=name --mtime=@0 --numeric-owner -cf "$work/rootfs.tar" .
    docker import \
        --change "LABEL io.irisenv.standin.base-hash=$HASH" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/sh"]' \
        "$work/rootfs.tar" "$BASE" >/dev/null
    echo "build.sh: imported $BASE (hash $HASH)" >&2
else
    echo "build.sh: $BASE is up to date (hash $HASH)" >&2
fi

# ---- the stand-in image -----------------------------------------------------
# Without buildx the CLI must use the classic builder (it can FROM a local image).
if ! docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=0; fi
docker build -q --build-arg "BASE_IMAGE=$BASE" -t "$IMAGE" -f "$HERE/Dockerfile" "$HERE" >/dev/null
echo "build.sh: built $IMAGE ($(docker image inspect --format '{{.Size}}' "$IMAGE") bytes)" >&2
