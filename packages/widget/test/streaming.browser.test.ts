import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startModelFixture } from '../../../tools/model-fixture.mjs'
import { axeViolations, launchChromium, openPage, screenshot, widget } from './support/browser.ts'
import { startHost, startJoon } from './support/servers.ts'

let browser: Browser
let joon: Awaited<ReturnType<typeof startJoon>>
let host: Awaited<ReturnType<typeof startHost>>
let writer: Awaited<ReturnType<typeof startWriter>>
let model: Awaited<ReturnType<typeof startModelFixture>>
/** Opened by the test once it saw the start of the model's answer on screen. */
let modelMayFinish = gate()

/** A promise and the function that resolves it. */
function gate() {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const WEBHOOK_REPLY = JSON.stringify({
  responses: [
    { type: 'text', delay: 0, elements: [{ label: 'Order A-1001 ships today.', order: 1 }] },
  ],
})

/**
 * A chat server that streams an AI-like answer: deltas of a message, then, once the test
 * opens `finish`, the message itself and the end of the turn.
 */
async function startWriter() {
  let finish = gate()
  const server = createServer((request, response) => {
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'content-type',
      'access-control-allow-methods': 'GET, POST',
    }
    if (request.method === 'OPTIONS') {
      response.writeHead(204, cors).end()
      return
    }
    request.resume()
    response.writeHead(201, { ...cors, 'content-type': 'text/event-stream' })
    const send = (event: string, data: unknown) =>
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    send('delta', { text: 'Our plans ' })
    send('delta', { text: 'start at' })
    void finish.opened.then(() => {
      send('instruction', {
        type: 'text',
        delay: 0,
        elements: [{ label: 'Our plans start at 9 € a month.', order: 1, placeholder: null }],
      })
      send('done', { conversationId: 'w1', input: { type: 'text' }, ended: false })
      response.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    finish: () => finish.open(),
    reset: () => {
      finish = gate()
    },
    close: () => close(server),
  }
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

beforeAll(async () => {
  ;[browser, joon, writer] = await Promise.all([launchChromium(), startJoon(), startWriter()])
  // An OpenAI-compatible model server whose answer pauses halfway until the test lets it go.
  model = await startModelFixture(() => ({
    text: ['Our plans ', 'start at', ' 9 € a month.'],
    pauseAt: { chunk: 2, until: modelMayFinish.opened },
  }))
  await joon.admin('/models/assistant', { baseUrl: model.baseUrl, model: 'fixture' })
  await joon.admin('/bots/pricing-ai', {
    id: 'pricing-ai',
    start: 'ask',
    blocks: [
      {
        id: 'ask',
        type: 'question',
        answer: 'text',
        text: 'What would you like to know?',
        next: 'answer',
      },
      {
        id: 'answer',
        type: 'ai',
        model: 'assistant',
        instructions: 'You sell plans.',
        next: 'more',
      },
      { id: 'more', type: 'text', text: 'Anything else, just ask.' },
    ],
  })
  const page = '<main><h1>Acme orders</h1><p>Where is my parcel?</p></main>'
  host = await startHost(joon.url, {
    '/tracking': {
      body: `${page}<script src="${joon.url}/widget.js" data-bot="tracking" defer></script>`,
    },
    // Through the site's own proxy, which drops the accept header and buffers answers.
    '/tracking-proxied': {
      body: `${page}<script src="/widget.js" data-bot="tracking" defer></script>`,
    },
    '/pricing-ai': {
      body: `${page}<script src="${joon.url}/widget.js" data-bot="pricing-ai" defer></script>`,
    },
    '/writer': {
      body: `${page}<script src="${joon.url}/widget.js" data-bot="writer" data-server="${writer.url}" defer></script>`,
    },
  })
})

afterAll(async () => {
  await browser?.close()
  await host?.close()
  await writer?.close()
  await model?.close()
  await joon?.close()
})

/** Content types of the answers to turn requests (starts and replies), in order. */
function turnAnswers(page: Page): string[] {
  const types: string[] = []
  page.on('response', (response) => {
    const request = response.request()
    if (request.method() === 'POST' && /\/conversations|\/replies/.test(request.url())) {
      types.push(response.headers()['content-type'] ?? '')
    }
  })
  return types
}

describe('streamed turns in the widget', () => {
  it('shows the message before a slow synchronous webhook at once, then the webhook’s', async () => {
    // The receiver answers 3 s after the call at the earliest, and never before the test has
    // seen the first message on screen: a widget that waits for the end of the turn shows
    // nothing until then, so this test would time out rather than measure a duration.
    const seen = gate()
    let answered = false
    joon.receiver.answerWith((_request, response) => {
      void Promise.all([sleep(3000), seen.opened]).then(() => {
        answered = true
        response.writeHead(200, { 'content-type': 'application/json' }).end(WEBHOOK_REPLY)
      })
    })
    const { page, trouble, close } = await openPage(browser)
    try {
      const types = turnAnswers(page)
      await page.goto(`${host.url}/tracking`)
      const w = widget(page)
      const opened = Date.now()
      await w.launcher.click()
      const first = w.log.getByText('Let me check your order…')
      await expect.poll(() => first.isVisible(), { timeout: 10_000 }).toBe(true)
      const shownAfter = Date.now() - opened
      expect(answered).toBe(false)
      expect(await w.botMessages()).toEqual(['Let me check your order…'])
      // Still working: the typing indicator, "Typing…" for screen readers, the box waits.
      expect(await w.typing.isVisible()).toBe(true)
      expect(await page.getByRole('status').textContent()).toBe('Typing…')
      expect(await w.answer.getAttribute('readonly')).not.toBeNull()
      expect(await axeViolations(page)).toEqual([])
      await screenshot(page, 'streaming-webhook-pending')
      seen.open()

      await expect
        .poll(w.botMessages, { timeout: 10_000 })
        .toEqual(['Let me check your order…', 'Order A-1001 ships today.', 'Anything else?'])
      const doneAfter = Date.now() - opened
      console.log(`first message after ${shownAfter} ms, the webhook's after ${doneAfter} ms`)
      expect(doneAfter).toBeGreaterThanOrEqual(3000)
      await expect.poll(() => w.answer.getAttribute('readonly')).toBeNull()
      expect(await w.typing.count()).toBe(0)
      expect(types).toEqual(['text/event-stream'])
      // Each message once, in one group of bot bubbles.
      expect(await page.locator('.group.bot').count()).toBe(1)
      expect(await axeViolations(page)).toEqual([])
      await screenshot(page, 'streaming-webhook-done')

      // A reply streams the same way, and a reload shows the same conversation.
      joon.receiver.answerWith((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' }).end(WEBHOOK_REPLY)
      })
      await w.answer.fill('Where is A-1002?')
      await w.answer.press('Enter')
      await expect.poll(w.botMessages).toHaveLength(6)
      const before = await w.botMessages()
      expect(types).toEqual(['text/event-stream', 'text/event-stream'])
      await page.reload()
      await expect.poll(w.botMessages).toEqual(before)
      expect(await w.userMessages()).toEqual(['Where is A-1002?'])
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      joon.receiver.answerWith((_request, response) => response.writeHead(204).end())
      await close()
    }
  })

  it('falls back to the JSON answer behind a proxy that drops the stream', async () => {
    joon.receiver.answerWith((_request, response) => {
      void sleep(300).then(() =>
        response.writeHead(200, { 'content-type': 'application/json' }).end(WEBHOOK_REPLY),
      )
    })
    const { page, trouble, close } = await openPage(browser)
    try {
      const types = turnAnswers(page)
      await page.goto(`${host.url}/tracking-proxied`)
      const w = widget(page)
      await w.launcher.click()
      await expect
        .poll(w.botMessages)
        .toEqual(['Let me check your order…', 'Order A-1001 ships today.', 'Anything else?'])
      expect(types).toEqual(['application/json'])
      await expect.poll(() => w.answer.getAttribute('readonly')).toBeNull()
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      joon.receiver.answerWith((_request, response) => response.writeHead(204).end())
      await close()
    }
  })

  it('writes a streamed message before the eyes, and screen readers get it once, whole', async () => {
    writer.reset()
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/writer`)
      const w = widget(page)
      await w.launcher.click()
      const draft = page.locator('.group.bot[aria-hidden="true"]')
      await expect.poll(() => draft.textContent()).toBe('Our plans start at')
      expect(await draft.isVisible()).toBe(true)
      // Not a message yet: out of the accessibility tree, so the log announces nothing.
      expect(await w.log.ariaSnapshot()).not.toContain('start at')
      expect(await w.botMessages()).toEqual(['Our plans start at'])
      expect(await page.getByRole('status').textContent()).toBe('Typing…')
      expect(await w.typing.count()).toBe(0)
      expect(await axeViolations(page)).toEqual([])
      await screenshot(page, 'streaming-draft')

      writer.finish()
      await expect.poll(() => draft.count()).toBe(0)
      expect(await w.botMessages()).toEqual(['Our plans start at 9 € a month.'])
      expect(await w.log.ariaSnapshot()).toContain('Bot: Our plans start at 9 € a month.')
      await expect.poll(() => w.answer.getAttribute('readonly')).toBeNull()
      expect(await axeViolations(page)).toEqual([])
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })

  it('shows an ai block’s answer as the model writes it, through joon serve and a model server', async () => {
    modelMayFinish = gate()
    const { page, trouble, close } = await openPage(browser)
    try {
      await page.goto(`${host.url}/pricing-ai`)
      const w = widget(page)
      await w.launcher.click()
      await expect.poll(w.botMessages).toEqual(['What would you like to know?'])
      await w.answer.fill('How much is it?')
      await w.answer.press('Enter')
      // Half the answer is on screen while the model has not written the rest.
      const draft = page.locator('.group.bot[aria-hidden="true"]')
      await expect.poll(() => draft.textContent(), { timeout: 10_000 }).toBe('Our plans start at')
      expect(await w.log.ariaSnapshot()).not.toContain('start at')
      await screenshot(page, 'streaming-ai-draft')
      modelMayFinish.open()
      await expect
        .poll(w.botMessages, { timeout: 10_000 })
        .toEqual([
          'What would you like to know?',
          'Our plans start at 9 € a month.',
          'Anything else, just ask.',
        ])
      expect(await draft.count()).toBe(0)
      expect(await w.log.ariaSnapshot()).toContain('Bot: Our plans start at 9 € a month.')
      expect(await axeViolations(page)).toEqual([])
      expect(trouble).toEqual({ errors: [], dialogs: [] })
    } finally {
      await close()
    }
  })
})
