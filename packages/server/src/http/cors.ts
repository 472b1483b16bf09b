import type { MiddlewareHandler } from 'hono'

/**
 * CORS for what any site may call: the chat API and the widget bundle (any origin, no
 * credentials). Not hono/cors: it sets its headers on `c.res` before the handler runs, which
 * makes @hono/node-server build a whole web Response (body stream and all) on every request,
 * about 7% of a conversation turn's CPU. These go through `c.header`, like the handler's own.
 */
export function openCors(options: { methods: readonly string[]; maxAgeSeconds: number }) {
  const methods = options.methods.join(',')
  const maxAge = String(options.maxAgeSeconds)
  const handler: MiddlewareHandler = async (c, next) => {
    if (c.req.method !== 'OPTIONS') {
      c.header('access-control-allow-origin', '*')
      return next()
    }
    const headers: Record<string, string> = {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': methods,
      'access-control-max-age': maxAge,
    }
    const requested = c.req.header('access-control-request-headers')
    if (requested) {
      headers['access-control-allow-headers'] = requested
        .split(',')
        .map((name) => name.trim())
        .join(',')
      headers.vary = 'Access-Control-Request-Headers'
    }
    return c.body(null, 204, headers)
  }
  return handler
}
