#!/bin/bash
# The OS side of a lab node's power: core/lab/node.ts seeds this script into the node's own upper layer
# as /usr/sbin/reboot, /usr/sbin/poweroff, /usr/sbin/halt, /usr/sbin/shutdown and /usr/bin/systemctl, so
# inside the node (and only there) they shadow the host's binaries. A lab node shares the host's kernel
# and has no systemd, so the real commands cannot work there (and must not: the host's kernel is not the
# node's). Instead, like an OS asking ACPI, the shim writes the request `reset` or `off` to
# /run/anneal-lab/chassis-request (the node's private /run) and returns; the lab's host-side watcher
# (the per-lab daemon, core/lab/redfish-bmc.ts) notices it within a fraction of a second and runs
# `bmc-control.sh <nodeDir> set reset 1` or `set power 0`: every process of the node stops, and on reset
# the node boots again (sshd starts).
#
#   reboot                         → reset        poweroff, halt, halt -p     → off
#   shutdown -r [now|+M|HH:MM]      → reset        shutdown [-h|-P|-H] [TIME]  → off (default TIME: +1)
#   shutdown -c                     → cancels a delayed shutdown
#   systemctl reboot|poweroff|halt  → reset / off  any other systemctl verb      → "not booted with systemd"
#   reboot -f, poweroff -f, halt -f, systemctl reboot -ff  → refused (exit 1): a forced reboot asks the
#                                    kernel itself, and nodes have no CAP_SYS_BOOT
#
# Every request is also appended to the node's /var/log/anneal-lab-power.log.
set -u
me=${0##*/}
DIR=${ANNEAL_LAB_SHIM_DIR:-/run/anneal-lab} # the override is for tests of the shim itself
REQ=$DIR/chassis-request
LOG=/var/log/anneal-lab-power.log
PENDING=$DIR/shutdown.pid

note() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG" 2>/dev/null || true; }

request() { # reset|off, what asked
  mkdir -p "$DIR" || exit 1
  printf '%s\n' "$1" >"$REQ.$$" && mv -f "$REQ.$$" "$REQ" || {
    echo "$me: cannot write $REQ" >&2
    exit 1
  }
  note "$1 requested by: $2 (pid $$, parent $PPID)"
  exit 0
}

forced() { # what, the arguments
  local what=$1
  shift
  echo "$me: a lab node cannot force a $what: that would ask the shared kernel, and lab nodes have no CAP_SYS_BOOT; run it without -f" >&2
  note "refused: $me $*"
  exit 1
}

# Arguments: the action (reset|off), the delay in seconds, what asked.
schedule() {
  if [ "$2" -le 0 ]; then request "$1" "$3"; fi
  mkdir -p "$DIR"
  setsid bash -c 'echo $$ >"$1"; sleep "$2"; rm -f "$1"; exec "$0" --anneal-lab-request "$3" "$4"' \
    "$0" "$PENDING" "$2" "$1" "$3" </dev/null >/dev/null 2>&1 &
  note "$1 scheduled in $2 s by: $3"
  echo "$me: $1 scheduled in $2 s (shutdown -c cancels)" >&2
  exit 0
}

# The delay of a shutdown TIME argument: now, +M (minutes), HH:MM.
delay_of() {
  local t=$1 now then
  case "$t" in
    now | +0) echo 0 ;;
    +[0-9]*) echo $((${t#+} * 60)) ;;
    [0-9]:[0-5][0-9] | [0-2][0-9]:[0-5][0-9])
      now=$(date +%s)
      then=$(date -d "$t" +%s) || return 1
      [ "$then" -ge "$now" ] || then=$((then + 86400))
      echo $((then - now))
      ;;
    *) return 1 ;;
  esac
}

force=0
# A delayed shutdown's sleeper calls the shim again with this when its time has come.
if [ "${1:-}" = --anneal-lab-request ]; then request "$2" "$3"; fi

case "$me" in
  reboot | poweroff | halt)
    action=reset
    [ "$me" = reboot ] || action=off
    for a in "$@"; do
      case "$a" in
        -f | --force | -ff) force=1 ;;
        -w | --wtmp-only) exit 0 ;;
        -p | --poweroff) action=off ;;
        --reboot) action=reset ;;
        --help)
          echo "$me (anneal lab node): asks the lab's chassis to ${action/off/power off}; -f is refused"
          exit 0
          ;;
      esac
    done
    [ "$force" = 0 ] || forced "$me" "$@"
    request "$action" "$me $*"
    ;;
  shutdown)
    action=off time=+1
    for a in "$@"; do
      case "$a" in
        -r | --reboot) action=reset ;;
        -h | -P | -H | --poweroff | --halt) action=off ;;
        -k) exit 0 ;;
        -c)
          if pid=$(cat "$PENDING" 2>/dev/null) && [ -n "$pid" ]; then
            kill -- "-$pid" 2>/dev/null # the sleeper leads its own process group (setsid)
            rm -f "$PENDING"
            note "pending shutdown cancelled"
          fi
          exit 0
          ;;
        --no-wall | -q) ;;
        -*) ;;
        *) # the first word is the time, the rest a wall message
          if [ -z "${timeset:-}" ]; then
            time=$a
            timeset=1
          fi
          ;;
      esac
    done
    secs=$(delay_of "$time") || {
      echo "$me: cannot parse time \"$time\" (use now, +MINUTES or HH:MM)" >&2
      exit 1
    }
    schedule "$action" "$secs" "shutdown $*"
    ;;
  systemctl)
    verb='' forces=0
    for a in "$@"; do
      case "$a" in
        -f | --force) forces=$((forces + 1)) ;;
        -ff) forces=$((forces + 2)) ;;
        -*) ;;
        *) [ -n "$verb" ] || verb=$a ;;
      esac
    done
    case "$verb" in
      reboot | poweroff | halt)
        [ "$forces" -lt 2 ] || forced "$verb" "$@"
        if [ "$verb" = reboot ]; then request reset "systemctl $*"; else request off "systemctl $*"; fi
        ;;
      *)
        echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2
        echo "(anneal lab node: only systemctl reboot, poweroff and halt work here)" >&2
        exit 1
        ;;
    esac
    ;;
  *)
    echo "$me: unknown name for the lab's power shim" >&2
    exit 2
    ;;
esac
