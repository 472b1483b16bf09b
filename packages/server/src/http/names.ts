import { Name } from '@joon/core'
import type { MiddlewareHandler } from 'hono'
import { ApiError } from './errors.js'

/**
 * For a PUT, which creates what its URL names: an invalid name there is the client's mistake
 * (400), checked before the body. Elsewhere a name that cannot exist just finds nothing (404).
 *
 * Per route, not one `use('/:collection/:name')` for the admin API: a parameter there beside
 * the static collections is a pattern hono's RegExpRouter refuses, so every request, chat
 * turns included, was routed by the slower TrieRouter.
 */
export function nameToCreate(param: string): MiddlewareHandler {
  return async (c, next) => {
    if (!Name.safeParse(c.req.param(param)).success) {
      throw new ApiError(
        400,
        'invalid_name',
        'The name in the URL is not valid: use 1 to 64 letters, digits, "_" or "-", starting with a letter or digit.',
      )
    }
    await next()
  }
}
