import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BotInput, WebhookInput } from '@joon/core'
import { CLI, type JoonProcess, startJoon } from '../cli-process.js'

export { CLI } from '../cli-process.js'
export const cliBuilt = existsSync(CLI)

export const ADMIN_TOKEN = 'async-test-token'

/** A bot that starts, queues one asynchronous delivery to `webhook`, and ends. */
export function notifyBot(id: string, webhook: string): BotInput {
  return {
    id,
    name: `Notify ${webhook}`,
    start: 'notify',
    blocks: [
      { id: 'notify', type: 'webhook', webhook, async: true, next: 'thanks' },
      { id: 'thanks', type: 'text', text: 'Thanks {{name}}!' },
    ],
  }
}

/** A temporary directory with `bots/`, `webhooks.json` and a data file path; removed by `dispose`. */
export function workspace(bots: BotInput[], webhooks: WebhookInput[]) {
  const dir = mkdtempSync(join(tmpdir(), 'joon-async-'))
  mkdirSync(join(dir, 'bots'))
  for (const bot of bots) writeFileSync(join(dir, 'bots', `${bot.id}.json`), JSON.stringify(bot))
  writeFileSync(join(dir, 'webhooks.json'), JSON.stringify(webhooks))
  const args = [
    '--data',
    join(dir, 'data', 'joon.db'),
    '--bots',
    join(dir, 'bots'),
    '--webhooks',
    join(dir, 'webhooks.json'),
  ]
  return { dir, args, dispose: () => rmSync(dir, { recursive: true, force: true }) }
}

export type JoonServer = JoonProcess

/** Starts `joon serve --port 0` with private URLs allowed, the admin API on and no rate limit. */
export function startServer(
  args: string[],
  schedule: string,
  env: Record<string, string> = {},
): Promise<JoonServer> {
  return startJoon(args, {
    JOON_ALLOW_PRIVATE_URLS: '1',
    JOON_RETRY_SCHEDULE: schedule,
    JOON_ADMIN_TOKEN: ADMIN_TOKEN,
    ...env,
  })
}

/** Starts a conversation; resolves with the status and the reply. */
export async function converse(url: string, botId: string, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/api/v1/bots/${botId}/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ variables }),
  })
  return { status: response.status, json: (await response.json()) as { conversationId: string } }
}

export interface DeliveryView {
  id: string
  webhook: string
  conversationId: string
  status: 'pending' | 'delivered' | 'failed'
  attempts: number
  lastStatus: number | null
  lastError: string | null
}

/** `GET /api/v1/admin/deliveries` with a query. */
export async function listDeliveries(
  url: string,
  query: { status?: string; webhook?: string; limit?: number } = {},
): Promise<DeliveryView[]> {
  const search = new URLSearchParams({ limit: String(query.limit ?? 1000) })
  if (query.status) search.set('status', query.status)
  if (query.webhook) search.set('webhook', query.webhook)
  const response = await fetch(`${url}/api/v1/admin/deliveries?${search}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  if (response.status !== 200) throw new Error(`admin API answered ${response.status}`)
  return ((await response.json()) as { deliveries: DeliveryView[] }).deliveries
}

/** Runs `task(i)` for i in [0, count) with at most `parallel` at once. */
export async function inParallel(
  count: number,
  parallel: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await task(next++)
    }),
  )
}
