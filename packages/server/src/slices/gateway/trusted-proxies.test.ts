import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../platform/config/load-config.js';
import { trustedPeerMatcher } from './trusted-proxies.js';

describe('trustedPeerMatcher', () => {
  it('matches exact IPv4 and IPv6 addresses only', () => {
    const trusted = trustedPeerMatcher(['10.0.0.9', 'fd00::1']);
    expect(trusted('10.0.0.9')).toBe(true);
    expect(trusted('10.0.0.10')).toBe(false);
    expect(trusted('fd00::1')).toBe(true);
    expect(trusted('fd00:0:0::1')).toBe(true); // another spelling of the same address
    expect(trusted('fd00::2')).toBe(false);
  });

  it('matches CIDR blocks, boundaries included', () => {
    const trusted = trustedPeerMatcher(['10.0.0.0/8', '192.168.4.0/22', 'fd00::/8']);
    expect(trusted('10.0.0.0')).toBe(true);
    expect(trusted('10.255.255.255')).toBe(true);
    expect(trusted('11.0.0.0')).toBe(false);
    expect(trusted('192.168.4.0')).toBe(true);
    expect(trusted('192.168.7.255')).toBe(true);
    expect(trusted('192.168.8.0')).toBe(false);
    expect(trusted('192.168.3.255')).toBe(false);
    expect(trusted('fdff:ffff::1')).toBe(true);
    expect(trusted('fe00::1')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 peers against IPv4 entries', () => {
    const trusted = trustedPeerMatcher(['10.0.0.0/8', '203.0.113.7']);
    expect(trusted('::ffff:10.1.2.3')).toBe(true);
    expect(trusted('::FFFF:203.0.113.7')).toBe(true);
    expect(trusted('::ffff:11.1.2.3')).toBe(false);
    // And an IPv4-mapped entry matches plain IPv4 peers.
    expect(trustedPeerMatcher(['::ffff:10.0.0.1'])('10.0.0.1')).toBe(true);
    expect(trustedPeerMatcher(['::ffff:10.0.0.0/104'])('10.9.9.9')).toBe(true);
  });

  it('`loopback` is 127.0.0.0/8 and ::1', () => {
    const trusted = trustedPeerMatcher(['loopback']);
    for (const peer of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(trusted(peer), peer).toBe(true);
    for (const peer of ['128.0.0.1', '::2', '10.0.0.1', '::ffff:10.0.0.1']) expect(trusted(peer), peer).toBe(false);
  });

  it('never trusts a missing, empty or unreadable peer, nor anything with an empty list', () => {
    const trusted = trustedPeerMatcher(['0.0.0.0/0', '::/0']);
    expect(trusted('8.8.8.8')).toBe(true);
    expect(trusted(undefined)).toBe(false);
    expect(trusted('')).toBe(false);
    expect(trusted('not-an-ip')).toBe(false);
    expect(trustedPeerMatcher([])('127.0.0.1')).toBe(false);
  });

  it('gives the same answer from its cache as the first time', () => {
    const trusted = trustedPeerMatcher(['10.0.0.0/8']);
    for (let i = 0; i < 3; i++) {
      expect(trusted('10.1.1.1')).toBe(true);
      expect(trusted('11.1.1.1')).toBe(false);
    }
    // Past the cache limit the answers stay right.
    for (let i = 0; i < 5000; i++) trusted(`11.0.${i >> 8}.${i & 255}`);
    expect(trusted('10.1.1.1')).toBe(true);
  });

  it('throws on an entry that is no address, block or keyword, naming it', () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0', '10.0.0.0/', '10.0.0.0/x', 'fe80::1%eth0']) {
      expect(() => trustedPeerMatcher(['127.0.0.1', bad]), bad).toThrow(JSON.stringify(bad));
    }
  });
});

describe('gateway.trustedProxies in the configuration', () => {
  const problem = (value: string) => {
    try {
      loadConfig({ env: { HALFTONE_GATEWAY_TRUSTED_PROXIES: value } });
      return undefined;
    } catch (err) {
      return err as { code: string; detail?: string };
    }
  };

  it('accepts addresses, CIDR blocks and loopback', () => {
    expect(problem('loopback, 10.0.0.0/8, fd00::/8, 203.0.113.7, ::1')).toBeUndefined();
    expect(loadConfig({ env: { HALFTONE_GATEWAY_TRUSTED_PROXIES: '["loopback","10.0.0.0/8"]' } }).gateway.trustedProxies).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
  });

  it('rejects a bad entry at start, naming it', () => {
    const err = problem('127.0.0.1, 10.0.0.0/33');
    expect(err?.code).toBe('HT_CONFIG_INVALID');
    expect(err?.detail).toContain('HALFTONE_GATEWAY_TRUSTED_PROXIES: entry "10.0.0.0/33" is not an IP address, a CIDR block');
    expect(problem('proxy.internal')?.detail).toContain('entry "proxy.internal"');
  });

  it('defaults to the loopback addresses', () => {
    const trusted = trustedPeerMatcher(loadConfig({ env: {} }).gateway.trustedProxies);
    expect(trusted('127.0.0.1')).toBe(true);
    expect(trusted('::1')).toBe(true);
    expect(trusted('::ffff:127.0.0.1')).toBe(true);
    expect(trusted('10.0.0.1')).toBe(false);
  });
});
