/** SFTP steps of the ssh executor, on a connection's persistent SFTP session. */
import { posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import { describeTarget, unreachable, type Sftp, type SshConnection } from './ssh-connection';

export function sftpCall<T>(fn: (cb: (err?: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

/**
 * SFTP status errors (a numeric code: no such file, permission denied, failure) on a live connection
 * are the node refusing the write: ERR_COMMAND_FAILED. Anything else is the connection: unreachable.
 */
export function sftpError(conn: SshConnection, what: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (typeof (err as { code?: unknown })?.code === 'number' && !conn.closed) {
    return new AppError('ERR_COMMAND_FAILED', `${what} ${describeTarget(conn.target)}: ${(err as Error).message}`, {
      cause: err,
      details: { node: conn.target.nodeName },
    });
  }
  return unreachable(conn.target, what, err);
}

/** Creates `path` (which must not exist: O_EXCL) with `content` and `mode`. */
export async function createFile(sftp: Sftp, path: string, content: Buffer, mode: number): Promise<void> {
  await sftpCall<void>((cb) => sftp.writeFile(path, content, { flag: 'wx', mode }, cb));
}

/**
 * Replaces `remotePath` atomically: writes a temp file beside it, sets the exact mode (the server's
 * umask applies at creation), renames it over the target (posix-rename@openssh.com when offered).
 * The file ends up owned by the SSH user. Rejects with the raw SFTP error; the temp file is removed.
 */
export async function replaceFile(conn: SshConnection, remotePath: string, content: Buffer, mode: number) {
  const tmp = `${posix.dirname(remotePath)}/.${posix.basename(remotePath)}.anneal-${randomBytes(6).toString('hex')}`;
  try {
    const sftp = await conn.sftp();
    await createFile(sftp, tmp, content, mode);
    await sftpCall<void>((cb) => sftp.chmod(tmp, mode, cb));
    if (sftp._extensions?.['posix-rename@openssh.com'] === '1') {
      await sftpCall<void>((cb) => sftp.ext_openssh_rename(tmp, remotePath, cb));
    } else {
      await sftpCall<void>((cb) => sftp.unlink(remotePath, cb)).catch(() => undefined);
      await sftpCall<void>((cb) => sftp.rename(tmp, remotePath, cb));
    }
  } catch (err) {
    void removeQuietly(conn, tmp);
    throw err;
  }
}

/** Best effort: the file may never have been written, or the connection may be gone. */
export async function removeQuietly(conn: SshConnection, path: string): Promise<void> {
  if (conn.closed) return;
  try {
    const sftp = await conn.sftp();
    await sftpCall<void>((cb) => sftp.unlink(path, cb));
  } catch {
    /* nothing to remove */
  }
}
