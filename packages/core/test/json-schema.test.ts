import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { botJsonSchema } from '../src/index.js'

describe('bot.schema.json', () => {
  it('is up to date (regenerate with `pnpm --filter @joon/core schema`)', () => {
    const committed = readFileSync(new URL('../bot.schema.json', import.meta.url), 'utf8')
    expect(committed).toBe(`${JSON.stringify(botJsonSchema(), null, 2)}\n`)
  })

  it('describes the file as written: async optional, unknown fields refused', () => {
    const schema = botJsonSchema() as { required: string[]; additionalProperties: boolean }
    expect(schema.required).toEqual(['id', 'start', 'blocks'])
    expect(schema.additionalProperties).toBe(false)
    const blockTypes = JSON.stringify(schema).match(/"const":"[a-z]+"/g)
    expect(blockTypes).toEqual([
      '"const":"text"',
      '"const":"question"',
      '"const":"buttons"',
      '"const":"webhook"',
      '"const":"condition"',
      '"const":"ai"',
    ])
  })
})
