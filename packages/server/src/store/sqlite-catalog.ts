import type { Model, Webhook } from '@joon/core'
import type { prepareStatements } from './sqlite-sql.js'
import type { Transactions } from './sqlite-transactions.js'
import type * as T from './types.js'
import { toHealth } from './webhook-health.js'

/**
 * What the SQLite store keeps beside conversations and deliveries: webhooks with their
 * health, and models. `SqliteStore` extends it; both share its statements and transactions.
 */
export abstract class SqliteCatalog {
  protected constructor(
    protected readonly sql: ReturnType<typeof prepareStatements>,
    protected readonly tx: Transactions,
  ) {}

  async putWebhook(webhook: Webhook): Promise<T.PutResult> {
    return this.tx.write(() => {
      const created = this.sql.webhookExists.get(webhook.name) === undefined
      this.sql.putWebhook.run(webhook.name, JSON.stringify(webhook))
      this.sql.addHealth.run(webhook.name)
      return { created }
    })
  }

  async getWebhook(name: string): Promise<Webhook | null> {
    const row = this.sql.getWebhook.get(name)
    return row ? (JSON.parse(row.data) as Webhook) : null
  }

  async listWebhooks(): Promise<Webhook[]> {
    return this.sql.listWebhooks.all().map((row) => JSON.parse(row.data) as Webhook)
  }

  async deleteWebhook(name: string): Promise<boolean> {
    return this.tx.write(() => {
      this.sql.deleteHealth.run(name)
      return this.sql.deleteWebhook.run(name).changes > 0
    })
  }

  async listWebhookHealth(): Promise<T.WebhookHealth[]> {
    return this.sql.listHealth.all().map(toHealth)
  }

  async getWebhookHealth(name: string): Promise<T.WebhookHealth | null> {
    return this.tx.read(() => {
      const row = this.sql.getHealth.get(name)
      return row ? toHealth(row) : null
    })
  }

  async putModel(model: Model): Promise<T.PutResult> {
    return this.tx.write(() => {
      const created = this.sql.modelExists.get(model.name) === undefined
      this.sql.putModel.run(model.name, JSON.stringify(model))
      return { created }
    })
  }

  async getModel(name: string): Promise<Model | null> {
    const row = this.sql.getModel.get(name)
    return row ? (JSON.parse(row.data) as Model) : null
  }

  async listModels(): Promise<Model[]> {
    return this.sql.listModels.all().map((row) => JSON.parse(row.data) as Model)
  }

  async deleteModel(name: string): Promise<boolean> {
    return this.sql.deleteModel.run(name).changes > 0
  }
}
