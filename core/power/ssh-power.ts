/**
 * The pure parts of the `ssh` power driver (core/power/ssh.ts): the scripts it runs on a node, the
 * parsers of their answers, and the mapping of the ssh executor's errors onto the power contract.
 *
 * A reboot or power-off is started detached: the launcher starts `setsid bash -c …` (argv carries
 * `anneal-power-<nonce>`) and prints its pid at once, so the SSH session returns before the node goes
 * down. The detached shell waits `delay` seconds, runs `systemctl reboot|poweroff`, falling back to
 * `shutdown -r|-P now`, and then becomes `sleep 3600` named `anneal-power-<nonce>`: a sentinel that only
 * the shutdown itself ends. If both commands fail, it writes their output to
 * /tmp/anneal-power-<nonce>.failed and exits. Never `reboot -f`: a forced reboot skips the OS's own
 * shutdown (and on a lab node would ask the shared kernel to reboot the host).
 */
import { AppError } from '../errors';
import type { BmcTarget } from './driver';

export type SshPowerVerb = 'reboot' | 'poweroff';

/** Where a node's SSH answers, for messages. */
export const sshWhere = (t: BmcTarget): string => `${t.node} over SSH at ${t.host}:${t.port}`;

/** The launcher (runs as an uploaded script; env: ANNEAL_POWER_VERB, ANNEAL_POWER_NONCE, ANNEAL_POWER_DELAY). */
export const launchScript = `set -u
n=$ANNEAL_POWER_NONCE verb=$ANNEAL_POWER_VERB delay=$ANNEAL_POWER_DELAY
case $verb in reboot) flag=-r ;; poweroff) flag=-P ;; *) echo "unknown power verb $verb" >&2; exit 2 ;; esac
if ! command -v systemctl >/dev/null 2>&1 && ! command -v shutdown >/dev/null 2>&1; then
  echo "neither systemctl nor shutdown is installed" >&2
  exit 3
fi
if ! command -v setsid >/dev/null 2>&1; then
  echo "setsid (util-linux) is not installed" >&2
  exit 3
fi
# bash -c SCRIPT NAME ARGS…: NAME is $0 (the sentinel's name), ARGS are $1….
setsid bash -c '
  sleep "$4"
  if out=$(systemctl "$2" 2>&1); then :
  elif out2=$(shutdown "$3" now 2>&1); then :
  else
    printf "systemctl %s: %s; shutdown %s now: %s\\n" "$2" "\${out:-failed}" "$3" "\${out2:-failed}" >"$1"
    exit 1
  fi
  exec -a "$0" sleep 3600
' "anneal-power-$n" "/tmp/anneal-power-$n.failed" "$verb" "$flag" "$delay" </dev/null >/dev/null 2>&1 &
echo "started $!"
`;

/** The check (env: ANNEAL_POWER_PID, ANNEAL_POWER_NONCE): prints `running`, `gone` or `failed: <text>`. */
export const checkScript = `set -u
pid=$ANNEAL_POWER_PID n=anneal-power-$ANNEAL_POWER_NONCE f=/tmp/anneal-power-$ANNEAL_POWER_NONCE.failed
if grep -qaF -- "$n" "/proc/$pid/cmdline" 2>/dev/null; then echo running; exit 0; fi
if [ -s "$f" ]; then printf 'failed: '; head -c 2000 "$f" | tr '\\n' ' '; echo; rm -f -- "$f"; exit 0; fi
rm -f -- "$f"
echo gone
`;

/** The pid the launcher printed, or null. */
export function parseLaunch(stdout: string): number | null {
  const m = /^started (\d+)\s*$/m.exec(stdout);
  const pid = m ? Number(m[1]) : NaN;
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

export type CheckResult = { state: 'running' } | { state: 'gone' } | { state: 'failed'; text: string };

/** The check's answer; anything unexpected is null. */
export function parseCheck(stdout: string): CheckResult | null {
  const line = stdout.split('\n').find((l) => /^(running|gone|failed: )/.test(l));
  if (!line) return null;
  if (line.startsWith('failed: ')) return { state: 'failed', text: line.slice('failed: '.length).trim() };
  return line.trim() === 'running' ? { state: 'running' } : line.trim() === 'gone' ? { state: 'gone' } : null;
}

/** Executor errors that mean "the node does not answer over SSH" (for this driver: off). */
export function isNoAnswer(err: unknown): boolean {
  return err instanceof AppError && (err.code === 'ERR_REMOTE_UNREACHABLE' || err.code === 'ERR_REMOTE_TIMEOUT');
}

/**
 * An ssh executor error as the power contract says: no answer → ERR_POWER_UNREACHABLE; the node rejects
 * anneal's key or shows another host key → ERR_POWER_AUTH (user: the same key fails the same way);
 * anything else → ERR_POWER_FAILED. `doing` completes "cannot … <node>".
 */
export function powerErrorOf(t: BmcTarget, doing: string, err: unknown): AppError {
  const details = { node: t.node, address: `${t.host}:${t.port}`, driver: 'ssh' };
  const why = err instanceof Error ? err.message : String(err);
  if (err instanceof AppError && isNoAnswer(err)) {
    return new AppError(
      'ERR_POWER_UNREACHABLE',
      `cannot ${doing} ${sshWhere(t)}: the node does not answer (${why}); ssh cannot power a machine on: give the node a BMC`,
      { details, cause: err },
    );
  }
  if (err instanceof AppError && err.code === 'ERR_SSH_AUTH') {
    return new AppError(
      'ERR_POWER_AUTH',
      `cannot ${doing} ${sshWhere(t)}: the node rejects anneal's SSH key; authorize ANNEAL_SSH_KEY's public key for the SSH user`,
      { details, cause: err },
    );
  }
  if (err instanceof AppError && err.code === 'ERR_SSH_HOST_KEY_CHANGED') {
    return new AppError(
      'ERR_POWER_AUTH',
      `cannot ${doing} ${sshWhere(t)}: the node presents another SSH host key than the one anneal pinned (${why})`,
      { details, cause: err },
    );
  }
  return new AppError('ERR_POWER_FAILED', `cannot ${doing} ${sshWhere(t)}: ${why}`, { details, cause: err });
}

/** ERR_POWER_FAILED for what ssh cannot do at all. */
export function cannot(t: BmcTarget, what: 'on' | 'boot'): AppError {
  const text =
    what === 'on'
      ? 'ssh cannot power a machine on; give the node a BMC (PUT /api/v2/nodes/NODE/bmc with driver ipmi or redfish)'
      : "ssh cannot choose a machine's boot device; give the node a BMC (PUT /api/v2/nodes/NODE/bmc with driver ipmi or redfish)";
  return new AppError('ERR_POWER_FAILED', `${t.node}: ${text.replace('NODE', t.node)}`, {
    details: { node: t.node, address: `${t.host}:${t.port}`, driver: 'ssh' },
  });
}
