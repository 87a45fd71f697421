/**
 * The `ssh` power driver: a hammer for machines without a usable BMC (DESIGN §5: "ssh (reboot only)").
 * It logs in to the node itself, as the ssh jig does (anneal's managed key, ANNEAL_SSH_USER, root by
 * default, the host key pinned per node), through the same pool of connections, and asks the node's OS
 * to reboot or power off. The target is the node's management address, port 22; the username and
 * password of the BmcTarget are not used.
 *
 * - `status`: `on` when the node answers over SSH (runs `true`), `off` when it does not (refused, no
 *   route, timeout). For this driver "off" means "not reachable": a node that is powered on but whose
 *   sshd or network is down reads `off` too.
 * - `power('reset' | 'cycle')`: `systemctl reboot`, falling back to `shutdown -r now`, started detached
 *   on the node (see ssh-power.ts), then waits until the node goes down: the detached sentinel started
 *   with the reboot is gone, or the node stops answering. It does not wait for the node to come back
 *   (read `status`, or let the power monitor do it). Never `reboot -f`.
 * - `power('off')`: `systemctl poweroff` / `shutdown -P now` the same way, then waits until the node no
 *   longer answers. `off` of a node that does not answer sends nothing.
 * - `power('on')`: succeeds without doing anything when the node answers (it is on); otherwise
 *   ERR_POWER_FAILED: ssh cannot power a machine on. `nextBoot`: always ERR_POWER_FAILED.
 *
 * Contract (core/power/driver.ts): ERR_POWER_UNREACHABLE (the node does not answer where it must),
 * ERR_POWER_AUTH (the node rejects anneal's key, or shows another host key), ERR_POWER_FAILED
 * (reboot/poweroff failed on the node, the node did not go down within `downTimeoutMs`, or the
 * operation is not possible over SSH). Messages name the node and its address. Nothing here retries;
 * calls to one node are serialized by the caller's keyed limits.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import type { SshPool } from '../exec/ssh';
import type { ExecResult } from '../plugins/manifest';
import type { BmcTarget, PowerAction, PowerDriver, PowerState } from './driver';
import {
  cannot,
  checkScript,
  isNoAnswer,
  launchScript,
  parseCheck,
  parseLaunch,
  powerErrorOf,
  sshWhere,
  type SshPowerVerb,
} from './ssh-power';

export interface SshPowerOptions {
  pool: Pick<SshPool, 'executor'>;
  /** Each SSH command (status, start, check), connecting included. Default 15 s. */
  commandTimeoutMs?: number;
  /** How long `power` waits for the node to go down after asking. Default 120 s. */
  downTimeoutMs?: number;
  /** Interval of the checks while waiting. Default 250 ms. */
  pollMs?: number;
  /** Seconds the node waits before it reboots, so the SSH session returns first. Default 1. */
  delaySeconds?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createSshPowerDriver(opts: SshPowerOptions): PowerDriver {
  const commandTimeoutMs = opts.commandTimeoutMs ?? 15_000;
  const downTimeoutMs = opts.downTimeoutMs ?? 120_000;
  const pollMs = opts.pollMs ?? 250;
  const delay = String(opts.delaySeconds ?? 1);

  const run = (t: BmcTarget, script: string, env: Record<string, string> = {}): Promise<ExecResult> =>
    opts.pool
      .executor({ host: t.host, port: t.port, nodeName: t.node })
      .run(script, { timeoutMs: commandTimeoutMs, env });

  const failed = (t: BmcTarget, text: string, details: Record<string, unknown> = {}) =>
    new AppError('ERR_POWER_FAILED', `${sshWhere(t)}: ${text}`, {
      details: { node: t.node, address: `${t.host}:${t.port}`, driver: 'ssh', ...details },
    });

  /** 'on' when the node runs `true` over SSH, 'off' when it does not answer; other trouble throws. */
  async function status(t: BmcTarget): Promise<PowerState> {
    let res: ExecResult;
    try {
      res = await run(t, 'true\n');
    } catch (err) {
      if (isNoAnswer(err)) return 'off';
      throw powerErrorOf(t, 'read the power state of', err);
    }
    if (res.exitCode !== 0) throw failed(t, `\`true\` exited ${res.exitCode}: ${res.stderr.trim().slice(-300)}`);
    return 'on';
  }

  /** Asks the OS to reboot or power off; returns the sentinel's pid, or null when the node does not answer. */
  async function launch(t: BmcTarget, verb: SshPowerVerb, nonce: string): Promise<number | null> {
    let res: ExecResult;
    try {
      res = await run(t, launchScript, {
        ANNEAL_POWER_VERB: verb,
        ANNEAL_POWER_NONCE: nonce,
        ANNEAL_POWER_DELAY: delay,
      });
    } catch (err) {
      // A node that does not answer is off as far as ssh can tell: nothing to power off, nothing to reboot.
      if (isNoAnswer(err) && verb === 'poweroff') return null;
      throw powerErrorOf(t, verb === 'poweroff' ? 'power off' : 'reboot', err);
    }
    const pid = parseLaunch(res.stdout);
    if (res.exitCode !== 0 || pid === null) {
      throw failed(t, `cannot start \`systemctl ${verb}\` (exit ${res.exitCode}): ${res.stderr.trim().slice(-300)}`);
    }
    return pid;
  }

  /**
   * Waits until the node went down: for a reboot, the sentinel is gone or the node stops answering; for
   * a power-off, the node stops answering. Throws ERR_POWER_FAILED when the OS reported a failure, or
   * on the deadline.
   */
  async function waitDown(t: BmcTarget, verb: SshPowerVerb, pid: number, nonce: string): Promise<void> {
    const deadline = Date.now() + downTimeoutMs;
    const env = { ANNEAL_POWER_PID: String(pid), ANNEAL_POWER_NONCE: nonce };
    for (;;) {
      let res: ExecResult | null = null;
      try {
        res = await run(t, checkScript, env);
      } catch (err) {
        if (!isNoAnswer(err)) throw powerErrorOf(t, verb === 'poweroff' ? 'power off' : 'reboot', err);
      }
      if (res === null) return; // no answer: down
      const check = parseCheck(res.stdout);
      if (check?.state === 'failed') throw failed(t, `\`${verb}\` failed on the node: ${check.text}`);
      if (check?.state === 'gone' && verb === 'reboot') return;
      if (Date.now() > deadline) {
        throw failed(
          t,
          `still answers ${Math.round(downTimeoutMs / 1000)} s after \`systemctl ${verb}\` (the OS did not go down); check the node's console or give it a BMC`,
        );
      }
      await sleep(pollMs);
    }
  }

  return {
    name: 'ssh',
    status,

    async power(t, action: PowerAction): Promise<void> {
      if (action === 'on') {
        if ((await status(t)) === 'on') return;
        throw cannot(t, 'on');
      }
      const verb: SshPowerVerb = action === 'off' ? 'poweroff' : 'reboot';
      const nonce = randomBytes(8).toString('hex');
      const pid = await launch(t, verb, nonce);
      if (pid === null) return;
      await waitDown(t, verb, pid, nonce);
    },

    async nextBoot(t): Promise<void> {
      throw cannot(t, 'boot');
    },
  };
}
