import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_LAUNCH } from '../../../tools/chromium.ts'
import { SHOP_PAGES } from '../src/shop.ts'

/**
 * The shop's pages at phone width (320 and 375 px), at desktop width, and at 200 % zoom (a
 * 1280 px window shows 640 CSS px): nothing wider than the screen, the embed snippet shown
 * whole, the end of the page clear of the chat bubble, no serious axe-core violation.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SHOTS = fileURLToPath(new URL('../test-results/shop-layout/', import.meta.url))
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

const VIEWPORTS = [
  { name: 'phone-320', width: 320, height: 640 },
  { name: 'phone-375', width: 375, height: 740 },
  { name: 'zoom-200', width: 640, height: 400 },
  { name: 'desktop', width: 1280, height: 800 },
] as const

let demo: ChildProcess
let output = ''
let browser: Browser
let shopUrl: string
let dataDir: string

beforeAll(async () => {
  const [port, apiPort] = [await freePort(), await freePort()]
  shopUrl = `http://localhost:${port}`
  dataDir = mkdtempSync(join(tmpdir(), 'joon-demo-shop-'))
  mkdirSync(SHOTS, { recursive: true })
  // The repo is built before the tests run: the demo as `pnpm demo` leaves it.
  demo = spawn(process.execPath, ['apps/demo/dist/main.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DEMO_PORT: String(port),
      DEMO_API_PORT: String(apiPort),
      DEMO_DATA_DIR: dataDir,
      JOON_ADMIN_TOKEN: '',
    },
  })
  demo.stdout?.on('data', (chunk) => {
    output += chunk
  })
  demo.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const deadline = Date.now() + 30_000
  while (!output.includes('Press Ctrl-C to stop.')) {
    if (demo.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the demo did not start:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  browser = await chromium.launch(CHROMIUM_LAUNCH)
}, 60_000)

afterAll(async () => {
  await browser?.close()
  if (demo && demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL')
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

describe.each(VIEWPORTS)('the shop at $width px ($name)', (viewport) => {
  it.each(SHOP_PAGES.map((page) => [page.path, page.bot]))('%s (%s)', async (path, bot) => {
    // axe is injected as a script: only a context without the pages' CSP allows it.
    const context = await browser.newContext({
      viewport: { width: viewport.width, height: viewport.height },
      bypassCSP: true,
    })
    try {
      const page = await context.newPage()
      await page.goto(`${shopUrl}${path}`)
      const launcher = page.getByRole('button', { name: /^chat/i })
      await launcher.waitFor()
      const shot = join(SHOTS, `${viewport.name}-${bot}`)
      await page.screenshot({ path: `${shot}.png`, fullPage: true })

      expect(await overflow(page)).toEqual({ page: 0, snippet: 0 })

      // Scrolled to the end, the last thing on the page sits above the chat bubble.
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight))
      const note = await page.getByRole('complementary', { name: 'About this demo' }).boundingBox()
      const bubble = await launcher.boundingBox()
      expect(note!.y + note!.height).toBeLessThanOrEqual(bubble!.y)
      await page.screenshot({ path: `${shot}-end.png` })

      expect(await axeViolations(page)).toEqual([])
    } finally {
      await context.close()
    }
  })
})

/** How many CSS px the page, and the embed snippet, are wider than what shows. */
function overflow(page: Page): Promise<{ page: number; snippet: number }> {
  return page.evaluate(() => {
    const root = document.documentElement
    const pre = document.querySelector('pre')
    return {
      page: Math.max(0, root.scrollWidth - root.clientWidth),
      snippet: pre ? Math.max(0, pre.scrollWidth - pre.clientWidth) : 0,
    }
  })
}

/** axe-core's serious and critical violations, as `rule: targets`. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE })
  return page.evaluate(async () => {
    type Result = { id: string; impact: string | null; nodes: { target: string[] }[] }
    const axe = (
      window as unknown as { axe: { run(c: Document): Promise<{ violations: Result[] }> } }
    ).axe
    const { violations } = await axe.run(document)
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  })
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
