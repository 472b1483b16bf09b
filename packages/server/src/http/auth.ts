import type { MiddlewareHandler } from 'hono'
import { ApiError } from './errors.js'

const encoder = new TextEncoder()

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

/**
 * Bearer-token check for the admin API. Both sides are hashed first so the comparison takes
 * the same time whatever the token's length or how many leading bytes match.
 */
export function adminAuth(token: string | undefined): MiddlewareHandler {
  const expected = token ? digest(token) : null
  return async (c, next) => {
    if (!expected) {
      throw new ApiError(404, 'admin_disabled', 'The admin API is disabled: set JOON_ADMIN_TOKEN.')
    }
    const header = c.req.header('authorization') ?? ''
    const match = /^Bearer\s+(.+)$/i.exec(header)
    const given = await digest(match?.[1]?.trim() ?? '')
    const wanted = await expected
    let diff = match ? 0 : 1
    for (let i = 0; i < wanted.length; i++) diff |= (wanted[i] ?? 0) ^ (given[i] ?? 0)
    if (diff !== 0) {
      throw new ApiError(401, 'unauthorized', 'Missing or wrong admin token.', undefined, {
        'www-authenticate': 'Bearer',
      })
    }
    await next()
  }
}
