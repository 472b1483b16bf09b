import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { z } from 'zod'

export interface ErrorIssue {
  path: (string | number)[]
  message: string
  blockId?: string
}

/** An error a client caused or should know about; rendered once, in `app.onError`. */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: ErrorIssue[],
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

export function errorBody(code: string, message: string, issues?: ErrorIssue[]) {
  return { error: issues ? { code, message, issues } : { code, message } }
}

export const notFound = (what: string, id: string) =>
  new ApiError(404, 'not_found', `${what} "${id}" does not exist`)

/**
 * A 400 listing every zod issue, each with its path. The message also names the first issue,
 * so a client that logs only the message still sees the cause.
 */
export function invalidInput(code: string, message: string, error: z.core.$ZodError): ApiError {
  const [first, ...rest] = error.issues
  const path = first?.path.filter((key) => typeof key !== 'symbol').join('.')
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : ''
  return new ApiError(
    400,
    code,
    first
      ? `${message.replace(/\.$/, '')}: ${path ? `${path}: ` : ''}${first.message}${more}.`
      : message,
    error.issues.map((issue) => ({
      path: issue.path.filter((key) => typeof key !== 'symbol'),
      message: issue.message,
    })),
  )
}
