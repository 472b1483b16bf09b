import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

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
}

export interface ConsoleAssets {
  html: ConsoleAsset
  js: ConsoleAsset
  css: ConsoleAsset
}

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
  }
}

/**
 * A framework-neutral handler: the console's response for `request`, or null when the path is
 * not one of its own (`base`, `base/`, `base/console.js`, `base/console.css`).
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
  ])
  return (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return null
    const found = routes.get(new URL(request.url).pathname)
    if (!found) return null
    const headers = consoleHeaders(found)
    const notModified = request.headers.get('if-none-match') === found.etag
    return new Response(notModified || request.method === 'HEAD' ? null : found.body, {
      status: notModified ? 304 : 200,
      headers,
    })
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
  return { body, contentType, etag: etagOf(body) }
}
