import type { Model, Webhook } from '@joon/core'
import { DELETE_WEBHOOK, GET_HEALTH, LIST_HEALTH, PUT_WEBHOOK } from './postgres-health.js'
import { storable } from './postgres-statements.js'
import type * as T from './types.js'
import { type HealthRow, toHealth } from './webhook-health.js'

/**
 * What the catalog needs of the store's `Statements`, typed without pg's types: the public
 * declarations of `PostgresStore` must not need `pg` (a project on SQLite has none).
 */
interface CatalogStatements {
  query<R extends object>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>
  put(table: 'models', key: 'name', id: string, data: string): Promise<T.PutResult>
}

/**
 * What the PostgreSQL store keeps beside conversations and deliveries: webhooks with their
 * health, and models. `PostgresStore` extends it, on the same statements.
 */
export abstract class PostgresCatalog {
  protected constructor(protected readonly db: CatalogStatements) {}

  async putWebhook(webhook: Webhook): Promise<T.PutResult> {
    const { rows } = await this.db.query<{ created: boolean }>('put-webhook', PUT_WEBHOOK, [
      webhook.name,
      JSON.stringify(webhook),
    ])
    return { created: rows[0]?.created === true }
  }

  async getWebhook(name: string): Promise<Webhook | null> {
    if (!storable(name)) return null
    const { rows } = await this.db.query<{ data: string }>(
      'get-webhook',
      'SELECT data FROM webhooks WHERE name = $1',
      [name],
    )
    return rows[0] ? (JSON.parse(rows[0].data) as Webhook) : null
  }

  async listWebhooks(): Promise<Webhook[]> {
    const { rows } = await this.db.query<{ data: string }>(
      'list-webhooks',
      'SELECT data FROM webhooks ORDER BY name',
      [],
    )
    return rows.map((row) => JSON.parse(row.data) as Webhook)
  }

  async deleteWebhook(name: string): Promise<boolean> {
    if (!storable(name)) return false
    const result = await this.db.query('delete-webhook', DELETE_WEBHOOK, [name])
    return (result.rowCount ?? 0) > 0
  }

  async listWebhookHealth(): Promise<T.WebhookHealth[]> {
    const { rows } = await this.db.query<HealthRow>('list-health', LIST_HEALTH, [])
    return rows.map(toHealth)
  }

  async getWebhookHealth(name: string): Promise<T.WebhookHealth | null> {
    if (!storable(name)) return null
    const { rows } = await this.db.query<HealthRow>('get-health', GET_HEALTH, [name])
    return rows[0] ? toHealth(rows[0]) : null
  }

  async putModel(model: Model): Promise<T.PutResult> {
    return this.db.put('models', 'name', model.name, JSON.stringify(model))
  }

  async getModel(name: string): Promise<Model | null> {
    if (!storable(name)) return null
    const { rows } = await this.db.query<{ data: string }>(
      'get-model',
      'SELECT data FROM models WHERE name = $1',
      [name],
    )
    return rows[0] ? (JSON.parse(rows[0].data) as Model) : null
  }

  async listModels(): Promise<Model[]> {
    const { rows } = await this.db.query<{ data: string }>(
      'list-models',
      'SELECT data FROM models ORDER BY name',
      [],
    )
    return rows.map((row) => JSON.parse(row.data) as Model)
  }

  async deleteModel(name: string): Promise<boolean> {
    if (!storable(name)) return false
    const result = await this.db.query('delete-model', 'DELETE FROM models WHERE name = $1', [name])
    return (result.rowCount ?? 0) > 0
  }
}
