import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  launchChromium,
  openPage,
  type PageTrouble,
  screenshot,
  signIn,
} from './support/browser.js'
import {
  axeViolations,
  branchingBot,
  LEAD_GEN,
  LEAD_GEN_PAYLOAD,
  node,
  nodeBoxes,
  overlaps,
  settings,
  tabTo,
} from './support/builder.js'
import { startReceiver } from './support/receiver.js'
import { ADMIN_TOKEN, adminPut, startConsoleServer } from './support/server.js'

let server: Awaited<ReturnType<typeof startConsoleServer>>
let receiver: Awaited<ReturnType<typeof startReceiver>>
let browser: Browser

beforeAll(async () => {
  ;[server, receiver, browser] = await Promise.all([
    startConsoleServer(),
    startReceiver(),
    launchChromium(),
  ])
  await adminPut(server.url, '/webhooks/crm', { url: receiver.url })
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await receiver?.close()
})

async function getBot(id: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}/api/v1/admin/bots/${id}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  expect(response.status).toBe(200)
  return (await response.json()) as Record<string, unknown>
}

/** The bot without what only the editor keeps, for comparing flows. */
function flowOf(bot: Record<string, unknown>) {
  const { layout: _layout, name: _name, ...flow } = bot
  return flow
}

/** Holds the seed's conversation in a real widget on a page of its own; returns the payload. */
async function holdSeedConversation(botId: string): Promise<string> {
  const before = receiver.calls.length
  const { page, close } = await openPage(browser)
  try {
    await page.route(`${server.url}/site`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><title>Shop</title><script src="/widget.js" data-bot="${botId}" defer></script>`,
      }),
    )
    await page.goto(`${server.url}/site`)
    await page.getByRole('button', { name: /chat/i }).click()
    await page.getByRole('button', { name: 'Just browsing' }).click()
    const answer = page.getByRole('textbox', { name: 'Your answer' })
    await answer.fill('nicolas@joonbot.com')
    await answer.press('Enter')
    await page.getByText("What's your phone number?").waitFor()
    await answer.fill('0612345678')
    await answer.press('Enter')
    await page.getByText('Thanks! We will write to nicolas@joonbot.com.').waitFor()
  } finally {
    await close()
  }
  await expect.poll(() => receiver.calls.length, { timeout: 10_000 }).toBeGreaterThan(before)
  return receiver.calls.at(-1)?.body ?? ''
}

describe.sequential('the flow builder, in Chromium through the real server', () => {
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
    if (task.result?.state === 'fail')
      await screenshot(page, `failed-builder-${task.name.slice(0, 30)}`)
  })

  it('builds the seed’s lead-generation bot from an empty new bot with the mouse', async () => {
    await page.getByRole('link', { name: 'Bots' }).click()
    await page.getByRole('link', { name: 'New bot' }).click()
    expect(await page.getByRole('tab', { name: 'Flow' }).getAttribute('aria-selected')).toBe('true')
    await page.getByLabel('Bot id').fill('lead-gen')
    await page.getByLabel('Bot name').fill('Lead generation')

    const add = async (type: string) => {
      await page.getByRole('button', { name: 'Add block' }).click()
      await page.getByRole('menuitem', { name: type }).click()
    }
    // Fields are found by their labels on the whole page, as anyone scripting the console
    // would: no node's or link's name may contain a field's label.
    const form = settings(page)

    await add('Buttons')
    await page.getByLabel('Block id').fill('welcome')
    await form.getByLabel('Message', { exact: true }).fill('What brings you here today?')
    await page.getByLabel('Choice label').nth(0).fill('Just browsing')
    await page.getByLabel('Choice label').nth(1).fill('Book a demo')
    await screenshot(page, 'builder-01-first-block')

    await add('Question')
    await page.getByLabel('Block id').fill('ask-email')
    await form.getByLabel('Message', { exact: true }).fill("What's your email address?")
    await page.getByLabel('Answer type').selectOption('email')
    await page.getByLabel('Save answer to').fill('email')

    await add('Question')
    await page.getByLabel('Block id').fill('ask-phone')
    await form.getByLabel('Message', { exact: true }).fill("What's your phone number?")
    await page.getByLabel('Answer type').selectOption('phone')
    await page.getByLabel('Save answer to').fill('phone_number')

    await add('Webhook')
    await page.getByLabel('Block id').fill('notify')
    await page.getByLabel('Webhook').selectOption('crm')
    await page.getByLabel('Asynchronous').check()

    await add('Text')
    await page.getByLabel('Block id').fill('thanks')
    await form.getByLabel('Message', { exact: true }).fill('Thanks! We will write to {{email}}.')

    // "Book a demo" goes to the email question too: set on the welcome block's choice.
    await node(page, 'welcome').click()
    await page.getByLabel('Choice goes to').nth(1).selectOption('ask-email')
    expect(await page.getByLabel('Next block').inputValue()).toBe('ask-email')

    await page.getByRole('button', { name: 'Fit to screen' }).click()
    // Every link is drawn, those of blocks edited the moment they were added included.
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(5)
    await screenshot(page, 'builder-02-lead-gen-built')
    const problems = page.getByRole('region', { name: 'Problems' })
    await expect.poll(() => problems.textContent()).toContain('No problems')
    await page.getByRole('button', { name: 'Save', exact: true }).click()
    await page.getByText('Bot "lead-gen" saved.').waitFor()

    expect(flowOf(await getBot('lead-gen'))).toEqual(flowOf(LEAD_GEN))
    expect(await holdSeedConversation('lead-gen')).toBe(LEAD_GEN_PAYLOAD)
  })

  it('shows on each block how many conversations reached it', async () => {
    // The conversation held above went through every block but one of the choices' paths.
    await page.reload()
    await page.getByRole('heading', { name: 'Bot lead-gen' }).waitFor()
    await expect.poll(() => node(page, 'thanks').textContent()).toContain('1 reached')
    expect(await node(page, 'welcome').getAttribute('aria-label')).toContain('reached by 1')
    await screenshot(page, 'builder-08-live-data')
  })

  it('shows the same bot as JSON, and an edit there is in the flow at once', async () => {
    await page.getByRole('tab', { name: 'JSON' }).click()
    const editor = page.getByLabel('Bot JSON')
    const text = await editor.inputValue()
    expect(JSON.parse(text)).toMatchObject(flowOf(LEAD_GEN))
    await editor.fill(text.replace('Thanks! We will', 'Thank you! We will'))
    await page.getByRole('tab', { name: 'Flow' }).click()
    await expect.poll(() => node(page, 'thanks').textContent()).toContain('Thank you! We will')
    await page.keyboard.press('Control+z')
    await expect.poll(() => node(page, 'thanks').textContent()).toContain('Thanks! We will')
  })

  it('builds the same bot with the keyboard alone', async () => {
    await page.goto(`${server.url}/admin#/bots/new`)
    await page.getByRole('heading', { name: 'New bot' }).waitFor()
    const form = settings(page)
    const keys = page.keyboard
    const typeInto = async (target: ReturnType<Page['getByLabel']>, text: string) => {
      await tabTo(page, target)
      await keys.press('Control+a')
      await keys.type(text)
    }
    const add = async (item: string) => {
      await tabTo(page, page.getByRole('button', { name: 'Add block' }))
      await keys.press('Enter')
      // The menu opens with the focus on its first item.
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.getAttribute('role')))
        .toBe('menuitem')
      for (let i = 0; i < 6; i++) {
        if ((await page.evaluate(() => document.activeElement?.textContent ?? '')).startsWith(item))
          break
        await keys.press('ArrowDown')
      }
      await keys.press('Enter')
      // The new block's settings are open, the focus in its first field.
      await expect.poll(() => page.evaluate(() => document.activeElement?.id ?? '')).toMatch(/-id$/)
    }

    await typeInto(page.getByLabel('Bot id'), 'lead-gen-keys')
    await add('Buttons')
    await typeInto(form.getByLabel('Block id'), 'welcome')
    await typeInto(form.getByLabel('Message', { exact: true }), 'What brings you here today?')
    await typeInto(form.getByLabel('Choice label').nth(0), 'Just browsing')
    await typeInto(form.getByLabel('Choice label').nth(1), 'Book a demo')

    await add('Question')
    await typeInto(form.getByLabel('Block id'), 'ask-email')
    await typeInto(form.getByLabel('Message', { exact: true }), "What's your email address?")
    await tabTo(page, form.getByLabel('Answer type'))
    await keys.type('Email')
    await typeInto(form.getByLabel('Save answer to'), 'email')

    await add('Question')
    await typeInto(form.getByLabel('Block id'), 'ask-phone')
    await typeInto(form.getByLabel('Message', { exact: true }), "What's your phone number?")
    await tabTo(page, form.getByLabel('Answer type'))
    await keys.type('Phone')
    await typeInto(form.getByLabel('Save answer to'), 'phone_number')

    await add('Webhook')
    await typeInto(form.getByLabel('Block id'), 'notify')
    expect(await form.getByLabel('Webhook', { exact: true }).inputValue()).toBe('crm')
    expect(await form.getByLabel('Asynchronous').isChecked()).toBe(true)

    await add('Text')
    await typeInto(form.getByLabel('Block id'), 'thanks')
    await typeInto(
      form.getByLabel('Message', { exact: true }),
      'Thanks! We will write to {{email}}.',
    )

    // Back to the first block by the canvas: Tab to its node, Enter opens its settings.
    await tabTo(page, node(page, 'welcome'))
    await keys.press('Enter')
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('welcome-id')
    await tabTo(page, form.getByLabel('Choice goes to').nth(1))
    await keys.type('ask-email')
    expect(await form.getByLabel('Choice goes to').nth(1).inputValue()).toBe('ask-email')

    // Arrow keys walk the links: from welcome to the block it leads to.
    await tabTo(page, node(page, 'welcome'))
    await keys.press('ArrowRight')
    await expect
      .poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id))
      .toBe('ask-email')

    await keys.press('Control+s')
    await page.getByText('Bot "lead-gen-keys" saved.').waitFor()
    expect(flowOf(await getBot('lead-gen-keys'))).toEqual({
      ...flowOf(LEAD_GEN),
      id: 'lead-gen-keys',
    })
    expect(await holdSeedConversation('lead-gen-keys')).toBe(LEAD_GEN_PAYLOAD)
  })

  it('lays a hand-written 30-block bot out left to right without overlaps', async () => {
    await adminPut(server.url, '/bots/thirty', branchingBot('thirty', 30))
    await page.goto(`${server.url}/admin#/bots/thirty`)
    await page.reload()
    await page.getByRole('heading', { name: 'Bot thirty' }).waitFor()
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(30)
    const boxes = await nodeBoxes(page)
    expect(overlaps(boxes)).toEqual([])
    const at = (id: string) => boxes.find((box) => box.id === id) as (typeof boxes)[number]
    // Left to right: each block is right of the one that leads to it.
    expect(at('step-2').x).toBeGreaterThan(at('step-1').x)
    expect(at('step-30').x).toBeGreaterThan(at('step-10').x)
    // Every link drawn, with the choices' labels on their arrows.
    const links = branchingBot('thirty', 30).blocks.flatMap((block) => [
      ...(block.next ? [1] : []),
      ...(block.else ? [1] : []),
      ...((block.choices as unknown[] | undefined) ?? []),
      ...((block.rules as unknown[] | undefined) ?? []),
    ])
    expect(await page.locator('.react-flow__edge').count()).toBe(links.length)
    expect(await page.locator('.react-flow__edge-text', { hasText: 'Skip ahead' }).count()).toBe(5)
    expect(await page.locator('.react-flow__minimap').count()).toBe(1)
    await screenshot(page, 'builder-03-thirty-blocks')
  })

  it('keeps a moved node where it was put, after a save and a reload', async () => {
    const before = (await node(page, 'step-2').boundingBox()) as { x: number; y: number }
    await page.mouse.move(before.x + 40, before.y + 20)
    await page.mouse.down()
    await page.mouse.move(before.x + 90, before.y + 140, { steps: 8 })
    await page.mouse.up()
    const moved = (await node(page, 'step-2').boundingBox()) as { x: number; y: number }
    expect(moved.y - before.y).toBeGreaterThan(60)
    await page.keyboard.press('Control+s')
    await page.getByText('Bot "thirty" saved.').waitFor()
    const saved = (await getBot('thirty')).layout as Record<string, { x: number; y: number }>
    expect(Object.keys(saved)).toHaveLength(30)

    await page.reload()
    await page.getByRole('heading', { name: 'Bot thirty' }).waitFor()
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(30)
    // The view is kept too: the block is where it was on screen.
    const again = (await node(page, 'step-2').boundingBox()) as { x: number; y: number }
    expect(again.x).toBeCloseTo(moved.x, 0)
    expect(again.y).toBeCloseTo(moved.y, 0)
    // Same place on the canvas: the saved layout is what is drawn.
    const transform = await page.evaluate(() => {
      const viewport = document.querySelector<HTMLElement>('.react-flow__viewport')
      return new DOMMatrix(getComputedStyle(viewport as HTMLElement).transform)
    })
    const after = (await node(page, 'step-2').boundingBox()) as { x: number; y: number }
    const origin = (await page.locator('.react-flow__renderer').boundingBox()) as {
      x: number
      y: number
    }
    expect((after.x - origin.x - transform.e) / transform.a).toBeCloseTo(
      saved['step-2']?.x ?? Number.NaN,
      0,
    )
    expect((after.y - origin.y - transform.f) / transform.d).toBeCloseTo(
      saved['step-2']?.y ?? Number.NaN,
      0,
    )
  })

  it('shows a broken link on its node, and undo restores it', async () => {
    // step-4 is a condition: its rule must go somewhere.
    await node(page, 'step-4').click()
    const form = settings(page)
    await form.getByLabel('Goes to').selectOption('')
    const problem = node(page, 'step-4').locator('.block-problem')
    await expect.poll(() => problem.textContent()).toContain('next')
    expect(await node(page, 'step-4').getAttribute('aria-label')).toMatch(/1 problem/)
    const problems = page.getByRole('region', { name: 'Problems' })
    await expect.poll(() => problems.textContent()).toContain('step-4')
    await screenshot(page, 'builder-04-broken-link')
    // Choosing the problem in the list selects its node.
    await node(page, 'step-1').click()
    await problems.getByRole('button', { name: /step-4/ }).click()
    await expect
      .poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.id))
      .toBe('step-4')
    await page.getByRole('button', { name: 'Undo' }).click()
    await expect.poll(() => problem.count()).toBe(0)
    expect(await form.getByLabel('Goes to').inputValue()).toBe('step-6')
    await page.getByRole('button', { name: 'Redo' }).click()
    await expect.poll(() => problem.count()).toBe(1)
    await page.keyboard.press('Control+z')
    await expect.poll(() => problem.count()).toBe(0)
  })

  it('unlinks a selected arrow with Delete', async () => {
    const edge = page
      .locator('.react-flow__edge', {
        has: page.locator('.react-flow__edge-text', { hasText: 'Skip ahead' }),
      })
      .first()
    const before = await page.locator('.react-flow__edge').count()
    await edge.click()
    await page.keyboard.press('Delete')
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(before - 1)
    await page.keyboard.press('Control+z')
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(before)
  })

  it('has no serious accessibility problem, and looks right at every size', async () => {
    // axe is injected as a script: only a context without the CSP allows it.
    const { page: open, close } = await openPage(browser, { bypassCSP: true })
    try {
      await signIn(open, server.url)
      await open.goto(`${server.url}/admin#/bots/lead-gen`)
      await open.getByRole('heading', { name: 'Bot lead-gen' }).waitFor()
      await node(open, 'ask-email').click()
      expect(await axeViolations(open)).toEqual([])
      await screenshot(open, 'builder-05-desktop', false)
      await open.setViewportSize({ width: 390, height: 844 })
      await screenshot(open, 'builder-06-phone')
      await open.setViewportSize({ width: 640, height: 430 })
      await screenshot(open, 'builder-07-zoom-200', false)
    } finally {
      await close()
    }
  })

  it('lists the saved versions and restores one', async () => {
    await page.goto(`${server.url}/admin#/bots/lead-gen`)
    await page.getByRole('heading', { name: 'Bot lead-gen' }).waitFor()
    const versions = page.getByRole('region', { name: 'Versions' })
    await versions.getByText('Version 1').waitFor()
    await node(page, 'thanks').click()
    await settings(page).getByLabel('Message', { exact: true }).fill('Merci ! À bientôt.')
    await page.keyboard.press('Control+s')
    await versions.getByText('Version 2').waitFor()
    expect(await versions.textContent()).toContain('from the console')
    await versions.getByRole('button', { name: 'Restore version 1' }).click()
    await versions.getByText('Version 3').waitFor()
    await expect.poll(() => node(page, 'thanks').textContent()).toContain('Thanks! We will')
    expect(((await getBot('lead-gen')).blocks as { text?: string }[]).at(-1)?.text).toBe(
      'Thanks! We will write to {{email}}.',
    )
  })

  it('links a choice by dragging from its handle to a block', async () => {
    await page.goto(`${server.url}/admin#/bots/lead-gen`)
    await page.reload()
    await page.getByRole('heading', { name: 'Bot lead-gen' }).waitFor()
    // The first choice's own handle, dropped on the thank-you block.
    const handle = node(page, 'welcome').locator('.react-flow__handle[data-handleid="choice-0"]')
    const from = (await handle.boundingBox()) as {
      x: number
      y: number
      width: number
      height: number
    }
    const to = (await node(page, 'thanks').boundingBox()) as {
      x: number
      y: number
      width: number
      height: number
    }
    await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2)
    await page.mouse.down()
    await page.mouse.move(to.x + 20, to.y + to.height / 2, { steps: 12 })
    await page.mouse.move(to.x + 12, to.y + to.height / 2, { steps: 2 })
    await page.mouse.up()
    await page.getByRole('tab', { name: 'JSON' }).click()
    const bot = JSON.parse(await page.getByLabel('Bot JSON').inputValue())
    expect(bot.blocks[0].choices[0]).toEqual({ label: 'Just browsing', next: 'thanks' })
    expect(bot.blocks[0].next).toBe('ask-email')
    await page.getByRole('tab', { name: 'Flow' }).click()
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(6)
    // A choice added later has its own handle, measured again: its link is drawn too.
    await node(page, 'welcome').click()
    await page.getByRole('button', { name: 'Add choice' }).click()
    await page.getByLabel('Choice goes to').nth(2).selectOption('ask-phone')
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(7)
    await page.getByRole('button', { name: 'Undo' }).click()
    await page.getByRole('button', { name: 'Undo' }).click()
    await page.getByRole('button', { name: 'Undo' }).click()
    expect(await page.getByText('Unsaved changes', { exact: true }).count()).toBe(0)
  })

  it('keeps unsaved changes while the operator looks at another page', async () => {
    await page.goto(`${server.url}/admin#/bots/lead-gen`)
    await page.getByRole('heading', { name: 'Bot lead-gen' }).waitFor()
    await node(page, 'thanks').click()
    await settings(page).getByLabel('Message', { exact: true }).fill('Unsaved words')
    await page.getByRole('link', { name: 'Deliveries' }).click()
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor()
    await page.getByRole('link', { name: 'Bots' }).click()
    await page.getByRole('link', { name: /^lead-gen Lead generation/ }).click()
    await page.getByText('Your unsaved changes are back.').waitFor()
    expect(await page.getByText('Unsaved changes', { exact: true }).count()).toBe(1)
    await expect.poll(() => node(page, 'thanks').textContent()).toContain('Unsaved words')
    await page.getByRole('button', { name: 'Undo' }).click()
    await expect.poll(() => node(page, 'thanks').textContent()).toContain('Thanks! We will')
    expect(await page.getByText('Unsaved changes', { exact: true }).count()).toBe(0)
  })

  it('saw no CSP violation, script error or dialog', () => {
    expect(trouble.cspViolations).toEqual([])
    expect(trouble.errors).toEqual([])
    expect(trouble.dialogs).toEqual([])
  })
})
