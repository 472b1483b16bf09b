import { readFileSync } from 'node:fs'
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
import { startReceiver } from './support/receiver.js'
import { ADMIN_TOKEN, adminPut, chat, startConsoleServer } from './support/server.js'

/** Issue 15: the Results view in Chromium, through the real server, keyboard first. */

const BOT = {
  id: 'lead-gen',
  name: 'Lead generation',
  start: 'ask-email',
  blocks: [
    {
      id: 'ask-email',
      type: 'question',
      answer: 'email',
      text: "What's your email address?",
      saveAnswerTo: 'email',
      next: 'ask-phone',
    },
    {
      id: 'ask-phone',
      type: 'question',
      answer: 'phone',
      text: "What's your phone number?",
      saveAnswerTo: 'phone_number',
      next: 'notify',
    },
    { id: 'notify', type: 'webhook', webhook: 'crm', async: true, next: 'thanks' },
    { id: 'thanks', type: 'text', text: 'Thanks!' },
  ],
}

let server: Awaited<ReturnType<typeof startConsoleServer>>
let receiver: Awaited<ReturnType<typeof startReceiver>>
let browser: Browser
let page: Page
let trouble: PageTrouble
let closePage: () => Promise<void>
const ids: string[] = []

beforeAll(async () => {
  ;[server, receiver, browser] = await Promise.all([
    startConsoleServer(),
    startReceiver(),
    launchChromium(),
  ])
  await adminPut(server.url, '/webhooks/crm', { url: receiver.url })
  await adminPut(server.url, '/bots/lead-gen', BOT)
  // 30 visitors: odd ones stop at the phone question.
  for (let i = 0; i < 30; i++) {
    const replies = [`visitor-${i}@example.com`, ...(i % 2 === 0 ? [`06123456${10 + i}`] : [])]
    ids.push(await chat(server.url, 'lead-gen', replies))
  }
  ;({ page, trouble, close: closePage } = await openPage(browser, { acceptDownloads: true }))
}, 60_000)

afterAll(async () => {
  await closePage?.()
  await browser?.close()
  await server?.close()
  await receiver?.close()
})

afterEach(async ({ task }) => {
  if (task.result?.state === 'fail') await screenshot(page, `failed-${task.name.slice(0, 40)}`)
})

const rows = () => page.locator('table.results tbody tr')

describe('Results view', () => {
  it('lists a bot’s conversations with its variables, pages and searches', async () => {
    await signIn(page, server.url)
    await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link', { name: 'Results' })
      .click()
    await page.getByRole('heading', { name: 'Results' }).waitFor()
    await page.getByRole('link', { name: 'Lead generation' }).click()
    await page.getByRole('heading', { name: 'Results of Lead generation' }).waitFor()
    expect(new URL(page.url()).hash).toBe('#/results/lead-gen')
    await expect.poll(() => rows().count()).toBe(25)
    const headers = await page.locator('table.results thead th').allTextContents()
    expect(headers).toEqual(['Started', 'State', 'email', 'phone_number', 'Messages'])
    // Newest first: visitor 29 (stopped at the phone question) heads the table.
    expect(await rows().first().locator('td').allTextContents()).toEqual([
      expect.any(String),
      'In progress',
      'visitor-29@example.com',
      '',
      '3',
    ])
    await screenshot(page, 'results-01-table')

    await page.getByRole('button', { name: 'Older' }).click()
    await expect.poll(() => rows().count()).toBe(5)
    expect(await rows().last().locator('td').nth(2).textContent()).toBe('visitor-0@example.com')
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true)
    await page.getByRole('button', { name: 'Newer' }).click()
    await expect.poll(() => rows().count()).toBe(25)

    // Search, from the keyboard: type, then Enter submits the filters.
    await page.getByLabel('Search').fill('VISITOR-12@')
    await page.getByLabel('Search').press('Enter')
    await expect.poll(() => rows().count()).toBe(1)
    expect(await rows().first().locator('td').nth(3).textContent()).toBe('0612345622')
    await page.getByLabel('Search').fill('')
    await page.getByLabel('Ended only').check()
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => rows().count()).toBe(15)
    await page.getByLabel('Ended only').uncheck()
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(() => rows().count()).toBe(25)
    expect(trouble.errors).toEqual([])
  })

  it('exports CSV and NDJSON as downloads made with the token', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('lead-gen-results.csv')
    const csv = readFileSync((await download.path())!, 'utf8')
    expect(csv.split('\r\n')[0]).toBe(
      'conversationId,startedAt,updatedAt,ended,email,phone_number,transcript',
    )
    expect(csv.split('\r\n').filter((line) => line.startsWith('c_'))).toHaveLength(30)
    expect(csv).not.toContain(ADMIN_TOKEN)

    const [ndjson] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export NDJSON' }).click(),
    ])
    expect(ndjson.suggestedFilename()).toBe('lead-gen-results.ndjson')
    const lines = readFileSync((await ndjson.path())!, 'utf8')
      .trim()
      .split('\n')
    expect(lines.map((line) => JSON.parse(line).conversationId)).toEqual([...ids].reverse())
    expect(trouble.cspViolations).toEqual([])
  })

  it('opens a row’s transcript and context, and deletes the conversation', async () => {
    await page.getByLabel('Search').fill('visitor-20@')
    await page.getByLabel('Search').press('Enter')
    await expect.poll(() => rows().count()).toBe(1)
    // Keyboard: the start time is the row's button.
    await rows().first().getByRole('button').focus()
    await page.keyboard.press('Enter')
    const detail = page.getByRole('region', { name: 'Selected conversation' })
    await detail.getByRole('heading', { name: 'Transcript' }).waitFor()
    expect(await detail.locator('.transcript').textContent()).toContain('visitor-20@example.com')
    expect(await detail.locator('table.context').textContent()).toContain('"0612345630"')
    await screenshot(page, 'results-02-conversation')
    await detail.getByRole('button', { name: 'Delete conversation' }).click()
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.textContent))
      .toBe('Delete for good')
    await page.keyboard.press('Enter')
    await page.getByRole('status').filter({ hasText: 'The conversation was deleted.' }).waitFor()
    await page.getByText('No conversation matches.').waitFor()
    const gone = await fetch(`${server.url}/api/v1/admin/conversations/${ids[20]}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(gone.status).toBe(404)
  })

  it('erases a person after saying how many conversations will go', async () => {
    await page.getByLabel('Search').fill('')
    await page.getByLabel('Search').press('Enter')
    await expect.poll(() => rows().count()).toBe(25)
    await page.getByRole('button', { name: "Erase a person's data" }).click()
    const form = page.getByRole('form', { name: "Erase a person's data" })
    expect(await form.getByLabel('Variable').inputValue()).toBe('email')
    await form.getByLabel('Value').fill('VISITOR-3@example.com')
    await form.getByRole('button', { name: 'Find conversations' }).click()
    await form.getByText('1 conversation will be deleted for good.').waitFor()
    await screenshot(page, 'results-03-erase')
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.textContent))
      .toBe('Erase 1 conversation')
    await page.keyboard.press('Enter')
    await page.getByRole('status').filter({ hasText: 'Erased 1 conversation.' }).waitFor()
    const left = (await (
      await fetch(`${server.url}/api/v1/admin/conversations?limit=100&q=visitor-3@`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as { conversations: unknown[] }
    expect(left.conversations).toEqual([])
    expect(trouble.errors).toEqual([])
    expect(trouble.dialogs).toEqual([])
  })

  it('has no serious accessibility problem, at desktop and phone sizes', async () => {
    // axe is injected as a script: only a context without the CSP allows it.
    const { page: open, close } = await openPage(browser, { bypassCSP: true })
    try {
      await signIn(open, server.url)
      await open.goto(`${server.url}/admin#/results/lead-gen`)
      await open.locator('table.results tbody tr').first().waitFor()
      await open.locator('table.results tbody tr').first().getByRole('button').click()
      await open.getByRole('region', { name: 'Selected conversation' }).waitFor()
      await open.getByRole('button', { name: "Erase a person's data" }).click()
      expect(await axeViolations(open)).toEqual([])
      await open.setViewportSize({ width: 390, height: 844 })
      await screenshot(open, 'results-04-phone')
    } finally {
      await close()
    }
  })
})
