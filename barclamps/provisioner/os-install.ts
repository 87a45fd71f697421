/**
 * The `os-install` action (DESIGN §2 item 3): installs the node through the network-boot path. It spans
 * several runs, recording its progress in the node-role's wall:
 *
 *   1. request an install of `provisioner/os` (anneal's key always authorized), next boot = pxe, power
 *      the node on or cycle it — then "not yet";
 *   2. while the install is requested / booted / config-fetched: "not yet", every POLL_MS;
 *   3. once complete: next boot = disk, then wait until SSH answers on the installed system — done.
 *
 * A new generation (redeploy, an attrib it wants changed) starts at 1 again; a crash resumes where the
 * wall says. An install that does not complete within `provisioner/install-timeout-s`, or that another
 * request superseded, fails (operational: a retry starts a new install). Power errors are the power
 * service's (missing BMC settings fail at once with the fix).
 */
import { AppError } from '../../core/errors';
import type { Action, ActionResult, CheckAction, RoleContext } from '../../core/plugins/manifest';

const POLL_MS = 2_000;

interface Progress {
  generation: number;
  installId: number;
  requestedAt: number;
  phase: 'installing' | 'booting';
}

function progressOf(ctx: RoleContext): Progress | null {
  const w = ctx.wall as Partial<Progress>;
  if (w.generation !== ctx.generation || typeof w.installId !== 'number' || !w.phase) return null;
  return w as Progress;
}

const notYet = (reason: string, wall: Progress): ActionResult => ({
  done: false,
  requeueAfterMs: POLL_MS,
  reason,
  wall: { ...wall },
});

async function start(ctx: RoleContext): Promise<ActionResult> {
  const install = await ctx.admin.install.request();
  await ctx.admin.power.nextBoot('pxe');
  const power = await ctx.admin.power.status();
  await ctx.admin.power.act(power === 'on' ? 'cycle' : 'on');
  ctx.log.info('os-install: network boot started', { install: install.id, os: install.os });
  return notYet(`installing ${install.os} (install ${install.id})`, {
    generation: ctx.generation,
    installId: install.id,
    requestedAt: ctx.now(),
    phase: 'installing',
  });
}

export const osInstall: Action = async (ctx) => {
  const progress = progressOf(ctx);
  if (!progress) return start(ctx);
  const timeoutMs = Number(ctx.attribs['provisioner/install-timeout-s']) * 1000;
  const waited = ctx.now() - progress.requestedAt;
  if (waited > timeoutMs) {
    throw new AppError(
      'ERR_REMOTE_TIMEOUT',
      `the install of ${ctx.node.name} did not finish within ${timeoutMs / 1000} s (${progress.phase}): check the node's console or the lab's pxe.log, then retry (a retry starts a new install)`,
    );
  }
  if (progress.phase === 'installing') {
    const install = await ctx.admin.install.current();
    if (!install || install.id !== progress.installId) {
      throw new AppError(
        'ERR_REMOTE_TIMEOUT',
        `install ${progress.installId} of ${ctx.node.name} was superseded by ${install ? `install ${install.id}` : 'nothing'}: retry to start a new one`,
      );
    }
    if (install.state !== 'complete') return notYet(`install ${install.id}: ${install.state}`, progress);
    await ctx.admin.power.nextBoot('disk');
    return notYet('installed; waiting for the node to boot from disk', { ...progress, phase: 'booting' });
  }
  try {
    const out = await ctx.exec.run('cat /etc/os-release', { signal: ctx.signal, timeoutMs: 30_000 });
    if (out.exitCode !== 0) return notYet('booting: os-release not readable yet', progress);
    const id = /^ID="?([^"\n]*)"?$/m.exec(out.stdout)?.[1] ?? '?';
    const version = /^VERSION_ID="?([^"\n]*)"?$/m.exec(out.stdout)?.[1] ?? '?';
    return { done: true, wall: { ...progress, phase: 'done', os: `${id}-${version}` } };
  } catch (err) {
    if (err instanceof AppError && err.kind === 'operational') return notYet(`booting: ${err.message}`, progress);
    throw err;
  }
};

/**
 * Ready check: the node runs the OS its install put there — its /etc/anneal/install.json names the
 * install os-install completed, and os-release is that OS — which it can only do after booting from
 * disk into the installed system.
 */
export const osInstallCheck: CheckAction = async (ctx) => {
  const wall = ctx.wall as Partial<Progress> & { os?: string };
  const out = await ctx.exec.run('cat /etc/anneal/install.json; echo; . /etc/os-release; echo "$ID-$VERSION_ID"', {
    signal: ctx.signal,
    timeoutMs: 20_000,
  });
  const [json = '', running = ''] = out.stdout
    .split('\n')
    .filter((l) => l.trim())
    .slice(-2);
  let recorded: { install?: unknown; os?: unknown } = {};
  try {
    recorded = JSON.parse(json) as typeof recorded;
  } catch {
    /* reported below */
  }
  const redeploy = `redeploy the node (POST /api/v2/nodes/${ctx.node.name}/redeploy)`;
  return [
    {
      name: 'installed by its last install',
      ok: recorded.install === wall.installId,
      detail: `/etc/anneal/install.json names install ${String(recorded.install)}; os-install completed install ${String(wall.installId)}`,
      remediation: `the node was reinstalled or changed outside anneal: ${redeploy}`,
    },
    {
      name: 'booted into the installed OS',
      ok: running === wall.os,
      detail: `os-release says ${running || 'nothing'}; installed ${String(wall.os)} (${String(recorded.os)})`,
      remediation: `the node booted something else (check its boot order and disk), or ${redeploy}`,
    },
  ];
};
