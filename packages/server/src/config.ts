/** Parses durations like `0`, `500ms`, `5s`, `2m`, `1h` into milliseconds (bare numbers: ms). */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text)
  if (!match) throw new Error(`"${text}" is not a duration (examples: 0, 500ms, 5s, 2m, 1h)`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms'] ?? 1
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

export interface ServerConfig {
  port: number
  host: string
  /** SQLite file (the embedded default), unless `databaseUrl` is set. */
  dataFile: string
  databaseUrl: string | undefined
  adminToken: string | undefined
  allowPrivateUrls: boolean
  /** Behind a reverse proxy: take the client address from X-Forwarded-For. */
  trustProxy: boolean
  retrySchedule: number[]
  rateLimit: number | undefined
  botsDir: string | undefined
  webhooksFile: string | undefined
}

export interface ServeFlags {
  port?: string | undefined
  data?: string | undefined
  bots?: string | undefined
  webhooks?: string | undefined
  host?: string | undefined
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
  return {
    port,
    host: flags.host ?? env.HOST ?? '0.0.0.0',
    dataFile: flags.data ?? env.JOON_DATA ?? '.joon/joon.db',
    databaseUrl: env.JOON_DATABASE_URL || undefined,
    adminToken: env.JOON_ADMIN_TOKEN || undefined,
    allowPrivateUrls: env.JOON_ALLOW_PRIVATE_URLS === '1',
    trustProxy: env.JOON_TRUST_PROXY === '1',
    retrySchedule: env.JOON_RETRY_SCHEDULE
      ? parseRetrySchedule(env.JOON_RETRY_SCHEDULE)
      : DEFAULT_RETRY_SCHEDULE,
    rateLimit,
    botsDir: flags.bots,
    webhooksFile: flags.webhooks,
  }
}
