import { zValidator } from '@hono/zod-validator'
import type { z } from 'zod'
import { invalidInput } from './errors.js'
import { documented } from './openapi.js'

/**
 * A route's query string, validated by `@hono/zod-validator`: the handler reads it with
 * `c.req.valid('query')`, the route's type carries it (and the OpenAPI document), and a
 * refusal is the contract's `400 invalid_query` listing every issue.
 */
export function validQuery<T extends z.ZodType>(schema: T) {
  const validator = zValidator('query', schema, (result) => {
    if (!result.success)
      throw invalidInput('invalid_query', 'The query is not valid.', result.error)
  })
  return documented(validator, 'query', schema)
}
