import type { Bot, Model, Webhook } from '@joon/core'
import { compareCodeUnits, isVersionNumber, ParsedBots } from './bots.js'
import type * as T from './types.js'
import { emptyHealth } from './webhook-health.js'

interface StoredBotVersion extends T.BotVersionInfo {
  /** JSON text, as the SQL stores keep it. */
  data: string
}

/**
 * The memory store's catalog: bots with every version, and webhooks. `MemoryStore` adds the
 * conversations and deliveries on top.
 */
export class MemoryCatalog {
  /** Each bot's versions, oldest first. */
  readonly #bots = new Map<string, StoredBotVersion[]>()
  /** The last version number given to each bot id, kept after a delete: never reused. */
  readonly #lastVersions = new Map<string, number>()
  readonly #parsedBots = new ParsedBots()
  readonly #webhooks = new Map<string, string>()
  /** Each registered webhook's health (`MemoryStore` records outcomes in it). */
  protected readonly health = new Map<string, T.WebhookHealth>()
  readonly #models = new Map<string, string>()
  #closed = false

  async putBot(bot: Bot, input: T.BotVersionInput = { source: 'api' }): Promise<T.PutBotResult> {
    this.assertOpen()
    let versions = this.#bots.get(bot.id)
    const created = versions === undefined
    if (!versions) {
      versions = []
      this.#bots.set(bot.id, versions)
    }
    const version = (this.#lastVersions.get(bot.id) ?? 0) + 1
    this.#lastVersions.set(bot.id, version)
    versions.push({
      version,
      savedAt: input.savedAt ?? Date.now(),
      source: input.source,
      file: input.file ?? null,
      blocks: bot.blocks.length,
      data: JSON.stringify(bot),
    })
    return { created, version }
  }

  async getBot(id: string): Promise<Bot | null> {
    return (await this.getLatestBot(id))?.bot ?? null
  }

  async getLatestBot(id: string): Promise<T.VersionedBot | null> {
    this.assertOpen()
    const latest = this.#bots.get(id)?.at(-1)
    if (!latest) return null
    return { bot: this.#parsedBots.parse(id, latest.version, latest.data), version: latest.version }
  }

  async getBotVersion(id: string, version: number): Promise<Bot | null> {
    this.assertOpen()
    if (!isVersionNumber(version)) return null
    const cached = this.#parsedBots.get(id, version)
    if (cached) return cached
    const stored = this.#bots.get(id)?.find((v) => v.version === version)
    return stored ? this.#parsedBots.parse(id, version, stored.data) : null
  }

  async listBotVersions(id: string): Promise<T.BotVersionInfo[]> {
    this.assertOpen()
    return (this.#bots.get(id) ?? [])
      .map(({ version, savedAt, source, file, blocks }) => ({
        version,
        savedAt,
        source,
        file,
        blocks,
      }))
      .reverse()
  }

  async listBots(): Promise<Bot[]> {
    this.assertOpen()
    return [...this.#bots.keys()].sort(compareCodeUnits).map((id) => {
      const latest = this.#bots.get(id)!.at(-1)!
      return this.#parsedBots.parse(id, latest.version, latest.data)
    })
  }

  async deleteBot(id: string): Promise<boolean> {
    this.assertOpen()
    this.#parsedBots.delete(id)
    return this.#bots.delete(id)
  }

  async putWebhook(webhook: Webhook): Promise<T.PutResult> {
    this.assertOpen()
    const created = !this.#webhooks.has(webhook.name)
    this.#webhooks.set(webhook.name, JSON.stringify(webhook))
    if (!this.health.has(webhook.name)) this.health.set(webhook.name, emptyHealth(webhook.name))
    return { created }
  }

  async getWebhook(name: string): Promise<Webhook | null> {
    this.assertOpen()
    const json = this.#webhooks.get(name)
    return json === undefined ? null : (JSON.parse(json) as Webhook)
  }

  async listWebhooks(): Promise<Webhook[]> {
    this.assertOpen()
    return sortedValues(this.#webhooks).map((json) => JSON.parse(json) as Webhook)
  }

  async deleteWebhook(name: string): Promise<boolean> {
    this.assertOpen()
    this.health.delete(name)
    return this.#webhooks.delete(name)
  }

  async listWebhookHealth(): Promise<T.WebhookHealth[]> {
    this.assertOpen()
    return [...this.health.keys()].sort(compareCodeUnits).map((name) => ({
      ...this.health.get(name)!,
    }))
  }

  async getWebhookHealth(name: string): Promise<T.WebhookHealth | null> {
    this.assertOpen()
    const health = this.health.get(name)
    return health ? { ...health } : null
  }

  async putModel(model: Model): Promise<T.PutResult> {
    this.assertOpen()
    const created = !this.#models.has(model.name)
    this.#models.set(model.name, JSON.stringify(model))
    return { created }
  }

  async getModel(name: string): Promise<Model | null> {
    this.assertOpen()
    const json = this.#models.get(name)
    return json === undefined ? null : (JSON.parse(json) as Model)
  }

  async listModels(): Promise<Model[]> {
    this.assertOpen()
    return sortedValues(this.#models).map((json) => JSON.parse(json) as Model)
  }

  async deleteModel(name: string): Promise<boolean> {
    this.assertOpen()
    return this.#models.delete(name)
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  protected assertOpen(): void {
    if (this.#closed) throw new Error('the store is closed')
  }
}

function sortedValues(map: Map<string, string>): string[] {
  return [...map.keys()].sort(compareCodeUnits).map((key) => map.get(key)!)
}
