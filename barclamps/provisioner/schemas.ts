/**
 * Strict schemas for the provisioner's attribs. Values end up in install configs whose formats have no
 * quoting (iPXE, preseed, kickstart %packages), so these accept only what those formats carry safely:
 * no whitespace inside names, no control characters anywhere, no shell or iPXE metacharacters.
 */
import { z } from 'zod';

const KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;

/** `<type> <base64>[ <comment>]`, where the base64 blob decodes to a key of that type. */
export function keyProblem(line: string): string | null {
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: ([\x20-\x7e]{1,200}))?$/.exec(line);
  if (!m) return 'expected one OpenSSH public key line: "<type> <base64> [comment]" (printable ASCII, no line breaks)';
  const [, type, blob] = m as unknown as [string, string, string];
  if (!(KEY_TYPES as readonly string[]).includes(type)) return `unknown key type "${type}" (${KEY_TYPES.join(', ')})`;
  const raw = Buffer.from(blob, 'base64');
  const len = raw.length >= 4 ? raw.readUInt32BE(0) : -1;
  if (len < 1 || len > raw.length - 4 || raw.subarray(4, 4 + len).toString('latin1') !== type) {
    return `the key data is not a ${type} key`;
  }
  return null;
}

export const authorizedKey = z.string().superRefine((s, ctx) => {
  const problem = keyProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Debian and RPM package names (letters, digits, + . _ -; starting with a letter or digit). */
export const packageName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9+._-]{0,127}$/, 'expected a package name: letters, digits and + . _ - (at most 128)');

const ipv4 = z.ipv4({ error: 'expected an IPv4 address' });

export const network = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('dhcp') }),
  z.strictObject({
    mode: z.literal('static'),
    /** The node's own address is its management `address`; these complete it. */
    prefix: z.int().min(1).max(32),
    gateway: ipv4,
    nameservers: z.array(ipv4).max(3, 'at most 3 name servers'),
  }),
]);
