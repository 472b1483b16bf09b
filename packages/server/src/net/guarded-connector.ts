import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP } from 'node:net'
import { buildConnector } from 'undici'
import { AddressNotAllowedError, classifyAddress } from './address-guard.js'

/** Resolves a hostname to every address it has, like `dns.lookup(name, { all: true })`. */
export type ResolveHostname = (hostname: string) => Promise<readonly LookupAddress[]>

/**
 * The connect step of every new connection. Literal IP hosts are checked as they are; hostnames
 * are resolved here, every answer is checked, and the socket is opened to a checked address
 * (TLS still verifies the certificate against the hostname). All of it happens before a socket
 * exists, so a refused address never sees a byte, and the address checked is the address
 * connected to: no second lookup for DNS rebinding to slip into.
 *
 * Answers are tried in the resolver's order, one after another when a connection fails; that
 * replaces Node's parallel "happy eyeballs", which needs a lookup inside the socket.
 */
export function guardedConnector(options: {
  allowPrivate: boolean
  resolve: ResolveHostname | undefined
  timeout: number
}): buildConnector.connector {
  const connect = buildConnector({ timeout: options.timeout })
  const { allowPrivate } = options
  // Nothing to check and no resolver to honour: Node resolves, with happy eyeballs.
  if (allowPrivate && !options.resolve) return connect
  const resolve = withTimeout(options.resolve ?? resolveWithSystem, options.timeout)

  return (connectOptions, callback) => {
    const { hostname } = connectOptions
    if (isIP(hostname)) {
      const verdict = allowPrivate ? { allowed: true as const } : classifyAddress(hostname)
      if (verdict.allowed) connect(connectOptions, callback)
      else
        process.nextTick(() => callback(new AddressNotAllowedError(hostname, verdict.reason), null))
      return
    }
    resolve(hostname).then(
      (answers) => {
        if (!allowPrivate) {
          // One bad answer refuses the name: connecting to "the good one" would leave the
          // choice to whoever controls the DNS.
          for (const { address } of answers) {
            const verdict = classifyAddress(address)
            if (!verdict.allowed) {
              callback(new AddressNotAllowedError(address, verdict.reason, hostname), null)
              return
            }
          }
        }
        const addresses = answers.map((answer) => answer.address).slice(0, MAX_ADDRESSES_TRIED)
        if (addresses.length === 0) {
          callback(errorWithCode(`no address found for ${hostname}`, 'ENOTFOUND'), null)
          return
        }
        connectToFirst(addresses, 0)
      },
      (error: Error) => callback(error, null),
    )

    function connectToFirst(addresses: string[], index: number): void {
      const address = addresses[index]!
      connect({ ...connectOptions, hostname: address }, (error, socket) => {
        if (error && index + 1 < addresses.length && isUnreachable(error)) {
          connectToFirst(addresses, index + 1)
        } else if (error) {
          callback(error, null)
        } else {
          callback(null, socket!)
        }
      })
    }
  }
}

const MAX_ADDRESSES_TRIED = 4

function isUnreachable(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code
  return (
    code === 'ECONNREFUSED' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EADDRNOTAVAIL' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  )
}

/** A resolver that gives up after `ms`, so a hung DNS server cannot wedge a connection slot. */
function withTimeout(resolve: ResolveHostname, ms: number): ResolveHostname {
  return (hostname) =>
    new Promise((fulfil, reject) => {
      const timer = setTimeout(
        () => reject(errorWithCode(`DNS lookup of ${hostname} timed out`, 'ETIMEOUT')),
        ms,
      )
      resolve(hostname).then(
        (answers) => {
          clearTimeout(timer)
          fulfil(answers)
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error)
        },
      )
    })
}

function errorWithCode(message: string, code: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(message)
  error.code = code
  return error
}

function resolveWithSystem(hostname: string): Promise<readonly LookupAddress[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    )
  })
}
