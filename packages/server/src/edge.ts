import { type AppOptions, createApp } from './app.js'
import { createFetchSender } from './delivery/fetch-sender.js'
import { MemoryStore } from './store/memory.js'
import { VERSION } from './version.js'

export { createApp } from './app.js'
export { createFetchSender } from './delivery/fetch-sender.js'
export { MemoryStore } from './store/memory.js'
export type { Store } from './store/types.js'

/**
 * The app for edge runtimes (Cloudflare Workers, Deno, Bun, Vercel Edge): Web APIs only, no
 * `node:*` import anywhere below this file. Pass a store that fits the platform; synchronous
 * webhooks go through the platform's `fetch`. Asynchronous deliveries are queued in the store;
 * run the delivery worker where timers live (a Node instance on the same database), or call
 * the admin retry API from a scheduled job.
 */
export function createEdgeApp(options: Partial<AppOptions> & { fetch?: typeof fetch } = {}) {
  const { fetch: fetchImpl = fetch, ...rest } = options
  return createApp({
    store: rest.store ?? new MemoryStore(),
    sender:
      rest.sender ??
      createFetchSender(fetchImpl, {
        userAgent: `joon/${VERSION}`,
        ...(rest.allowPrivateUrls ? { allowPrivate: true } : {}),
      }),
    ...rest,
  })
}
