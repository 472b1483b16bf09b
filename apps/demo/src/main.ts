import { mkdirSync } from 'node:fs'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import type { Webhook } from '@joon/core'
import { type RunningServer, SqliteStore, startNodeServer } from '@joon/server/node'
import { onCtrlC } from './ctrl-c.js'
import { DemoFileError, loadBots, loadWebhooks } from './files.js'
import { createOwnerApi } from './owner-api.js'
import { createShop, SHOP_PAGES } from './shop.js'

/**
 * `pnpm demo`: the Joon server with the Acme shop beside its API (port 3000), and the shop
 * owner's own API that the webhooks call (port 3001), in one process.
 */

const DEMO_ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Where webhooks.json points; rewritten when the owner's API runs elsewhere (DEMO_API_PORT). */
const DEFAULT_API_ORIGIN = 'http://127.0.0.1:3001'
/** Retries come quickly in the demo, so a failed delivery shows up in minutes, not hours. */
const DEMO_RETRY_SCHEDULE = [0, 2_000, 10_000, 60_000, 300_000]
/** A second stop request sooner than this is the first one again, not a wish to force exit. */
const SAME_CTRL_C_MS = 1_000

interface DemoConfig {
  port: number
  apiPort: number
  /** 127.0.0.1 by default: private URLs are allowed and the admin token is well known. */
  host: string
  dataDir: string
  adminToken: string
}

function readConfig(env: NodeJS.ProcessEnv): DemoConfig {
  return {
    port: readPort(env, 'DEMO_PORT', 3000),
    apiPort: readPort(env, 'DEMO_API_PORT', 3001),
    host: env.DEMO_HOST || '127.0.0.1',
    dataDir: env.DEMO_DATA_DIR || join(DEMO_ROOT, '.data'),
    adminToken: env.JOON_ADMIN_TOKEN || 'demo-admin-token',
  }
}

function readPort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]
  if (!text) return fallback
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new DemoFileError(`${name} must be a port number from 0 to 65535, not "${text}"`)
  }
  return port
}

async function main() {
  const config = readConfig(process.env)
  const webhookFile = join(DEMO_ROOT, 'webhooks.json')
  const webhooks = await loadWebhooks(webhookFile)
  const bots = await loadBots(join(DEMO_ROOT, 'bots'), webhooks)
  const secretOf = (name: string) => {
    const secret = webhooks.find((webhook) => webhook.name === name)?.secret
    if (!secret) throw new DemoFileError(`${webhookFile}: webhook "${name}" needs a secret`)
    return secret
  }

  // The shop owner's API: in real life your own backend, anywhere on the internet.
  let shopUrl = ''
  const owner = createOwnerApi({
    secrets: {
      leads: secretOf('crm'),
      orderStatus: secretOf('order-status'),
      deliveryStatus: secretOf('delivery-status'),
    },
    shopUrl: () => shopUrl,
    log: (line) => console.log(`  owner API: ${line}`),
  })
  const ownerServer = await listen(owner.app.fetch, config.apiPort, config.host, 'DEMO_API_PORT')
  const apiPort = (ownerServer.address() as { port: number }).port
  const apiUrl = `http://${browserHost(config.host)}:${apiPort}/`

  // Joon: the bots and webhooks from the files, stored in SQLite, the shop beside the API.
  let joon: RunningServer
  try {
    mkdirSync(config.dataDir, { recursive: true })
    const store = SqliteStore.open(join(config.dataDir, 'joon.db'))
    const apiOrigin = `http://${urlHost(reachableHost(config.host))}:${apiPort}`
    for (const webhook of webhooks) await store.putWebhook(pointAt(webhook, apiOrigin))
    for (const bot of bots) await store.putBot(bot)
    joon = await startNodeServer({
      store,
      port: config.port,
      host: config.host,
      adminToken: config.adminToken,
      allowPrivateUrls: true, // the owner's API is on this machine
      retrySchedule: DEMO_RETRY_SCHEDULE,
      site: createShop({ leadsUrl: apiUrl }),
      log: (event, fields) => {
        // The delivery worker's debug events are for its developers, not for demo visitors.
        if (!/^debug\b/.test(event)) console.log(`  joon: ${event} ${JSON.stringify(fields)}`)
      },
    }).catch(async (error: unknown) => {
      await store.close()
      throw portError(error, config.port, 'DEMO_PORT')
    })
  } catch (error) {
    await closeServer(ownerServer)
    throw error
  }
  shopUrl = `http://${browserHost(config.host)}:${joon.port}/`

  const pages = SHOP_PAGES.map((page) => {
    const url = new URL(page.path, shopUrl).href
    const bot = bots.find((b) => b.id === page.bot)
    return `  ${page.bot.padEnd(16)} ${url}\n  ${' '.repeat(16)} ${bot?.name ?? ''}`
  })
  console.log(`
Joon demo is running.

The Acme shop, with the chat bubble (one bot per page):
${pages.join('\n')}

The shop owner's API, receiving the webhooks; its page lists the leads:
  ${apiUrl}

Admin token: ${config.adminToken}
  the operator console (bots, webhooks, deliveries): ${shopUrl}admin
  the admin API: curl -H 'Authorization: Bearer ${config.adminToken}' ${shopUrl}api/v1/admin/deliveries

Press Ctrl-C to stop.
`)

  let stoppingSince: number | undefined
  const stop = (signal: string) => {
    if (stoppingSince !== undefined) {
      // The same Ctrl-C arrives twice: from the terminal, and forwarded by pnpm.
      if (Date.now() - stoppingSince < SAME_CTRL_C_MS) return
      console.log(`${signal} again: exiting now.`)
      process.exit(1)
    }
    stoppingSince = Date.now()
    console.log(`${signal}: stopping (finishing requests and deliveries in flight)…`)
    // Joon first: its worker may be delivering to the owner's API right now.
    joon
      .close()
      .then(() => closeServer(ownerServer))
      .then(
        () => {
          console.log('Stopped.')
          process.exit(0)
        },
        (error: unknown) => {
          console.error('demo: stopping failed:', error)
          process.exit(1)
        },
      )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  onCtrlC(() => stop('Ctrl-C'))
}

/** Sends a webhook that points at the default owner's API to where it actually runs. */
function pointAt(webhook: Webhook, apiOrigin: string): Webhook {
  const url = new URL(webhook.url)
  if (url.origin !== DEFAULT_API_ORIGIN) return webhook
  return { ...webhook, url: `${apiOrigin}${url.pathname}${url.search}` }
}

function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  port: number,
  host: string,
  variable: string,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname: host }, () => resolve(server as Server))
    server.once('error', (error) => reject(portError(error, port, variable)))
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    // Browsers keep connections open (the leads page refreshes every 3 s).
    server.closeIdleConnections()
  })
}

function portError(error: unknown, port: number, variable: string): unknown {
  const code = (error as { code?: string }).code
  if (code === 'EADDRINUSE') {
    return new DemoFileError(
      `port ${port} is in use: stop what runs there, or choose another port with ${variable}=…`,
    )
  }
  return error
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]'])

/** The address this machine reaches the owner's API at. */
function reachableHost(host: string): string {
  return ANY_ADDRESS.has(host) ? '127.0.0.1' : host
}

/** What to print for a browser: `localhost` reads better than 127.0.0.1. */
function browserHost(host: string): string {
  return ANY_ADDRESS.has(host) || host === '127.0.0.1' ? 'localhost' : urlHost(host)
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

main().catch((error: unknown) => {
  if (error instanceof DemoFileError) console.error(`demo: ${error.message}`)
  else console.error('demo: failed to start:', error)
  process.exit(1)
})
