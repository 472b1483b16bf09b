/**
 * Issue 16: what an accessibility and hostile-page audit of the widget found, each checked in
 * Chromium against a real @joon/server. Screenshots go to test/screenshots/audit-*.png.
 */
import type { ServerResponse } from 'node:http'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { plans } from './support/bots.ts'
import { axeViolations, launchChromium, openPage, screenshot, widget } from './support/browser.ts'
import { startHost, startJoon } from './support/servers.ts'

let browser: Browser
let joon: Awaited<ReturnType<typeof startJoon>>
let host: Awaited<ReturnType<typeof startHost>>

const VIEWPORT_META = '<meta name="viewport" content="width=device-width, initial-scale=1">'
const PAGE = '<main><h1>Acme</h1><p>Some page.</p><a href="#pricing">Pricing</a></main>'
const LONG_CHOICE = plans.blocks[0]!.choices!.at(-1)!.label

beforeAll(async () => {
  ;[browser, joon] = await Promise.all([launchChromium(), startJoon()])
  const script = (attributes: string) =>
    `<script src="${joon.url}/widget.js" ${attributes} defer></script>`
  const embed = (attributes: string) => `${PAGE}${script(attributes)}`
  const inline = (attributes: string) =>
    `<joon-chat bot="orders" server="${joon.url}" ${attributes}></joon-chat>`
  host = await startHost(joon.url, {
    '/lead': { body: embed('data-bot="lead-gen"'), head: VIEWPORT_META },
    '/orders': { body: embed('data-bot="orders"'), head: VIEWPORT_META },
    '/plans': { body: embed('data-bot="plans"'), head: VIEWPORT_META },
    '/light': { body: embed('data-bot="lead-gen" data-color="#ffd43b"') },
    '/dark': { body: embed('data-bot="lead-gen" data-color="#14213d"') },
    '/id-joon': { body: `<div id="Joon">The page's own Joon</div>${embed('data-bot="lead-gen"')}` },
    '/own-joon': {
      body: `<script>window.Joon = { mine: true }</script>${embed('data-bot="lead-gen"')}`,
    },
    '/two-bots': { body: `${embed('data-bot="lead-gen"')}${script('data-bot="orders"')}` },
    '/inline-many': {
      body: `${inline('heading="One"')}${inline('heading="Two"')}${embed('data-bot="orders"')}`,
    },
    '/inline-shared': {
      body: `${inline('heading="Shared" session="help"')}${embed('data-bot="orders" data-session="help"')}`,
    },
    '/rtl': {
      body: `<script>document.documentElement.dir = 'rtl'</script>${embed('data-bot="orders"')}`,
    },
  })
})

afterAll(async () => {
  await browser?.close()
  await host?.close()
  await joon?.close()
})

/** Makes the orders webhook wait until the test lets it answer with one delayed message. */
function holdOrdersWebhook() {
  const held: ServerResponse[] = []
  joon.receiver.answerWith((_request, response) => {
    held.push(response)
  })
  return {
    held,
    release() {
      for (const response of held.splice(0)) {
        response.writeHead(200, { 'content-type': 'application/json' })
        response.end(
          JSON.stringify({
            responses: [{ type: 'text', delay: 300, elements: [{ label: 'Found it' }] }],
          }),
        )
      }
    },
  }
}

function answerOrdersWith204() {
  joon.receiver.answerWith((_request, response) => response.writeHead(204).end())
}

/** The focused control of the widget, its focus ring's colour and contrast, and clipping. */
function focusRing(page: Page) {
  return page.evaluate(() => {
    const root = document.querySelector('[data-joon-widget]')!.shadowRoot!
    const el = root.activeElement as HTMLElement | null
    if (!el) return null
    const name = `${el.tagName.toLowerCase()}.${el.className} ${el.getAttribute('aria-label') ?? el.textContent ?? ''}`
    const parent = (n: Element): Element | null =>
      n.parentElement ?? (n.parentNode as ShadowRoot | null)?.host ?? null
    const channels = (color: string) => color.match(/[\d.]+/g)!.map(Number)
    const luminance = (color: string) => {
      const [r, g, b] = channels(color).map((v) => {
        const s = v / 255
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
      }) as [number, number, number]
      return 0.2126 * r + 0.7152 * g + 0.0722 * b
    }
    const style = getComputedStyle(el)
    let ring: string
    let outside: number
    if (style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) >= 2) {
      ring = style.outlineColor
      outside = Number.parseFloat(style.outlineOffset) + Number.parseFloat(style.outlineWidth)
    } else {
      const shadow = /rgba?\([^)]*\)/.exec(style.boxShadow)
      if (!shadow) return { name, ring: 'none', behind: '', contrast: 0, clipped: false }
      ring = shadow[0]
      outside = 1
    }
    // What the ring is drawn on: the control itself for an inset ring, else what is around it.
    let behind = 'rgb(255, 255, 255)'
    for (let n: Element | null = outside <= 0 ? el : parent(el); n; n = parent(n)) {
      const background = getComputedStyle(n).backgroundColor
      const c = channels(background)
      if (c.length === 3 || c[3] === 1) {
        behind = background
        break
      }
    }
    const [hi, lo] = [luminance(ring), luminance(behind)].sort((a, b) => b - a) as [number, number]
    // The ring's box must fit inside every ancestor that clips its content.
    const box = el.getBoundingClientRect()
    const grow = Math.max(outside, 0)
    let clipped = false
    for (let n = parent(el); n; n = parent(n)) {
      const s = getComputedStyle(n)
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue
      const clip = n.getBoundingClientRect()
      if (
        box.left - grow < clip.left - 0.5 ||
        box.top - grow < clip.top - 0.5 ||
        box.right + grow > clip.right + 0.5 ||
        box.bottom + grow > clip.bottom + 0.5
      ) {
        clipped = true
      }
    }
    return { name, ring, behind, contrast: (hi + 0.05) / (lo + 0.05), clipped }
  })
}

describe('issue 16, High', () => {
  it('1: mounts beside an element with id="Joon" and a page-owned window.Joon, leaving both alone', async () => {
    for (const path of ['/id-joon', '/own-joon']) {
      const { page, trouble, close } = await openPage(browser)
      try {
        const warnings: string[] = []
        page.on('console', (m) => {
          if (m.type() === 'warning') warnings.push(m.text())
        })
        await page.goto(host.url + path)
        const w = widget(page)
        await expect.poll(() => w.launcher.isVisible()).toBe(true)
        // The page's own value is untouched.
        expect(
          await page.evaluate(() => {
            const own = (window as unknown as { Joon: unknown }).Joon
            return own instanceof HTMLElement ? own.id : JSON.stringify(own)
          }),
        ).toBe(path === '/id-joon' ? 'Joon' : '{"mine":true}')
        expect(warnings).toEqual(['Joon: window.Joon is taken; use window.JoonWidget'])
        await page.evaluate(() => window.JoonWidget?.open())
        await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
        expect(trouble).toEqual({ errors: [], dialogs: [] })
      } finally {
        await close()
      }
    }
  })

  it('2: at 200% and 400% zoom the panel is full screen and the question stays readable', async () => {
    // 1280×800 at 200% and at 400%: the CSS viewport shrinks, the device pixels stay.
    for (const [width, height, zoom] of [
      [640, 400, 2],
      [320, 256, 4],
    ] as const) {
      const { page, trouble, close } = await openPage(browser, {
        viewport: { width, height },
        deviceScaleFactor: zoom,
      })
      try {
        await page.goto(`${host.url}/plans`)
        const w = widget(page)
        await w.launcher.click()
        await expect.poll(w.botMessages).toEqual([plans.blocks[0]!.text])
        expect(await w.panel.boundingBox()).toEqual({ x: 0, y: 0, width, height })
        expect(await w.panel.getAttribute('aria-modal')).toBe('true')
        await screenshot(page, `audit-zoom-${zoom * 100}`)
        // The transcript keeps a readable height and shows the whole question.
        const log = (await w.log.boundingBox())!
        expect(log.height, `${width}×${height}`).toBeGreaterThanOrEqual(96)
        const question = (await page.locator('.group.bot .msg').last().boundingBox())!
        expect(question.y).toBeGreaterThanOrEqual(log.y)
        expect(question.y + question.height).toBeLessThanOrEqual(log.y + log.height)
        // Every choice can be scrolled to and used, the long one too.
        const choices = (await page.locator('.choices').boundingBox())!
        for (const choice of plans.blocks[0]!.choices!) {
          const button = w.choice(choice.label)
          await button.scrollIntoViewIfNeeded()
          const box = (await button.boundingBox())!
          // Scrolled to, it shows whole, or fills the choices' area when taller than it.
          const shown =
            Math.min(box.y + box.height, choices.y + choices.height) - Math.max(box.y, choices.y)
          expect(shown, choice.label).toBeGreaterThanOrEqual(
            Math.min(box.height, choices.height) - 1,
          )
          expect(box.x + box.width).toBeLessThanOrEqual(width)
        }
        expect(await axeViolations(page)).toEqual([])
        await w.choice(LONG_CHOICE).click()
        await expect.poll(w.userMessages).toEqual([LONG_CHOICE])
        expect(trouble).toEqual({ errors: [], dialogs: [] })
      } finally {
        await close()
      }
    }
  })

  it('3: every focus ring has 3:1 against what is behind it, whatever the brand colour', async () => {
    for (const path of ['/lead', '/light', '/dark']) {
      const { page, close } = await openPage(browser)
      try {
        await page.goto(host.url + path)
        const w = widget(page)
        await expect.poll(() => w.launcher.isVisible()).toBe(true)
        const rings = new Map<string, Awaited<ReturnType<typeof focusRing>>>()
        const record = async () => {
          const ring = await focusRing(page)
          if (ring) rings.set(ring.name, ring)
        }
        await page.keyboard.press('Tab') // the page's link
        await page.keyboard.press('Tab')
        await record() // the launcher, on the page
        await page.keyboard.press('Enter')
        await expect.poll(w.focused).toBe('button.choice')
        for (let i = 0; i < 4; i++) {
          await page.keyboard.press('Tab')
          await record()
        }
        await w.launcher.focus()
        for (let i = 0; i < 3; i++) {
          await page.keyboard.press('Tab') // the Close button, the transcript, a choice
          await record()
        }
        await w.choice('Book a demo').click()
        await expect.poll(w.focused).toBe('input.')
        await record()
        await page.keyboard.press('Tab')
        await record() // Send
        await page.route('**/replies', (route) => route.abort('internetdisconnected'))
        await w.answer.fill('ann@example.com')
        await w.answer.press('Enter')
        await expect.poll(() => page.getByRole('button', { name: 'Retry' }).isVisible()).toBe(true)
        await page.keyboard.press('Shift+Tab')
        await record() // Retry
        await screenshot(page, `audit-focus-${path.slice(1)}`)

        const names = [...rings.keys()].map((name) => name.split(' ')[0])
        for (const control of [
          'button.launcher',
          'button.icon',
          'div.scroll',
          'button.choice',
          'input.',
          'button.send',
          'button.link',
        ]) {
          expect(names, path).toContain(control)
        }
        for (const ring of rings.values()) {
          expect(
            ring!.contrast,
            `${path} ${ring!.name}: ${ring!.ring} on ${ring!.behind}`,
          ).toBeGreaterThanOrEqual(3)
          expect(ring!.clipped, `${path} ${ring!.name} clipped`).toBe(false)
        }
      } finally {
        await close()
      }
    }
  })

  it('4: each <joon-chat> starts one conversation, however many attributes it has', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      let starts = 0
      page.on('request', (request) => {
        if (request.method() === 'POST' && request.url().endsWith('/conversations')) starts++
      })
      await page.goto(`${host.url}/inline-many`)
      for (const heading of ['One', 'Two']) {
        const region = page.getByRole('region', { name: heading })
        await expect
          .poll(() => region.getByRole('log').textContent())
          .toContain('Your order number?')
      }
      expect(starts).toBe(2)
      const w = widget(page)
      await w.launcher.click()
      await expect.poll(w.botMessages).toContain('Your order number?')
      expect(starts).toBe(3)
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })
})

describe('issue 16, Medium', () => {
  it('5: full screen is modal: the page is inert and Tab stays in the chat until it closes', async () => {
    const { page, trouble, close } = await openPage(browser, {
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    })
    try {
      await page.goto(`${host.url}/lead`)
      const w = widget(page)
      await w.launcher.tap()
      await expect.poll(w.focused).toBe('button.choice')
      expect(await w.panel.getAttribute('aria-modal')).toBe('true')
      expect(await page.locator('main').evaluate((el) => (el as HTMLElement).inert)).toBe(true)
      const inWidget = () =>
        page.evaluate(() => document.activeElement?.hasAttribute('data-joon-widget') ?? false)
      for (const key of ['Tab', 'Shift+Tab']) {
        for (let i = 0; i < 8; i++) {
          await page.keyboard.press(key)
          // Focus is in the chat, or (past its ends) on the browser's own UI, never the page.
          expect(
            await page.evaluate(() => {
              const active = document.activeElement
              return !active || active === document.body || active.hasAttribute('data-joon-widget')
            }),
            `${key} ×${i + 1}`,
          ).toBe(true)
        }
      }
      await w.choice('Just browsing').tap()
      await expect.poll(inWidget).toBe(true)
      expect(await axeViolations(page)).toEqual([])
      await page.getByRole('button', { name: 'Close chat' }).tap()
      await expect.poll(() => w.launcher.isVisible()).toBe(true)
      expect(await page.locator('main').evaluate((el) => (el as HTMLElement).inert)).toBe(false)
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })

  it('6: Retry keeps keyboard focus in the chat', async () => {
    const { page, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/orders`)
      const w = widget(page)
      await w.launcher.click()
      await expect.poll(w.botMessages).toEqual(['Your order number?'])
      let failures = 1
      let release = () => {}
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      await page.route('**/replies', async (route) => {
        if (failures-- > 0) return route.abort('internetdisconnected')
        await held
        await route.continue()
      })
      await w.answer.fill('A-1')
      await w.answer.press('Enter')
      const retry = page.getByRole('button', { name: 'Retry' })
      await expect.poll(() => retry.isVisible()).toBe(true)
      await page.keyboard.press('Shift+Tab')
      expect(await w.focused()).toBe('button.link')
      await page.keyboard.press('Enter')
      await expect.poll(() => retry.count()).toBe(0)
      // The retried reply is in flight: the visitor is on the answer box, not the page.
      expect(await w.focused()).toBe('input.')
      release()
      await expect.poll(w.botMessages).toContain('Anything else?')
      await expect.poll(w.focused).toBe('button.choice')
    } finally {
      await close()
    }
  })

  it('7: the inline chat and the bubble keep their own state unless they name the same session', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/inline-many`)
      const one = page.getByRole('region', { name: 'One' })
      const two = page.getByRole('region', { name: 'Two' })
      await expect.poll(() => one.getByRole('log').textContent()).toContain('Your order number?')
      await one.getByRole('textbox', { name: 'Your answer' }).fill('A-1')
      await one.getByRole('textbox', { name: 'Your answer' }).press('Enter')
      await expect.poll(() => one.getByRole('log').textContent()).toContain('Anything else?')

      await page.reload()
      const w = widget(page)
      await expect.poll(() => one.getByRole('log').textContent()).toContain('Anything else?')
      await expect.poll(() => two.getByRole('log').textContent()).toContain('Your order number?')
      expect(await two.getByRole('log').textContent()).not.toContain('A-1')
      // The inline chats being open did not open the bubble.
      expect(await w.launcher.getAttribute('aria-expanded')).toBe('false')
      expect(await w.panel.isVisible()).toBe(false)

      // session="help" and data-session="help": one conversation on purpose.
      await page.goto(`${host.url}/inline-shared`)
      const shared = page.getByRole('region', { name: 'Shared' })
      await expect.poll(() => shared.getByRole('log').textContent()).toContain('Your order number?')
      await shared.getByRole('textbox', { name: 'Your answer' }).fill('B-2')
      await shared.getByRole('textbox', { name: 'Your answer' }).press('Enter')
      await expect.poll(() => shared.getByRole('log').textContent()).toContain('Anything else?')
      await page.reload()
      expect(await w.launcher.getAttribute('aria-expanded')).toBe('false')
      await w.launcher.click()
      await expect.poll(() => w.panel.textContent()).toContain('B-2')
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      answerOrdersWith204()
      await close()
    }
  })

  it('8, 9, 14: a reply in flight shows typing at once, busies the log, and takes no text to lose', async () => {
    const webhook = holdOrdersWebhook()
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/orders`)
      const w = widget(page)
      await w.launcher.click()
      await expect.poll(w.botMessages).toEqual(['Your order number?'])
      // Counts what the status line says, to prove "Typing" is said once per wait.
      await page.evaluate(() => {
        const root = document.querySelector('[data-joon-widget]')!.shadowRoot!
        const status = root.querySelector('[role=status]')!
        const said: string[] = []
        ;(window as unknown as { said: string[] }).said = said
        new MutationObserver(() => said.push(status.textContent ?? '')).observe(status, {
          subtree: true,
          childList: true,
          characterData: true,
        })
      })
      await w.answer.fill('A-1002')
      await w.answer.press('Enter')
      await expect.poll(() => webhook.held.length).toBe(1)
      // The webhook has not answered: the dots show already, the log is busy.
      expect(await w.typing.isVisible()).toBe(true)
      expect(await w.log.getAttribute('aria-busy')).toBe('true')
      expect(await w.answer.getAttribute('readonly')).not.toBeNull()
      await page.keyboard.type('1002')
      await page.keyboard.press('Enter')
      expect(await w.answer.inputValue()).toBe('')
      expect(await w.userMessages()).toEqual(['A-1002'])
      await screenshot(page, 'audit-reply-in-flight')
      expect(await axeViolations(page)).toEqual([])

      webhook.release()
      await expect.poll(w.botMessages).toContain('Anything else?')
      expect(await w.log.getAttribute('aria-busy')).toBe('false')
      expect(await w.typing.count()).toBe(0)
      const said = await page.evaluate(() => (window as unknown as { said: string[] }).said)
      expect(said.filter((s) => s !== '')).toEqual(['Typing…'])
      expect(said.at(-1)).toBe('')
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      answerOrdersWith204()
      await close()
    }
  })

  it('14: text typed while the first question loads is not taken, then lost to its buttons', async () => {
    const { page, close } = await openPage(browser)
    try {
      let release = () => {}
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      await page.route('**/conversations', async (route) => {
        await held
        await route.continue()
      })
      await page.goto(`${host.url}/lead`)
      const w = widget(page)
      await w.launcher.click()
      await expect.poll(w.focused).toBe('input.')
      expect(await w.answer.getAttribute('readonly')).not.toBeNull()
      await page.keyboard.type('hello')
      expect(await w.answer.inputValue()).toBe('')
      release()
      await expect.poll(w.focused).toBe('button.choice')
    } finally {
      await close()
    }
  })

  it('9: restored history is not read out again; errors are announced', async () => {
    const { page, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/lead`)
      const w = widget(page)
      await w.launcher.click()
      await w.choice('Book a demo').click()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('email')
      expect(await w.log.getAttribute('aria-live')).toBeNull()

      await page.reload()
      await expect
        .poll(w.botMessages)
        .toEqual(['What brings you here today?', "What's your email address?"])
      expect(await w.log.getAttribute('aria-live')).toBe('off')
      await w.answer.fill('ann@example.com')
      await w.answer.press('Enter')
      await expect.poll(() => w.answer.getAttribute('type')).toBe('tel')
      // News again: the log is a polite live region (role="log") once more.
      expect(await w.log.getAttribute('aria-live')).toBeNull()

      await page.evaluate(() => localStorage.clear())
      await page.route('**/conversations', (route) => route.abort('internetdisconnected'))
      await page.reload()
      await w.launcher.click()
      const alert = page.getByRole('alert')
      await expect.poll(() => alert.textContent()).toBe('Could not reach the chat.')
      expect(await axeViolations(page)).toEqual([])
    } finally {
      await close()
    }
  })

  it('10: messages and the answer box follow their own text direction', async () => {
    const arabic = 'رقم طلبي ١٠٠٢'
    for (const path of ['/orders', '/rtl']) {
      const { page, close } = await openPage(browser)
      try {
        await page.goto(host.url + path)
        const w = widget(page)
        await w.launcher.click()
        await expect.poll(w.botMessages).toEqual(['Your order number?'])
        await w.answer.fill(arabic)
        const direction = (selector: string) =>
          page
            .locator(selector)
            .last()
            .evaluate((el) => getComputedStyle(el).direction)
        expect(await direction('.answer input')).toBe('rtl')
        await w.answer.press('Enter')
        await expect.poll(w.userMessages).toEqual([arabic])
        expect(await direction('.group.user .msg')).toBe('rtl')
        expect(await direction('.group.bot .msg')).toBe('ltr')
        await expect.poll(w.botMessages).toContain('Anything else?')
        await screenshot(page, `audit-direction${path.replace('/', '-')}`)
        expect(await axeViolations(page)).toEqual([])
      } finally {
        await close()
      }
    }
  })

  it('11: in forced colours the panel, launcher, Send, bubbles and typing dots stay visible', async () => {
    const webhook = holdOrdersWebhook()
    const { page, close } = await openPage(browser, { forcedColors: 'active' })
    try {
      await page.goto(`${host.url}/orders`)
      expect(await page.evaluate(() => matchMedia('(forced-colors: active)').matches)).toBe(true)
      const w = widget(page)
      const edge = (selector: string) =>
        page
          .locator(selector)
          .first()
          .evaluate((el) => {
            const s = getComputedStyle(el)
            return `${s.borderTopStyle} ${Number.parseFloat(s.borderTopWidth) >= 1}`
          })
      expect(await edge('.launcher')).toBe('solid true')
      await w.launcher.click()
      await expect.poll(w.botMessages).toEqual(['Your order number?'])
      await w.answer.fill('A-1')
      await w.answer.press('Enter')
      await expect.poll(() => w.typing.isVisible()).toBe(true)
      for (const selector of ['.panel', '.send', '.group.user .msg', '.typing']) {
        expect(await edge(selector), selector).toBe('solid true')
      }
      const dots = await page
        .locator('.typing i')
        .first()
        .evaluate((el) => [
          getComputedStyle(el).backgroundColor,
          getComputedStyle(el.parentElement!).backgroundColor,
        ])
      expect(dots[0]).not.toBe(dots[1])
      await screenshot(page, 'audit-forced-colors')
      webhook.release()
      await expect.poll(w.botMessages).toContain('Anything else?')
    } finally {
      answerOrdersWith204()
      await close()
    }
  })

  it('clears the invalid state as soon as the next answer is sent', async () => {
    const { page, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/lead`)
      const w = widget(page)
      await w.launcher.click()
      await w.choice('Book a demo').click()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('email')
      await w.answer.fill('nope')
      await w.answer.press('Enter')
      await expect.poll(() => w.answer.getAttribute('aria-invalid')).toBe('true')
      // The next reply's messages take a while to show: a thank-you now, a question later.
      await page.route('**/replies', (route) =>
        route.fulfill({
          contentType: 'application/json',
          body: JSON.stringify({
            responses: [
              { type: 'text', elements: [{ label: 'Thanks!' }] },
              { type: 'text', delay: 3000, elements: [{ label: "What's your phone number?" }] },
            ],
            input: { type: 'phone' },
            ended: false,
          }),
        }),
      )
      await w.answer.fill('ann@example.com')
      await w.answer.press('Enter')
      await expect.poll(w.botMessages).toContain('Thanks!')
      // While the next messages arrive, the box no longer says the last answer was wrong.
      expect(await w.typing.isVisible()).toBe(true)
      expect(await w.answer.getAttribute('aria-invalid')).toBeNull()
      expect(await w.answer.getAttribute('aria-describedby')).toBeNull()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('tel')
    } finally {
      await close()
    }
  })
})

describe('issue 16, Low', () => {
  it('13: a second script tag for another bot is not silently ignored', async () => {
    const { page, close } = await openPage(browser)
    try {
      const warnings: string[] = []
      page.on('console', (m) => {
        if (m.type() === 'warning') warnings.push(m.text())
      })
      await page.goto(`${host.url}/two-bots`)
      const w = widget(page)
      await expect.poll(() => w.launcher.isVisible()).toBe(true)
      expect(await page.locator('[data-joon-widget]').count()).toBe(1)
      expect(warnings).toEqual(['Joon: one bubble a page, orders ignored'])
    } finally {
      await close()
    }
  })

  it('15: an answer marked "Not sent" is still there, with its Retry, after a reload', async () => {
    const { page, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/lead`)
      const w = widget(page)
      await w.launcher.click()
      await w.choice('Book a demo').click()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('email')
      await page.route('**/replies', (route) => route.abort('internetdisconnected'))
      await w.answer.fill('ann@example.com')
      await w.answer.press('Enter')
      const retry = page.getByRole('button', { name: 'Retry' })
      await expect.poll(() => retry.isVisible()).toBe(true)

      await page.unroute('**/replies')
      await page.reload()
      await expect.poll(() => retry.isVisible()).toBe(true)
      expect(await w.userMessages()).toEqual(['Book a demo', 'ann@example.com'])
      expect(await page.getByText('Not sent.').count()).toBe(1)
      await retry.click()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('tel')
      // Sent: a reload no longer brings it back as unsent.
      await page.reload()
      await expect.poll(w.botMessages).toContain("What's your phone number?")
      expect(await page.getByText('Not sent.').count()).toBe(0)
      expect(await w.userMessages()).toEqual(['Book a demo', 'ann@example.com'])
    } finally {
      await close()
    }
  })

  it('19: text follows the visitor’s default font size (24 px), not the page’s rem', async () => {
    const { page, close } = await openPage(browser)
    try {
      const cdp = await page.context().newCDPSession(page)
      await cdp.send('Page.setFontSizes', { fontSizes: { standard: 24 } })
      await page.goto(`${host.url}/orders`)
      const w = widget(page)
      await w.launcher.click()
      await expect.poll(w.botMessages).toEqual(['Your order number?'])
      const size = (selector: string) =>
        page
          .locator(selector)
          .first()
          .evaluate((el) => getComputedStyle(el).fontSize)
      // 15 px and 16 px at the usual 16 px default; half as large again at 24 px.
      expect(await size('.msg')).toBe('22.5px')
      expect(await size('.answer input')).toBe('22.5px')
      expect(await size('.head h2')).toMatch(/^25\.\d+px$/)
      await screenshot(page, 'audit-font-24')
      expect(await axeViolations(page)).toEqual([])
    } finally {
      await close()
    }
  })
})

describe('issue 16, item 12: compressed text responses', () => {
  it('sends /widget.js to Chromium brotli-compressed, at most 12 KB on the wire', async () => {
    const { page, close } = await openPage(browser)
    try {
      const seen = new Promise<{ headers: Record<string, string>; bodySize: number }>((resolve) => {
        page.on('response', async (response) => {
          if (!response.url().endsWith('/widget.js')) return
          const sizes = await response.request().sizes()
          resolve({ headers: await response.allHeaders(), bodySize: sizes.responseBodySize })
        })
      })
      await page.goto(`${host.url}/lead`)
      const { headers, bodySize } = await seen
      expect(headers['content-encoding']).toBe('br')
      expect(headers.vary).toMatch(/accept-encoding/i)
      expect(headers.etag).toMatch(/^"[\w-]+-br"$/)
      expect(bodySize).toBeGreaterThan(5_000)
      expect(bodySize).toBeLessThanOrEqual(12 * 1024)
      await expect.poll(() => widget(page).launcher.isVisible()).toBe(true)
    } finally {
      await close()
    }
  })

  it('negotiates gzip, brotli or none, with an ETag per encoding and long caching when versioned', async () => {
    const get = (encoding: string, path = '/widget.js', headers: Record<string, string> = {}) =>
      new Promise<{
        status: number
        headers: Record<string, string | string[] | undefined>
        bytes: number
      }>((resolve, reject) => {
        // node:http, which (unlike fetch) neither asks for nor undoes a compression itself.
        void import('node:http').then(({ get }) =>
          get(
            `${joon.url}${path}`,
            { headers: { 'accept-encoding': encoding, ...headers } },
            (response) => {
              let bytes = 0
              response.on('data', (chunk: Buffer) => {
                bytes += chunk.length
              })
              response.on('end', () =>
                resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes }),
              )
            },
          ).on('error', reject),
        )
      })
    const identity = await get('identity')
    const gzip = await get('gzip, deflate')
    const br = await get('gzip, deflate, br')
    expect(identity.headers['content-encoding']).toBeUndefined()
    expect(gzip.headers['content-encoding']).toBe('gzip')
    expect(br.headers['content-encoding']).toBe('br')
    expect(gzip.bytes).toBeLessThanOrEqual(12.5 * 1024)
    expect(br.bytes).toBeLessThan(gzip.bytes)
    expect(identity.bytes).toBeGreaterThan(2 * gzip.bytes)
    const etags = [identity, gzip, br].map((r) => r.headers.etag as string)
    expect(new Set(etags).size).toBe(3)
    for (const r of [identity, gzip, br]) {
      expect(r.headers.vary).toMatch(/accept-encoding/i)
      expect(r.headers['cache-control']).toBe('public, max-age=300, must-revalidate')
    }
    // Any of them names the same bundle: 304.
    expect(
      (await get('gzip, deflate, br', '/widget.js', { 'if-none-match': etags[1]! })).status,
    ).toBe(304)
    // The versioned URL, with the ETag's first 12 characters, is cached for good.
    const version = etags[0]!.slice(1, 13)
    const versioned = await get('br', `/widget.js?v=${version}`)
    expect(versioned.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect((await get('br', '/widget.js?v=old')).headers['cache-control']).toContain('max-age=300')

    // The console's files, compressed once at start.
    const script = await get('gzip, br', '/admin/console.js')
    expect(script.status).toBe(200)
    expect(script.headers['content-encoding']).toBe('br')
    expect(script.headers.etag).toMatch(/-br"$/)
    expect((await get('gzip', '/admin/console.css')).headers['content-encoding']).toBe('gzip')
  })

  it('compresses API JSON of 1 KB or more, and leaves a small turn as it is', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${joon.url}/api/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': 'br, gzip' },
        body: JSON.stringify(body),
      })
    const start = await post('/bots/hostile/conversations', {})
    expect(start.headers.get('content-encoding')).toBeNull()
    const { conversationId } = (await start.json()) as { conversationId: string }
    await post(`/conversations/${conversationId}/replies`, { text: 'x'.repeat(3000) })
    const view = await fetch(`${joon.url}/api/v1/conversations/${conversationId}`, {
      headers: { 'accept-encoding': 'gzip' },
    })
    expect(view.headers.get('content-encoding')).toBe('gzip')
    expect(view.headers.get('vary')).toMatch(/accept-encoding/i)
    // fetch undid the gzip: the JSON is whole.
    const body = (await view.json()) as { messages: { text: string }[] }
    expect(body.messages.map((m) => m.text)).toContain('x'.repeat(3000))
  })
})
