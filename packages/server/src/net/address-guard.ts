import ipaddr from 'ipaddr.js'

/**
 * Which IP addresses a webhook may connect to (contract §3, "Safety").
 *
 * An allow-list, not a deny-list: IPv4 must be ordinary unicast and IPv6 must be global unicast
 * (2000::/3); everything else (loopback, RFC 1918, link-local, unique-local, CGNAT, multicast,
 * documentation and benchmarking ranges, 240/4, …) is refused, so a range nobody thought of is
 * refused too. IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, compatible
 * `::a.b.c.d`, translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`)
 * are judged by the IPv4 address they reach. The well-known NAT64 prefix is allowed when its
 * IPv4 address is, because IPv6-only hosts behind DNS64 see every IPv4-only endpoint that way.
 *
 * Pure (no `node:*`), so edge entries can use it on literal addresses.
 */

export type AddressVerdict =
  | { allowed: true }
  | {
      allowed: false
      /** Human words for the range, e.g. `loopback` or `private, IPv4-mapped 10.0.0.1`. */
      reason: string
    }

/** Cloud metadata endpoints, named as such in errors because they are the usual SSRF prize. */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
  '169.254.170.2', // AWS ECS task metadata
  '100.100.100.200', // Alibaba Cloud
  '192.0.0.192', // Oracle Cloud (classic)
  'fd00:ec2::254', // AWS IMDS over IPv6
])

const IPV4_RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved',
  as112: 'reserved',
  amt: 'reserved',
}

const IPV6_RANGE_WORDS: Record<string, string> = {
  unspecified: 'unspecified',
  linkLocal: 'link-local',
  multicast: 'multicast',
  loopback: 'loopback',
  uniqueLocal: 'unique-local',
  deprecatedSiteLocal: 'site-local',
  teredo: 'Teredo tunnel',
  rfc6052: 'NAT64 local-use',
}

const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parse('2000::')

/** Judges one IP address (as a string); anything that is not an IP address is refused. */
export function classifyAddress(address: string): AddressVerdict {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6
  try {
    parsed = ipaddr.parse(withHexTail(address))
  } catch {
    return { allowed: false, reason: 'not an IP address' }
  }
  return parsed.kind() === 'ipv4'
    ? classifyIPv4(parsed as ipaddr.IPv4)
    : classifyIPv6(parsed as ipaddr.IPv6)
}

/**
 * `::a.b.c.d` is the IPv4-compatible `::xxxx:yyyy` to the OS (and to `inet_ntop`, which prints
 * such addresses that way), but ipaddr.js reads it as IPv4-mapped. Spelling the tail in hex
 * first keeps the verdict about the address the socket would use.
 */
function withHexTail(address: string): string {
  const match = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(%.*)?$/.exec(address)
  if (!match) return address
  const [a, b, c, d] = match.slice(2, 6).map(Number) as [number, number, number, number]
  if ([a, b, c, d].some((octet) => octet > 255)) return address
  const hex = (high: number, low: number) => ((high << 8) | low).toString(16)
  return `${match[1]}${hex(a, b)}:${hex(c, d)}${match[6] ?? ''}`
}

function classifyIPv4(ip: ipaddr.IPv4): AddressVerdict {
  if (METADATA_ADDRESSES.has(ip.toString())) return { allowed: false, reason: 'cloud metadata' }
  const range = ip.range()
  if (range === 'unicast') return { allowed: true }
  return { allowed: false, reason: IPV4_RANGE_WORDS[range] ?? 'reserved' }
}

function classifyIPv6(ip: ipaddr.IPv6): AddressVerdict {
  // RFC 5952 text without any zone id, so it matches the spelling in METADATA_ADDRESSES.
  if (METADATA_ADDRESSES.has(new ipaddr.IPv6(ip.parts).toRFC5952String())) {
    return { allowed: false, reason: 'cloud metadata' }
  }
  const range = ip.range()
  if (range === 'unspecified' || range === 'loopback') {
    return { allowed: false, reason: range }
  }
  const embedded = embeddedIPv4(ip, range)
  if (embedded) {
    const verdict = classifyIPv4(embedded.ip)
    if (verdict.allowed) return verdict
    return { allowed: false, reason: `${verdict.reason}, ${embedded.form} ${embedded.ip}` }
  }
  if (range === 'unicast' && ip.match(GLOBAL_UNICAST_V6, 3)) return { allowed: true }
  return { allowed: false, reason: IPV6_RANGE_WORDS[range] ?? 'reserved' }
}

function embeddedIPv4(
  ip: ipaddr.IPv6,
  range: string,
): { ip: ipaddr.IPv4; form: string } | undefined {
  const p = ip.parts
  const low32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff])
  if (range === 'ipv4Mapped') return { ip: low32(), form: 'IPv4-mapped' }
  if (range === 'rfc6145') return { ip: low32(), form: 'IPv4-translated' }
  // ::a.b.c.d (deprecated IPv4-compatible); `::` and `::1` were handled by the caller.
  if (p.slice(0, 6).every((part) => part === 0)) return { ip: low32(), form: 'IPv4-compatible' }
  // Only the well-known prefix 64:ff9b::/96 has a fixed place for the IPv4 address; the
  // local-use 64:ff9b:1::/48 does not, and is refused as a whole.
  if (range === 'rfc6052' && p[1] === 0xff9b && p[2] === 0) {
    return { ip: low32(), form: 'NAT64' }
  }
  if (range === '6to4') {
    return {
      ip: new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]),
      form: '6to4',
    }
  }
  return undefined
}

/** Why a connection was refused; `send` turns it into a delivery failure. */
export class AddressNotAllowedError extends Error {
  override name = 'AddressNotAllowedError'
  readonly code = 'JOON_ADDRESS_NOT_ALLOWED'
  constructor(
    readonly address: string,
    readonly reason: string,
    readonly hostname?: string,
  ) {
    const via = hostname && hostname !== address ? ` (${hostname} resolves to it)` : ''
    super(
      `address ${address} is not allowed (${reason})${via}; set JOON_ALLOW_PRIVATE_URLS=1 for local development`,
    )
  }
}

/**
 * Why a URL's host would be refused, judged from the URL alone: `localhost` names and literal
 * addresses (WHATWG URL parsing already turned `127.1` and `0x7f.1` into dotted IPv4, and
 * bracketed IPv6 into its canonical text). A name that resolves to a private address is only
 * known at connect time; null here.
 */
export function refusedUrlHost(hostname: string): string | null {
  const host = hostname.replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return new AddressNotAllowedError(host, 'loopback').message
  }
  if (!/^[\d.]+$/.test(host) && !host.includes(':')) return null
  const verdict = classifyAddress(host)
  return verdict.allowed ? null : new AddressNotAllowedError(host, verdict.reason).message
}

/** Throws `AddressNotAllowedError` unless the address is allowed. */
export function assertAddressAllowed(address: string, hostname?: string): void {
  const verdict = classifyAddress(address)
  if (!verdict.allowed) throw new AddressNotAllowedError(address, verdict.reason, hostname)
}
