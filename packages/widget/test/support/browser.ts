import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core'
import { CHROMIUM_LAUNCH } from '../../../../tools/chromium.ts'

export function launchChromium(): Promise<Browser> {
  return chromium.launch(CHROMIUM_LAUNCH)
}

/** Everything a page did that a visitor would call broken. */
export interface PageTrouble {
  errors: string[]
  dialogs: string[]
}

/** A fresh context (own localStorage) and page; the caller closes the context. */
export async function openPage(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<{ page: Page; trouble: PageTrouble; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options })
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const trouble: PageTrouble = { errors: [], dialogs: [] }
  page.on('pageerror', (error) => trouble.errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') trouble.errors.push(message.text())
  })
  page.on('dialog', (dialog) => {
    trouble.dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  return { page, trouble, close: () => context.close() }
}

const SCREENSHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url))

/** Saves test/screenshots/<name>.png (gitignored) for a human to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, animations: 'disabled' })
}

/** The widget's parts, found through its open shadow root (Playwright's CSS pierces it). */
export function widget(page: Page) {
  return {
    launcher: page.locator('.launcher'),
    panel: page.getByRole('dialog'),
    log: page.getByRole('log'),
    answer: page.getByRole('textbox', { name: 'Your answer' }),
    send: page.getByRole('button', { name: 'Send' }),
    choice: (label: string) => page.getByRole('button', { name: label, exact: true }),
    typing: page.locator('.typing'),
    botMessages: () =>
      page
        .locator('.group.bot .msg')
        .evaluateAll((els) => els.map((el) => el.lastChild?.textContent ?? '')),
    userMessages: () =>
      page
        .locator('.group.user .msg')
        .evaluateAll((els) => els.map((el) => el.lastChild?.textContent ?? '')),
    /** Whatever in the shadow root has focus, described. */
    focused: () =>
      page.evaluate(() => {
        const root = document.querySelector('[data-joon-widget]')?.shadowRoot
        const el = root?.activeElement
        return el ? `${el.tagName.toLowerCase()}.${el.className}` : null
      }),
  }
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** axe-core's serious and critical violations on the page as it is now (animations done). */
export async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE })
  return page.evaluate(async () => {
    for (const host of document.querySelectorAll('[data-joon-widget], joon-chat')) {
      await Promise.all(
        (host.shadowRoot?.getAnimations() ?? [])
          .filter((a) => a.effect?.getTiming().iterations !== Number.POSITIVE_INFINITY)
          .map((a) => a.finished),
      )
    }
    type Result = { id: string; impact: string | null; nodes: { target: string[] }[] }
    const axe = (
      window as unknown as { axe: { run(c: Document): Promise<{ violations: Result[] }> } }
    ).axe
    const { violations } = await axe.run(document)
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  })
}
