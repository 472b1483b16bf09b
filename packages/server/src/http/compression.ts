/**
 * Compressed text responses: the widget bundle is compressed once, at start (brotli and
 * gzip), and the text answer to any other GET of 1 KB or more (API JSON such as a long
 * conversation or the admin lists) on the way out, when the client accepts it.
 *
 * Not POST answers (the chat turns): their size is unknown without reading the body, and
 * reading it takes @hono/node-server off its fast path for string bodies, which halved the
 * turns/s of `bench/http.mjs`'s load (4,800 against 9,100). A turn's answer is a few hundred
 * bytes, which gzip would only add its framing to.
 *
 * node:zlib is reached through `process.getBuiltinModule`, so an edge bundle never imports it;
 * where it is missing (edge runtimes), responses get gzip from `CompressionStream` instead.
 */

import type * as Zlib from 'node:zlib'
import type { MiddlewareHandler } from 'hono'

export type Encoding = 'br' | 'gzip'

const zlib = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:zlib') as typeof Zlib | undefined

/** What this runtime can produce, best first. */
const OFFERED: Encoding[] = zlib ? ['br', 'gzip'] : ['gzip']

/** The best encoding `accept-encoding` allows (q > 0), or undefined for the body as it is. */
export function preferredEncoding(
  acceptEncoding: string | undefined,
  offered: readonly Encoding[] = OFFERED,
): Encoding | undefined {
  if (!acceptEncoding) return undefined
  const q = new Map<string, number>()
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim())
    const weight = params.find((p) => p.startsWith('q='))
    q.set(name, weight ? Number(weight.slice(2)) || 0 : 1)
  }
  return offered.find((encoding) => (q.get(encoding) ?? q.get('*') ?? 0) > 0)
}

/** A static text body with its strong ETag, and its compressed forms where zlib exists. */
export interface StaticText {
  body: string
  etag: string
  br?: Uint8Array<ArrayBuffer>
  gzip?: Uint8Array<ArrayBuffer>
}

/** Compresses `body` once, at the highest levels: it is served many times. */
export function precompress(body: string, etag: string): StaticText {
  if (!zlib) return { body, etag }
  return {
    body,
    etag,
    br: new Uint8Array(
      zlib.brotliCompressSync(body, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY },
      }),
    ),
    gzip: new Uint8Array(zlib.gzipSync(body, { level: 9 })),
  }
}

/**
 * The form of `text` to send for `acceptEncoding`: its body, `content-encoding`, and an ETag of
 * its own (a strong ETag names one representation; the encoded ones get a suffix).
 */
export function negotiate(text: StaticText, acceptEncoding: string | undefined) {
  const offered = (['br', 'gzip'] as const).filter((encoding) => text[encoding])
  const encoding = preferredEncoding(acceptEncoding, offered)
  const body = encoding ? text[encoding]! : text.body
  return { body, encoding, etag: encoding ? `${text.etag.slice(0, -1)}-${encoding}"` : text.etag }
}

/** Whether `if-none-match` names any representation of `text` (all are the same version). */
export function notModified(text: StaticText, ifNoneMatch: string | undefined): boolean {
  return (ifNoneMatch ?? '').split(',').some(
    (tag) =>
      tag
        .trim()
        .replace(/^W\//, '')
        .replace(/-(br|gzip)"$/, '"') === text.etag,
  )
}

const TEXT = /^(text\/|application\/(json|javascript|xml)|image\/svg\+xml)/

/** Compresses text answers to GET of `threshold` bytes or more for clients that accept it. */
export function compressText(threshold = 1024): MiddlewareHandler {
  return async (c, next) => {
    await next()
    const res = c.res
    if (
      c.req.method !== 'GET' ||
      !res.body ||
      res.headers.has('content-encoding') ||
      !TEXT.test(res.headers.get('content-type') ?? '') ||
      /no-transform/i.test(res.headers.get('cache-control') ?? '')
    ) {
      return
    }
    const encoding = preferredEncoding(c.req.header('accept-encoding'))
    const length = Number(res.headers.get('content-length') ?? Number.NaN)
    if (!encoding || length < threshold) return
    const bytes = new Uint8Array(await res.arrayBuffer())
    if (bytes.length < threshold) {
      c.res = new Response(bytes, res)
      return
    }
    const body = !zlib
      ? new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'))
      : encoding === 'br'
        ? zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } })
        : zlib.gzipSync(bytes)
    c.res = new Response(body, res)
    c.res.headers.set('content-encoding', encoding)
    c.res.headers.delete('content-length')
    c.res.headers.append('vary', 'accept-encoding')
    const etag = c.res.headers.get('etag')
    if (etag && !etag.startsWith('W/')) c.res.headers.set('etag', `W/${etag}`)
  }
}
