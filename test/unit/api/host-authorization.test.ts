import type { IncomingMessage } from 'node:http';
import { bareHost, blockedHost, hostAllowed } from '../../../src/api/host-authorization';

const req = (host: string | undefined, url = '/bigbluebutton/api/join', forwarded?: string) =>
  ({ url, headers: { ...(host !== undefined ? { host } : {}), ...(forwarded ? { 'x-forwarded-host': forwarded } : {}) } }) as unknown as IncomingMessage;

describe('URL_HOST host authorization (Scalelite config.hosts, reference §1.1)', () => {
  test('given URL_HOST: that host passes (any case, any port); another is blocked', () => {
    expect(hostAllowed('lb.example.com', 'lb.example.com', false)).toBe(true);
    expect(hostAllowed('LB.Example.com:443', 'lb.example.com', false)).toBe(true);
    expect(hostAllowed('evil.example.org', 'lb.example.com', false)).toBe(false);
    expect(hostAllowed('lb.example.com.evil.org', 'lb.example.com', false)).toBe(false);
  });

  test('given multitenancy: subdomains of URL_HOST pass, look-alikes do not; without it they are blocked', () => {
    expect(hostAllowed('alpha.lb.example.com', 'lb.example.com', true)).toBe(true);
    expect(hostAllowed('alpha.lb.example.com', 'lb.example.com', false)).toBe(false);
    expect(hostAllowed('evillb.example.com', 'lb.example.com', true)).toBe(false);
  });

  test('an address or localhost passes (rebinding always names the attacker); no Host at all is blocked', () => {
    expect(hostAllowed('127.0.0.1:3000', 'lb.example.com', false)).toBe(true);
    expect(hostAllowed('[::1]:3000', 'lb.example.com', false)).toBe(true);
    expect(hostAllowed('localhost', 'lb.example.com', false)).toBe(true);
    expect(hostAllowed('', 'lb.example.com', false)).toBe(false);
    expect(bareHost('[2001:db8::1]:80')).toBe('2001:db8::1');
  });

  test('the health check is exempt; a forwarded host must pass too; without URL_HOST nothing is blocked', () => {
    expect(blockedHost(req('evil.org', '/health_check'), 'lb.example.com', false)).toBeNull();
    expect(blockedHost(req('evil.org'), 'lb.example.com', false)).toBe('evil.org');
    expect(blockedHost(req('lb.example.com', '/', 'a.org, evil.org'), 'lb.example.com', false)).toBe('evil.org');
    expect(blockedHost(req('lb.example.com', '/', 'x.org, lb.example.com'), 'lb.example.com', false)).toBeNull();
    expect(blockedHost(req('evil.org'), undefined, false)).toBeNull();
  });
});
