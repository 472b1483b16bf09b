import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core'
import { CHROMIUM_LAUNCH } from '../../../../tools/chromium.ts'
import { ADMIN_TOKEN } from './server.js'

export function launchChromium(): Promise<Browser> {
  return chromium.launch(CHROMIUM_LAUNCH)
}

/** Everything a page did that an operator would call broken, or a CSP would refuse. */
export interface PageTrouble {
  errors: string[]
  dialogs: string[]
  cspViolations: string[]
}

/** A fresh context (own storage) and page, watching for errors, dialogs and CSP reports. */
export async function openPage(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<{ page: Page; trouble: PageTrouble; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options })
  const page = await context.newPage()
  const trouble: PageTrouble = { errors: [], dialogs: [], cspViolations: [] }
  await page.exposeFunction('__reportCspViolation', (text: string) =>
    trouble.cspViolations.push(text),
  )
  // Init scripts run through the DevTools protocol, so the page's CSP does not apply to them.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { __reportCspViolation: (text: string) => void })
        .__reportCspViolation
      report(
        `${event.violatedDirective}: ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`,
      )
    })
  })
  page.on('pageerror', (error) => trouble.errors.push(error.message))
  page.on('console', (message) => {
    const text = message.text()
    if (/Content Security Policy/i.test(text)) trouble.cspViolations.push(text)
    if (message.type() === 'error') trouble.errors.push(`${text} ${message.location().url}`)
  })
  page.on('dialog', (dialog) => {
    trouble.dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  return { page, trouble, close: () => context.close() }
}

/** Opens the console and signs in with the keyboard only. */
export async function signIn(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/admin`)
  // The field takes focus on its own (after the first paint): a keyboard user types at once.
  await page.waitForFunction(() => document.activeElement?.id === 'token')
  await page.keyboard.type(ADMIN_TOKEN)
  await page.keyboard.press('Enter')
  await page.getByRole('navigation', { name: 'Sections' }).waitFor()
}

const SCREENSHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url))

/** Saves test/screenshots/<name>.png (gitignored) for a human to look at. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage })
}
