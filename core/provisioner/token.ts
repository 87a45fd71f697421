/**
 * Install tokens: 256 random bits as 64 hex digits, the credential a booting machine carries in its
 * URLs. Only the SHA-256 is stored, so a database read does not hand out working tokens.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export function newInstallToken(): string {
  return randomBytes(32).toString('hex');
}

export function hashInstallToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
