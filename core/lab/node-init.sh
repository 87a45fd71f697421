#!/bin/bash
# The init of one lab node. core/lab/node.ts starts it as
#
#   ip netns exec <netns> unshare --mount --uts --fork --kill-child --propagation private \
#     bash <labDir>/bin/node-init.sh <nodeDir>
#
# so it runs in the node's network namespace and in a fresh mount + UTS namespace. It sets the hostname;
# gives the node its own /run and /tmp (tmpfs) and its own /etc /var /root /home /opt /srv /usr (overlayfs,
# upper and work dirs under <nodeDir>; /root and /home over the node's own lower dirs); binds the node's
# virtual disks at /srv/lab-disks; hides the lab's state directory from the node; prints
# `ready <pid> <mnt-ns>` on stdout (a file on the host that core/lab/node.ts polls) and becomes
# `sleep infinity` with argv[0] `anneal-lab-init <nodeDir>`. That process holds the namespaces: every
# process of the node is started with `nsenter -t <pid> -m -u -n`.
#
# Contract: exits non-zero (and so never prints `ready`) when any step fails; the caller then reports the
# log. Running it again for the same node after the previous init died is safe (the upper dirs persist).
set -euo pipefail

NODE_DIR=$1
# shellcheck source=/dev/null
. "$NODE_DIR/node.env"

hostname "$NODE_NAME"

# This namespace started as a copy of the host's mounts, including /run/netns/* handles of the other
# nodes' network namespaces, which would keep those alive after they are deleted. Drop the copies (a
# lazy unmount detaches the whole subtree at once).
umount -l /run/netns 2>/dev/null || true

# Own /run first, and keep a handle on the node's real state dir there: once /var (or whatever holds the
# state dir) is overlaid, paths under it resolve through the overlay and no longer reach the host's files.
mount -t tmpfs -o mode=0755,size=64m anneal-lab-run /run
mkdir -p /run/anneal-lab/node /run/sshd
mount --bind "$NODE_DIR" /run/anneal-lab/node
REAL=/run/anneal-lab/node

# The lower layer is the host's directory, except where the node has its own (<nodeDir>/lower/<dir>: /root
# and /home start from /etc/skel and empty). NOTE(lab): the host keeps changing /root (shell start-up
# files, tool caches); overlayfs does not revalidate a lower directory that changes under a mounted
# overlay, so nodes would see stale entries there.
dirs=()
for d in $OVERLAY_DIRS; do dirs+=("$REAL/upper/$d" "$REAL/work/$d"); done
mkdir -p "${dirs[@]}"
for d in $OVERLAY_DIRS; do
  lower=/$d
  if [ -d "$REAL/lower/$d" ]; then lower=$REAL/lower/$d; fi
  mount -t overlay anneal-lab-overlay -o "lowerdir=$lower,upperdir=$REAL/upper/$d,workdir=$REAL/work/$d" "/$d"
done
mount -t tmpfs -o mode=1777,size=512m anneal-lab-tmp /tmp

mkdir -p /srv/lab-disks
mount --bind "$REAL/disks" /srv/lab-disks

# Quiet network: no IPv6 chatter (router solicitations, MLD) on the lab bridge.
for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
  if [ -w "$f" ]; then echo 1 >"$f"; fi
done

umount "$REAL"
# The lab's state (private key, BMC passwords, other nodes' files) is none of the node's business.
if [ -e "$LAB_DIR" ]; then mount -t tmpfs -o size=4k,mode=0700 anneal-lab-hidden "$LAB_DIR"; fi

echo "ready $$ $(readlink /proc/self/ns/mnt)"
exec </dev/null >/dev/null 2>&1
exec -a "anneal-lab-init $NODE_DIR" sleep infinity
