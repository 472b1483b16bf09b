import type { MiddlewareHandler } from 'hono'
import { ApiError } from './errors.js'
import { RateLimiter } from './rate-limit.js'

const encoder = new TextEncoder()

/** Wrong admin tokens one client address may send at once before it is throttled. */
export const ADMIN_AUTH_FAILURE_BURST = 5
/** Then one more guess every 12 s: about 7,200 a day, nothing against a 16-character token. */
export const ADMIN_AUTH_FAILURES_PER_MINUTE = 5

/**
 * Compares in a time that depends on the expected token's length only, whatever the given
 * one's length or how many leading bytes match. Synchronous on purpose: see `adminAuth`.
 */
function sameToken(given: string, wanted: Uint8Array): boolean {
  const bytes = encoder.encode(given)
  let diff = bytes.length ^ wanted.length
  for (let i = 0; i < wanted.length; i++) diff |= (wanted[i] ?? 0) ^ (bytes[i] ?? 0)
  return diff === 0
}

export interface AdminAuthOptions {
  /** Other tokens also let a request through (`JOON_METRICS_TOKEN` on /metrics). */
  alsoAccept?: readonly (string | undefined)[]
  /** The refusal when no token is configured at all. Default: the admin API's. */
  disabled?: ApiError
  /** The client address failures are counted by (the same rule as the chat rate limit). */
  clientAddress?: ((request: Request, env: unknown) => string) | undefined
  now?: (() => number) | undefined
}

/**
 * Bearer-token check for the admin API, in constant time (`sameToken`).
 *
 * Not `hono/bearer-auth`, which compares the same way: the throttle below has to sit between
 * reading the token and comparing it (a throttled guess must not be checked at all), and its
 * refusals must be the contract's JSON errors (401 with `www-authenticate`, 429 with
 * `retry-after`), where bearer-auth answers with its own responses.
 *
 * Failed attempts are throttled per client address. Each check first takes a "failure"
 * token from the address's bucket and gives it back if the token was right, so parallel
 * guesses cannot all be checked before the first one fails, and a right token costs nothing.
 * Once the bucket is empty every admin request from that address, the right token included,
 * gets 429 until it refills: a throttled guess must not be checked at all, or a 200 among the
 * 429s would still give the token away.
 */
export function adminAuth(
  token: string | undefined,
  options: AdminAuthOptions = {},
): MiddlewareHandler {
  const accepted = [token, ...(options.alsoAccept ?? [])]
    .filter((value): value is string => !!value)
    .map((value) => encoder.encode(value))
  const failures = new RateLimiter(ADMIN_AUTH_FAILURES_PER_MINUTE, {
    burst: ADMIN_AUTH_FAILURE_BURST,
    ...(options.now ? { now: options.now } : {}),
  })
  const clientAddress = options.clientAddress ?? (() => 'unknown')
  return async (c, next) => {
    if (accepted.length === 0) {
      throw (
        options.disabled ??
        new ApiError(404, 'admin_disabled', 'The admin API is disabled: set JOON_ADMIN_TOKEN.')
      )
    }
    const refused = () =>
      new ApiError(401, 'unauthorized', 'Missing or wrong admin token.', undefined, {
        'www-authenticate': 'Bearer',
      })
    const match = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')
    // No token at all is no guess: it is refused without counting.
    if (!match) throw refused()
    const address = clientAddress(c.req.raw, c.env)
    const waitMs = failures.take(address)
    if (waitMs > 0) {
      throw new ApiError(
        429,
        'too_many_failed_sign_ins',
        'Too many wrong admin tokens from this address; wait before trying again.',
        undefined,
        { 'retry-after': String(Math.ceil(waitMs / 1000)) },
      )
    }
    // Taken, compared and given back in one synchronous step: a right token never holds a
    // failure token while other requests look at the bucket, so an operator's parallel
    // requests after a typo or two are not refused (an await here once let six console
    // requests in flight empty a bucket of five and get 429).
    const given = match[1]?.trim() ?? ''
    // Every accepted token is compared, a match or not: the time says nothing of which.
    if (!accepted.map((wanted) => sameToken(given, wanted)).includes(true)) throw refused()
    failures.giveBack(address)
    await next()
  }
}
