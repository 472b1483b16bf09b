/**
 * Joon's logs: one JSON object a line (`time`, `level`, `event`, `requestId` inside a request,
 * then the event's fields), filtered by `JOON_LOG_LEVEL`. Ours rather than pino: the server
 * logs events, not requests (nothing per request below `debug`), so a line costs one
 * `JSON.stringify` and one write, and there is no transport to configure.
 */

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export type Log = (event: string, fields: Record<string, unknown>) => void

/** Each event's level; an event not listed is `info`. */
const EVENT_LEVELS: Record<string, LogLevel> = {
  'http.error': 'error',
  'delivery.store_error': 'error',
  'delivery.worker_error': 'error',
  'health.store_unavailable': 'error',
  'retention.failed': 'error',
  'delivery.failed': 'warn',
  'delivery.lease_lost': 'warn',
  'http.connections_refused': 'warn',
  'conversation.guard_stopped': 'warn',
  'conversation.bot_gone': 'warn',
  'webhook.skipped_instructions': 'warn',
  'http.request': 'debug',
}

export const levelOf = (event: string): LogLevel => EVENT_LEVELS[event] ?? 'info'

export interface JsonLogger {
  log: Log
  /** Whether events of `level` are written (skip building a `debug` line otherwise). */
  enabled(level: LogLevel): boolean
}

export function jsonLogger(options: {
  level: LogLevel
  write: (line: string) => void
  now?: () => Date
}): JsonLogger {
  const threshold = LOG_LEVELS.indexOf(options.level)
  const now = options.now ?? (() => new Date())
  const enabled = (level: LogLevel) => LOG_LEVELS.indexOf(level) <= threshold
  return {
    enabled,
    log(event, fields) {
      const level = levelOf(event)
      if (!enabled(level)) return
      options.write(JSON.stringify({ time: now().toISOString(), level, event, ...fields }))
    },
  }
}
