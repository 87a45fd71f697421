#!/bin/bash
# The chassis of one lab node: ipmi_sim's `chassis_control` program (through the per-node wrapper
# <nodeDir>/bmc/control) and the lab library's way to start and stop a node's services.
#
#   bmc-control.sh <nodeDir> get power | get boot          → prints `power:0|1` / `boot:<device>`
#   bmc-control.sh <nodeDir> set power 1                     → boot: pxe hook if next-boot is pxe, then services
#   bmc-control.sh <nodeDir> set power 0                     → stop every process of the node except its init
#   bmc-control.sh <nodeDir> set shutdown 1                  → the same, with a longer grace period (soft off)
#   bmc-control.sh <nodeDir> set reset 1                     → stop, then boot again (power stays on)
#   bmc-control.sh <nodeDir> set boot pxe|default|none       → records the next-boot device
#   bmc-control.sh <nodeDir> sshd-start | sshd-stop          → the node's sshd only (faults, heal)
#
# State lives in <nodeDir>: `power` (0|1), `boot` (next-boot device), `init.pid`, `faults/<fault>`,
# `discovered`, and `node.env` (written by core/lab/node.ts) for names, addresses and hooks.
# Contract: `get` never fails; `set power 1` exits 1 when the node's init is not running (the BMC then
# reports an error). Commands for one node are serialised with flock on <nodeDir>/lock. Every action is
# appended to <nodeDir>/bmc/control.log. Nothing here prints secrets.
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
NODE_DIR=$1
shift
# shellcheck source=/dev/null
. "$NODE_DIR/node.env"
LOG="$NODE_DIR/bmc/control.log"

log() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T %s\n' -1 "$*" >>"$LOG"; }

# The first line of a file, or $2 when it cannot be read (a builtin: these run on every BMC request).
get() {
  local v
  { read -r v <"$1"; } 2>/dev/null || v=${2:-}
  printf '%s' "${v:-${2:-}}"
}

# The pid of the node's init, when it runs; fails otherwise.
init_pid() {
  local pid argv=()
  pid=$(get "$NODE_DIR/init.pid")
  [ -n "$pid" ] || return 1
  { mapfile -d '' argv <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [ "${argv[0]:-}" = "anneal-lab-init $NODE_DIR" ] || return 1
  echo "$pid"
}

# Pids of every process in the node's mount namespace except its init and the init's parent (unshare
# enters the new namespaces itself before it forks the init).
node_pids() {
  local init=$1 ns pattern parent
  ns=$(readlink "/proc/$init/ns/mnt") || return 0
  parent=$(awk '/^PPid:/ { print $2 }' "/proc/$init/status" 2>/dev/null)
  pattern=$(printf '%s' "$ns" | sed 's/[][*?\\]/\\&/g')
  find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "$pattern" 2>/dev/null |
    cut -d/ -f3 | grep -vx -e "$init" -e "${parent:-0}" || true
}

# Stops every process of the node except its init: SIGTERM, then SIGKILL after $2 seconds.
stop_all() {
  local init=$1 grace=$2 pids i
  pids=$(node_pids "$init")
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do
    pids=$(node_pids "$init")
    [ -n "$pids" ] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  log "killed after ${grace}s: $(echo $pids)"
}

# Runs a command inside the node's namespaces, without the capabilities that would reach past them: a
# node shares the host's kernel and PID namespace, so CAP_SYS_BOOT would let `reboot -f` on a node reboot
# the host, CAP_SYS_TIME would let chronyd on a node set the host's clock, CAP_SYS_MODULE load modules.
# Dropped from the bounding set, they are gone for sshd and every session and daemon started under it.
NODE_CAP_DROP=-sys_boot,-sys_time,-sys_module
in_node() {
  local init=$1
  shift
  nsenter -t "$init" -m -u -n -- setpriv --bounding-set "$NODE_CAP_DROP" -- "$@"
}

# The pid of the node's running sshd (from its pid file, inside the node's /run), or nothing.
sshd_pid() {
  local init=$1 pid
  pid=$(get "/proc/$init/root/run/sshd.pid")
  # -ef: same namespace (the links resolve to the same nsfs inode)
  [ -n "$pid" ] && [ "/proc/$pid/ns/mnt" -ef "/proc/$init/ns/mnt" ] || return 1
  echo "$pid"
}

sshd_start() {
  local init=$1
  if sshd_pid "$init" >/dev/null; then return 0; fi
  if [ -e "$NODE_DIR/faults/sshd-down" ]; then
    log "sshd not started: fault sshd-down"
    return 0
  fi
  if in_node "$init" /usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/log/sshd.log \
    </dev/null >/dev/null 2>>"$LOG"; then
    log "sshd started"
  else
    log "sshd failed to start (see the node's /var/log/sshd.log)"
    return 1
  fi
}

sshd_stop() {
  local init=$1 pid
  pid=$(sshd_pid "$init") || return 0
  kill -TERM "$pid" 2>/dev/null
  log "sshd stopped"
}

# The node announces itself to anneal as a discovery image would: it retries every DISCOVERY_INTERVAL
# seconds (default 2) for up to DISCOVERY_ATTEMPTS tries (default 300, ten minutes) while it stays powered
# on, so a server started after the lab still sees every node. Stops at the first answer 2xx or 409 (the
# name is registered already) and then never announces again (the `discovered` marker). Only ever to the
# lab's host address (ANNEAL_URL is validated by core/lab when the lab is created, and again here).
# Like a discovery image that enrols its machine's BMC (MAAS's commissioning creates a BMC user and reports
# its password the same way), it reports the BMC's user and password: the body goes to curl on stdin,
# never on a command line, and nothing here logs it.
discover() {
  local init=$1 body code macs i user password
  [ -n "$ANNEAL_URL" ] || return 0
  case "$ANNEAL_URL" in
    "http://$HOST_IP:"[0-9]* | "http://$HOST_IP") ;;
    *)
      log "discovery refused: ANNEAL_URL is not on the lab host address $HOST_IP"
      return 0
      ;;
  esac
  macs=$(printf '"%s",' ${NODE_MACS//,/ })
  # lan.conf: `user 2 true "<user>" "<password>" admin …` (the password is letters and digits).
  user=$(sed -n 's/^ *user 2 true "\([A-Za-z0-9]*\)" .*/\1/p' "$NODE_DIR/bmc/lan.conf" 2>/dev/null)
  password=$(sed -n 's/^ *user 2 true "[^"]*" "\([A-Za-z0-9]*\)".*/\1/p' "$NODE_DIR/bmc/lan.conf" 2>/dev/null)
  body=$(printf '{"name":"%s","macs":[%s],"bmcAddress":"%s","address":"%s"' \
    "$NODE_NAME" "${macs%,}" "$BMC_ADDRESS" "$NODE_IP")
  if [ -n "$user" ] && [ -n "$password" ]; then
    body+=$(printf ',"bmcUsername":"%s","bmcPassword":"%s"' "$user" "$password")
  fi
  body+='}'
  for ((i = 1; i <= ${DISCOVERY_ATTEMPTS:-300}; i++)); do
    [ -e "$NODE_DIR/discovered" ] && return 0
    [ "$(get "$NODE_DIR/power")" = 1 ] && init_pid >/dev/null || return 0
    code=$(printf '%s' "$body" | nsenter -t "$init" -m -u -n env -i PATH="$PATH" curl -sS --noproxy '*' \
      --proto '=http' -m 10 -o /dev/null -w '%{http_code}' -H 'content-type: application/json' --data @- \
      "$ANNEAL_URL/provision/discover" 2>/dev/null)
    case "$code" in
      2?? | 409)
        touch "$NODE_DIR/discovered"
        log "discovery: POST $ANNEAL_URL/provision/discover → $code (try $i)"
        return 0
        ;;
    esac
    # One line for the first failure, then silence: a server that is not up yet is the normal case.
    [ "$i" = 1 ] && log "discovery: POST $ANNEAL_URL/provision/discover → ${code:-no answer}; retrying"
    sleep "${DISCOVERY_INTERVAL:-2}"
  done
  log "discovery gave up after $((i - 1)) tries"
}

# Network boot. With a PXE_HOOK (an extension point), power-on runs it on the host with the node's identity
# in the environment. Without one but with an ANNEAL_URL on the lab host address, the node runs the lab's
# built-in network boot (pxe-install.cjs, fed to node on stdin inside the node's namespaces: the lab's
# bin dir is hidden there): iPXE script for its eth0 MAC, install config, applied to its own root,
# post-install commands, install-complete. Exit 0: the node then boots from disk (services start).
# Non-zero: the node stays on without services, as a machine stuck in its installer would. Neither:
# a pxe boot is logged and boots from disk. Output goes to <nodeDir>/bmc/pxe.log; 10 minutes at most.
pxe_boot() {
  local init=$1 rc
  if [ -n "$PXE_HOOK" ]; then
    log "pxe boot: running hook"
    NODE_DIR="$NODE_DIR" NODE_NAME="$NODE_NAME" NODE_IP="$NODE_IP" NODE_MACS="$NODE_MACS" \
      NODE_NETNS="$NODE_NETNS" INIT_PID="$init" HOST_IP="$HOST_IP" ANNEAL_URL="$ANNEAL_URL" \
      bash -c "$PXE_HOOK" </dev/null >>"$NODE_DIR/bmc/pxe.log" 2>&1
    rc=$?
    log "pxe hook exited $rc"
    return $rc
  fi
  case "$ANNEAL_URL" in
    "http://$HOST_IP:"[0-9]* | "http://$HOST_IP") ;;
    *)
      log "next boot was pxe; no pxe hook and no anneal URL on $HOST_IP, booting from disk"
      return 0
      ;;
  esac
  if [ -z "${NODE_BIN:-}" ] || ! nsenter -t "$init" -m test -x "$NODE_BIN"; then
    log "pxe boot failed: node (${NODE_BIN:-unset}) cannot run inside the node; install node.js under /usr"
    return 1
  fi
  log "pxe boot: network install from $ANNEAL_URL"
  # (timeout cannot run a shell function: in_node spelled out)
  timeout -s KILL 600 nsenter -t "$init" -m -u -n -- setpriv --bounding-set "$NODE_CAP_DROP" -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    ANNEAL_PXE_INSTALL=1 "$NODE_BIN" - "$ANNEAL_URL" "${NODE_MACS%%,*}" \
    <"$LAB_DIR/bin/pxe-install.cjs" >>"$NODE_DIR/bmc/pxe.log" 2>&1
  rc=$?
  log "pxe network boot exited $rc"
  return $rc
}

boot() {
  local init=$1 rc
  if [ -z "$PXE_HOOK" ]; then
    log "next boot was pxe; no pxe hook configured, booting from disk"
    return 0
  fi
  log "pxe boot: running hook"
  NODE_DIR="$NODE_DIR" NODE_NAME="$NODE_NAME" NODE_IP="$NODE_IP" NODE_MACS="$NODE_MACS" \
    NODE_NETNS="$NODE_NETNS" INIT_PID="$init" HOST_IP="$HOST_IP" ANNEAL_URL="$ANNEAL_URL" \
    bash -c "$PXE_HOOK" </dev/null >>"$NODE_DIR/bmc/pxe.log" 2>&1
  rc=$?
  log "pxe hook exited $rc"
  return $rc
}

boot() {
  local init=$1 next
  next=$(get "$NODE_DIR/boot" none)
  if [ "$next" = pxe ]; then
    echo none >"$NODE_DIR/boot" # IPMI boot flags apply to the next boot only
    pxe_boot "$init" || return 0
  fi
  sshd_start "$init"
  # Detached, without our stdout (ipmi_sim reads it) and without the lock fd.
  (discover "$init" 9>&- </dev/null >/dev/null 2>&1 &)
}

with_lock() {
  exec 9>"$NODE_DIR/lock"
  flock -w 60 9 || {
    log "lock timeout"
    exit 1
  }
}

case "${1:-} ${2:-}" in
  "get power")
    if init_pid >/dev/null && [ "$(get "$NODE_DIR/power")" = 1 ]; then echo power:1; else echo power:0; fi
    ;;
  "get boot")
    echo "boot:$(get "$NODE_DIR/boot" none)"
    ;;
  "set power" | "set shutdown" | "set reset")
    with_lock
    init=$(init_pid) || {
      log "$1 $2 ${3:-}: the node's init is not running"
      echo 0 >"$NODE_DIR/power"
      exit 1
    }
    case "$2 ${3:-}" in
      "power 1")
        if [ "$(get "$NODE_DIR/power")" = 1 ]; then
          sshd_start "$init" # already on: make sure the services run (idempotent)
        else
          echo 1 >"$NODE_DIR/power"
          log "power on"
          boot "$init"
        fi
        ;;
      "power 0")
        log "power off"
        stop_all "$init" 2
        echo 0 >"$NODE_DIR/power"
        ;;
      "shutdown 1")
        log "soft off"
        stop_all "$init" 10
        echo 0 >"$NODE_DIR/power"
        ;;
      "reset 1")
        log "reset"
        stop_all "$init" 2
        echo 1 >"$NODE_DIR/power"
        boot "$init"
        ;;
      *) log "ignored: $*" ;;
    esac
    ;;
  "set boot")
    with_lock
    echo "${3:-none}" >"$NODE_DIR/boot"
    log "next boot: ${3:-none}"
    ;;
  "sshd-start "*)
    with_lock
    init=$(init_pid) || exit 1
    [ "$(get "$NODE_DIR/power")" = 1 ] || exit 0
    sshd_start "$init"
    ;;
  "sshd-stop "*)
    with_lock
    init=$(init_pid) || exit 0
    sshd_stop "$init"
    ;;
  *)
    log "unknown command: $*"
    exit 2
    ;;
esac
