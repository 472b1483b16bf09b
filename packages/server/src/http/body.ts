import type { Context } from 'hono'
import type { z } from 'zod'
import { ApiError, invalidInput } from './errors.js'

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Reads and validates a JSON body. The size cap is enforced while streaming, so a chunked
 * body without content-length is cut as early as a declared one. The content type is not
 * required to be JSON: the body must parse as JSON, whatever the client called it.
 */
export async function readJson<T extends z.ZodType>(
  c: Context,
  schema: T,
  options: { maxBytes: number; emptyAs?: unknown },
): Promise<z.infer<T>> {
  const text = await readText(c, options.maxBytes)
  let value: unknown
  if (text.trim() === '' && 'emptyAs' in options) {
    value = options.emptyAs
  } else {
    try {
      value = JSON.parse(text)
    } catch {
      throw new ApiError(400, 'invalid_json', 'The request body is not valid JSON.')
    }
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    throw invalidInput('invalid_body', 'The request body is not valid.', parsed.error)
  }
  return parsed.data
}

async function readText(c: Context, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new ApiError(413, 'payload_too_large', `The request body is larger than ${maxBytes} bytes.`)
  const declared = Number(c.req.header('content-length'))
  if (declared > maxBytes) throw tooLarge()
  const body = c.req.raw.body
  if (!body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw tooLarge()
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  try {
    return decoder.decode(bytes)
  } catch {
    throw new ApiError(400, 'invalid_json', 'The request body is not valid UTF-8.')
  }
}
