import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { AppError } from '../../../core/errors';
import { createMemoryHostKeyStore, createSshPool, type MemoryHostKeyStore, type SshPool } from '../../../core/exec/ssh';
import { PidMarkerScanner, scriptPreamble } from '../../../core/exec/ssh-script';
import { freePort, requireSshd, TestSshd } from './sshd';

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** True once /proc/<pid> is gone or a zombie (killed, not yet reaped). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

const leftoverScripts = () => readdirSync('/tmp').filter((f) => /^anneal-[0-9a-f]{24}\.sh$/.test(f));

describe('exec/ssh', function () {
  this.timeout(60_000);
  let sshd: TestSshd;
  let hostKeys: MemoryHostKeyStore;
  let pool: SshPool;
  let scriptsBefore: string[];
  const target = () => ({ host: '127.0.0.1', port: sshd.port, nodeName: 'n1.lab' });
  const newPool = (over: Partial<Parameters<typeof createSshPool>[0]> = {}) =>
    createSshPool({ username: 'root', privateKey: sshd.clientKey, hostKeys, connectTimeoutMs: 5000, ...over });

  before(async function () {
    requireSshd(this);
    sshd = await TestSshd.start();
    hostKeys = createMemoryHostKeyStore();
    pool = newPool();
    scriptsBefore = leftoverScripts();
  });

  after(async () => {
    await pool?.dispose();
    await sshd?.dispose();
  });

  it('runs a script and returns exit 0 with its output, recording the host key on first contact', async () => {
    const res = await pool.executor(target()).run('echo hello; echo "script is $0" >&2; exit 0');
    expect(res.exitCode).to.equal(0);
    expect(res.stdout).to.equal('hello\n');
    expect(res.stderr).to.match(/^script is \/tmp\/anneal-[0-9a-f]{24}\.sh\n$/);
    expect(hostKeys.entries()).to.deep.equal({ 'n1.lab': sshd.hostKeyFingerprint });
  });

  it('returns a non-zero exit code with the stderr tail instead of throwing', async () => {
    const res = await pool.executor(target()).run('echo partial; echo "disk on fire" >&2; exit 42');
    expect(res).to.deep.equal({ exitCode: 42, stdout: 'partial\n', stderr: 'disk on fire\n' });
  });

  it('passes env values verbatim and executes nothing in them', async () => {
    const marker = `/tmp/pwned-${randomBytes(6).toString('hex')}`;
    const env = {
      SUBST: `$(touch ${marker})`,
      BACKTICK: `\`touch ${marker}\``,
      QUOTES: `it's "quoted" \\ and '\\''`,
      BREAKOUT: `'; touch ${marker}; echo '`,
      NEWLINES: `line1\nline2\n; touch ${marker}\n`,
      EMPTY: '',
    };
    const res = await pool
      .executor(target())
      .run('printf "%s\\0" "$SUBST" "$BACKTICK" "$QUOTES" "$BREAKOUT" "$NEWLINES" "$EMPTY"', { env });
    expect(res.exitCode).to.equal(0);
    expect(res.stdout.split('\0').slice(0, -1)).to.deep.equal(Object.values(env));
    expect(existsSync(marker), `${marker} was created: a value was executed`).to.equal(false);
  });

  it('reuses one connection for 50 sequential runs', async () => {
    const own = newPool();
    const exec = own.executor(target());
    await exec.run('true');
    const accepted = sshd.acceptedConnections;
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      const res = await exec.run(`echo ${i}`);
      times.push(performance.now() - t0);
      expect(res.stdout).to.equal(`${i}\n`);
    }
    await own.dispose();
    expect(sshd.acceptedConnections - accepted).to.equal(0);
    console.log(`      open connection: median ${median(times).toFixed(1)} ms per run (50 runs)`);
  });

  it('pays a handshake per run when every run uses a fresh connection', async () => {
    const times: number[] = [];
    const accepted = sshd.acceptedConnections;
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const own = newPool();
      expect((await own.executor(target()).run('true')).exitCode).to.equal(0);
      times.push(performance.now() - t0);
      await own.dispose();
    }
    expect(sshd.acceptedConnections - accepted).to.equal(10);
    console.log(`      fresh connection: median ${median(times).toFixed(1)} ms per run (10 runs)`);
  });

  it('runs 10 scripts concurrently on one target over one connection', async () => {
    const own = newPool();
    const accepted = sshd.acceptedConnections;
    const exec = own.executor(target());
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => exec.run(`sleep 0.2; echo run-${i}; echo err-${i} >&2; exit ${i}`)),
    );
    await own.dispose();
    results.forEach((r, i) => expect(r).to.deep.equal({ exitCode: i, stdout: `run-${i}\n`, stderr: `err-${i}\n` }));
    expect(sshd.acceptedConnections - accepted).to.equal(1);
  });

  it('rejects ERR_REMOTE_TIMEOUT on timeout and kills the remote process group', async () => {
    const pids = `/tmp/anneal-test-pids-${randomBytes(4).toString('hex')}`;
    const t0 = performance.now();
    const err = await rejection(
      pool.executor(target()).run(`echo started; sleep 300 & echo $$ $! > ${pids}; wait`, { timeoutMs: 1500 }),
    );
    const elapsed = performance.now() - t0;
    expect(err.code).to.equal('ERR_REMOTE_TIMEOUT');
    expect(err.kind).to.equal('operational');
    expect(err.message).to.match(/n1\.lab .*timed out after 1500 ms/);
    expect(err.details).to.deep.include({ stdoutTail: 'started\n' });
    expect(elapsed).to.be.within(1400, 4000);
    const [shell, child] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    rmSync(pids);
    expect(await waitFor(() => gone(shell!) && gone(child!), 1000), 'the script and its child are gone').to.equal(true);
  });

  it('rejects ERR_REMOTE_TIMEOUT when aborted and kills the remote process', async () => {
    const pids = `/tmp/anneal-test-pids-${randomBytes(4).toString('hex')}`;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    const err = await rejection(pool.executor(target()).run(`echo $$ > ${pids}; sleep 300`, { signal: ac.signal }));
    expect(err.code).to.equal('ERR_REMOTE_TIMEOUT');
    expect(err.message).to.match(/was aborted/);
    const pid = Number(readFileSync(pids, 'utf8'));
    rmSync(pids);
    expect(await waitFor(() => gone(pid), 1000)).to.equal(true);
  });

  it('rejects ERR_REMOTE_UNREACHABLE quickly for a closed port', async () => {
    const port = await freePort();
    const t0 = performance.now();
    const err = await rejection(pool.executor({ host: '127.0.0.1', port, nodeName: 'n9.lab' }).run('true'));
    expect(performance.now() - t0).to.be.below(1000);
    expect(err.code).to.equal('ERR_REMOTE_UNREACHABLE');
    expect(err.kind).to.equal('operational');
    expect(err.message).to.include(`n9.lab (127.0.0.1:${port})`).and.to.include('ECONNREFUSED');
  });

  it('rejects ERR_SSH_AUTH when the node does not accept the key', async () => {
    const own = newPool({ privateKey: sshd.otherClientKey });
    const err = await rejection(own.executor(target()).run('true'));
    await own.dispose();
    expect(err.code).to.equal('ERR_SSH_AUTH');
    expect(err.kind).to.equal('operational');
    expect(err.message).to.include('n1.lab').and.not.to.include('PRIVATE KEY');
  });

  it('rejects ERR_SSH_AUTH for a private key that cannot be parsed, without echoing it', async () => {
    const own = newPool({
      // A key-shaped text that is not a key (built here so no tracked file carries a key marker).
      privateKey: ['BEGIN', 'END'].map((w) => `-----${w} OPENSSH PRIVATE KEY-----`).join('\nc2VjcmV0\n') + '\n',
    });
    const err = await rejection(own.executor(target()).run('true'));
    await own.dispose();
    expect(err.code).to.equal('ERR_SSH_AUTH');
    expect(err.message).not.to.include('c2VjcmV0');
  });

  it('keeps output tails bounded', async () => {
    const res = await pool
      .executor(target())
      .run(`head -c 1048576 /dev/zero | tr '\\0' x; echo END; head -c 1048576 /dev/zero | tr '\\0' y >&2`);
    expect(res.exitCode).to.equal(0);
    expect(res.stdout.startsWith('…')).to.equal(true);
    expect(res.stdout.endsWith('xxxEND\n')).to.equal(true);
    expect(Buffer.byteLength(res.stdout.slice(1))).to.equal(8 * 1024);
    expect(res.stderr).to.match(/^…y+$/);
    expect(Buffer.byteLength(res.stderr.slice(1))).to.be.at.most(8 * 1024);
  });

  it('uploads exact bytes with the requested mode, replacing an existing file', async () => {
    const file = `/tmp/anneal-upload-${randomBytes(4).toString('hex')}`;
    writeFileSync(file, 'old contents');
    const content = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(200_000)]);
    await pool.uploadFile(target(), file, content, 0o640);
    expect(readFileSync(file).equals(content)).to.equal(true);
    expect(statSync(file).mode & 0o7777).to.equal(0o640);
    await pool.uploadFile(target(), file, 'text\n');
    expect(readFileSync(file, 'utf8')).to.equal('text\n');
    expect(statSync(file).mode & 0o7777).to.equal(0o644);
    rmSync(file);
    const err = await rejection(pool.uploadFile(target(), '/nonexistent-dir/x.conf', 'x'));
    expect(err.code).to.equal('ERR_COMMAND_FAILED');
    expect(err.message).to.include('/nonexistent-dir/x.conf').and.to.include('n1.lab');
  });

  it('leaves no script files behind', () => {
    expect(leftoverScripts().filter((f) => !scriptsBefore.includes(f))).to.deep.equal([]);
  });

  it('reconnects on the next use after the connection dropped', async () => {
    const exec = pool.executor(target());
    expect((await exec.run('echo before')).stdout).to.equal('before\n');
    const accepted = sshd.acceptedConnections;
    await sshd.stop();
    await sshd.startWith('host1');
    expect((await exec.run('echo after')).stdout).to.equal('after\n');
    expect(sshd.acceptedConnections - accepted).to.equal(1);
  });

  it('rejects ERR_SSH_HOST_KEY_CHANGED and runs nothing when the host key changes', async () => {
    const recorded = hostKeys.entries()['n1.lab'];
    await sshd.stop();
    await sshd.startWith('host2');
    const marker = `/tmp/anneal-test-ran-${randomBytes(4).toString('hex')}`;
    const accepted = sshd.acceptedConnections;
    const err = await rejection(pool.executor(target()).run(`touch ${marker}`));
    expect(err.code).to.equal('ERR_SSH_HOST_KEY_CHANGED');
    expect(err.kind).to.equal('user');
    expect(err.message).to.equal('host key of n1.lab changed; redeploy the node or clear its recorded key');
    expect(err.details).to.deep.include({ recorded, presented: sshd.hostKeyFingerprint });
    expect(existsSync(marker)).to.equal(false);
    expect(hostKeys.entries()['n1.lab']).to.equal(recorded);
    expect(sshd.acceptedConnections, 'no authentication happened').to.equal(accepted);

    hostKeys.delete('n1.lab');
    expect((await pool.executor(target()).run('echo new key')).stdout).to.equal('new key\n');
    expect(hostKeys.entries()['n1.lab']).to.equal(sshd.hostKeyFingerprint);
  });

  it('rejects ERR_REMOTE_UNREACHABLE after dispose', async () => {
    const own = newPool();
    await own.dispose();
    expect((await rejection(own.executor(target()).run('true'))).code).to.equal('ERR_REMOTE_UNREACHABLE');
  });
});

describe('exec/ssh-script', () => {
  it('quotes env values in the preamble and refuses names a shell cannot carry', () => {
    expect(scriptPreamble('/tmp/x.sh', { A: "it's" })).to.equal(`rm -f -- '/tmp/x.sh'; export A='it'\\''s'\n`);
    expect(scriptPreamble('/tmp/x.sh')).to.equal(`rm -f -- '/tmp/x.sh'\n`);
    expect(() => scriptPreamble('/tmp/x.sh', { 'A;B': 'x' })).to.throw(/invalid environment variable name/);
  });

  it('takes the pid line out of stdout, wherever the chunks split', () => {
    const s = new PidMarkerScanner('M=');
    const parts = ['noise\nM', '=12', '34\nout', 'put\n'].map((p) => s.push(Buffer.from(p)).toString());
    expect(parts.join('')).to.equal('noise\noutput\n');
    expect(s.pid).to.equal(1234);
  });
});
