// Subscriber logins as lines name them (NatRecord.login). A login is attacker-controlled text: any
// sender can write one, so it is bounded here once, for every parser, before it is stored or shown.

/** Longest login kept, in UTF-16 units (RADIUS User-Name is at most 253 bytes; PPP logins are far shorter). */
export const MAX_LOGIN_CHARS = 64;

/** Values that name nobody (FortiGate, PAN-OS and Junos write these for "no user"). */
const NOBODY = new Set(['-', 'N/A', 'n/a', 'none', 'unknown', '(null)', '""']);

/**
 * A login as kept: trimmed, control characters (C0, DEL, C1) and the Unicode line separators removed,
 * cut to MAX_LOGIN_CHARS (never inside a surrogate pair); null for nothing or a placeholder.
 */
export function loginOf(v: string | null | undefined): string | null {
  if (v == null) return null;
  let s = v.length > 4 * MAX_LOGIN_CHARS ? v.slice(0, 4 * MAX_LOGIN_CHARS) : v;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s)) s = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '');
  s = s.trim();
  if (s.length > MAX_LOGIN_CHARS) {
    let n = MAX_LOGIN_CHARS;
    const c = s.charCodeAt(n - 1);
    if (c >= 0xd800 && c <= 0xdbff) n--;
    s = s.slice(0, n);
  }
  return s === '' || NOBODY.has(s) ? null : s;
}

/** Tunnel interfaces RouterOS creates per subscriber session, `<TYPE-LOGIN>`. */
const PPP_PREFIXES = ['<pppoe-', '<l2tp-', '<sstp-', '<ovpn-', '<pptp-'];
const VLAN = /vlan/i;

/**
 * The subscriber a RouterOS interface name identifies: the login of a dynamic PPP interface
 * (`<pppoe-cliente42>` → `cliente42`), a VLAN interface's name (`vlan2436`, `vlan-clientes`, the
 * per-subscriber VLANs of QinQ designs) as it is; null for every other interface (ether1, bridges).
 */
export function routerOsLogin(iface: string): string | null {
  if (iface.charCodeAt(0) === 60 && iface.charCodeAt(iface.length - 1) === 62) {
    for (const p of PPP_PREFIXES) if (iface.startsWith(p)) return loginOf(iface.slice(p.length, -1));
    return null;
  }
  return VLAN.test(iface) ? loginOf(iface) : null;
}
