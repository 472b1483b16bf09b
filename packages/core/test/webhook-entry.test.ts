import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as root from '../src/index.js'
import * as webhook from '../src/webhook.js'

/** Files (and packages) that `file` loads at run time: `import type` and `export type` excluded. */
function runtimeGraph(file: URL, seen = new Set<string>()): Set<string> {
  const text = readFileSync(file, 'utf8')
  const pattern = /^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms
  for (const [, specifier] of text.matchAll(pattern)) {
    if (!specifier || seen.has(specifier)) continue
    seen.add(specifier)
    if (specifier.startsWith('.'))
      runtimeGraph(new URL(specifier.replace(/\.js$/, '.ts'), file), seen)
  }
  return seen
}

describe('@joon/core/webhook', () => {
  it('loads neither the bot schema nor zod', () => {
    const graph = runtimeGraph(new URL('../src/webhook.ts', import.meta.url))
    expect(graph.has('./signature.js')).toBe(true)
    expect(graph.has('./webhook-reply.js')).toBe(true)
    expect([...graph].filter((name) => name === 'zod' || name.endsWith('schema.js'))).toEqual([])
  })

  it('exports the same functions as the package root', () => {
    const rootExports = new Map(Object.entries(root))
    for (const [name, value] of Object.entries(webhook)) {
      expect(rootExports.get(name), name).toBe(value)
    }
    expect(Object.keys(webhook)).toEqual(
      expect.arrayContaining([
        'signWebhook',
        'verifyWebhook',
        'parseWebhookReply',
        'MAX_REPLY_BYTES',
      ]),
    )
  })
})
