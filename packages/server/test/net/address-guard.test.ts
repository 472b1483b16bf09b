import { describe, expect, it } from 'vitest'
import { AddressNotAllowedError, classifyAddress } from '../../src/net/address-guard.js'

// [address, expected reason or 'allowed']
const table: [string, string][] = [
  // IPv4 public
  ['93.184.216.34', 'allowed'],
  ['8.8.8.8', 'allowed'],
  ['1.1.1.1', 'allowed'],
  ['172.15.255.255', 'allowed'],
  ['172.32.0.0', 'allowed'],
  ['100.63.255.255', 'allowed'],
  ['100.128.0.0', 'allowed'],
  ['192.169.0.1', 'allowed'],
  // IPv4 refused
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.0.1', 'link-local'],
  ['169.254.169.254', 'cloud metadata'],
  ['169.254.170.2', 'cloud metadata'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.255', 'carrier-grade NAT'],
  ['100.100.100.200', 'cloud metadata'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['255.255.255.255', 'broadcast'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['198.51.100.1', 'reserved'],
  ['203.0.113.1', 'reserved'],
  ['192.0.0.8', 'reserved'],
  // Non-canonical IPv4 spellings that some parsers accept
  ['2130706433', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['127.1', 'loopback'],
  // IPv6 public
  ['2606:4700:4700::1111', 'allowed'],
  ['2a00:1450:4007:80e::200e', 'allowed'],
  // IPv6 refused
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fd00::1', 'unique-local'],
  ['fd00:ec2::254', 'cloud metadata'],
  ['fec0::1', 'site-local'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'reserved'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo tunnel'],
  ['100::1', 'reserved'],
  ['64:ff9b:1::a00:1', 'NAT64 local-use'],
  ['4000::1', 'reserved'],
  ['::1:2:3:4:5', 'reserved'],
  // IPv4 inside IPv6
  ['::ffff:7f00:1', 'loopback, IPv4-mapped 127.0.0.1'],
  ['::ffff:127.0.0.1', 'loopback, IPv4-mapped 127.0.0.1'],
  ['::ffff:10.0.0.1', 'private, IPv4-mapped 10.0.0.1'],
  ['::ffff:169.254.169.254', 'cloud metadata, IPv4-mapped 169.254.169.254'],
  ['::ffff:0.0.0.0', 'unspecified, IPv4-mapped 0.0.0.0'],
  ['::ffff:93.184.216.34', 'allowed'],
  ['::7f00:1', 'loopback, IPv4-compatible 127.0.0.1'],
  ['::127.0.0.1', 'loopback, IPv4-compatible 127.0.0.1'],
  ['::a00:1', 'private, IPv4-compatible 10.0.0.1'],
  ['::ffff:0:7f00:1', 'loopback, IPv4-translated 127.0.0.1'],
  ['64:ff9b::7f00:1', 'loopback, NAT64 127.0.0.1'],
  ['64:ff9b::169.254.169.254', 'cloud metadata, NAT64 169.254.169.254'],
  ['64:ff9b::5db8:d822', 'allowed'],
  ['2002:7f00:1::1', 'loopback, 6to4 127.0.0.1'],
  ['2002:c0a8:101::1', 'private, 6to4 192.168.1.1'],
  ['2002:5db8:d822::1', 'allowed'],
  // Not addresses at all
  ['localhost', 'not an IP address'],
  ['', 'not an IP address'],
  ['127.0.0.1.', 'not an IP address'],
]

describe('classifyAddress', () => {
  it.each(table)('%s → %s', (address, expected) => {
    const verdict = classifyAddress(address)
    if (expected === 'allowed') expect(verdict).toEqual({ allowed: true })
    else expect(verdict).toEqual({ allowed: false, reason: expected })
  })
})

describe('AddressNotAllowedError', () => {
  it('says what was refused, why, and how to allow it for local development', () => {
    expect(new AddressNotAllowedError('127.0.0.1', 'loopback').message).toBe(
      'address 127.0.0.1 is not allowed (loopback); set JOON_ALLOW_PRIVATE_URLS=1 for local development',
    )
    expect(new AddressNotAllowedError('10.0.0.7', 'private', 'crm.internal').message).toBe(
      'address 10.0.0.7 is not allowed (private) (crm.internal resolves to it); set JOON_ALLOW_PRIVATE_URLS=1 for local development',
    )
  })
})
