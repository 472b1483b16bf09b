import { NAME_PATTERN } from '@joon/core'
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
} from './connections.js'
import { LOG_LEVELS, type LogLevel } from './logging.js'

/** Parses durations like `0`, `500ms`, `5s`, `2m`, `1h`, `90d` into milliseconds (bare numbers: ms). */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (!match) throw new Error(`"${text}" is not a duration (examples: 0, 500ms, 5s, 2m, 1h, 90d)`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1
  return Math.round(Number(match[1]) * unit)
}

/** `JOON_RETRY_SCHEDULE`: a comma list of durations, the delay before each attempt. */
export function parseRetrySchedule(text: string): number[] {
  const schedule = text.split(',').map(parseDuration)
  if (schedule.length === 0 || schedule.length > 100) {
    throw new Error('JOON_RETRY_SCHEDULE must list between 1 and 100 durations')
  }
  return schedule
}

/** The contract's default schedule: 0, 5s, 5m, 30m, 2h, 5h, 10h, 10h. */
export const DEFAULT_RETRY_SCHEDULE = parseRetrySchedule('0,5s,5m,30m,2h,5h,10h,10h')

/** Shortest admin token `joon serve` accepts without `JOON_ALLOW_SHORT_ADMIN_TOKEN=1`. */
export const MIN_ADMIN_TOKEN_LENGTH = 16

export interface ServerConfig {
  port: number
  host: string
  /** SQLite file (the embedded default), unless `databaseUrl` is set. */
  dataFile: string
  databaseUrl: string | undefined
  adminToken: string | undefined
  /** `JOON_LOG_LEVEL`: error, warn, info (default) or debug (every request too). */
  logLevel: LogLevel
  /** `JOON_METRICS_TOKEN`: a bearer token for /metrics only (the admin token works too). */
  metricsToken: string | undefined
  allowPrivateUrls: boolean
  /** Behind a reverse proxy: take the client address from X-Forwarded-For. */
  trustProxy: boolean
  retrySchedule: number[]
  rateLimit: number | undefined
  headersTimeoutMs: number
  bodyTimeoutMs: number
  maxConnectionsPerAddress: number
  botsDir: string | undefined
  webhooksFile: string | undefined
  /** `--models FILE`: language models for `ai` blocks. */
  modelsFile: string | undefined
  /** `JOON_RETENTION`: conversations not updated for this long are deleted; unset keeps all. */
  retentionMs: number | undefined
  /** `--alert-webhook` / `JOON_ALERT_WEBHOOK`: the registered webhook alerts go to. */
  alertWebhook: string | undefined
}

export interface ServeFlags {
  port?: string | undefined
  data?: string | undefined
  bots?: string | undefined
  webhooks?: string | undefined
  models?: string | undefined
  host?: string | undefined
  'headers-timeout'?: string | undefined
  'body-timeout'?: string | undefined
  'max-connections-per-address'?: string | undefined
  'alert-webhook'?: string | undefined
}

/** Flags win over environment variables, except that JOON_DATABASE_URL wins over --data. */
export function readConfig(
  flags: ServeFlags,
  env: Record<string, string | undefined>,
): ServerConfig {
  const port = Number(flags.port ?? env.PORT ?? 8787)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`port must be a whole number from 0 to 65535, not "${flags.port ?? env.PORT}"`)
  }
  const rateLimit = env.JOON_RATE_LIMIT === undefined ? undefined : Number(env.JOON_RATE_LIMIT)
  if (rateLimit !== undefined && !(Number.isFinite(rateLimit) && rateLimit >= 0)) {
    throw new Error(
      `JOON_RATE_LIMIT must be a number of requests a minute (0 disables), not "${env.JOON_RATE_LIMIT}"`,
    )
  }
  const adminToken = env.JOON_ADMIN_TOKEN || undefined
  if (
    adminToken !== undefined &&
    adminToken.length < MIN_ADMIN_TOKEN_LENGTH &&
    env.JOON_ALLOW_SHORT_ADMIN_TOKEN !== '1'
  ) {
    throw new Error(
      `JOON_ADMIN_TOKEN is ${adminToken.length} characters long; use at least ${MIN_ADMIN_TOKEN_LENGTH}, random: \`joon token\` prints one (or \`openssl rand -base64 32\`). To keep a short token anyway (local development), set JOON_ALLOW_SHORT_ADMIN_TOKEN=1.`,
    )
  }
  const logLevel = (env.JOON_LOG_LEVEL || 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new Error(
      `JOON_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${env.JOON_LOG_LEVEL}"`,
    )
  }
  const metricsToken = env.JOON_METRICS_TOKEN || undefined
  if (metricsToken !== undefined && metricsToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new Error(
      `JOON_METRICS_TOKEN is ${metricsToken.length} characters long; use at least ${MIN_ADMIN_TOKEN_LENGTH}, random (\`joon token\` prints one).`,
    )
  }
  const headersTimeoutMs = timeout(
    '--headers-timeout / JOON_HEADERS_TIMEOUT',
    flags['headers-timeout'] ?? env.JOON_HEADERS_TIMEOUT,
    DEFAULT_HEADERS_TIMEOUT_MS,
  )
  const bodyTimeoutMs = timeout(
    '--body-timeout / JOON_BODY_TIMEOUT',
    flags['body-timeout'] ?? env.JOON_BODY_TIMEOUT,
    DEFAULT_BODY_TIMEOUT_MS,
  )
  if (bodyTimeoutMs < headersTimeoutMs) {
    throw new Error(
      `the body timeout (${bodyTimeoutMs} ms) must not be shorter than the headers timeout (${headersTimeoutMs} ms): it counts from the same first byte`,
    )
  }
  const connectionsText =
    flags['max-connections-per-address'] ?? env.JOON_MAX_CONNECTIONS_PER_ADDRESS
  const maxConnectionsPerAddress =
    connectionsText === undefined ? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS : Number(connectionsText)
  if (!Number.isSafeInteger(maxConnectionsPerAddress) || maxConnectionsPerAddress < 0) {
    throw new Error(
      `--max-connections-per-address / JOON_MAX_CONNECTIONS_PER_ADDRESS must be a whole number (0 disables), not "${connectionsText}"`,
    )
  }
  const alertWebhook = flags['alert-webhook'] ?? (env.JOON_ALERT_WEBHOOK || undefined)
  if (alertWebhook !== undefined && !NAME_PATTERN.test(alertWebhook)) {
    throw new Error(
      `--alert-webhook / JOON_ALERT_WEBHOOK must be a webhook's name (letters, digits, "_" or "-"), not "${alertWebhook}"`,
    )
  }
  return {
    port,
    host: flags.host ?? env.HOST ?? '0.0.0.0',
    dataFile: flags.data ?? env.JOON_DATA ?? '.joon/joon.db',
    databaseUrl: env.JOON_DATABASE_URL || undefined,
    adminToken,
    metricsToken,
    logLevel,
    allowPrivateUrls: env.JOON_ALLOW_PRIVATE_URLS === '1',
    trustProxy: env.JOON_TRUST_PROXY === '1',
    retrySchedule: env.JOON_RETRY_SCHEDULE
      ? parseRetrySchedule(env.JOON_RETRY_SCHEDULE)
      : DEFAULT_RETRY_SCHEDULE,
    rateLimit,
    headersTimeoutMs,
    bodyTimeoutMs,
    maxConnectionsPerAddress,
    botsDir: flags.bots,
    webhooksFile: flags.webhooks,
    modelsFile: flags.models,
    retentionMs: retention(env.JOON_RETENTION),
    alertWebhook,
  }
}

/** `JOON_RETENTION`: a duration of at least a second (`90d`, `12h`, `30s`), or unset. */
function retention(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined
  let ms: number
  try {
    ms = parseDuration(text)
  } catch (error) {
    throw new Error(`JOON_RETENTION: ${(error as Error).message}`)
  }
  if (ms < 1000 || ms > 100 * 365 * 86_400_000) {
    throw new Error(`JOON_RETENTION must be from 1s to 100 years (e.g. 90d), not "${text}"`)
  }
  return ms
}

/** A duration of more than 0 and at most an hour, or the default when not given. */
function timeout(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  let ms: number
  try {
    ms = parseDuration(text)
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}`)
  }
  if (ms <= 0 || ms > 3_600_000) {
    throw new Error(`${name} must be more than 0 and at most 1h, not "${text}"`)
  }
  return ms
}
