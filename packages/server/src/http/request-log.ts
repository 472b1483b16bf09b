import type { Context, MiddlewareHandler } from 'hono'
import { requestId } from 'hono/request-id'
import type { TurnDeps } from '../conversation.js'
import { randomId } from '../ids.js'

type Log = (event: string, fields: Record<string, unknown>) => void

/**
 * Gives every request an id, answered in `X-Request-Id`: the client's (a reverse proxy's)
 * when it is letters, digits, `_`, `-` or `=` and at most 255 characters, else a new one.
 * Lines logged for a request carry it (`forRequest`). Passed by hand rather than through
 * AsyncLocalStorage, which cost a fifth of the turns per second on Node 20 (7,400 against
 * 9,200/s, one Node entry, memory store).
 */
export const requestIds = (): MiddlewareHandler => requestId({ generator: () => randomId('req_') })

export const requestIdOf = (c: Context): string | undefined => c.get('requestId' as never)

/** `log` with the request's id on each line. */
export function logFor(log: Log | undefined, c: Context): Log | undefined {
  const id = requestIdOf(c)
  return log && id ? (event, fields) => log(event, { requestId: id, ...fields }) : log
}

/** `deps` whose log lines carry the request's id. */
export function forRequest(deps: TurnDeps, c: Context): TurnDeps {
  return deps.log ? { ...deps, log: logFor(deps.log, c) } : deps
}

/** One `http.request` line per request (method, path, status, ms): `JOON_LOG_LEVEL=debug`. */
export function requestLines(log: Log): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now()
    await next()
    log('http.request', {
      requestId: requestIdOf(c),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    })
  }
}
