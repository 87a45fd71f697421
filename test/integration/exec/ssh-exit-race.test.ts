/**
 * Regression test for the "lost the connection … the run ended without an exit status" flake of the
 * ssh jig (seen on the first runs after `lab up`, when the host is busy). When the client's event
 * loop is late, sshd's answer to the exec request, the script's output, its exit status and the
 * channel close arrive in one TCP read; ssh2 parses them synchronously, so the exit status is emitted
 * before any listener attached after an `await` can hear it. The executor must still report the
 * exit code (the script did run: re-running it as "connection lost" repeats a finished action).
 */
import { expect } from 'chai';
import { createMemoryHostKeyStore, createSshPool, type SshPool } from '../../../core/exec/ssh';
import { requireSshd, TestSshd } from './sshd';

/** Blocks the event loop for `ms` every few milliseconds, the way a busy admin host delays reads. */
function busyLoop(ms: number): () => void {
  const timer = setInterval(() => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      /* busy */
    }
  }, 1);
  return () => clearInterval(timer);
}

describe('exec/ssh: exit status arriving with the exec reply', function () {
  this.timeout(60_000);
  let sshd: TestSshd;
  let pool: SshPool;

  before(async function () {
    requireSshd(this);
    sshd = await TestSshd.start();
    pool = createSshPool({
      username: 'root',
      privateKey: sshd.clientKey,
      hostKeys: createMemoryHostKeyStore(),
      connectTimeoutMs: 10_000,
    });
  });

  after(async () => {
    await pool?.dispose();
    await sshd?.dispose();
  });

  it('reports the exit code of every run while the event loop is late', async () => {
    const exec = pool.executor({ host: '127.0.0.1', port: sshd.port, nodeName: 'n1.lab' });
    await exec.run('true'); // connect outside the busy phase
    const stop = busyLoop(25);
    const results: Array<number | string> = [];
    try {
      for (let i = 0; i < 30; i++) {
        results.push(
          await exec.run(`echo run ${i}; exit ${i % 3}`).then(
            (r) => (r.stdout === `run ${i}\n` ? r.exitCode : `stdout ${JSON.stringify(r.stdout)}`),
            (e: Error) => e.message,
          ),
        );
      }
    } finally {
      stop();
    }
    expect(results).to.deep.equal(results.map((_, i) => i % 3));
  });

  it('reports a script killed by a signal as 128 + the signal number, with and without a timeout', async () => {
    const exec = pool.executor({ host: '127.0.0.1', port: sshd.port, nodeName: 'n1.lab' });
    expect((await exec.run('kill -KILL $$')).exitCode).to.equal(137);
    expect((await exec.run('kill -TERM $$', { timeoutMs: 20_000 })).exitCode).to.equal(143);
  });
});
