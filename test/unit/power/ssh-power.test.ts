/**
 * The `ssh` power driver without a node: the parsers and error mapping of ssh-power.ts, the check
 * script run by a local bash (never the launcher: it would ask this host to reboot), and the driver's
 * flows against a scripted fake pool.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../core/errors';
import type { BmcTarget } from '../../../core/power/driver';
import { createSshPowerDriver } from '../../../core/power/ssh';
import {
  cannot,
  checkScript,
  launchScript,
  parseCheck,
  parseLaunch,
  powerErrorOf,
} from '../../../core/power/ssh-power';
import type { ExecOptions, ExecResult } from '../../../core/plugins/manifest';

const t: BmcTarget = { node: 'n1.lab', host: '10.0.0.11', port: 22, username: '', password: '' };
const unreachable = () => new AppError('ERR_REMOTE_UNREACHABLE', 'connect ECONNREFUSED 10.0.0.11:22');

/** A pool whose executor answers from `answer(script, env)`; records every call. */
function fakePool(answer: (script: string, env: Record<string, string>) => ExecResult | Error) {
  const calls: { script: string; env: Record<string, string>; host: string; nodeName: string }[] = [];
  return {
    calls,
    pool: {
      executor: (target: { host: string; nodeName: string }) => ({
        run: async (script: string, opts: ExecOptions = {}) => {
          const env = opts.env ?? {};
          calls.push({ script, env, host: target.host, nodeName: target.nodeName });
          const a = answer(script, env);
          if (a instanceof Error) throw a;
          return a;
        },
      }),
    },
  };
}
const ok = (stdout = ''): ExecResult => ({ exitCode: 0, stdout, stderr: '' });
const rejection = async (p: Promise<unknown>): Promise<AppError> => {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(AppError);
    return e as AppError;
  }
  throw new Error('expected a rejection');
};

describe('ssh power driver: pure parts', () => {
  it('parses the launcher and the check', () => {
    expect(parseLaunch('noise from .bashrc\nstarted 4242\n')).to.equal(4242);
    expect(parseLaunch('started 1\n')).to.equal(null);
    expect(parseLaunch('')).to.equal(null);
    expect(parseCheck('running\n')).to.deep.equal({ state: 'running' });
    expect(parseCheck('motd\ngone\n')).to.deep.equal({ state: 'gone' });
    expect(parseCheck('failed: systemctl reboot: denied \n')).to.deep.equal({
      state: 'failed',
      text: 'systemctl reboot: denied',
    });
    expect(parseCheck('what\n')).to.equal(null);
  });

  it('never forces: the launcher runs systemctl reboot|poweroff or shutdown -r|-P now, detached', () => {
    expect(launchScript).to.not.match(/reboot -f|--force|-ff\b|reboot\(/);
    expect(launchScript).to.include('systemctl "$2"').and.include('shutdown "$3" now').and.include('setsid');
    expect(launchScript).to.include('</dev/null >/dev/null 2>&1 &');
  });

  it('the check script tells running, gone and failed apart (local bash)', () => {
    const nonce = `t${process.pid}x${Date.now()}`;
    const runCheck = (pid: number) =>
      spawnSync('bash', ['-c', checkScript], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, ANNEAL_POWER_PID: String(pid), ANNEAL_POWER_NONCE: nonce },
      }).stdout;
    const sentinel = spawnSync('bash', ['-c', `(exec -a anneal-power-${nonce} sleep 30) >/dev/null 2>&1 & echo $!`], {
      encoding: 'utf8',
    });
    const pid = Number(sentinel.stdout.trim());
    try {
      expect(parseCheck(runCheck(pid))).to.deep.equal({ state: 'running' });
      process.kill(pid);
      spawnSync('sleep', ['0.1']);
      expect(parseCheck(runCheck(pid))).to.deep.equal({ state: 'gone' });
      writeFileSync(`/tmp/anneal-power-${nonce}.failed`, 'systemctl reboot: no\nshutdown: no\n');
      expect(parseCheck(runCheck(pid))).to.deep.equal({ state: 'failed', text: 'systemctl reboot: no shutdown: no' });
      expect(parseCheck(runCheck(pid))).to.deep.equal({ state: 'gone' }); // the failure is reported once
    } finally {
      rmSync(path.join('/tmp', `anneal-power-${nonce}.failed`), { force: true });
    }
  });

  /**
   * SAFETY: the launcher runs here with PATH holding only a scratch directory: bash, setsid and sleep
   * linked from the host, and fake `systemctl` and `shutdown` scripts that only record their arguments.
   * No real power command can be found by name.
   */
  it('the launcher detaches a sentinel named after the nonce, and reports a failure of both commands (fake PATH)', async () => {
    const bin = mkdtempSync('/tmp/anneal-ssh-power-bin-');
    const which = (c: string) => spawnSync('bash', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim();
    for (const c of ['bash', 'setsid', 'sleep']) symlinkSync(which(c), path.join(bin, c));
    const fake = (name: string, exit: number) => {
      writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >>${bin}/calls\nexit ${exit}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    const env = (nonce: string) => ({
      PATH: bin,
      ANNEAL_POWER_VERB: 'reboot',
      ANNEAL_POWER_NONCE: nonce,
      ANNEAL_POWER_DELAY: '0',
    });
    const check = (pid: number, nonce: string) =>
      parseCheck(
        spawnSync('/bin/bash', ['-c', checkScript], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, ANNEAL_POWER_PID: String(pid), ANNEAL_POWER_NONCE: nonce },
        }).stdout,
      );
    const until = async (what: string, f: () => boolean) => {
      for (let i = 0; !f(); i++) {
        if (i > 100) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      fake('systemctl', 0);
      fake('shutdown', 0);
      const resolved = spawnSync(path.join(bin, 'bash'), ['-c', 'command -v systemctl shutdown'], {
        encoding: 'utf8',
        env: { PATH: bin },
      }).stdout;
      expect(resolved).to.equal(`${bin}/systemctl\n${bin}/shutdown\n`); // the fakes, nothing else
      const okNonce = `u${process.pid}ok`;
      const launched = spawnSync(path.join(bin, 'bash'), ['-c', launchScript], { encoding: 'utf8', env: env(okNonce) });
      const pid = parseLaunch(launched.stdout)!;
      expect(pid, launched.stderr).to.be.a('number');
      const argv0 = (p: number) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0];
        } catch {
          return undefined;
        }
      };
      await until('the sentinel', () => argv0(pid) === `anneal-power-${okNonce}`);
      expect(readFileSync(path.join(bin, 'calls'), 'utf8')).to.equal('systemctl reboot\n');
      expect(check(pid, okNonce)).to.deep.equal({ state: 'running' });
      process.kill(pid);
      await until(
        'the sentinel gone',
        () => !existsSync(`/proc/${pid}/cmdline`) || check(pid, okNonce)?.state === 'gone',
      );

      rmSync(path.join(bin, 'calls'));
      fake('systemctl', 1);
      fake('shutdown', 1);
      const badNonce = `u${process.pid}bad`;
      const bad = spawnSync(path.join(bin, 'bash'), ['-c', launchScript], { encoding: 'utf8', env: env(badNonce) });
      const badPid = parseLaunch(bad.stdout)!;
      await until('the failure report', () => existsSync(`/tmp/anneal-power-${badNonce}.failed`));
      await until('the launcher gone', () => argv0(badPid) === undefined);
      expect(readFileSync(path.join(bin, 'calls'), 'utf8')).to.equal('systemctl reboot\nshutdown -r now\n');
      const failed = check(badPid, badNonce);
      expect(failed?.state).to.equal('failed');
      expect(failed && 'text' in failed ? failed.text : '').to.match(
        /^systemctl reboot: failed; shutdown -r now: failed/,
      );
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('maps executor errors onto the power contract', () => {
    expect(powerErrorOf(t, 'reboot', unreachable()).code).to.equal('ERR_POWER_UNREACHABLE');
    expect(powerErrorOf(t, 'reboot', new AppError('ERR_REMOTE_TIMEOUT', 'slow')).code).to.equal(
      'ERR_POWER_UNREACHABLE',
    );
    const auth = powerErrorOf(t, 'reboot', new AppError('ERR_SSH_AUTH', 'denied'));
    expect(auth.code).to.equal('ERR_POWER_AUTH');
    expect(auth.message).to.include('n1.lab').and.include('10.0.0.11:22').and.include('ANNEAL_SSH_KEY');
    expect(powerErrorOf(t, 'reboot', new AppError('ERR_SSH_HOST_KEY_CHANGED', 'key')).code).to.equal('ERR_POWER_AUTH');
    expect(powerErrorOf(t, 'reboot', new Error('boom')).code).to.equal('ERR_POWER_FAILED');
    expect(cannot(t, 'on').message).to.include('ssh cannot power a machine on').and.include('give the node a BMC');
    expect(cannot(t, 'boot').message).to.include("ssh cannot choose a machine's boot device");
  });
});

describe('ssh power driver: flows against a fake pool', () => {
  const opts = { pollMs: 1, downTimeoutMs: 200 };

  it('status: on when `true` runs, off when the node does not answer, auth errors thrown', async () => {
    const up = fakePool(() => ok());
    expect(await createSshPowerDriver({ pool: up.pool }).status(t)).to.equal('on');
    expect(up.calls[0]).to.include({ host: '10.0.0.11', nodeName: 'n1.lab' });
    const down = fakePool(() => unreachable());
    expect(await createSshPowerDriver({ pool: down.pool }).status(t)).to.equal('off');
    const denied = fakePool(() => new AppError('ERR_SSH_AUTH', 'denied'));
    expect((await rejection(createSshPowerDriver({ pool: denied.pool }).status(t))).code).to.equal('ERR_POWER_AUTH');
  });

  it('reset: starts the reboot, then waits until the sentinel is gone', async () => {
    let checks = 0;
    const f = fakePool((script) => {
      if (script === launchScript) return ok('started 777\n');
      checks++;
      return ok(checks < 3 ? 'running\n' : 'gone\n');
    });
    await createSshPowerDriver({ pool: f.pool, ...opts }).power(t, 'reset');
    expect(f.calls[0]!.env).to.include({ ANNEAL_POWER_VERB: 'reboot', ANNEAL_POWER_DELAY: '1' });
    expect(f.calls[1]!.env).to.include({
      ANNEAL_POWER_PID: '777',
      ANNEAL_POWER_NONCE: f.calls[0]!.env.ANNEAL_POWER_NONCE,
    });
    expect(checks).to.equal(3);
  });

  it('reset: a node that stops answering went down; a failure on the node and a timeout are ERR_POWER_FAILED', async () => {
    const cut = fakePool((script) => (script === launchScript ? ok('started 777\n') : unreachable()));
    await createSshPowerDriver({ pool: cut.pool, ...opts }).power(t, 'cycle');
    const failing = fakePool((script) => (script === launchScript ? ok('started 777\n') : ok('failed: denied\n')));
    const e1 = await rejection(createSshPowerDriver({ pool: failing.pool, ...opts }).power(t, 'reset'));
    expect(e1.code).to.equal('ERR_POWER_FAILED');
    expect(e1.message).to.include('denied');
    const stuck = fakePool((script) => (script === launchScript ? ok('started 777\n') : ok('running\n')));
    const e2 = await rejection(createSshPowerDriver({ pool: stuck.pool, ...opts }).power(t, 'reset'));
    expect(e2.code).to.equal('ERR_POWER_FAILED');
    expect(e2.message).to.include('still answers');
    const none = fakePool(() => unreachable());
    expect((await rejection(createSshPowerDriver({ pool: none.pool, ...opts }).power(t, 'reset'))).code).to.equal(
      'ERR_POWER_UNREACHABLE',
    );
    const noTools = fakePool(() => ({
      exitCode: 3,
      stdout: '',
      stderr: 'neither systemctl nor shutdown is installed',
    }));
    const e3 = await rejection(createSshPowerDriver({ pool: noTools.pool, ...opts }).power(t, 'reset'));
    expect(e3.code).to.equal('ERR_POWER_FAILED');
    expect(e3.message).to.include('neither systemctl nor shutdown');
  });

  it('off: poweroff, then waits until the node no longer answers (gone alone is not enough); off of a silent node sends nothing', async () => {
    let checks = 0;
    const f = fakePool((script) => {
      if (script === launchScript) return ok('started 99\n');
      checks++;
      return checks < 3 ? ok('gone\n') : unreachable();
    });
    await createSshPowerDriver({ pool: f.pool, ...opts }).power(t, 'off');
    expect(f.calls[0]!.env).to.include({ ANNEAL_POWER_VERB: 'poweroff' });
    expect(checks).to.equal(3);
    const silent = fakePool(() => unreachable());
    await createSshPowerDriver({ pool: silent.pool, ...opts }).power(t, 'off');
    expect(silent.calls).to.have.length(1);
  });

  it('on: nothing to do when the node answers, ERR_POWER_FAILED when it does not; nextBoot always fails', async () => {
    const up = fakePool(() => ok());
    await createSshPowerDriver({ pool: up.pool }).power(t, 'on');
    const down = fakePool(() => unreachable());
    const e = await rejection(createSshPowerDriver({ pool: down.pool }).power(t, 'on'));
    expect(e.code).to.equal('ERR_POWER_FAILED');
    expect(e.message).to.include('ssh cannot power a machine on');
    const b = await rejection(createSshPowerDriver({ pool: up.pool }).nextBoot(t, 'pxe'));
    expect(b.code).to.equal('ERR_POWER_FAILED');
    expect(up.calls).to.have.length(1); // nextBoot asks nothing of the node
  });
});
