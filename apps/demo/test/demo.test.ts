import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_LAUNCH } from '../../../tools/chromium.ts'

/**
 * The demo end to end, started exactly as the README says (`pnpm demo` runs the root
 * package.json's `demo` script; this runs that same command line), driven in Chromium through
 * the widget each shop page embeds, then stopped with Ctrl-C.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const SHOTS = fileURLToPath(new URL('../test-results/', import.meta.url))
const DEMO_SCRIPT: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts
  .demo

// The lead of Joonbot's webhook documentation, byte for byte.
const LEAD_BODY = `{
  "email": "nicolas@joonbot.com",
  "phone_number": "0612345678",
  "conversation": "Bot: What brings you here today?\\nUser: Just browsing\\nBot: What's your email address?\\nUser: nicolas@joonbot.com\\nBot: What's your phone number?\\nUser: 0612345678\\n"
}`

let demo: ChildProcess
let output = ''
let exited: Promise<number | null>
let browser: Browser
let shopUrl: string
let apiUrl: string
let dataDir: string

beforeAll(async () => {
  const [port, apiPort] = [await freePort(), await freePort()]
  shopUrl = `http://localhost:${port}`
  apiUrl = `http://localhost:${apiPort}`
  dataDir = mkdtempSync(join(tmpdir(), 'joon-demo-'))
  mkdirSync(SHOTS, { recursive: true })
  demo = spawn('sh', ['-c', DEMO_SCRIPT], {
    cwd: ROOT,
    // Its own process group, so a signal reaches every process of it, like Ctrl-C in a terminal.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH}`,
      DEMO_PORT: String(port),
      DEMO_API_PORT: String(apiPort),
      DEMO_DATA_DIR: dataDir,
      JOON_ADMIN_TOKEN: '', // unset: the demo's own token
    },
  })
  demo.stdout?.on('data', (chunk) => {
    output += chunk
  })
  demo.stderr?.on('data', (chunk) => {
    output += chunk
  })
  exited = new Promise((resolve) => demo.once('exit', (code) => resolve(code)))
  await waitFor(
    () => output.includes('Press Ctrl-C to stop.'),
    () => `the demo did not start:\n${output}`,
    60_000,
  )
  browser = await chromium.launch(CHROMIUM_LAUNCH)
}, 90_000)

afterAll(async () => {
  await browser?.close()
  if (demo?.pid && demo.exitCode === null && demo.signalCode === null) {
    process.kill(-demo.pid, 'SIGKILL')
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

describe('pnpm demo', () => {
  it('prints the URLs to open and what each bot shows', () => {
    expect(output).toContain(`${shopUrl}/`)
    expect(output).toContain(`${shopUrl}/orders`)
    expect(output).toContain(`${shopUrl}/delivery`)
    expect(output).toContain(`${apiUrl}/`)
    expect(output).toContain('Admin token: demo-admin-token')
    expect(output).toContain(`${shopUrl}/admin`)
    for (const line of ['Lead generation:', 'Order status:', 'Delivery status:']) {
      expect(output).toContain(line)
    }
  })

  it('embeds each bot with exactly the one script tag a site owner copies', async () => {
    for (const [path, bot] of [
      ['/', 'lead-gen'],
      ['/orders', 'order-status'],
      ['/delivery', 'delivery-status'],
    ] as const) {
      const page = await (await fetch(`${shopUrl}${path}`)).text()
      expect(page.match(/<script\b/g)).toHaveLength(1)
      expect(page).toContain(`<script src="/widget.js" data-bot="${bot}" defer></script>`)
    }
  })

  it('lead generation: buttons, email, phone, then the asynchronous webhook delivers the lead', async () => {
    const page = await openShop('/')
    const log = page.getByRole('log')
    await expect.poll(() => log.textContent()).toContain('What brings you here today?')
    await page.getByRole('button', { name: 'Just browsing' }).click()
    await answer(page, "What's your email address?", 'nicolas@joonbot.com')
    await answer(page, "What's your phone number?", '0612345678')
    await expect
      .poll(() => log.textContent())
      .toContain('Thanks! We will write to nicolas@joonbot.com.')
    await settle(page)
    await page.screenshot({ path: join(SHOTS, 'lead-gen.png') })

    // The owner's API received it, signature verified, with the exact keys and transcript.
    let leads: { webhookId: string; body: string }[] = []
    await expect
      .poll(async () => {
        leads = (await (await fetch(`${apiUrl}/leads.json`)).json()).leads
        return leads.length
      })
      .toBe(1)
    const lead = leads[0]!
    expect(Object.keys(JSON.parse(lead.body))).toEqual(['email', 'phone_number', 'conversation'])
    expect(lead.body).toBe(LEAD_BODY)
    expect(lead.webhookId).toMatch(/\S/)

    // ... and its page shows the exact JSON.
    const leadsPage = await page.context().newPage()
    await leadsPage.goto(`${apiUrl}/`)
    expect(await leadsPage.locator('pre').first().textContent()).toBe(LEAD_BODY)
    await leadsPage.screenshot({ path: join(SHOTS, 'leads-page.png'), fullPage: true })
    await leave(page)
  })

  it('the operator console shows the lead delivered to the crm webhook', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await context.newPage()
    await page.goto(`${shopUrl}/admin#/deliveries`)
    await page.getByLabel('Admin token').fill('demo-admin-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    const main = page.getByRole('main')
    await expect.poll(() => main.textContent()).toContain('crm')
    await expect.poll(() => main.textContent()).toContain('delivered')
    await page.screenshot({ path: join(SHOTS, 'console-deliveries.png') })
    await context.close()
  })

  it('order status: the synchronous webhook answers with responses, 2 s of typing each', async () => {
    const page = await openShop('/orders')
    const log = page.getByRole('log')
    const sent = await answer(page, "What's your order number?", '1001')
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain('Good morning John')
    const first = Date.now() - sent
    await expect
      .poll(() => log.textContent(), { timeout: 10_000 })
      .toContain('Your order is on the way to your delivery pickup point')
    const second = Date.now() - sent
    expect(first).toBeGreaterThanOrEqual(1_500)
    expect(second).toBeGreaterThanOrEqual(3_500)
    await expect(page.getByRole('button', { name: 'Check another order' }).count()).resolves.toBe(1)
    await settle(page)
    await page.screenshot({ path: join(SHOTS, 'order-status.png') })
    await leave(page)
  })

  it('delivery status: the reply is merged into the context and shown by the next text block', async () => {
    const page = await openShop('/delivery')
    const log = page.getByRole('log')
    await answer(page, "What's your tracking number?", 'ACME-42')
    await expect
      .poll(() => log.textContent())
      .toContain('Parcel ACME-42: out for delivery. Delivery method: Express courier.')
    await expect.poll(() => log.textContent()).toContain('The courier will ring before 6 pm.')
    await settle(page)
    await page.screenshot({ path: join(SHOTS, 'delivery-status.png') })
    await leave(page)
  })

  it('refuses a webhook call that Joon did not sign', async () => {
    const response = await fetch(`${apiUrl}/hooks/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_forged' },
      body: '{"email":"mallory@example.com","conversation":""}',
    })
    expect(response.status).toBe(401)
  })

  it('stops cleanly on Ctrl-C: both servers closed, exit code 0', async () => {
    process.kill(-demo.pid!, 'SIGINT')
    expect(await exited).toBe(0)
    await expect(fetch(`${shopUrl}/healthz`)).rejects.toThrow()
    await expect(fetch(`${apiUrl}/`)).rejects.toThrow()
  })
})

const consoleErrors = new WeakMap<Page, string[]>()

/** A fresh visitor on a shop page, with the chat bubble opened. */
async function openShop(path: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const errors: string[] = []
  consoleErrors.set(page, errors)
  // A CSP violation or a widget crash shows up here.
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(`${shopUrl}${path}`)
  await page.getByRole('button', { name: /^chat/i }).click()
  await expect.poll(() => page.getByRole('log').isVisible()).toBe(true)
  return page
}

/** Lets the last messages finish fading in, so a screenshot shows them as a visitor does. */
async function settle(page: Page) {
  await page.waitForTimeout(800)
}

/** Closes the visitor's browser, checking the page logged no error on the way. */
async function leave(page: Page) {
  await page.context().close()
  expect(consoleErrors.get(page)).toEqual([])
}

/** Waits for the bot's question, types the answer in the labelled textbox and sends it. */
async function answer(page: Page, question: string, text: string): Promise<number> {
  await expect.poll(() => page.getByRole('log').textContent()).toContain(question)
  const box = page.getByRole('textbox', { name: 'Your answer' })
  await box.fill(text)
  await box.press('Enter')
  const sent = Date.now()
  await expect.poll(() => page.getByRole('log').textContent()).toContain(text)
  return sent
}

async function waitFor(check: () => boolean, message: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (demo.exitCode !== null || Date.now() > deadline) throw new Error(message())
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
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
