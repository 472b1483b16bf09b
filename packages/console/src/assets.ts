import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

/**
 * The console's files, for the server to serve at `/admin` (Node only: it reads `dist/`).
 * The page is one static HTML file, one script and one stylesheet, so it runs under
 * `CONSOLE_CSP`: no inline script or style anywhere.
 */

/** The Content-Security-Policy every console response should carry. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

export interface ConsoleAsset {
  body: string
  contentType: string
  /** A strong validator for `if-none-match`. */
  etag: string
  /** The body compressed once, at start (the server sends what the browser accepts). */
  br: Uint8Array<ArrayBuffer>
  gzip: Uint8Array<ArrayBuffer>
}

export interface ConsoleAssets {
  html: ConsoleAsset
  js: ConsoleAsset
  css: ConsoleAsset
  icon: ConsoleAsset
}

/** The tab's icon: a speech bubble in the console's accent colour. */
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#2953d6"/><path d="M8 9h16v11H14l-6 5z" fill="#fff"/></svg>`

export interface ConsoleAssetOptions {
  /** Where the console is mounted; the page links its script and stylesheet under it. */
  basePath?: string
}

const dist = new URL('../dist/', import.meta.url)

/** Absolute paths of the built files (for servers that stream files themselves). */
export const consoleFiles = {
  js: new URL('console.js', dist),
  css: new URL('console.css', dist),
}

/** Reads the built console. Throws when `@joon/console` is not built (run its `build`). */
export function consoleAssets(options: ConsoleAssetOptions = {}): ConsoleAssets {
  const base = normalizeBasePath(options.basePath ?? '/admin')
  const js = readFileSync(consoleFiles.js, 'utf8')
  const css = readFileSync(consoleFiles.css, 'utf8')
  return {
    html: asset(
      consolePage(base, { js: etagOf(js), css: etagOf(css) }),
      'text/html; charset=utf-8',
    ),
    js: asset(js, 'text/javascript; charset=utf-8'),
    css: asset(css, 'text/css; charset=utf-8'),
    icon: asset(ICON, 'image/svg+xml'),
  }
}

/**
 * A framework-neutral handler: the console's response for `request`, or null when the path is
 * not one of its own (`base`, `base/`, `base/console.js`, `base/console.css`,
 * `base/favicon.svg`).
 */
export function consoleHandler(
  options: ConsoleAssetOptions = {},
): (request: Request) => Response | null {
  const base = normalizeBasePath(options.basePath ?? '/admin')
  const assets = consoleAssets({ basePath: base })
  const routes = new Map<string, ConsoleAsset>([
    [base, assets.html],
    [`${base}/`, assets.html],
    [`${base}/console.js`, assets.js],
    [`${base}/console.css`, assets.css],
    [`${base}/favicon.svg`, assets.icon],
  ])
  return (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return null
    const found = routes.get(new URL(request.url).pathname)
    if (!found) return null
    const encoding = preferredEncoding(request.headers.get('accept-encoding'))
    // Each encoding is its own representation, with its own strong ETag.
    const etag = encoding ? `${found.etag.slice(0, -1)}-${encoding}"` : found.etag
    const headers = { ...consoleHeaders(found), etag, vary: 'accept-encoding' }
    const notModified = (request.headers.get('if-none-match') ?? '')
      .split(',')
      .some((tag) => tag.trim().replace(/-(br|gzip)"$/, '"') === found.etag)
    if (encoding && !notModified) Object.assign(headers, { 'content-encoding': encoding })
    return new Response(
      notModified || request.method === 'HEAD' ? null : encoding ? found[encoding] : found.body,
      { status: notModified ? 304 : 200, headers },
    )
  }
}

/** The headers to send with any console asset. */
export function consoleHeaders(found: ConsoleAsset): Record<string, string> {
  return {
    'content-type': found.contentType,
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Revalidate each time: a new server version must never run an old console.
    'cache-control': 'no-cache',
    etag: found.etag,
  }
}

function consolePage(base: string, versions: { js: string; css: string }): string {
  // The version query makes a browser fetch new files when the HTML changes.
  const v = (etag: string) => encodeURIComponent(etag.slice(1, 13))
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Joon console</title>
<link rel="icon" href="${escapeAttribute(`${base}/favicon.svg`)}" type="image/svg+xml">
<link rel="stylesheet" href="${escapeAttribute(`${base}/console.css?v=${v(versions.css)}`)}">
<script type="module" src="${escapeAttribute(`${base}/console.js?v=${v(versions.js)}`)}"></script>
</head>
<body>
<div id="app"></div>
<noscript><p>The Joon console needs JavaScript.</p></noscript>
</body>
</html>
`
}

function normalizeBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '')
  if (!/^(\/[A-Za-z0-9/_.-]*)?$/.test(trimmed)) {
    throw new TypeError(`basePath must be an absolute URL path, not ${JSON.stringify(path)}`)
  }
  return trimmed
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
}

function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
}

function asset(body: string, contentType: string): ConsoleAsset {
  // Brotli's best quality takes 0.8 s on the 440 KB script at start; quality 9 takes 50 ms
  // for 7 % more bytes.
  const quality = body.length < 64 * 1024 ? constants.BROTLI_MAX_QUALITY : 9
  const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: quality } })
  const gzip = gzipSync(body, { level: 9 })
  return {
    body,
    contentType,
    etag: etagOf(body),
    br: new Uint8Array(br),
    gzip: new Uint8Array(gzip),
  }
}

/** Brotli, else gzip, when `accept-encoding` allows it (q > 0); undefined for identity. */
function preferredEncoding(acceptEncoding: string | null): 'br' | 'gzip' | undefined {
  const q = new Map<string, number>()
  for (const part of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [name = '', ...params] = part.split(';').map((s) => s.trim())
    const weight = params.find((p) => p.startsWith('q='))
    q.set(name, weight ? Number(weight.slice(2)) || 0 : 1)
  }
  return (['br', 'gzip'] as const).find((e) => (q.get(e) ?? q.get('*') ?? 0) > 0)
}
