import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  launchChromium,
  openPage,
  type PageTrouble,
  screenshot,
  signIn,
} from './support/browser.js'
import { startReceiver } from './support/receiver.js'
import { adminPut, chat, startConsoleServer } from './support/server.js'

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
const HTML = '<img src=x onerror=alert(1)>'

let server: Awaited<ReturnType<typeof startConsoleServer>>
let receiver: Awaited<ReturnType<typeof startReceiver>>
let browser: Browser
let conversationId: string

beforeAll(async () => {
  ;[server, receiver, browser] = await Promise.all([
    startConsoleServer(),
    startReceiver(),
    launchChromium(),
  ])
  // Every stored value an operator can see holds markup: names, URLs, headers, bot texts,
  // answers, variables, and a receiver's error reply.
  receiver.answer(500, `<html><body>${HTML}</body></html>`)
  await adminPut(server.url, '/webhooks/hook', {
    url: receiver.url,
    headers: { 'X-Note': HTML },
  })
  await adminPut(server.url, '/webhooks/raw', { url: `http://example.invalid/?q=${HTML}` })
  await adminPut(server.url, '/models/marked', {
    baseUrl: `http://example.invalid/v1?q=${HTML}`,
    model: HTML,
  })
  await adminPut(server.url, '/bots/xss', {
    id: 'xss',
    name: HTML,
    start: 'hello',
    blocks: [
      { id: 'hello', type: 'text', text: `Hello ${HTML}<script>alert(2)</script>`, next: 'ask' },
      {
        id: 'ask',
        type: 'question',
        answer: 'text',
        text: 'Say it',
        saveAnswerTo: 'note',
        next: 'call',
      },
      { id: 'call', type: 'webhook', webhook: 'hook', async: true, next: 'bye' },
      { id: 'bye', type: 'text', text: 'You said {{note}}' },
    ],
  })
  conversationId = await chat(server.url, 'xss', [HTML], { hidden: HTML })
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await receiver?.close()
})

/** Injected markup would add an element (or, under the CSP, a violation). */
async function expectNoInjection(page: Page, trouble: PageTrouble) {
  expect(await page.locator('img, script:not([src])').count()).toBe(0)
  expect(trouble.dialogs).toEqual([])
  expect(trouble.cspViolations).toEqual([])
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE)
  return page.evaluate(async () => {
    interface Result {
      violations: { id: string; impact: string; nodes: { target: string[] }[] }[]
    }
    const axe = (window as unknown as { axe: { run(context: Document): Promise<Result> } }).axe
    const { violations } = await axe.run(document)
    return violations.map(
      (v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    )
  })
}

describe('stored values are shown as text, never markup', () => {
  // Without the CSP too: the rendering itself must be safe, the CSP is the second line.
  for (const bypassCSP of [false, true]) {
    it(`on every page ${bypassCSP ? 'with the CSP bypassed' : 'under the strict CSP'}`, async () => {
      const { page, trouble, close } = await openPage(browser, { bypassCSP })
      try {
        await signIn(page, server.url)
        await page.goto(`${server.url}/admin#/webhooks/hook`)
        await page.getByRole('heading', { name: 'Webhook hook' }).waitFor()
        // Header values are shown masked (their last 4 characters), still as plain text.
        expect(await page.getByLabel('Header 1 value').inputValue()).toBe(
          `••••••••${HTML.slice(-4)}`,
        )
        expect(await page.getByRole('link', { name: /raw/ }).textContent()).toContain(HTML)
        await expectNoInjection(page, trouble)
        await page.goto(`${server.url}/admin#/models/marked`)
        await page.getByRole('heading', { name: 'Model marked' }).waitFor()
        expect(await page.getByLabel('Model', { exact: true }).inputValue()).toBe(HTML)
        await expectNoInjection(page, trouble)
        await page.goto(`${server.url}/admin#/bots/xss`)
        await page.getByRole('heading', { name: 'Bot xss' }).waitFor()
        await page.getByText(HTML, { exact: true }).waitFor()
        await page.getByRole('button', { name: 'Chat with xss' }).click()
        await page.locator('.try-it').getByText(`Hello ${HTML}<script>alert(2)</script>`).waitFor()
        await expectNoInjection(page, trouble)
        await page.goto(`${server.url}/admin#/deliveries`)
        await page.locator('tbody.delivery .badge-failed').waitFor()
        await page.getByRole('button', { name: /attempts of delivery/ }).click()
        await page.getByRole('table', { name: 'Attempts, oldest first' }).waitFor()
        expect(await page.locator('.last-result').textContent()).toContain(HTML)
        await page.getByText('Payload').click()
        await expectNoInjection(page, trouble)
        await page.goto(`${server.url}/admin#/conversations/${conversationId}`)
        await page.getByRole('heading', { name: 'Transcript' }).waitFor()
        expect(await page.locator('.from-user .message-text').textContent()).toBe(HTML)
        expect(await page.getByRole('table', { name: /Variables/ }).textContent()).toContain(
          JSON.stringify(HTML),
        )
        await expectNoInjection(page, trouble)
        if (!bypassCSP) await screenshot(page, '09-markup-as-text')
      } catch (error) {
        await screenshot(page, `failed-safety-${expect.getState().currentTestName?.slice(-30)}`)
        throw error
      } finally {
        await close()
      }
    })
  }
})

describe('accessibility', () => {
  it('has no axe-core violation on any page', async () => {
    // axe is injected as a script: only a context without the CSP allows it.
    const { page, close } = await openPage(browser, { bypassCSP: true })
    try {
      await page.goto(`${server.url}/admin`)
      await page.getByLabel('Admin token').waitFor()
      expect(await axeViolations(page)).toEqual([])
      await signIn(page, server.url)

      const pages: [string, () => Promise<unknown>][] = [
        [
          '#/webhooks/hook',
          async () => {
            await page.getByRole('heading', { name: 'Webhook hook' }).waitFor()
            await page.getByRole('button', { name: 'Send test' }).click()
          },
        ],
        ['#/webhooks/new', async () => {}],
        ['#/bots/xss', () => page.getByRole('button', { name: 'Chat with xss' }).click()],
        [
          '#/deliveries',
          () =>
            page
              .getByRole('button', { name: /attempts of delivery/ })
              .first()
              .click(),
        ],
        [`#/conversations/${conversationId}`, async () => {}],
      ]
      for (const [hash, act] of pages) {
        await page.goto(`${server.url}/admin${hash}`)
        await page.locator('main h1').waitFor()
        await act()
        await page.waitForTimeout(300)
        expect([hash, await axeViolations(page)]).toEqual([hash, []])
      }
      await page.goto(`${server.url}/admin#/webhooks/hook`)
      await page.getByRole('button', { name: 'Send test' }).click()
      await page.getByRole('region', { name: 'Test call' }).waitFor()
      await screenshot(page, '10-test-failed')
    } catch (error) {
      await screenshot(page, `failed-safety-${expect.getState().currentTestName?.slice(-30)}`)
      throw error
    } finally {
      await close()
    }
  })

  it('is usable at a phone’s width', async () => {
    const { page, close } = await openPage(browser, { viewport: { width: 390, height: 844 } })
    try {
      await signIn(page, server.url)
      await page.goto(`${server.url}/admin#/bots/xss`)
      await page.getByRole('heading', { name: 'Bot xss' }).waitFor()
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      )
      expect(overflow).toBeLessThanOrEqual(0)
      await screenshot(page, '11-phone')
    } catch (error) {
      await screenshot(page, `failed-safety-${expect.getState().currentTestName?.slice(-30)}`)
      throw error
    } finally {
      await close()
    }
  })
})
