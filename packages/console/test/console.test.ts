import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  launchChromium,
  openPage,
  type PageTrouble,
  screenshot,
  signIn,
} from './support/browser.js'
import { startReceiver } from './support/receiver.js'
import { ADMIN_TOKEN, adminPut, chat, startConsoleServer } from './support/server.js'

const BOT = {
  id: 'lead-gen',
  name: 'Lead generation',
  start: 'welcome',
  blocks: [
    { id: 'welcome', type: 'text', text: "Hi! Let's book your demo.", next: 'ask-email' },
    {
      id: 'ask-email',
      type: 'question',
      answer: 'email',
      text: "What's your email address?",
      saveAnswerTo: 'email',
      next: 'notify',
    },
    { id: 'notify', type: 'webhook', webhook: 'crm', async: true, next: 'thanks' },
    { id: 'thanks', type: 'text', text: 'Thanks! We will write to {{email}}.' },
  ],
}

let server: Awaited<ReturnType<typeof startConsoleServer>>
let receiver: Awaited<ReturnType<typeof startReceiver>>
let browser: Browser
let page: Page
let trouble: PageTrouble
let closePage: () => Promise<void>

beforeAll(async () => {
  ;[server, receiver, browser] = await Promise.all([
    startConsoleServer(),
    startReceiver(),
    launchChromium(),
  ])
  ;({ page, trouble, close: closePage } = await openPage(browser))
})

afterAll(async () => {
  await closePage?.()
  await browser?.close()
  await server?.close()
  await receiver?.close()
})

afterEach(async ({ task }) => {
  if (task.result?.state === 'fail') await screenshot(page, `failed-${task.name.slice(0, 40)}`)
})

const deliveryRows = () => page.locator('tbody.delivery')

// One operator's session, step by step: each test builds on the one before.
describe.sequential('the console, end to end in Chromium', () => {
  it('is served with a strict CSP and refuses a wrong token', async () => {
    const response = await page.goto(`${server.url}/admin`)
    expect(response?.status()).toBe(200)
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'")
    await page.getByLabel('Admin token').fill('wrong-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('That token was refused')
    await screenshot(page, '01-sign-in-refused')
    await signIn(page, server.url)
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Webhooks')
  })

  it('registers a webhook with headers and a generated secret, and sends it a test', async () => {
    await page.getByRole('link', { name: 'New webhook' }).click()
    await page.getByLabel('Name', { exact: true }).fill('crm')
    await page.getByLabel('URL').fill(receiver.url)
    await page.getByRole('button', { name: 'Add header' }).click()
    // Adding a row moves focus to its name field.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label')))
      .toBe('Header 1 name')
    await page.keyboard.type('X-Api-Key')
    await page.getByLabel('Header 1 value').fill('abc')
    await page.getByRole('button', { name: 'Generate' }).click()
    const secret = await page.getByLabel('Signing secret').inputValue()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    await page.getByLabel('Timeout (ms)').fill('2000')
    await page.getByRole('button', { name: 'Create webhook' }).click()
    await page.getByRole('heading', { name: 'Webhook crm' }).waitFor()
    expect(await page.getByRole('status').first().textContent()).toBe('Webhook "crm" created.')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Webhook crm')
    expect(await page.getByRole('link', { name: /crm/ }).getAttribute('aria-current')).toBe('true')

    await page.getByRole('button', { name: 'Send test' }).click()
    const result = page.getByRole('region', { name: 'Test call' })
    await result.waitFor()
    expect(await result.textContent()).toContain('Delivered')
    expect(await result.locator('dd').first().textContent()).toBe('200')
    expect(await result.textContent()).toContain('"received": true')
    const call = receiver.calls.at(-1)
    expect(call?.headers['x-api-key']).toBe('abc')
    expect(call?.headers['webhook-signature']).toMatch(/^v1,/)
    expect(JSON.parse(call?.body ?? '{}')).toMatchObject({ joon_test: true })
    await screenshot(page, '02-webhook-tested')
  })

  it('shows a bot’s problems as it is typed, then saves it', async () => {
    await page.getByRole('link', { name: 'Bots' }).click()
    await page.getByRole('link', { name: 'New bot' }).click()
    await page.getByRole('tab', { name: 'JSON' }).click()
    const editor = page.getByLabel('Bot JSON')
    const wrong = {
      ...BOT,
      blocks: BOT.blocks.map((block) =>
        block.id === 'notify'
          ? { ...block, webhook: 'crn' }
          : block.id === 'ask-email'
            ? { ...block, next: 'notfy' }
            : block,
      ),
    }
    await editor.fill(JSON.stringify(wrong, null, 2))
    const problems = page.getByRole('region', { name: 'Problems' })
    await expect.poll(() => problems.locator('li').count()).toBe(2)
    const text = await problems.textContent()
    expect(text).toContain('webhook "crn" is not registered (registered: crm)')
    expect(text).toContain('(did you mean "notify"?)')
    // An issue takes the cursor to its block.
    await problems.getByRole('button', { name: /crn/ }).click()
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('bot-json')
    await screenshot(page, '03-bot-problems')

    await editor.fill('{ "id": "lead-gen", ')
    await expect.poll(() => problems.textContent()).toContain('The JSON does not parse')

    await editor.fill(JSON.stringify(BOT, null, 2))
    await expect.poll(() => problems.textContent()).toContain('No problems')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByRole('heading', { name: 'Bot lead-gen' }).waitFor()
    expect(await page.getByText('Bot "lead-gen" saved.').count()).toBe(1)
    expect(await page.getByRole('link', { name: /lead-gen/ }).count()).toBe(1)
  })

  it('shows the server’s own refusal when it disagrees with the browser', async () => {
    // The browser knows the webhooks as they were when the page loaded.
    await adminPut(server.url, '/webhooks/spare', { url: receiver.url })
    await page.reload()
    await page.getByRole('heading', { name: 'Bot lead-gen' }).waitFor()
    await page.getByRole('tab', { name: 'JSON' }).click()
    await fetch(`${server.url}/api/v1/admin/webhooks/spare`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    const editor = page.getByLabel('Bot JSON')
    await editor.fill(JSON.stringify(BOT, null, 2).replace('"crm"', '"spare"'))
    const problems = page.getByRole('region', { name: 'Problems' })
    await expect.poll(() => problems.textContent()).toContain('No problems')
    await page.keyboard.press('Control+s')
    await expect.poll(() => problems.textContent()).toContain('The server refused it')
    expect(await problems.textContent()).toContain('webhook "spare" is not registered')
    expect(await page.getByRole('alert').textContent()).toContain('The server refused the bot')

    // The server's list was about the bot it refused: a parse error replaces it, not joins it.
    await editor.fill('{ "id": "lead-gen", ')
    await expect.poll(() => problems.textContent()).toContain('The JSON does not parse')
    expect(await problems.textContent()).not.toContain('The server refused it')
    expect(await problems.textContent()).not.toContain('webhook "spare" is not registered')
    expect(await problems.locator('li').count()).toBe(1)
    expect(await page.getByText('The server refused the bot').count()).toBe(0)
    await screenshot(page, '03b-refused-then-parse-error')

    await editor.fill(JSON.stringify(BOT, null, 2))
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByText('Bot "lead-gen" saved.').waitFor()
    expect(await problems.textContent()).not.toContain('The server refused it')
    expect(await problems.textContent()).toContain('No problems')
    expect(await page.getByRole('alert').count()).toBe(0)
  })

  it('chats with the bot through the widget, and its delivery appears', async () => {
    await page.getByRole('button', { name: 'Chat with lead-gen' }).click()
    const answer = page.getByRole('textbox', { name: 'Your answer' })
    await answer.waitFor()
    await answer.fill('ada@example.com')
    await answer.press('Enter')
    await page.getByText('Thanks! We will write to ada@example.com.').waitFor()
    await screenshot(page, '04-try-it')

    await page.getByRole('link', { name: 'Deliveries' }).click()
    await page.locator('tbody.delivery .badge-delivered').waitFor()
    expect(await deliveryRows().count()).toBe(1)
    expect(JSON.parse(receiver.calls.at(-1)?.body ?? '{}')).toMatchObject({
      email: 'ada@example.com',
    })
  })

  it('shows a failing delivery’s attempts, and retries it once the receiver is back', async () => {
    receiver.answer(500)
    await page.getByRole('link', { name: 'Bots' }).click()
    await page.getByRole('link', { name: /lead-gen/ }).click()
    await page.getByRole('button', { name: 'Chat with lead-gen' }).click()
    await page.getByRole('button', { name: 'Restart chat' }).click()
    const answer = page.getByRole('textbox', { name: 'Your answer' })
    await answer.fill('grace@example.com')
    await answer.press('Enter')
    await page.getByText('Thanks! We will write to grace@example.com.').waitFor()

    await page.getByRole('link', { name: 'Deliveries' }).click()
    await page.locator('tbody.delivery .badge-failed').waitFor()
    const failed = deliveryRows().filter({ has: page.locator('.badge-failed') })
    expect(await failed.locator('td').nth(3).textContent()).toBe('3')
    expect(await failed.textContent()).toContain('HTTP 500')

    // Keyboard: the toggle is a button that says whether it is expanded.
    const toggle = failed.getByRole('button', { name: /attempts of delivery/ })
    await toggle.focus()
    await page.keyboard.press('Enter')
    expect(await toggle.getAttribute('aria-expanded')).toBe('true')
    const attempts = failed.getByRole('table', { name: 'Attempts, oldest first' })
    await expect.poll(() => attempts.locator('tbody tr').count()).toBe(3)
    expect(await attempts.locator('tbody tr').first().textContent()).toContain('500')
    expect(await attempts.textContent()).toContain('the receiver is down for the test')
    await screenshot(page, '05-delivery-failed')

    // Filtering by status.
    await page.getByLabel('Status').selectOption('failed')
    await expect.poll(() => deliveryRows().count()).toBe(1)
    await page.getByLabel('Status').selectOption('')
    await expect.poll(() => deliveryRows().count()).toBe(2)

    receiver.answer(200)
    await failed.getByRole('button', { name: /^Retry delivery/ }).click()
    await expect.poll(() => page.locator('tbody.delivery .badge-failed').count()).toBe(0)
    // The list reloads right after the retry, when the new attempt may still be on its way,
    // then every 2 s: wait for the next reload at least.
    const reload = { timeout: 6_000 }
    await expect.poll(() => page.locator('tbody.delivery .badge-delivered').count(), reload).toBe(2)
    const retried = deliveryRows().nth(0)
    await expect.poll(() => retried.locator('.attempts tbody tr').count(), reload).toBe(4)
    await screenshot(page, '06-delivery-retried')
  })

  it('shows new deliveries without a reload', async () => {
    const before = await deliveryRows().count()
    const navigations: string[] = []
    page.on('framenavigated', (frame) => navigations.push(frame.url()))
    await chat(server.url, 'lead-gen', ['linus@example.com'])
    await expect.poll(() => deliveryRows().count(), { timeout: 6000 }).toBe(before + 1)
    expect(navigations.filter((url) => !url.includes('#'))).toEqual([])
  })

  it('reads a conversation’s transcript and context', async () => {
    await page.getByRole('link', { name: 'Conversations' }).click()
    const id = await chat(server.url, 'lead-gen', ['not an email', 'margaret@example.com'], {
      plan: 'pro',
    })
    await page.getByLabel('Conversation id').fill(id)
    await page.getByRole('button', { name: 'Look up' }).click()
    await page.getByRole('heading', { name: 'Transcript' }).waitFor()
    const transcript = page.getByRole('region', { name: 'Transcript' })
    expect(await transcript.locator('li').allTextContents()).toEqual([
      "BotHi! Let's book your demo.",
      "BotWhat's your email address?",
      'Usernot an email',
      expect.stringMatching(/^Bot/),
      'Usermargaret@example.com',
      'BotThanks! We will write to margaret@example.com.',
    ])
    const context = page.getByRole('table', { name: /Variables/ })
    expect(await context.locator('tbody tr').allTextContents()).toEqual([
      'plan"pro"',
      'email"margaret@example.com"',
    ])
    await screenshot(page, '07-conversation')
  })

  it('refuses to delete a webhook a bot uses, and says why', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click()
    await page.getByRole('link', { name: /crm/ }).click()
    await page.getByRole('button', { name: 'Delete' }).click()
    // The question's confirm button takes focus: Enter confirms.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.textContent))
      .toBe('Yes, delete')
    await page.keyboard.press('Enter')
    const alert = page.getByRole('alert')
    await alert.waitFor()
    expect(await alert.textContent()).toContain('Webhook "crm" is used by bot "lead-gen"')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Delete')
    expect(await page.getByRole('heading', { name: 'Webhook crm' }).count()).toBe(1)
    await screenshot(page, '08-webhook-in-use')
  })

  it('saw no CSP violation, script error or dialog all along', () => {
    expect(trouble.cspViolations).toEqual([])
    expect(trouble.dialogs).toEqual([])
    expect(trouble.errors.filter((text) => !/status of 40[0149]/.test(text))).toEqual([])
  })
})
