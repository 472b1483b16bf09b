import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Locator, Page } from 'playwright-core'

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** The contract's lead-generation bot (its seed), as the builder tests build it. */
export const LEAD_GEN = {
  id: 'lead-gen',
  name: 'Lead generation',
  start: 'welcome',
  blocks: [
    {
      id: 'welcome',
      type: 'buttons',
      text: 'What brings you here today?',
      choices: [{ label: 'Just browsing' }, { label: 'Book a demo', next: 'ask-email' }],
      next: 'ask-email',
    },
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
    { id: 'thanks', type: 'text', text: 'Thanks! We will write to {{email}}.' },
  ],
}

/** The seed's payload for "Just browsing", nicolas@joonbot.com, 0612345678, byte for byte. */
export const LEAD_GEN_PAYLOAD = `{
  "email": "nicolas@joonbot.com",
  "phone_number": "0612345678",
  "conversation": "Bot: What brings you here today?\\nUser: Just browsing\\nBot: What's your email address?\\nUser: nicolas@joonbot.com\\nBot: What's your phone number?\\nUser: 0612345678\\n"
}`

export const settings = (page: Page) => page.getByRole('region', { name: 'Block settings' })

export const node = (page: Page, id: string) => page.locator(`.react-flow__node[data-id="${id}"]`)

export interface Box {
  id: string
  x: number
  y: number
  width: number
  height: number
}

/** Every node's box on screen. */
export async function nodeBoxes(page: Page): Promise<Box[]> {
  return page.$$eval('.react-flow__node', (elements) =>
    elements.map((element) => {
      const rect = element.getBoundingClientRect()
      return {
        id: (element as HTMLElement).dataset.id ?? '',
        x: rect.x,
        y: rect.y,
        width: rect.width,
        height: rect.height,
      }
    }),
  )
}

export function overlaps(boxes: Box[]): string[] {
  const found: string[] = []
  for (const [index, a] of boxes.entries()) {
    for (const b of boxes.slice(index + 1)) {
      const apart =
        a.x + a.width <= b.x ||
        b.x + b.width <= a.x ||
        a.y + a.height <= b.y ||
        b.y + b.height <= a.y
      if (!apart) found.push(`${a.id} overlaps ${b.id}`)
    }
  }
  return found
}

/**
 * Presses Tab (or Shift+Tab, when the target comes before the focus) until the target has the
 * focus, as a keyboard user would; fails if it is not reached within `max` presses.
 */
export async function tabTo(page: Page, target: Locator, max = 60): Promise<void> {
  const handle = await target.elementHandle()
  const where = () =>
    page.evaluate((element) => {
      const active = document.activeElement
      if (element === active) return 'here'
      if (!active || active === document.body) return 'after'
      return active.compareDocumentPosition(element as Node) & Node.DOCUMENT_POSITION_FOLLOWING
        ? 'after'
        : 'before'
    }, handle)
  for (let i = 0; i < max; i++) {
    const position = await where()
    if (position === 'here') return
    await page.keyboard.press(position === 'after' ? 'Tab' : 'Shift+Tab')
  }
  throw new Error(`Tab never reached ${target}`)
}

/** A hand-written bot of `count` blocks that branches and joins (no layout). */
export function branchingBot(id: string, count: number) {
  const blocks: Record<string, unknown>[] = []
  const ids = Array.from({ length: count }, (_, index) => `step-${index + 1}`)
  for (const [index, blockId] of ids.entries()) {
    const next = ids[index + 1]
    if (index % 6 === 0 && index + 3 < count) {
      blocks.push({
        id: blockId,
        type: 'buttons',
        text: `Question ${index + 1}: which way?`,
        choices: [
          { label: 'Left', next: ids[index + 1] },
          { label: 'Right', next: ids[index + 2] },
          { label: 'Skip ahead', next: ids[index + 3] },
        ],
        saveAnswerTo: `way_${index + 1}`,
      })
    } else if (index % 6 === 3 && index + 2 < count) {
      blocks.push({
        id: blockId,
        type: 'condition',
        rules: [{ variable: 'way_1', op: 'equals', value: 'Left', next: ids[index + 2] }],
        else: next,
      })
    } else if (index % 5 === 4) {
      blocks.push({
        id: blockId,
        type: 'question',
        answer: 'text',
        text: `Tell me something, step ${index + 1}`,
        saveAnswerTo: `note_${index + 1}`,
        ...(next ? { next } : {}),
      })
    } else {
      blocks.push({
        id: blockId,
        type: 'text',
        text: `Message number ${index + 1}, a few words long.`,
        ...(next ? { next } : {}),
      })
    }
  }
  return { id, name: `${count} blocks`, start: ids[0], blocks }
}

/** Serious and critical axe-core violations on the page. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE)
  return page.evaluate(async () => {
    type Result = {
      violations: { id: string; impact: string; nodes: { target: string[] }[]; help: string }[]
    }
    const axe = (window as unknown as { axe: { run(context: Document): Promise<Result> } }).axe
    const { violations } = await axe.run(document)
    return violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map(
        (violation) =>
          `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes
            .slice(0, 3)
            .map((node) => node.target.join(' '))
            .join(', ')}`,
      )
  })
}
