// Logins are attacker-controlled text: loginOf bounds and cleans them once for every parser.
import { describe, expect, it } from 'vitest';
import { loginOf, MAX_LOGIN_CHARS, routerOsLogin } from '../../src/parse/login.js';
import { parseMessage } from '../../src/parse/chain.js';

describe('loginOf', () => {
  it('drops placeholders and empty values', () => {
    for (const v of [null, undefined, '', '  ', '-', 'N/A', 'none', '(null)']) expect(loginOf(v)).toBeNull();
  });
  it('removes control characters and line separators, and trims', () => {
    expect(loginOf(' ana\u0000\r\n\u001b[31m\u2028 ')).toBe('ana[31m');
  });
  it('cuts long logins to MAX_LOGIN_CHARS, never inside a surrogate pair', () => {
    expect(loginOf('x'.repeat(10_000))).toHaveLength(MAX_LOGIN_CHARS);
    const s = loginOf('a'.repeat(MAX_LOGIN_CHARS - 1) + '😀😀');
    expect(s).toBe('a'.repeat(MAX_LOGIN_CHARS - 1));
  });
});

describe('routerOsLogin', () => {
  it('takes the login out of a dynamic PPP interface and keeps VLAN names', () => {
    expect(routerOsLogin('<pppoe-cliente42>')).toBe('cliente42');
    expect(routerOsLogin('<l2tp-a b>')).toBe('a b');
    expect(routerOsLogin('vlan100-clientes')).toBe('vlan100-clientes');
    expect(routerOsLogin('ether1')).toBeNull();
    expect(routerOsLogin('<bridge1>')).toBeNull();
  });
  it('bounds a hostile interface name in a parsed line', () => {
    const line = `firewall,info forward: in:<pppoe-${'A'.repeat(5000)}\u0007> out:ether1, connection-state:new,snat proto TCP (SYN), 10.0.0.1:1000->8.8.8.8:80, NAT (10.0.0.1:1000->203.0.113.1:2000)->8.8.8.8:80, len 60`;
    const r = parseMessage(line, { receivedAt: Date.now(), peer: null, device: null, timezone: 'UTC' });
    expect(r.kind).toBe('records');
    if (r.kind === 'records') expect(r.records[0]!.login).toBe('A'.repeat(MAX_LOGIN_CHARS));
  });
});
