// The three console roles. What each may reach is decided in one place: src/web/authz.ts.

export const ROLES = ['admin', 'analyst', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}
