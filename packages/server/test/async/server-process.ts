import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BotInput, WebhookInput } from '@joon/core'

/** The built CLI: process-level tests run what an operator runs (`pnpm build` first). */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))
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

export interface JoonServer {
  child: ChildProcess
  url: string
  output: () => string
  /** The exit code, or the signal's name. */
  exited: Promise<number | string>
  /** SIGKILL unless it already exited. */
  kill: () => Promise<number | string>
}

/** Starts `joon serve --port 0` and resolves once it prints its URL. */
export async function startServer(
  args: string[],
  schedule: string,
  env: Record<string, string> = {},
): Promise<JoonServer> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--port', '0', '--host', '127.0.0.1', ...args],
    {
      env: {
        ...process.env,
        JOON_ALLOW_PRIVATE_URLS: '1',
        JOON_RETRY_SCHEDULE: schedule,
        JOON_ADMIN_TOKEN: ADMIN_TOKEN,
        JOON_RATE_LIMIT: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk
  })
  let code: number | string | undefined
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (exitCode, signal) => {
      code = exitCode ?? signal ?? 'unknown'
      resolve(code)
    }),
  )
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`joon did not start in 20 s:\n${output}`)),
      20_000,
    )
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    exited.then((exitCode) => {
      clearTimeout(timer)
      reject(new Error(`joon exited (${exitCode}) before listening:\n${output}`))
    })
  })
  return {
    child,
    url,
    output: () => output,
    exited,
    kill: () => {
      if (code === undefined) child.kill('SIGKILL')
      return exited
    },
  }
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
