import { describe, expect, it } from 'vitest'
import { clientIp } from '../../src/auth/client-ip.js'

/** The address rate limits count a client under (a pure function; the transports are tested in rate-limits.test.ts). */
describe('clientIp', () => {
  it('is the peer address without a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientIp('198.51.100.7', '203.0.113.1', false)).toBe('198.51.100.7')
    expect(clientIp('198.51.100.7', undefined, false)).toBe('198.51.100.7')
  })

  it('behind a trusted proxy is the last X-Forwarded-For entry (the one the proxy appended)', () => {
    expect(clientIp('10.0.0.1', '203.0.113.1', true)).toBe('203.0.113.1')
    expect(clientIp('10.0.0.1', 'spoofed, 1.2.3.4 , 203.0.113.9', true)).toBe('203.0.113.9')
    expect(clientIp('10.0.0.1', ['1.1.1.1', '203.0.113.2'], true)).toBe('203.0.113.2')
    expect(clientIp('10.0.0.1', undefined, true)).toBe('10.0.0.1')
    expect(clientIp('10.0.0.1', '', true)).toBe('10.0.0.1')
  })

  it('counts an IPv4-mapped IPv6 peer as its IPv4 address', () => {
    expect(clientIp('::ffff:127.0.0.1', undefined, false)).toBe('127.0.0.1')
  })

  it('counts IPv6 addresses by their /64, so one host cannot pick a fresh address per attempt', () => {
    expect(clientIp('2001:db8:1:2:aaaa::1', undefined, false)).toBe('2001:db8:1:2::/64')
    expect(clientIp('2001:0db8:0001:0002:ffff:1:2:3', undefined, false)).toBe('2001:db8:1:2::/64')
    expect(clientIp('2001:db8::1', undefined, false)).toBe('2001:db8:0:0::/64')
    expect(clientIp('::1', undefined, false)).toBe('0:0:0:0::/64')
  })

  it('is "unknown" when there is nothing to go by', () => {
    expect(clientIp(undefined, undefined, false)).toBe('unknown')
  })
})
