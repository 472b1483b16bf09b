import type { JsonValue } from './schema.js'

/** Keys that are never stored anywhere, from any source (contract §2). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
])

/**
 * Deepest nesting of arrays/objects Joon accepts from outside (webhook replies, start
 * variables). Deeper values would make recursive code (JSON.stringify, revivers) overflow the
 * stack, and no real integration nests this deep.
 */
export const MAX_JSON_DEPTH = 64

/** A UTF-16 surrogate without its pair: valid in a JS string and a JSON escape, not in UTF-8. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Whether a string or any string (key or value) inside a JSON value holds a lone surrogate.
 * Such text cannot be encoded as UTF-8, so strict receivers refuse a whole webhook payload
 * that carries it, on every retry.
 */
export function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value)
  if (Array.isArray(value)) return value.some(hasLoneSurrogate)
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(
      ([key, item]) => LONE_SURROGATE.test(key) || hasLoneSurrogate(item),
    )
  }
  return false
}

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g')

/**
 * JSON.parse reviver for text Joon did not write (webhook replies): a lone surrogate in a
 * string or a key becomes U+FFFD, so what a webhook said can always be stored, shown and sent
 * on to other webhooks as valid UTF-8. The visitor's own text is refused instead (400).
 */
export function wellFormed(_key: string, value: unknown): unknown {
  if (typeof value === 'string') return value.replace(LONE_SURROGATES, '\ufffd')
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  if (!Object.keys(value).some((key) => LONE_SURROGATE.test(key))) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key.replace(LONE_SURROGATES, '\ufffd'), item]),
  )
}

/**
 * Nesting depth of a JSON text, scanned without parsing so that a hostile reply such as a
 * megabyte of `[` is refused before any recursive parser sees it.
 */
export function jsonTextDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c /* \ */) i++
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++
      if (depth > deepest) deepest = depth
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--
  }
  return deepest
}

/**
 * JSON.parse reviver that drops the forbidden keys at every depth (contract §2), and turns
 * `-0` into 0 so that values survive any later JSON round trip unchanged.
 */
export function dropForbiddenKeys(key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) return undefined
  return value === 0 ? 0 : value
}

/**
 * Copies `value` as plain JSON, or returns undefined when it is not representable:
 * functions, symbols, bigints, undefined, non-finite numbers, cycles, class instances other
 * than plain objects and arrays, or nesting deeper than MAX_JSON_DEPTH. Forbidden keys are
 * dropped at every depth. Used for values the host hands in (start variables), which may be
 * anything at runtime whatever their static type says.
 */
export function toJsonValue(value: unknown, depth = 0): JsonValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      // -0 becomes 0: JSON has no negative zero, and state must round-trip through JSON.
      return Number.isFinite(value) ? value + 0 : undefined
    case 'object': {
      if (value === null) return null
      if (depth >= MAX_JSON_DEPTH) return undefined
      if (Array.isArray(value)) {
        const items: JsonValue[] = []
        for (const item of value) {
          const copy = toJsonValue(item, depth + 1)
          if (copy === undefined) return undefined
          items.push(copy)
        }
        return items
      }
      const proto: unknown = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return undefined
      const copy: Record<string, JsonValue> = {}
      for (const [key, item] of Object.entries(value)) {
        if (FORBIDDEN_KEYS.has(key)) continue
        const itemCopy = toJsonValue(item, depth + 1)
        if (itemCopy === undefined) return undefined
        copy[key] = itemCopy
      }
      return copy
    }
    default:
      return undefined
  }
}

/** The size of `text` in UTF-8, in bytes. */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength
}
