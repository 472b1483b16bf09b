import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, openPage, screenshot, widget } from './support/browser.ts'
import { STRICT_CSP, startHost, startJoon } from './support/servers.ts'

let browser: Browser
let joon: Awaited<ReturnType<typeof startJoon>>
let host: Awaited<ReturnType<typeof startHost>>

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
const VIEWPORT_META = '<meta name="viewport" content="width=device-width, initial-scale=1">'
const PAGE = '<main><h1>Acme</h1><p>Some page.</p><a href="#pricing">Pricing</a></main>'

beforeAll(async () => {
  ;[browser, joon] = await Promise.all([launchChromium(), startJoon()])
  const embed = (attributes: string) =>
    `${PAGE}<script src="${joon.url}/widget.js" data-bot="lead-gen" ${attributes} defer></script>`
  host = await startHost(joon.url, {
    '/plain': { body: embed(''), head: VIEWPORT_META },
    '/no-viewport-meta': { body: embed('') },
    '/themed': { body: embed('data-color="#ffd43b" data-position="left" data-title="Sales"') },
    // Same origin for the script and the API (proxied), so 'self' allows them, and nothing else.
    '/strict': {
      csp: STRICT_CSP,
      head: '<link rel="stylesheet" href="/hostile.css">',
      body: `${PAGE}<script src="/widget.js" data-bot="lead-gen" defer></script>`,
    },
  })
})

afterAll(async () => {
  await browser?.close()
  await host?.close()
  await joon?.close()
})

/** Computed styles of the widget's parts, through its shadow root. */
function styleOf(page: Page, selector: string, properties: string[]) {
  return page.evaluate(
    ([selector, properties]) => {
      const root = document.querySelector('[data-joon-widget]')!.shadowRoot!
      const style = getComputedStyle(root.querySelector(selector as string)!)
      return Object.fromEntries((properties as string[]).map((p) => [p, style.getPropertyValue(p)]))
    },
    [selector, properties] as const,
  )
}

async function toEmailQuestion(page: Page) {
  const w = widget(page)
  await w.launcher.click()
  await w.choice('Book a demo').click()
  await expect.poll(() => w.answer.getAttribute('type')).toBe('email')
  return w
}

describe('the widget on hostile, small and keyboard-only pages', () => {
  it('looks right under a strict CSP and a hostile stylesheet', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.addInitScript(() => {
        const violations: string[] = []
        ;(window as unknown as { violations: string[] }).violations = violations
        document.addEventListener('securitypolicyviolation', (e) =>
          violations.push(`${e.violatedDirective} ${e.blockedURI}`),
        )
      })
      await page.goto(`${host.url}/strict`)
      // The hostile sheet did reach the page.
      expect(await page.evaluate(() => getComputedStyle(document.documentElement).fontSize)).toBe(
        '30px',
      )

      const w = await toEmailQuestion(page)
      await w.answer.fill('not-an-email')
      await w.answer.press('Enter')
      await expect.poll(() => w.answer.getAttribute('aria-invalid')).toBe('true')
      await screenshot(page, 'strict-csp-hostile-css')

      const launcher = await w.launcher.boundingBox()
      expect(launcher).toEqual({ x: 1280 - 20 - 60, y: 800 - 20 - 60, width: 60, height: 60 })
      const panel = await w.panel.boundingBox()
      expect(panel).toMatchObject({ x: 1280 - 20 - 380, width: 380, height: 640 })
      expect(
        await styleOf(page, '.msg', ['font-size', 'letter-spacing', 'text-transform', 'color']),
      ).toEqual({
        'font-size': '15px',
        'letter-spacing': 'normal',
        'text-transform': 'none',
        color: 'rgb(31, 35, 48)',
      })
      expect(await styleOf(page, '.msg', ['font-family'])).not.toMatchObject({
        'font-family': expect.stringContaining('Comic'),
      })
      expect(await styleOf(page, '.answer input', ['font-size', 'height'])).toEqual({
        'font-size': '16px',
        height: '44px',
      })
      expect(
        await page.evaluate(() => (window as unknown as { violations: string[] }).violations),
      ).toEqual([])
      expect(trouble.errors).toEqual([])
    } finally {
      await close()
    }
  })

  it('takes the whole screen of a 390×844 phone, with 16 px inputs above the keyboard', async () => {
    const { page, trouble, close } = await openPage(browser, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    })
    try {
      // Headless Chromium has no on-screen keyboard: stand in for the visual viewport, which
      // is what a real keyboard shrinks.
      await page.addInitScript(() => {
        const real = window.visualViewport!
        const fake = new EventTarget()
        let keyboard = 0
        Object.defineProperties(fake, {
          offsetTop: { get: () => real.offsetTop },
          offsetLeft: { get: () => real.offsetLeft },
          width: { get: () => real.width },
          height: { get: () => real.height - keyboard },
          scale: { get: () => real.scale },
        })
        Object.defineProperty(window, 'visualViewport', { value: fake })
        ;(window as unknown as { keyboard: (px: number) => void }).keyboard = (px) => {
          keyboard = px
          fake.dispatchEvent(new Event('resize'))
        }
      })
      await page.goto(`${host.url}/plain`)
      const w = widget(page)
      expect(await w.launcher.boundingBox()).toEqual({
        x: 390 - 80,
        y: 844 - 80,
        width: 60,
        height: 60,
      })
      await w.launcher.tap()
      await w.choice('Book a demo').tap()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('email')
      expect(await w.panel.boundingBox()).toEqual({ x: 0, y: 0, width: 390, height: 844 })
      expect(await w.launcher.isVisible()).toBe(false)
      expect(await styleOf(page, '.answer input', ['font-size'])).toEqual({ 'font-size': '16px' })
      await screenshot(page, 'phone-390x844')

      await page.evaluate(() =>
        (window as unknown as { keyboard: (px: number) => void }).keyboard(336),
      )
      await expect
        .poll(() => w.panel.boundingBox())
        .toEqual({ x: 0, y: 0, width: 390, height: 508 })
      const answer = await w.answer.boundingBox()
      expect(answer!.y + answer!.height).toBeLessThanOrEqual(508)
      await screenshot(page, 'phone-keyboard-open')

      await page.getByRole('button', { name: 'Close chat' }).tap()
      await expect.poll(() => w.launcher.isVisible()).toBe(true)
      expect(trouble.errors).toEqual([])
    } finally {
      await close()
    }
  })

  it('is readable on a phone even when the page has no viewport meta', async () => {
    const { page, close } = await openPage(browser, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    })
    try {
      await page.goto(`${host.url}/no-viewport-meta`)
      // The page is laid out 980 px wide and shown zoomed out: no media query calls it small.
      expect(await page.evaluate(() => window.innerWidth)).toBeGreaterThan(900)
      const w = widget(page)
      await w.launcher.tap()
      await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
      const scale = await page.evaluate(() => window.visualViewport!.scale)
      const panel = (await w.panel.boundingBox())!
      // Covers the visible area; its text is 15 px on the phone's screen, not 15 × 0.4.
      expect(panel.width * scale).toBeCloseTo(390, 0)
      const text = (await page.locator('.msg').first().boundingBox())!
      expect(text.height * scale).toBeGreaterThan(36)
      await screenshot(page, 'phone-no-viewport-meta')
    } finally {
      await close()
    }
  })

  it('works with the keyboard alone, and Escape returns focus to the launcher', async () => {
    const { page, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/plain`)
      const w = widget(page)
      await expect.poll(() => w.launcher.isVisible()).toBe(true)
      await page.keyboard.press('Tab') // the page's link
      await page.keyboard.press('Tab')
      expect(await w.focused()).toBe('button.launcher')
      await page.keyboard.press('Enter')
      expect(await w.launcher.getAttribute('aria-expanded')).toBe('true')
      // The first quick reply, once the bot asked.
      await expect.poll(w.focused).toBe('button.choice')
      await page.keyboard.press('Tab')
      await page.keyboard.press('Enter') // "Book a demo"
      await expect.poll(w.userMessages).toEqual(['Book a demo'])
      await expect.poll(w.focused).toBe('input.')
      await page.keyboard.type('ann@example.com')
      await page.keyboard.press('Enter')
      await expect.poll(() => w.answer.getAttribute('type')).toBe('tel')
      expect(await w.focused()).toBe('input.')
      await page.keyboard.type('0612345678')
      await page.keyboard.press('Enter')
      await expect.poll(w.focused).toBe('button.primary') // Start over
      await screenshot(page, 'keyboard-ended')

      // Backwards from the answer area: the transcript (scrollable), then the close button.
      await page.keyboard.press('Shift+Tab')
      expect(await w.focused()).toBe('div.scroll')
      await page.keyboard.press('Shift+Tab')
      expect(await w.focused()).toBe('button.icon')

      await page.keyboard.press('Escape')
      await expect.poll(() => w.panel.isVisible()).toBe(false)
      expect(await w.focused()).toBe('button.launcher')
      expect(await w.launcher.getAttribute('aria-expanded')).toBe('false')
      await page.keyboard.press('Enter')
      await expect.poll(w.focused).toBe('button.primary')
    } finally {
      await close()
    }
  })

  it('has no serious or critical axe-core violation, open or closed', async () => {
    const { page, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/plain`)
      await page.addScriptTag({ content: AXE })
      const scan = () =>
        page.evaluate(async () => {
          // Messages fade in: contrast is judged once they are there.
          const root = document.querySelector('[data-joon-widget]')!.shadowRoot!
          await Promise.all(
            root
              .getAnimations()
              .filter((a) => a.effect?.getTiming().iterations !== Number.POSITIVE_INFINITY)
              .map((a) => a.finished),
          )
          const axe = (
            window as unknown as { axe: { run(context: Document): Promise<AxeResults> } }
          ).axe
          const { violations } = await axe.run(document)
          return violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
        })
      const w = widget(page)
      await expect.poll(() => w.launcher.isVisible()).toBe(true)
      expect(await scan()).toEqual([])

      await toEmailQuestion(page)
      await w.answer.fill('nope')
      await w.answer.press('Enter')
      await expect.poll(() => w.answer.getAttribute('aria-invalid')).toBe('true')
      expect(await scan()).toEqual([])

      await page.route('**/replies', (route) => route.abort('internetdisconnected'))
      await w.answer.fill('ann@example.com')
      await w.answer.press('Enter')
      await expect.poll(() => page.getByRole('button', { name: 'Retry' }).isVisible()).toBe(true)
      expect(await scan()).toEqual([])
    } finally {
      await close()
    }
  })

  it('follows data-color, data-position and data-title, with readable text on a light colour', async () => {
    const { page, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/themed`)
      const w = widget(page)
      expect((await w.launcher.boundingBox())?.x).toBe(20)
      await w.launcher.click()
      await expect.poll(() => page.getByRole('dialog', { name: 'Sales' }).isVisible()).toBe(true)
      expect((await w.panel.boundingBox())?.x).toBe(20)
      expect(await styleOf(page, '.head', ['background-color', 'color'])).toEqual({
        'background-color': 'rgb(255, 212, 59)',
        color: 'rgb(31, 35, 48)',
      })
      await w.choice('Book a demo').click()
      await expect.poll(w.userMessages).toEqual(['Book a demo'])
      await screenshot(page, 'themed-left-yellow')
    } finally {
      await close()
    }
  })

  it('does not animate for visitors who asked for reduced motion', async () => {
    for (const reducedMotion of ['reduce', 'no-preference'] as const) {
      const { page, close } = await openPage(browser, { reducedMotion })
      try {
        await page.goto(`${host.url}/plain`)
        const w = widget(page)
        await w.launcher.click()
        await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
        const animation = await styleOf(page, '.panel', ['animation-name'])
        expect(animation['animation-name']).toBe(reducedMotion === 'reduce' ? 'none' : 'joon-in')
      } finally {
        await close()
      }
    }
  })
})

interface AxeResults {
  violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[]
}
