/**
 * A real OpenSSH server for the ssh executor tests: /usr/sbin/sshd on 127.0.0.1 and a free port, with
 * host and client keys generated in a temp dir. Needs root (sshd refuses otherwise); without root or
 * sshd the suite is skipped with a visible reason, unless CI=true, where that is a failure.
 *
 * sshd runs in its own mount namespace with an empty directory bind-mounted over /root, so the login
 * shell of every exec does not source this machine's ~/.bashrc (bash does that for ssh commands):
 * output and timings do not depend on the host's dotfiles. Set TEST_SSHD_REAL_HOME=1 to keep /root.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const sshdPath = '/usr/sbin/sshd';

/** Call in a `before` hook: skips the suite (or fails in CI) when a real sshd cannot be run here. */
export function requireSshd(ctx: Mocha.Context): void {
  const missing =
    process.getuid?.() !== 0
      ? 'the tests are not running as root (sshd needs root)'
      : !existsSync(sshdPath)
        ? `${sshdPath} is missing (apt-get install -y openssh-server openssh-client)`
        : null;
  if (!missing) return;
  if (process.env.CI === 'true') throw new Error(`a real sshd is required (CI) but ${missing}`);
  console.warn(`    skipping ssh executor suite: ${missing}`);
  ctx.skip();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'anneal-test', '-f', file]);
}

/** `SHA256:…` of a public key file, as ssh-keygen prints it. */
export function fingerprintOf(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-l', '-f', pubFile], { encoding: 'utf8' }).split(' ')[1]!;
}

let cleanHome: boolean | null = null;

/** Whether sshd can get an empty /root (a private mount namespace); warns once when it cannot. */
function cleanHomeWorks(): boolean {
  if (cleanHome === null) {
    cleanHome = process.env.TEST_SSHD_REAL_HOME !== '1';
    if (cleanHome) {
      try {
        execFileSync('unshare', ['--mount', '--propagation', 'private', '--', 'true'], { stdio: 'ignore' });
      } catch {
        cleanHome = false;
        console.warn("    sshd keeps this machine's /root: unshare --mount failed (timings include ~/.bashrc)");
      }
    }
  }
  return cleanHome;
}

export class TestSshd {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'anneal-sshd-'));
  readonly clientKey: string;
  port = 0;
  private proc: ChildProcess | null = null;
  private log = '';
  private hostKey = '';

  private constructor() {
    keygen(path.join(this.dir, 'client'));
    keygen(path.join(this.dir, 'other-client'));
    this.clientKey = readFileSync(path.join(this.dir, 'client'), 'utf8');
    writeFileSync(path.join(this.dir, 'authorized_keys'), readFileSync(path.join(this.dir, 'client.pub')));
    mkdirSync(path.join(this.dir, 'home'));
  }

  static async start(): Promise<TestSshd> {
    const sshd = new TestSshd();
    sshd.port = await freePort();
    await sshd.startWith('host1');
    return sshd;
  }

  /** A client key the server does not accept. */
  get otherClientKey(): string {
    return readFileSync(path.join(this.dir, 'other-client'), 'utf8');
  }

  get hostKeyFingerprint(): string {
    return fingerprintOf(`${this.hostKey}.pub`);
  }

  /** How many connections sshd has accepted since it was created. */
  get acceptedConnections(): number {
    return (this.log.match(/Accepted publickey/g) ?? []).length;
  }

  /** Starts sshd with the host key named `keyName` (generated on first use) on the same port. */
  async startWith(keyName: string): Promise<void> {
    this.hostKey = path.join(this.dir, keyName);
    if (!existsSync(this.hostKey)) keygen(this.hostKey);
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const args = [
      ...['-D', '-e', '-f', '/dev/null', '-p', String(this.port)],
      ...['-o', 'ListenAddress=127.0.0.1', '-o', `HostKey=${this.hostKey}`],
      ...['-o', `AuthorizedKeysFile=${path.join(this.dir, 'authorized_keys')}`],
      ...['-o', 'UsePAM=no', '-o', 'StrictModes=no', '-o', 'PermitRootLogin=prohibit-password'],
      ...['-o', `PidFile=${path.join(this.dir, 'sshd.pid')}`, '-o', 'Subsystem=sftp internal-sftp'],
    ];
    const home = path.join(this.dir, 'home');
    this.proc = !cleanHomeWorks()
      ? spawn(sshdPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
      : // unshare and sh exec in place: the child's pid is sshd's. sh's $1 is the home, then the command.
        spawn(
          'unshare',
          [
            '--mount',
            '--propagation',
            'private',
            '--',
            'sh',
            '-c',
            'mount --bind "$1" /root && shift && exec "$@"',
          ].concat(['sh', home, sshdPath, ...args]),
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
    const proc = this.proc;
    proc.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start:\n${this.log}`)), 5000);
      const check = () => {
        if (this.log.includes(`Server listening on 127.0.0.1 port ${this.port}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stderr!.on('data', check);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sshd exited with ${code}:\n${this.log}`));
      });
    });
    proc.removeAllListeners('exit');
  }

  /** Stops the listener and every connection it accepted (as a node going down would). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    this.proc = null;
    const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').split(' ').filter(Boolean);
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    for (const pid of children) {
      try {
        process.kill(Number(pid), 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
