#!/usr/bin/env node
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type Bot, formatBotIssues, validateBot, Webhook } from '@joon/core'
import { readConfig, type ServerConfig } from './config.js'
import { startNodeServer } from './node.js'
import type { Store } from './store/types.js'
import { VERSION } from './version.js'

const USAGE = `Usage: joon serve [--port 8787] [--data .joon/joon.db] [--bots DIR] [--webhooks FILE]

Environment: PORT, JOON_DATA, JOON_DATABASE_URL, JOON_ADMIN_TOKEN, JOON_ALLOW_PRIVATE_URLS,
JOON_RETRY_SCHEDULE, JOON_RATE_LIMIT, JOON_TRUST_PROXY. See packages/server/README.md.`

/** A problem the operator must fix: printed without a stack trace, exit code 1. */
class StartError extends Error {}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      data: { type: 'string' },
      bots: { type: 'string' },
      webhooks: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
  if (values.version) return void console.log(VERSION)
  if (values.help || positionals[0] !== 'serve' || positionals.length > 1) {
    console.log(USAGE)
    if (!values.help) process.exitCode = 2
    return
  }
  let config: ServerConfig
  try {
    config = readConfig(values, process.env)
  } catch (error) {
    throw new StartError((error as Error).message)
  }
  await serve(config)
}

async function serve(config: ServerConfig) {
  const webhooks = config.webhooksFile ? await loadWebhooks(config.webhooksFile) : []
  const store = await openStore(config)
  try {
    const known = new Set([
      ...(await store.listWebhooks()).map((w) => w.name),
      ...webhooks.map((w) => w.name),
    ])
    const bots = config.botsDir ? await loadBots(config.botsDir, known) : []
    for (const webhook of webhooks) await store.putWebhook(webhook)
    for (const bot of bots) await store.putBot(bot)
  } catch (error) {
    await store.close()
    throw error
  }

  const server = await startNodeServer({
    store,
    port: config.port,
    host: config.host,
    adminToken: config.adminToken,
    allowPrivateUrls: config.allowPrivateUrls,
    trustProxy: config.trustProxy,
    rateLimit: config.rateLimit,
    retrySchedule: config.retrySchedule,
    log: (event, fields) =>
      console.error(JSON.stringify({ time: new Date().toISOString(), event, ...fields })),
  })
  console.log(`Joon ${VERSION} listening on ${server.url}`)
  if (!config.adminToken) console.log('Admin API disabled: set JOON_ADMIN_TOKEN to enable it.')

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`${signal}: draining requests and deliveries…`)
    server.close().then(
      () => process.exit(0),
      (error) => {
        console.error('shutdown failed:', error)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

async function openStore(config: ServerConfig): Promise<Store> {
  if (config.databaseUrl) {
    const { PostgresStore } = await import('./store/postgres.js')
    return PostgresStore.open(config.databaseUrl)
  }
  const { SqliteStore } = await import('./store/sqlite.js')
  return SqliteStore.open(config.dataFile)
}

async function readJsonFile(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new StartError(
      `${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`,
    )
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new StartError(`${file}: not valid JSON (${(error as Error).message})`)
  }
}

/** `--webhooks FILE`: a JSON array of webhooks (contract §3). */
async function loadWebhooks(file: string): Promise<Webhook[]> {
  const data = await readJsonFile(file)
  const list = Array.isArray(data) ? data : null
  if (!list) throw new StartError(`${file}: must hold a JSON array of webhooks`)
  return list.map((item, index) => {
    const parsed = Webhook.safeParse(item)
    if (parsed.success) return parsed.data
    const problems = parsed.error.issues
      .map((issue) => `  - ${issue.path.join('.') || '(webhook)'}: ${issue.message}`)
      .join('\n')
    const name = typeof item?.name === 'string' ? ` "${item.name}"` : ''
    throw new StartError(`${file}: webhook #${index + 1}${name} is not valid:\n${problems}`)
  })
}

/** `--bots DIR`: every `*.json` file in DIR is one bot. */
async function loadBots(dir: string, webhooks: Set<string>): Promise<Bot[]> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort()
  } catch (error) {
    throw new StartError(
      `${dir}: cannot read the bots folder (${(error as NodeJS.ErrnoException).code ?? error})`,
    )
  }
  const bots: Bot[] = []
  const seen = new Map<string, string>()
  for (const name of names) {
    const file = join(dir, name)
    const result = validateBot(await readJsonFile(file), { webhooks })
    if (!result.ok)
      throw new StartError(`${file}: the bot is not valid:\n${formatBotIssues(result.issues)}`)
    const other = seen.get(result.bot.id)
    if (other)
      throw new StartError(`${file}: bot id "${result.bot.id}" is already used by ${other}`)
    seen.set(result.bot.id, file)
    bots.push(result.bot)
  }
  return bots
}

main(process.argv.slice(2)).catch((error) => {
  if (
    error instanceof StartError ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    console.error(`joon: ${(error as Error).message}`)
  } else {
    console.error('joon: failed to start:', error)
  }
  process.exit(1)
})
