/**
 * The OpenSSH public key line (`ssh-ed25519 AAAA… comment`) of anneal's managed private key, so the
 * machines anneal installs authorize it: `<key>.pub` when it exists (ssh-keygen writes it), otherwise
 * derived with `ssh-keygen -y`. Throws a plain Error naming the file when neither works; never includes
 * key material in the message.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export function publicKeyLine(privateKeyFile: string): string {
  const pub = `${privateKeyFile}.pub`;
  try {
    const line = existsSync(pub)
      ? readFileSync(pub, 'utf8')
      : execFileSync('ssh-keygen', ['-y', '-f', privateKeyFile], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
    const first = line.trim().split('\n')[0] ?? '';
    if (!/^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/=]+/.test(first)) throw new Error('not an OpenSSH public key');
    return first;
  } catch (err) {
    throw new Error(
      `cannot read the public key of ${privateKeyFile} (${(err as Error).message.split('\n')[0]}): put it in ${pub}`,
    );
  }
}
