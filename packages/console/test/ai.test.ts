import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  launchChromium,
  openPage,
  type PageTrouble,
  screenshot,
  signIn,
} from './support/browser.js'
import { axeViolations, node, settings, tabTo } from './support/builder.js'
import { ADMIN_TOKEN, adminPut, startConsoleServer } from './support/server.js'

let server: Awaited<ReturnType<typeof startConsoleServer>>
let browser: Browser

/** A model for the bots to name; nothing listens there: these tests never chat with it. */
const ASSISTANT = {
  baseUrl: 'http://127.0.0.1:9/v1',
  model: 'gpt-4o-mini',
  apiKey: 'sk-test-assistant-0000c3f9',
}

beforeAll(async () => {
  ;[server, browser] = await Promise.all([startConsoleServer(), launchChromium()])
  await adminPut(server.url, '/models/assistant', ASSISTANT)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

async function adminGet(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.url}/api/v1/admin${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  return { status: response.status, body: response.status === 200 ? await response.json() : null }
}

describe.sequential('AI blocks and models, in Chromium through the real server', () => {
  let page: Page
  let trouble: PageTrouble
  let closePage: () => Promise<void>

  beforeAll(async () => {
    ;({ page, trouble, close: closePage } = await openPage(browser))
    await signIn(page, server.url)
  })
  afterAll(async () => {
    await closePage?.()
  })
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await screenshot(page, `failed-ai-${task.name.slice(0, 30)}`)
  })

  it('builds a bot with an AI block that collects two values, links and all', async () => {
    await page.goto(`${server.url}/admin#/bots/new`)
    await page.getByRole('heading', { name: 'New bot' }).waitFor()
    await page.getByLabel('Bot id').fill('qualifier')
    const form = settings(page)
    const add = async (type: string) => {
      await page.getByRole('button', { name: 'Add block' }).click()
      await page.getByRole('menuitem', { name: type, exact: true }).click()
    }

    await add('Text')
    await page.getByLabel('Block id').fill('welcome')
    await form.getByLabel('Message', { exact: true }).fill('Hi! A few questions first.')

    // Added while welcome is selected: it follows welcome.
    await add('AI')
    expect(await page.getByLabel('Block id').inputValue()).toBe('ai-1')
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('ai-1-id')
    // The registered model is offered, and chosen already.
    const model = form.getByLabel('Model', { exact: true })
    expect(await model.evaluate((element) => element.tagName)).toBe('SELECT')
    expect(await model.inputValue()).toBe('assistant')
    await form
      .getByLabel('Instructions')
      .fill(
        'Find out which company the visitor works for and how many people work there. Be brief.',
      )
    await form.getByLabel('Max turns').fill('6')
    await form.getByRole('button', { name: 'Add value' }).click()
    // The new row's variable field has the focus: type its name at once.
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id))
      .toBe('ai-1-collect-0-variable')
    await page.keyboard.press('Control+a')
    await page.keyboard.type('company')
    await form.getByLabel('Description').nth(0).fill('The company the visitor works for')
    await form.getByRole('button', { name: 'Add value' }).click()
    await form.getByLabel('Variable').nth(1).fill('employees')
    await form.getByLabel('Type', { exact: true }).nth(1).selectOption('number')
    await form.getByLabel('Description').nth(1).fill('Number of employees')
    // A name another value has stays a draft, said so, and changes nothing.
    await form.getByLabel('Variable').nth(1).fill('company')
    await form.getByText('Another value is already saved to "company".').waitFor()
    await form.getByLabel('Variable').nth(1).fill('employees')
    await screenshot(page, 'ai-01-settings')

    // Added while the AI block is selected: it is the AI block's next.
    await add('Text')
    await page.getByLabel('Block id').fill('thanks')
    await form.getByLabel('Message', { exact: true }).fill('Thanks, {{company}}!')
    // Added while the AI block (which goes somewhere already) is selected: linked to nothing.
    await node(page, 'ai-1').click()
    await add('Text')
    await page.getByLabel('Block id').fill('sorry')
    await form.getByLabel('Message', { exact: true }).fill('Sorry, something went wrong.')

    // Next and on error of the AI block, set with its selects; then a rename follows them.
    await node(page, 'ai-1').click()
    expect(await form.getByLabel('Next block').inputValue()).toBe('thanks')
    await form.getByLabel('On error go to').selectOption('sorry')
    await form.getByLabel('Block id').fill('qualify')
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(3)
    await expect
      .poll(() => page.locator('.react-flow__edge-text', { hasText: 'on error' }).count())
      .toBe(1)
    await expect.poll(() => node(page, 'qualify').textContent()).toContain('Find out which company')
    expect(await node(page, 'qualify').textContent()).toContain('Model assistant, collects 2')
    expect(await node(page, 'qualify').getAttribute('aria-label')).toMatch(
      /^qualify, AI block, uses assistant, gathers 2 values, Find out/,
    )
    const problems = page.getByRole('region', { name: 'Problems' })
    await expect.poll(() => problems.textContent()).toContain('No problems')
    await page.getByRole('button', { name: 'Fit to screen' }).click()
    await screenshot(page, 'ai-02-flow')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByText('Bot "qualifier" saved.').waitFor()

    const { body } = await adminGet('/bots/qualifier')
    const { layout, ...flow } = body as Record<string, unknown>
    expect(Object.keys(layout as object).sort()).toEqual(['qualify', 'sorry', 'thanks', 'welcome'])
    expect(flow).toEqual({
      id: 'qualifier',
      name: 'New bot',
      start: 'welcome',
      blocks: [
        { id: 'welcome', type: 'text', text: 'Hi! A few questions first.', next: 'qualify' },
        {
          id: 'qualify',
          type: 'ai',
          model: 'assistant',
          instructions:
            'Find out which company the visitor works for and how many people work there. Be brief.',
          maxTurns: 6,
          collect: {
            company: { type: 'string', description: 'The company the visitor works for' },
            employees: { type: 'number', description: 'Number of employees' },
          },
          next: 'thanks',
          onError: 'sorry',
        },
        { id: 'thanks', type: 'text', text: 'Thanks, {{company}}!' },
        { id: 'sorry', type: 'text', text: 'Sorry, something went wrong.' },
      ],
    })
  })

  it('removes a collected value and unlinks on error by dragging, undoably', async () => {
    await node(page, 'qualify').click()
    const form = settings(page)
    await form.getByRole('button', { name: 'Remove value 1 (company)' }).click()
    expect(await form.getByLabel('Variable').count()).toBe(1)
    expect(await form.getByLabel('Variable').inputValue()).toBe('employees')
    await form.getByLabel('On error go to').selectOption('')
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(2)
    // The on-error handle links again by dragging it onto a block.
    const handle = node(page, 'qualify').locator('.react-flow__handle[data-handleid="onError"]')
    const from = (await handle.boundingBox()) as { x: number; y: number; width: number }
    const to = (await node(page, 'sorry').boundingBox()) as { x: number; y: number; height: number }
    await page.mouse.move(from.x + from.width / 2, from.y + from.width / 2)
    await page.mouse.down()
    await page.mouse.move(to.x + 20, to.y + to.height / 2, { steps: 12 })
    await page.mouse.move(to.x + 12, to.y + to.height / 2, { steps: 2 })
    await page.mouse.up()
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(3)
    expect(await form.getByLabel('On error go to').inputValue()).toBe('sorry')
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Undo' }).click()
    expect(await page.getByText('Unsaved changes', { exact: true }).count()).toBe(0)
  })

  it('says when a block names a model that is not registered', async () => {
    await page.getByRole('tab', { name: 'JSON' }).click()
    const editor = page.getByLabel('Bot JSON')
    await editor.fill(
      (await editor.inputValue()).replace('"model": "assistant"', '"model": "nope"'),
    )
    await page.getByRole('tab', { name: 'Flow' }).click()
    const problems = page.getByRole('region', { name: 'Problems' })
    await expect
      .poll(() => problems.textContent())
      .toContain('model "nope" is not registered (registered: assistant)')
    await expect.poll(() => node(page, 'qualify').getAttribute('aria-label')).toMatch(/1 problem/)
    await node(page, 'qualify').click()
    expect(await settings(page).getByLabel('Model', { exact: true }).inputValue()).toBe('nope')
    await settings(page).getByLabel('Model', { exact: true }).selectOption('assistant')
    await expect.poll(() => problems.textContent()).toContain('No problems')
  })

  it('adds an AI block and a value to collect with the keyboard alone', async () => {
    const keys = page.keyboard
    await tabTo(page, page.getByRole('button', { name: 'Add block' }))
    await keys.press('Enter')
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute('role')))
      .toBe('menuitem')
    // AI is the last item of the menu.
    await keys.press('End')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/^AI/)
    await keys.press('Enter')
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('ai-1-id')
    const form = settings(page)
    await tabTo(page, form.getByRole('button', { name: 'Add value' }))
    await keys.press('Enter')
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id))
      .toBe('ai-1-collect-0-variable')
    await keys.press('Control+a')
    await keys.type('budget')
    await tabTo(page, form.getByLabel('Type', { exact: true }))
    await keys.type('Number')
    await tabTo(page, form.getByLabel('Description'))
    await keys.type('Monthly budget in euros')
    await tabTo(page, form.getByLabel('On error go to'))
    await keys.type('sorry')
    await page.getByRole('tab', { name: 'JSON' }).click()
    const bot = JSON.parse(await page.getByLabel('Bot JSON').inputValue())
    expect(bot.blocks.at(-1)).toEqual({
      id: 'ai-1',
      type: 'ai',
      model: 'assistant',
      instructions: "You answer visitors' questions about our business, briefly and kindly.",
      collect: { budget: { type: 'number', description: 'Monthly budget in euros' } },
      onError: 'sorry',
    })
    await page.getByRole('tab', { name: 'Flow' }).click()
    // Remove value, and the whole block, with the keyboard too; then nothing is unsaved.
    await node(page, 'ai-1').click()
    await tabTo(page, form.getByRole('button', { name: 'Remove value 1 (budget)' }))
    await keys.press('Enter')
    expect(await form.getByLabel('Variable').count()).toBe(0)
    await tabTo(page, form.getByRole('button', { name: 'Delete block' }))
    await keys.press('Enter')
    await expect.poll(() => node(page, 'ai-1').count()).toBe(0)
  })

  it('registers a model, shows its key masked, keeps it through an edit, deletes it', async () => {
    await page.getByRole('link', { name: 'Models' }).click()
    await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor()
    await page.getByRole('link', { name: 'New model' }).click()
    await page.getByLabel('Name', { exact: true }).fill('writer')
    await page.getByLabel('Base URL').fill('https://llm.example.com/v1')
    await page.getByLabel('Model', { exact: true }).fill('mistral-small')
    await page.getByLabel('API key').fill('sk-live-writer-99991234')
    await page.getByLabel('Temperature').fill('0.4')
    await page.getByLabel('Max tokens').fill('800')
    await page.getByLabel('Timeout (ms)').fill('20000')
    // A header the server refuses (a space in its name): its message is under Headers.
    await page.getByRole('button', { name: 'Add header' }).click()
    await page.getByLabel('Header 1 name').fill('X Org')
    await page.getByLabel('Header 1 value').fill('acme')
    await page.getByRole('button', { name: 'Create model' }).click()
    const alert = page.getByRole('alert')
    await expect.poll(() => alert.textContent()).toMatch(/^Not saved\./)
    expect(await page.locator('#headers-error').textContent()).toMatch(/^"X Org": /)
    await screenshot(page, 'ai-03-model-refused')
    await page.getByLabel('Header 1 name').fill('X-Org')
    await page.getByRole('button', { name: 'Create model' }).click()
    await page.getByText('Model "writer" created.').waitFor()
    expect(await page.evaluate(() => location.hash)).toBe('#/models/writer')

    // The key is shown masked, never whole, in the page and by the API.
    const key = page.getByLabel('API key')
    expect(await key.getAttribute('type')).toBe('password')
    expect(await key.inputValue()).toMatch(/^•+1234$/)
    expect(await page.content()).not.toContain('sk-live-writer')
    await page.getByText('A key ending in 1234 is saved').waitFor()
    const listed = page.getByRole('region', { name: 'Registered models' })
    expect(await listed.textContent()).toContain('https://llm.example.com/v1')
    expect(await listed.textContent()).toContain('mistral-small')

    // Edited without touching the key: the server keeps it.
    await page.getByLabel('Model', { exact: true }).fill('mistral-medium')
    await page.getByRole('button', { name: 'Save changes' }).click()
    await page.getByText('Model "writer" saved.').waitFor()
    const saved = (await adminGet('/models/writer')).body as Record<string, unknown>
    expect(saved).toMatchObject({
      name: 'writer',
      baseUrl: 'https://llm.example.com/v1',
      model: 'mistral-medium',
      headers: { 'X-Org': 'acme' },
      timeoutMs: 20000,
      maxTokens: 800,
      temperature: 0.4,
    })
    expect(saved.apiKey).toMatch(/^•+1234$/)
    expect((await server.store.getModel('writer'))?.apiKey).toBe('sk-live-writer-99991234')
    await screenshot(page, 'ai-04-model-saved')

    await page.getByRole('button', { name: 'Delete' }).click()
    await page.getByRole('group', { name: 'Delete model writer?' }).waitFor()
    await page.getByRole('button', { name: 'Yes, delete' }).click()
    await expect.poll(() => page.evaluate(() => location.hash)).toBe('#/models')
    await expect.poll(async () => (await adminGet('/models/writer')).status).toBe(404)
    expect(await listed.textContent()).not.toContain('writer')

    // A model a bot uses is not deleted, and the page says which bot.
    await page.getByRole('link', { name: /^assistant/ }).click()
    await page
      .getByText('Used by bot qualifier: it cannot be deleted while a bot uses it.')
      .waitFor()
    await page.getByRole('button', { name: 'Delete' }).click()
    await page.getByRole('button', { name: 'Yes, delete' }).click()
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toBe('Not deleted. Model "assistant" is used by bot "qualifier"; remove it from them first.')
    expect((await adminGet('/models/assistant')).status).toBe(200)
  })

  it('has no serious accessibility problem, and looks right at every size', async () => {
    const { page: open, close } = await openPage(browser, { bypassCSP: true })
    try {
      await signIn(open, server.url)
      await open.goto(`${server.url}/admin#/bots/qualifier`)
      await open.getByRole('heading', { name: 'Bot qualifier' }).waitFor()
      await node(open, 'qualify').click()
      expect(await axeViolations(open)).toEqual([])
      await screenshot(open, 'ai-05-builder-desktop', false)
      await open.setViewportSize({ width: 390, height: 844 })
      await screenshot(open, 'ai-06-builder-phone')
      await open.setViewportSize({ width: 640, height: 430 })
      await screenshot(open, 'ai-07-builder-zoom-200', false)

      await open.setViewportSize({ width: 1280, height: 860 })
      await open.goto(`${server.url}/admin#/models/assistant`)
      await open.getByRole('heading', { name: 'Model assistant' }).waitFor()
      expect(await axeViolations(open)).toEqual([])
      await screenshot(open, 'ai-08-models-desktop')
      await open.setViewportSize({ width: 390, height: 844 })
      await screenshot(open, 'ai-09-models-phone')
      await open.setViewportSize({ width: 640, height: 430 })
      await screenshot(open, 'ai-10-models-zoom-200')
    } finally {
      await close()
    }
  })

  it('saw no CSP violation, script error or dialog', () => {
    expect(trouble.cspViolations).toEqual([])
    // The refusals the test asked for (a header's name, a model in use) are its only complaints.
    expect(trouble.errors).toEqual([
      expect.stringMatching(/status of 400 .*\/api\/v1\/admin\/models\/writer$/),
      expect.stringMatching(/status of 409 .*\/api\/v1\/admin\/models\/assistant$/),
    ])
    expect(trouble.dialogs).toEqual([])
  })
})
