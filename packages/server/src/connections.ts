import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Connection limits for the Node server. Node's own defaults (60 s for headers, 300 s for a
 * whole request, checked every 30 s, no limit per client) let one client holding thousands
 * of half-sent requests use up the process's file descriptors and lock everyone out,
 * `/healthz` included. A chat request is a few hundred bytes: seconds are plenty.
 */

/** Time a client has to send a request's headers, from the moment it connects or reuses one. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 5_000
/** Time a client has to send a whole request, headers and body (bot uploads included). */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000
/**
 * Connections one client address may hold at once (behind a trusted proxy: requests in
 * flight). Browsers open at most 6 per site; 128 leaves room for an office behind one address
 * (the same office `JOON_RATE_LIMIT`'s default is sized for), while one address can take at
 * most 128 of the process's file descriptors.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 128

export interface ConnectionLimits {
  headersTimeoutMs: number
  bodyTimeoutMs: number
  /** 0 disables the cap. */
  maxPerAddress: number
  /** Count requests in flight by the forwarded address instead of sockets by the peer's. */
  trustProxy: boolean
  /** The client address rule of the rate limit, for requests (used with `trustProxy`). */
  clientAddress: (request: Request, env: unknown) => string
  log: (event: string, fields: Record<string, unknown>) => void
}

/** The `serverOptions` for `http.createServer`: Node enforces both timeouts itself (408). */
export function timeoutOptions(
  limits: Pick<ConnectionLimits, 'headersTimeoutMs' | 'bodyTimeoutMs'>,
) {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.bodyTimeoutMs,
    // Node checks the timeouts on this interval (30 s by default), so it bounds how late they fire.
    connectionsCheckingInterval: Math.max(
      50,
      Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4)),
    ),
  }
}

/** How many connections or requests each address holds now. */
class AddressCounts {
  private readonly counts = new Map<string, number>()
  constructor(private readonly max: number) {}

  /** Counts one more for `address`, or returns false when it already holds `max`. */
  acquire(address: string): boolean {
    const count = this.counts.get(address) ?? 0
    if (count >= this.max) return false
    this.counts.set(address, count + 1)
    return true
  }

  release(address: string): void {
    const count = this.counts.get(address) ?? 0
    if (count <= 1) this.counts.delete(address)
    else this.counts.set(address, count - 1)
  }
}

const REFUSED_BODY = JSON.stringify({
  error: {
    code: 'too_many_connections',
    message: 'Too many open connections from this address; close some and try again.',
  },
})
const REFUSED_RESPONSE = [
  'HTTP/1.1 429 Too Many Requests',
  'connection: close',
  'content-type: application/json',
  'retry-after: 1',
  `content-length: ${new TextEncoder().encode(REFUSED_BODY).length}`,
  '',
  REFUSED_BODY,
].join('\r\n')

/**
 * Caps what one client address holds. Directly exposed, each socket is counted by its peer
 * address and one over the cap is answered 429 and closed before Node parses anything, so it
 * costs a descriptor for an instant only. Behind a trusted proxy every socket comes from the
 * proxy, so requests in flight are counted by the forwarded address instead (the proxy buffers
 * half-sent requests, docs/deploying.md). `attach` the server, and serve the `wrap`ped fetch.
 */
export function connectionLimiter(limits: ConnectionLimits) {
  const counts = new AddressCounts(limits.maxPerAddress)
  const enabled = limits.maxPerAddress > 0
  let refusals = 0
  const refused = (address: string) => {
    // One log line a second at most, however many connections are refused.
    if (refusals++ === 0) {
      setTimeout(() => {
        limits.log('http.connections_refused', { address, refused: refusals })
        refusals = 0
      }, 1_000).unref()
    }
  }
  return {
    attach(server: Server): void {
      if (!enabled || limits.trustProxy) return
      // Prepended, so a refused socket is closed before the HTTP parser reads from it.
      server.prependListener('connection', (socket: Socket) => {
        const address = socket.remoteAddress ?? 'unknown'
        if (!counts.acquire(address)) {
          refused(address)
          socket.on('error', () => {})
          socket.write(REFUSED_RESPONSE)
          socket.destroy()
          return
        }
        socket.once('close', () => counts.release(address))
      })
    },
    wrap<F extends (request: Request, env: unknown) => unknown>(fetch: F): F {
      if (!enabled || !limits.trustProxy) return fetch
      return ((request: Request, env: unknown) => {
        const address = limits.clientAddress(request, env)
        if (!counts.acquire(address)) {
          refused(address)
          return new Response(REFUSED_BODY, {
            status: 429,
            headers: {
              'content-type': 'application/json',
              'retry-after': '1',
              connection: 'close',
            },
          })
        }
        const outgoing = (env as { outgoing?: { once(event: 'close', done: () => void): void } })
          .outgoing
        if (outgoing) outgoing.once('close', () => counts.release(address))
        else counts.release(address)
        return fetch(request, env)
      }) as F
    },
  }
}
