import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  launchChromium,
  openPage,
  type PageTrouble,
  screenshot,
  signIn,
} from './support/browser.js'
import { axeViolations } from './support/builder.js'
import { adminPut, startConsoleServer } from './support/server.js'

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'

let server: Awaited<ReturnType<typeof startConsoleServer>>
let browser: Browser
let page: Page
let trouble: PageTrouble
let closePage: () => Promise<void>

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startConsoleServer(), launchChromium()])
  ;({ page, trouble, close: closePage } = await openPage(browser))
  await adminPut(server.url, '/webhooks/crm', {
    url: 'https://crm.example.com/hooks',
    headers: { 'X-Api-Key': 'key-1234567890-c3f9' },
    secret: SECRET,
  })
  await adminPut(server.url, '/webhooks/analytics', { url: 'https://analytics.example.com' })
  // crm has been failing for a while: three synchronous calls answered 503.
  const start = Date.now() - 5 * 60_000
  for (let i = 0; i < 3; i++) {
    await server.store.recordDelivery({
      id: `msg_${i}`,
      webhook: 'crm',
      conversationId: 'c',
      async: false,
      body: '{}',
      createdAt: start + i * 60_000,
      status: 'failed',
      attempt: { at: start + i * 60_000, status: 503, durationMs: 12, error: 'HTTP 503' },
    })
  }
})

afterAll(async () => {
  await closePage?.()
  await browser?.close()
  await server?.close()
})

afterEach(async ({ task }) => {
  if (task.result?.state === 'fail') await screenshot(page, `failed-${task.name.slice(0, 40)}`)
})

const secretField = () => page.getByLabel('Signing secret')
const stored = () => server.store.getWebhook('crm')

describe.sequential('webhook health and secrets in the console', () => {
  it('lists each webhook with its health in words', async () => {
    await signIn(page, server.url)
    const crm = page.getByRole('link', { name: /^crm/ })
    await crm.waitFor()
    const text = (await crm.textContent()) ?? ''
    expect(text).toContain('Failing')
    expect(text).toMatch(/3 failures in a row since \d\d:\d\d/)
    expect(text).toContain('3 deliveries failed for good')
    expect(text).toContain('last error: HTTP 503')
    expect(await page.getByRole('link', { name: /^analytics/ }).textContent()).toContain(
      'No calls yet',
    )
  })

  it('shows the secret and header values masked, reveals it, and keeps it on an unchanged save', async () => {
    await page.getByRole('link', { name: /^crm/ }).click()
    await page.getByRole('heading', { name: 'Webhook crm' }).waitFor()
    const health = page.getByRole('region', { name: /Health/ })
    expect(await health.textContent()).toContain('Failures in a row3')
    expect(await secretField().inputValue()).toBe('••••••••LaSw')
    expect(await page.getByLabel('Header 1 value').inputValue()).toBe('••••••••c3f9')
    expect(await page.content()).not.toContain(SECRET)

    // Keyboard only: Tab to Reveal, Enter.
    await secretField().focus()
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Reveal')
    await page.keyboard.press('Enter')
    await expect.poll(() => secretField().inputValue()).toBe(SECRET)
    await page.getByRole('button', { name: 'Hide' }).click()
    expect(await secretField().inputValue()).toBe('••••••••LaSw')

    await page.getByLabel('Timeout (ms)').fill('4000')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await expect.poll(async () => (await stored())?.timeoutMs).toBe(4000)
    expect(await stored()).toEqual({
      name: 'crm',
      url: 'https://crm.example.com/hooks',
      headers: { 'X-Api-Key': 'key-1234567890-c3f9' },
      secret: SECRET,
      timeoutMs: 4000,
    })
  })

  it('rotates the secret after a confirmation, showing the new one once', async () => {
    await page.getByRole('button', { name: 'Rotate secret' }).click()
    const confirm = page.getByRole('button', { name: 'Yes, rotate' })
    // The question takes focus: Enter confirms.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.textContent))
      .toBe('Yes, rotate')
    expect(
      await page.getByRole('group', { name: /Replace the signing secret of crm\?/ }).count(),
    ).toBe(1)
    await confirm.press('Enter')
    await expect.poll(async () => (await stored())?.secret).not.toBe(SECRET)
    const rotated = (await stored())?.secret ?? ''
    expect(rotated).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    await expect.poll(() => secretField().inputValue()).toBe(rotated)
    expect(await page.getByRole('status').first().textContent()).toContain(
      'New signing secret saved',
    )
    expect(await axeViolations(page)).toEqual([])
    await screenshot(page, 'webhook-01-health-and-secret')
    // Saving now keeps the rotated secret.
    await page.getByRole('button', { name: 'Save changes' }).click()
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('saved')
    expect((await stored())?.secret).toBe(rotated)
    expect(trouble.errors).toEqual([])
    expect(trouble.cspViolations).toEqual([])
  })
})
