/**
 * Who may do what through the API (DESIGN §8). Pure.
 *
 * A token has one role. Roles are ordered: admin ⊇ operator ⊇ read-only. Every route needs an access
 * level: `public` (no token: health), `read` (read-only and up), `operate` (operator and up: every
 * change to nodes, deployments, attribs, power…), `admin` (tokens).
 */
export const tokenRoles = ['read-only', 'operator', 'admin'] as const;
export type TokenRole = (typeof tokenRoles)[number];

export type Access = 'public' | 'read' | 'operate' | 'admin';

const needs: Record<Exclude<Access, 'public'>, TokenRole> = { read: 'read-only', operate: 'operator', admin: 'admin' };

/** True when a token of `role` may use a route that needs `access`. */
export function allows(role: TokenRole, access: Access): boolean {
  if (access === 'public') return true;
  return tokenRoles.indexOf(role) >= tokenRoles.indexOf(needs[access]);
}

/** The role an access level needs at least (for error messages); null for public. */
export function roleNeeded(access: Access): TokenRole | null {
  return access === 'public' ? null : needs[access];
}

/** The default access of a route by its method: reads need `read`, anything else `operate`. */
export function accessForMethod(method: string): Access {
  return ['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase()) ? 'read' : 'operate';
}
