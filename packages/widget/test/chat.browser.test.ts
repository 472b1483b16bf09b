import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { widgetBundlePath } from '../src/bundle-path.ts'
import { HOSTILE_LABEL } from './support/bots.ts'
import { launchChromium, openPage, screenshot, widget } from './support/browser.ts'
import { startHost, startJoon } from './support/servers.ts'

interface Snapshot {
  t: number
  typing: boolean
  messages: string[]
}

let browser: Browser
let joon: Awaited<ReturnType<typeof startJoon>>
let host: Awaited<ReturnType<typeof startHost>>

const embed = (bot: string, attributes = '') =>
  `<main><h1>Acme</h1><p>Some page.</p></main><script src="${joon.url}/widget.js" data-bot="${bot}" ${attributes} defer></script>`

beforeAll(async () => {
  ;[browser, joon] = await Promise.all([launchChromium(), startJoon()])
  const resolve = createRequire(import.meta.url).resolve
  host = await startHost(
    joon.url,
    {
      '/lead': { body: embed('lead-gen') },
      '/orders': { body: embed('orders', 'data-title="Order help"') },
      '/hostile': { body: embed('hostile') },
      '/kinds': { body: embed('kinds') },
      '/twice': {
        body: `${embed('lead-gen')}<script src="${joon.url}/widget.js" data-bot="orders" defer></script>`,
      },
      '/inline': {
        body: `<h1>Support</h1><joon-chat bot="orders" server="${joon.url}" heading="Orders"></joon-chat><script src="${joon.url}/widget.js" defer></script>`,
      },
      // In <head> without defer (no body yet), from the site's origin, data-server elsewhere.
      '/in-head': {
        head: `<script src="/widget.js" data-bot="lead-gen" data-server="${joon.url}/"></script>`,
        body: '<h1>Acme</h1>',
      },
      // The ESM build as a bundler would use it: Preact is the page's own.
      '/esm': {
        head: `<script type="importmap">${JSON.stringify({ imports: { preact: '/vendor/preact.js', 'preact/jsx-runtime': '/vendor/jsx-runtime.js' } })}</script>`,
        body: `<h1>App</h1><script type="module">
        import { mount } from '/esm/index.js'
        window.widget = mount({ container: document.body, server: '${joon.url}', bot: 'orders', title: 'ESM', position: 'left' })
      </script>`,
      },
    },
    {
      '/esm/index.js': fileURLToPath(new URL('../dist/index.js', import.meta.url)),
      '/vendor/preact.js': resolve('preact').replace(/preact\.js$/, 'preact.module.js'),
      '/vendor/jsx-runtime.js': resolve('preact/jsx-runtime').replace(
        /jsxRuntime\.js$/,
        'jsxRuntime.module.js',
      ),
    },
  )
})

afterAll(async () => {
  await browser?.close()
  await host?.close()
  await joon?.close()
})

async function openChat(page: Page, path: string) {
  await page.goto(host.url + path)
  const w = widget(page)
  await w.launcher.click()
  await expect.poll(() => w.panel.isVisible()).toBe(true)
  return w
}

describe('the widget against a real @joon/server', () => {
  it('runs the lead-generation conversation to the end, with a refused email on the way', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/lead`)
      const launcher = page.getByRole('button', { name: 'Chat', exact: true })
      expect(await launcher.getAttribute('aria-expanded')).toBe('false')
      await launcher.click()
      const w = widget(page)
      expect(await launcher.getAttribute('aria-expanded')).toBe('true')
      expect(await w.panel.getAttribute('aria-labelledby')).toBe('joon-title')
      expect(await page.getByRole('dialog', { name: 'Chat' }).count()).toBe(1)
      await expect.poll(w.botMessages).toEqual(['What brings you here today?'])

      await w.choice('Book a demo').click()
      await expect.poll(w.userMessages).toEqual(['Book a demo'])
      await expect.poll(w.botMessages).toContain("What's your email address?")
      await expect.poll(() => w.answer.getAttribute('type')).toBe('email')
      expect(await w.answer.getAttribute('autocomplete')).toBe('email')
      expect(await w.answer.getAttribute('inputmode')).toBe('email')
      // Focus followed from the chosen button to the new text box.
      expect(await w.focused()).toBe('input.')

      await w.answer.fill('not-an-email')
      await w.answer.press('Enter')
      await expect.poll(() => w.answer.getAttribute('aria-invalid')).toBe('true')
      const retry = (await w.botMessages()).at(-1)
      expect(retry).toMatch(/doesn't look like an email/)
      const describedBy = await w.answer.getAttribute('aria-describedby')
      expect(await page.locator(`#${describedBy}`).textContent()).toBe(retry)

      await w.answer.fill('ann@example.com')
      await w.send.click()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('tel')
      expect(await w.answer.getAttribute('aria-invalid')).toBeNull()
      expect(await w.answer.getAttribute('autocomplete')).toBe('tel')

      await w.answer.fill('0612345678')
      await w.answer.press('Enter')
      await expect.poll(w.botMessages).toContain('Thanks! We will write to ann@example.com.')
      const startOver = page.getByRole('button', { name: 'Start over' })
      await expect.poll(() => startOver.isVisible()).toBe(true)
      expect(await w.answer.count()).toBe(0)
      expect(await w.userMessages()).toEqual([
        'Book a demo',
        'not-an-email',
        'ann@example.com',
        '0612345678',
      ])
      await screenshot(page, 'lead-gen-ended')

      await startOver.click()
      await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
      expect(await w.userMessages()).toEqual([])
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })

  it("shows a sync webhook's instructions in order, each after its delay under a typing indicator", async () => {
    joon.receiver.answerWith((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({
          responses: [
            {
              type: 'text',
              delay: 1200,
              elements: [{ label: 'Good morning John', order: 1, placeholder: null }],
            },
            { type: 'carousel', elements: [] },
            {
              type: 'text',
              delay: 1200,
              elements: [
                { label: 'It ships today', order: 2, placeholder: null },
                { label: 'Your order is on its way', order: 1, placeholder: null },
              ],
            },
          ],
        }),
      )
    })
    const { page, trouble, close } = await openPage(browser)
    try {
      const w = await openChat(page, '/orders')
      expect(await page.getByRole('dialog', { name: 'Order help' }).count()).toBe(1)
      await expect.poll(w.botMessages).toEqual(['Your order number?'])
      expect(await w.answer.getAttribute('placeholder')).toBe('e.g. A-1001')

      // Records, in the page, every change of the typing indicator and of the messages.
      await page.evaluate(() => {
        const root = document.querySelector('[data-joon-widget]')!.shadowRoot!
        const snapshots: Snapshot[] = []
        ;(window as unknown as { snapshots: Snapshot[] }).snapshots = snapshots
        new MutationObserver(() => {
          const messages = [...root.querySelectorAll('.msg')].map(
            (m) => m.lastChild?.textContent ?? '',
          )
          snapshots.push({
            t: performance.now(),
            typing: !!root.querySelector('.typing'),
            messages,
          })
        }).observe(root, { subtree: true, childList: true, characterData: true })
      })
      await w.answer.fill('A-1001')
      await w.answer.press('Enter')
      await expect.poll(() => w.typing.isVisible()).toBe(true)
      await screenshot(page, 'typing-indicator')
      expect(await w.botMessages()).toEqual(['Your order number?'])
      await expect.poll(w.botMessages, { timeout: 10_000 }).toContain('Anything else?')

      const snapshots = await page.evaluate(
        () => (window as unknown as { snapshots: Snapshot[] }).snapshots,
      )
      // When each message first appeared, and whether the indicator was on just before.
      const arrivals = new Map<string, { t: number; typingBefore: boolean }>()
      snapshots.forEach((snapshot, i) => {
        for (const text of snapshot.messages.slice(1)) {
          if (arrivals.has(text)) continue
          arrivals.set(text, { t: snapshot.t, typingBefore: snapshots[i - 1]?.typing ?? false })
        }
      })
      expect([...arrivals.keys()]).toEqual([
        'A-1001',
        'Good morning John',
        'Your order is on its way',
        'It ships today',
        'Anything else?',
      ])
      const typingFrom = snapshots.find((s) => s.typing)!.t
      const at = (text: string) => arrivals.get(text)!
      expect(at('Good morning John').t - typingFrom).toBeGreaterThanOrEqual(1150)
      expect(at('Your order is on its way').t - at('Good morning John').t).toBeGreaterThanOrEqual(
        1150,
      )
      for (const text of ['Good morning John', 'Your order is on its way']) {
        expect(at(text).typingBefore, text).toBe(true)
      }
      // The delay is the instruction's, once: its second element comes with its first.
      expect(at('It ships today').t).toBe(at('Your order is on its way').t)
      // Nothing waits before the bot's own question, and the indicator is gone at the end.
      expect(at('Anything else?').t - at('It ships today').t).toBeLessThan(300)
      expect(snapshots.at(-1)!.typing).toBe(false)
      // The webhook's messages were grouped with the question that follows.
      expect(await page.locator('.group.bot').count()).toBe(2)
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      joon.receiver.answerWith((_request, response) => response.writeHead(204).end())
      await close()
    }
  })

  it('counts messages that arrive while the panel is closed on the launcher', async () => {
    joon.receiver.answerWith((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({
          responses: [{ type: 'text', delay: 600, elements: [{ label: 'Found it' }] }],
        }),
      )
    })
    const { page, close } = await openPage(browser)
    try {
      const w = await openChat(page, '/orders')
      await expect.poll(w.botMessages).toEqual(['Your order number?'])
      await w.answer.fill('A-1')
      await w.answer.press('Enter')
      await page.keyboard.press('Escape')
      await expect.poll(() => w.launcher.getAttribute('aria-label')).toBe('Chat, 2 unread messages')
      expect(await page.locator('.badge').textContent()).toBe('2')
      await screenshot(page, 'unread-badge')
      await w.launcher.click()
      await expect.poll(() => w.launcher.getAttribute('aria-label')).toBe('Chat')
      expect(await page.locator('.badge').count()).toBe(0)
    } finally {
      joon.receiver.answerWith((_request, response) => response.writeHead(204).end())
      await close()
    }
  })

  it('shows markup from the bot and the visitor as text, never as HTML', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      const w = await openChat(page, '/hostile')
      await expect.poll(w.botMessages).toEqual([`Hello ${HOSTILE_LABEL}`, 'Pick one'])
      await w.choice(HOSTILE_LABEL).click()
      await expect.poll(w.userMessages).toEqual([HOSTILE_LABEL])
      await w.answer.fill('<script>alert(2)</script>')
      await w.answer.press('Enter')
      await expect.poll(w.botMessages).toContain('You said <script>alert(2)</script>')
      const root = page.locator('[data-joon-widget]')
      expect(
        await root.evaluate((el) => el.shadowRoot!.querySelectorAll('img, script, b').length),
      ).toBe(0)
      await page.waitForTimeout(100)
      expect(trouble).toEqual({ errors: [], dialogs: [] })
      await screenshot(page, 'markup-as-text')
    } finally {
      await close()
    }
  })

  it('resumes after a reload, open or closed, and starts afresh when the server forgot it', async () => {
    const { page, close } = await openPage(browser)
    try {
      const w = await openChat(page, '/lead')
      await w.choice('Book a demo').click()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('email')
      await w.answer.fill('ann@example.com')
      await w.answer.press('Enter')
      await expect.poll(() => w.answer.getAttribute('type')).toBe('tel')
      const before = { bot: await w.botMessages(), user: await w.userMessages() }

      await page.reload()
      await expect.poll(() => w.panel.isVisible()).toBe(true)
      await expect.poll(w.botMessages).toEqual(before.bot)
      expect(await w.userMessages()).toEqual(before.user)
      expect(await w.answer.getAttribute('type')).toBe('tel')
      await w.answer.fill('0612345678')
      await w.answer.press('Enter')
      await expect.poll(w.botMessages).toContain('Thanks! We will write to ann@example.com.')

      // Closed stays closed, and the history is there when it opens.
      await page.keyboard.press('Escape')
      await page.reload()
      await expect.poll(() => w.launcher.getAttribute('aria-expanded')).toBe('false')
      expect(await w.panel.isVisible()).toBe(false)
      await w.launcher.click()
      await expect.poll(w.botMessages).toContain('Thanks! We will write to ann@example.com.')

      // A conversation id the server does not know: a new conversation, no error.
      await page.evaluate(() => {
        for (const key of Object.keys(localStorage)) {
          localStorage.setItem(key, JSON.stringify({ id: 'c_unknown', open: true }))
        }
      })
      await page.reload()
      await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
      expect(await page.getByText('Could not reach').count()).toBe(0)
    } finally {
      await close()
    }
  })

  it('keeps a reply that failed to send (network, 429, 5xx) and sends it again on retry', async () => {
    const { page, close } = await openPage(browser)
    try {
      const w = await openChat(page, '/lead')
      await w.choice('Book a demo').click()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('email')

      const failures = ['abort', 429, 503] as const
      let attempts = 0
      await page.route('**/replies', (route) => {
        const failure = failures[attempts++]
        if (failure === undefined) return route.continue()
        if (failure === 'abort') return route.abort('internetdisconnected')
        return route.fulfill({
          status: failure,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'x', message: 'no' } }),
        })
      })
      await w.answer.fill('ann@example.com')
      await w.answer.press('Enter')
      const retry = page.getByRole('button', { name: 'Retry' })
      for (let i = 0; i < failures.length; i++) {
        await expect.poll(() => retry.isVisible()).toBe(true)
        expect(await w.userMessages()).toEqual(['Book a demo', 'ann@example.com'])
        expect(await page.getByText('Not sent.').count()).toBe(1)
        if (i === 0) await screenshot(page, 'reply-failed')
        await retry.click()
      }
      await expect.poll(() => w.answer.getAttribute('type')).toBe('tel')
      expect(attempts).toBe(4)
      expect(await retry.count()).toBe(0)
      expect(await w.userMessages()).toEqual(['Book a demo', 'ann@example.com'])
    } finally {
      await close()
    }
  })

  it('says so when the conversation ended elsewhere (409) and offers to start over', async () => {
    const { page, close } = await openPage(browser)
    try {
      const w = await openChat(page, '/lead')
      await w.choice('Book a demo').click()
      await expect.poll(() => w.answer.getAttribute('type')).toBe('email')
      // Another tab of the same visitor finishes the conversation.
      const other = await page.context().newPage()
      await other.goto(`${host.url}/lead`)
      const o = widget(other)
      await expect.poll(() => o.answer.getAttribute('type')).toBe('email')
      await o.answer.fill('bob@example.com')
      await o.answer.press('Enter')
      await expect.poll(() => o.answer.getAttribute('type')).toBe('tel')
      await o.answer.fill('0612345678')
      await o.answer.press('Enter')
      await expect.poll(o.botMessages).toContain('Thanks! We will write to bob@example.com.')

      await w.answer.fill('ann@example.com')
      await w.answer.press('Enter')
      await expect.poll(() => page.getByText('This conversation has ended.').isVisible()).toBe(true)
      await expect.poll(w.botMessages).toContain('Thanks! We will write to bob@example.com.')
      await page.getByRole('button', { name: 'Start over' }).click()
      await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
    } finally {
      await close()
    }
  })

  it('fits the answer box to number, url and date questions', async () => {
    const { page, close } = await openPage(browser)
    try {
      const w = await openChat(page, '/kinds')
      const field = () =>
        w.answer.evaluate((el) => [
          el.getAttribute('type'),
          el.getAttribute('inputmode'),
          el.getAttribute('autocomplete'),
        ])
      await expect.poll(field).toEqual(['text', 'decimal', 'off'])
      await w.answer.fill('3')
      await w.answer.press('Enter')
      await expect.poll(field).toEqual(['url', 'url', 'url'])
      await w.answer.fill('example.com')
      await w.answer.press('Enter')
      await expect.poll(field).toEqual(['date', 'text', 'off'])
      await w.answer.fill('2030-01-31')
      await w.answer.press('Enter')
      await expect.poll(w.botMessages).toContain('Done.')
    } finally {
      await close()
    }
  })

  it('ignores a second copy of the script, and window.Joon drives the first', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/twice`)
      const w = widget(page)
      await expect.poll(() => w.launcher.isVisible()).toBe(true)
      expect(await page.locator('[data-joon-widget]').count()).toBe(1)
      await page.evaluate(() => window.Joon?.open())
      await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
      await page.evaluate(() => window.Joon?.close())
      await expect.poll(() => w.panel.isVisible()).toBe(false)
      await page.evaluate(() => window.Joon?.toggle())
      await expect.poll(() => w.panel.isVisible()).toBe(true)
      await w.choice('Just browsing').click()
      await expect.poll(w.userMessages).toEqual(['Just browsing'])
      await page.evaluate(() => window.Joon?.reset())
      await expect.poll(w.userMessages).toEqual([])
      await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })

  it('renders <joon-chat> inline, without a bubble', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/inline`)
      const region = page.getByRole('region', { name: 'Orders' })
      await expect.poll(() => region.isVisible()).toBe(true)
      await expect.poll(() => widget(page).log.textContent()).toContain('Your order number?')
      expect(await page.locator('.launcher').count()).toBe(0)
      const box = await page.locator('joon-chat').boundingBox()
      expect(box?.height).toBe(560)
      await screenshot(page, 'inline-element')
      // Another bot: the element starts over with it.
      await page.locator('joon-chat').evaluate((el) => el.setAttribute('bot', 'lead-gen'))
      await expect
        .poll(() => widget(page).log.textContent())
        .toContain('What brings you here today?')
      expect(await page.getByRole('region').count()).toBe(1)
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })

  it('mounts from the ESM build with mount(), driven and unmounted through its return value', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/esm`)
      const w = widget(page)
      await expect.poll(() => w.launcher.isVisible()).toBe(true)
      await page.evaluate(() => (window as unknown as { widget: { open(): void } }).widget.open())
      await expect.poll(() => page.getByRole('dialog', { name: 'ESM' }).isVisible()).toBe(true)
      await expect.poll(w.botMessages).toEqual(['Your order number?'])
      expect((await w.panel.boundingBox())?.x).toBe(20)
      await page.evaluate(() => (window as unknown as { widget: () => void }).widget())
      expect(await page.locator('[data-joon-widget]').count()).toBe(0)
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })

  it('is the bundle the server serves at /widget.js, with an ETag and CORS', async () => {
    const response = await fetch(`${joon.url}/widget.js`, { headers: { origin: host.url } })
    expect(response.status).toBe(200)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    const etag = response.headers.get('etag')
    expect(etag).toBeTruthy()
    expect(await response.text()).toBe(readFileSync(widgetBundlePath, 'utf8'))
    const again = await fetch(`${joon.url}/widget.js`, { headers: { 'if-none-match': etag! } })
    expect(again.status).toBe(304)
  })

  it('waits for the body when loaded in <head>, and talks to data-server rather than its origin', async () => {
    const { page, trouble, close } = await openPage(browser)
    try {
      const api: string[] = []
      page.on('request', (request) => {
        if (request.url().includes('/api/')) api.push(new URL(request.url()).origin)
      })
      await page.goto(`${host.url}/in-head`)
      const w = widget(page)
      await w.launcher.click()
      await expect.poll(w.botMessages).toEqual(['What brings you here today?'])
      expect(new Set(api)).toEqual(new Set([joon.url]))
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })
})
