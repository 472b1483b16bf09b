import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Bot, formatBotIssues, validateBot, Webhook } from '@joon/core'

/** A mistake in the demo's JSON files, printed as is (no stack trace). */
export class DemoFileError extends Error {}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new DemoFileError(`${file}: ${(error as Error).message}`)
  }
}

/** `webhooks.json`: a JSON array of webhooks, the format `joon serve --webhooks` reads. */
export async function loadWebhooks(file: string): Promise<Webhook[]> {
  const data = await readJson(file)
  if (!Array.isArray(data)) throw new DemoFileError(`${file}: must hold a JSON array of webhooks`)
  return data.map((item: unknown, index) => {
    const parsed = Webhook.safeParse(item)
    if (parsed.success) return parsed.data
    const problems = parsed.error.issues.map(
      (issue) => `  - ${issue.path.join('.') || '(webhook)'}: ${issue.message}`,
    )
    throw new DemoFileError(`${file}: webhook #${index + 1} is not valid:\n${problems.join('\n')}`)
  })
}

/** `bots/*.json`: one bot a file, the format `joon serve --bots` reads. */
export async function loadBots(dir: string, webhooks: readonly Webhook[]): Promise<Bot[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort()
  const bots: Bot[] = []
  for (const name of names) {
    const file = join(dir, name)
    const result = validateBot(await readJson(file), { webhooks: webhooks.map((w) => w.name) })
    if (!result.ok) {
      throw new DemoFileError(`${file}: the bot is not valid:\n${formatBotIssues(result.issues)}`)
    }
    const other = bots.find((bot) => bot.id === result.bot.id)
    if (other) throw new DemoFileError(`${file}: bot id "${other.id}" is used by another file too`)
    bots.push(result.bot)
  }
  return bots
}
