#!/usr/bin/env bash
# Build the lab's base image from Debian bookworm packages, without any registry:
# debootstrap a minimal root file system, then `podman import` it as a systemd image.
# Reused when present; FORCE=1 rebuilds. The image name can be overridden with
# MAILPRIVACY_IMAGE (the Molecule scenarios and the lab read the same variable).
set -euo pipefail

image="${MAILPRIVACY_IMAGE:-localhost/mailprivacy/bookworm-systemd:latest}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"

if [ "${FORCE:-0}" != 1 ] && podman image exists "$image"; then
  echo "base image $image present, reusing it (FORCE=1 rebuilds)"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

root="$(mktemp -d /var/tmp/mailprivacy-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT

# python3-apt: Ansible's apt module needs it in check mode.
# openssl, ca-certificates: TLS certificates for the mail services.
# procps, iproute2: ps/ss for tests and the services' maintainer scripts.
packages=python3,python3-apt,systemd,systemd-sysv,dbus,procps,iproute2,ca-certificates,openssl,apt-utils,gnupg

echo "debootstrap bookworm into $root (this takes a few minutes the first time)"
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >/dev/null

# Container housekeeping: no getty on consoles, no units that need real hardware,
# a machine-id generated at boot, apt without recommends to keep installs fast.
chroot "$root" /bin/sh -e <<'CHROOT'
systemctl mask getty@tty1.service console-getty.service systemd-udevd.service \
  systemd-udev-trigger.service systemd-remount-fs.service dev-hugepages.mount \
  sys-fs-fuse-connections.mount systemd-logind.service >/dev/null 2>&1 || true
: > /etc/machine-id
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > /etc/apt/apt.conf.d/90mailprivacy
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' > /etc/dpkg/dpkg.cfg.d/90mailprivacy-nodoc
apt-get clean
rm -rf /var/lib/apt/lists/*
mkdir -p /var/lib/apt/lists/partial
# Empty package lists must look stale, or apt's cache_valid_time would skip the first update.
touch -d @0 /var/lib/apt/lists
CHROOT
echo "deb $mirror bookworm main" > "$root/etc/apt/sources.list"
echo "deb ${mirror%/debian}/debian-security bookworm-security main" >> "$root/etc/apt/sources.list"

tar -C "$root" -c . | podman import \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change 'ENV container=podman' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  - "$image"
echo "built $image"
