#!/usr/bin/env node
import { randomBytes } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { type Bot, formatBotIssues, Model, validateBot, Webhook } from '@joon/core'
import { readConfig, type ServerConfig } from './config.js'
import { jsonLogger } from './logging.js'
import { refusedUrlHost } from './net/address-guard.js'
import { startNodeServer } from './node.js'
import { MissingDependencyError } from './store/optional-dependency.js'
import type { Store } from './store/types.js'
import { VERSION } from './version.js'

/**
 * `joon --help`. Every flag and environment variable with its default, one entry each; the
 * table in docs/configuration.md holds the same ones with the same defaults (a test checks).
 */
const USAGE = `Usage: joon serve [options]     start the server
       joon validate PATH...     check bot files, folders of bots and webhooks files as
                                 joon serve would; exit code 1 if any is not valid
       joon token                print a random admin token (for JOON_ADMIN_TOKEN)
       joon --help, joon --version

Settings of joon serve: a flag, an environment variable, or both (the flag wins). Paths are
relative to the current folder.

  --port N                        PORT                              default 8787
      the port to listen on (0 to 65535; 0 picks a free one)
  --host ADDR                     HOST                              default 0.0.0.0
      the address to listen on: 0.0.0.0 every IPv4 interface, :: every interface,
      127.0.0.1 this machine only
  --data FILE                     JOON_DATA                         default .joon/joon.db
      the SQLite database file, created with its folder when missing
                                  JOON_DATABASE_URL                 default none
      postgres://user:password@host:5432/db: PostgreSQL instead of SQLite (wins over
      --data; needs \`npm install pg\`)
  --bots DIR                                                        default none
      load every *.json file of DIR, one bot each
  --webhooks FILE                                                   default none
      load a JSON array of webhooks
  --models FILE                                                     default none
      load a JSON array of language models for ai blocks; each takes its API key from the
      environment variable its "apiKeyEnv" names
  --alert-webhook NAME            JOON_ALERT_WEBHOOK                default none
      a registered webhook that receives a signed webhook.failed event when a delivery fails
      for good, and webhook.recovered at that webhook's next success
                                  JOON_ADMIN_TOKEN                  default none
      the admin API's and console's bearer token, 16 characters or more (\`joon token\`);
      without it the admin API is off
                                  JOON_ALLOW_SHORT_ADMIN_TOKEN      default unset
      1 lets a shorter admin token through (local development only)
                                  JOON_LOG_LEVEL                    default info
      error, warn, info or debug (debug also logs every request); JSON lines on stderr
                                  JOON_METRICS_TOKEN                default none
      a bearer token for GET /metrics only (the admin token also works), 16 characters or more
                                  JOON_ALLOW_PRIVATE_URLS           default off
      1 lets webhooks call loopback and private addresses (development and tests only)
                                  JOON_RETRY_SCHEDULE               default 0,5s,5m,30m,2h,5h,10h,10h
      the delay before each attempt of an asynchronous delivery (1 to 100 durations)
                                  JOON_RETENTION                    default unset (keep)
      delete conversations not updated for longer than this (90d, 12h; at least 1s)
                                  JOON_RATE_LIMIT                   default 600
      chat API requests a minute per client address (0 turns the limit off)
                                  JOON_TRUST_PROXY                  default unset
      1 takes the client address from X-Forwarded-For (behind a reverse proxy only)
  --headers-timeout DURATION      JOON_HEADERS_TIMEOUT              default 5s
      time a client has to send a request's headers (408 after; at most 1h)
  --body-timeout DURATION         JOON_BODY_TIMEOUT                 default 10s
      time a client has to send a whole request, from its first byte
  --max-connections-per-address N JOON_MAX_CONNECTIONS_PER_ADDRESS  default 128
      connections one client address may hold open at once (0 turns the cap off)
  -h, --help                                                        default none
      print this help
  -v, --version                                                     default none
      print the version

Durations: 500ms, 5s, 2m, 1h, 1d (a bare number is milliseconds). More in
docs/configuration.md.`

/** A problem the operator must fix: printed without a stack trace, exit code 1. */
class StartError extends Error {}

/** A command line that is not one `joon` understands: printed with a hint, exit code 2. */
class UsageError extends Error {}

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  bots: { type: 'string' },
  webhooks: { type: 'string' },
  models: { type: 'string' },
  'alert-webhook': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'body-timeout': { type: 'string' },
  'max-connections-per-address': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

const HELP_HINT = 'Run `joon serve --help` to list every option.'

/** parseArgs, with its errors turned into usage errors that name the closest valid flag. */
function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS })
  } catch (error) {
    const { code, message } = error as { code?: string; message: string }
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const given = /'(-[^']*)'/.exec(message)?.[1] ?? ''
      const closest = closestFlag(given)
      throw new UsageError(
        `unknown option ${given}${closest ? `; did you mean ${closest}?` : ''}\n${HELP_HINT}`,
      )
    }
    if (code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(`${message}\n${HELP_HINT}`)
    throw error
  }
}

/** The valid flag nearest to `given` by edit distance, if it is near enough to be a typo. */
function closestFlag(given: string): string | undefined {
  const name = given.replace(/^-+/, '').split('=')[0] ?? ''
  let best: { flag: string; distance: number } | undefined
  for (const flag of Object.keys(OPTIONS)) {
    const distance = editDistance(name.toLowerCase(), flag)
    if (!best || distance < best.distance) best = { flag, distance }
  }
  return best && best.distance <= Math.max(2, Math.floor(best.flag.length / 3))
    ? `--${best.flag}`
    : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(argv)
  if (values.version) return void console.log(VERSION)
  if (positionals[0] === 'token' && positionals.length === 1 && !values.help) {
    // 32 random bytes: 256 bits, 43 URL-safe characters, fine in a header or an env file.
    return void console.log(randomBytes(32).toString('base64url'))
  }
  if (positionals[0] === 'validate' && !values.help) {
    if (positionals.length === 1)
      throw new UsageError(`validate needs a file or folder\n${HELP_HINT}`)
    process.exitCode = (await validatePaths(positionals.slice(1))) ? 0 : 1
    return
  }
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
  const models = config.modelsFile ? await loadModels(config.modelsFile, process.env) : []
  const store = await openStore(config)
  try {
    const known = {
      webhooks: new Set([
        ...(await store.listWebhooks()).map((w) => w.name),
        ...webhooks.map((w) => w.name),
      ]),
      models: new Set([
        ...(await store.listModels()).map((m) => m.name),
        ...models.map((m) => m.name),
      ]),
    }
    const bots = config.botsDir ? await loadBots(config.botsDir, known) : []
    for (const webhook of webhooks) await store.putWebhook(webhook)
    for (const model of models) await store.putModel(model)
    for (const { bot, file } of bots) await saveFileBot(store, bot, file)
    if (!config.allowPrivateUrls) {
      for (const webhook of await store.listWebhooks()) {
        const refusal = refusedUrlHost(new URL(webhook.url).hostname)
        if (refusal)
          console.warn(`joon: warning: calls to webhook "${webhook.name}" will fail: ${refusal}`)
      }
      for (const model of await store.listModels()) {
        const refusal = refusedUrlHost(new URL(model.baseUrl).hostname)
        if (refusal)
          console.warn(`joon: warning: calls to model "${model.name}" will fail: ${refusal}`)
      }
    }
    if (config.alertWebhook && !(await store.getWebhook(config.alertWebhook))) {
      console.warn(
        `joon: warning: the alert webhook "${config.alertWebhook}" (--alert-webhook / JOON_ALERT_WEBHOOK) is not registered: alerts are skipped until a webhook of that name exists`,
      )
    }
  } catch (error) {
    await store.close()
    throw error
  }

  const logger = jsonLogger({
    level: config.logLevel,
    write: (line) => process.stderr.write(`${line}\n`),
  })
  const server = await startNodeServer({
    store,
    port: config.port,
    host: config.host,
    adminToken: config.adminToken,
    metricsToken: config.metricsToken,
    allowPrivateUrls: config.allowPrivateUrls,
    trustProxy: config.trustProxy,
    rateLimit: config.rateLimit,
    headersTimeoutMs: config.headersTimeoutMs,
    bodyTimeoutMs: config.bodyTimeoutMs,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    retrySchedule: config.retrySchedule,
    retentionMs: config.retentionMs,
    alertWebhook: config.alertWebhook,
    log: logger.log,
    logRequests: logger.enabled('debug'),
  })
  console.log(`Joon ${VERSION} listening on ${server.boundUrl}`)
  if (!config.adminToken) console.log('Admin API disabled: set JOON_ADMIN_TOKEN to enable it.')

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`${signal}: draining requests and deliveries…`)
    server.close().then(
      () => {
        console.log('Stopped: every request answered, deliveries in flight handed back.')
        process.exit(0)
      },
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
  try {
    if (config.databaseUrl) {
      const { PostgresStore } = await import('./store/postgres.js')
      return await PostgresStore.open(config.databaseUrl)
    }
    const { SqliteStore } = await import('./store/sqlite.js')
    return SqliteStore.open(config.dataFile)
  } catch (error) {
    // pg or better-sqlite3 not installed: the message says which package to install.
    if (error instanceof MissingDependencyError) throw new StartError(error.message)
    throw error
  }
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

/**
 * `--models FILE`: a JSON array of models (contract §10). Keys stay out of the file: each
 * model's `apiKeyEnv` names the environment variable holding its key.
 */
async function loadModels(file: string, env: NodeJS.ProcessEnv): Promise<Model[]> {
  const data = await readJsonFile(file)
  if (!Array.isArray(data)) throw new StartError(`${file}: must hold a JSON array of models`)
  return data.map((item, index) => {
    const { apiKeyEnv, ...fields } = (typeof item === 'object' && item) || {}
    const label = `${file}: model #${index + 1}${typeof fields.name === 'string' ? ` "${fields.name}"` : ''}`
    if (apiKeyEnv !== undefined && (typeof apiKeyEnv !== 'string' || !env[apiKeyEnv])) {
      throw new StartError(
        `${label}: its key is read from the environment variable ${JSON.stringify(apiKeyEnv)}, which is not set`,
      )
    }
    const parsed = Model.safeParse(apiKeyEnv ? { ...fields, apiKey: env[apiKeyEnv] } : fields)
    if (parsed.success) return parsed.data
    const problems = parsed.error.issues
      .map((issue) => `  - ${issue.path.join('.') || '(model)'}: ${issue.message}`)
      .join('\n')
    throw new StartError(`${label} is not valid:\n${problems}`)
  })
}

/**
 * A bot read from a file becomes its new version only when the file's content differs from
 * the last version that came from a file: an edit made since (console, API) otherwise stays
 * the latest. Either way every version stays in the history (docs/configuration.md).
 */
async function saveFileBot(store: Store, bot: Bot, file: string): Promise<void> {
  const versions = await store.listBotVersions(bot.id)
  const fromFile = versions.find((version) => version.source === 'file')
  const stored = fromFile ? await store.getBotVersion(bot.id, fromFile.version) : null
  const latest = versions[0]
  if (stored && JSON.stringify(stored) === JSON.stringify(bot)) {
    if (latest && latest.version !== fromFile?.version) {
      console.log(
        `${file}: unchanged since version ${fromFile?.version}; bot "${bot.id}" keeps version ${latest.version} (${latest.source}) as its latest`,
      )
    }
    return
  }
  const { version } = await store.putBot(bot, { source: 'file', file })
  if (latest && latest.source !== 'file') {
    console.log(
      `${file}: changed, saved as version ${version} of bot "${bot.id}"; version ${latest.version} (${latest.source}) stays in its history`,
    )
  }
}

/** A bot and the file it was read from, as the operator named it (`DIR/name.json`). */
interface FileBot {
  bot: Bot
  file: string
}

/** `--bots DIR`: every `*.json` file in DIR is one bot. */
async function loadBots(
  dir: string,
  known: { webhooks: Set<string>; models: Set<string> },
): Promise<FileBot[]> {
  const bots: FileBot[] = []
  const seen = new Map<string, string>()
  for (const file of await jsonFilesOf(dir)) {
    const bot = await loadBot(file, known)
    const other = seen.get(bot.id)
    if (other) throw new StartError(`${file}: bot id "${bot.id}" is already used by ${other}`)
    seen.set(bot.id, file)
    bots.push({ bot, file })
  }
  return bots
}

/** The `*.json` files of a bots folder, as `DIR/name.json`, sorted. */
async function jsonFilesOf(dir: string): Promise<string[]> {
  try {
    const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort()
    return names.map((name) => join(dir, name))
  } catch (error) {
    throw new StartError(
      `${dir}: cannot read the bots folder (${(error as NodeJS.ErrnoException).code ?? error})`,
    )
  }
}

/** One bot file, validated (webhook names against `webhooks` when given). */
async function loadBot(
  file: string,
  known: { webhooks: Set<string>; models?: Set<string> } | undefined,
): Promise<Bot> {
  const result = validateBot(await readJsonFile(file), known ?? {})
  if (!result.ok)
    throw new StartError(`${file}: the bot is not valid:\n${formatBotIssues(result.issues)}`)
  return result.bot
}

/**
 * `joon validate PATH…`: each file is a bot (a JSON object) or a webhooks file (a JSON array),
 * each folder its `*.json` bots, checked as `joon serve` checks them, with its messages. The
 * bots' webhook names are checked against the webhooks files given, when there are any.
 * Every problem is printed (not only the first); true when all are valid.
 */
async function validatePaths(paths: string[]): Promise<boolean> {
  const botFiles: string[] = []
  const webhooks: Webhook[] = []
  let ok = true
  const fail = (error: unknown) => {
    if (!(error instanceof StartError)) throw error
    console.error(`joon: ${error.message}`)
    ok = false
  }
  for (const path of paths) {
    try {
      if ((await stat(path).catch(() => null))?.isDirectory()) {
        botFiles.push(...(await jsonFilesOf(path)))
      } else if (Array.isArray(await readJsonFile(path))) {
        const valid = await loadWebhooks(path)
        webhooks.push(...valid)
        console.log(`${path}: ${valid.length} valid webhook${valid.length === 1 ? '' : 's'}`)
      } else {
        botFiles.push(path)
      }
    } catch (error) {
      fail(error)
    }
  }
  const known = webhooks.length > 0 ? { webhooks: new Set(webhooks.map((w) => w.name)) } : undefined
  const seen = new Map<string, string>()
  for (const file of botFiles) {
    try {
      const bot = await loadBot(file, known)
      const other = seen.get(bot.id)
      if (other) throw new StartError(`${file}: bot id "${bot.id}" is already used by ${other}`)
      seen.set(bot.id, file)
      console.log(`${file}: bot "${bot.id}" is valid`)
    } catch (error) {
      fail(error)
    }
  }
  return ok
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof UsageError) {
    console.error(`joon: ${error.message}`)
    process.exit(2)
  }
  if (error instanceof StartError) {
    console.error(`joon: ${error.message}`)
  } else {
    console.error('joon: failed to start:', error)
  }
  process.exit(1)
})
