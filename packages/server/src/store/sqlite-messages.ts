import type { ConversationState, Message, MessagesApart } from '@joon/core'
import { type MessageRow, messagesByConversation, withMessages } from './conversations.js'
import type { SqliteDatabase, SqliteStatement } from './sqlite-driver.js'
import type { ConversationRecord } from './types.js'

/**
 * The messages SqliteStore keeps apart from conversation states, in `conversation_messages`
 * (deleted with their conversation by the foreign key's cascade). Callers run these inside
 * their own transactions.
 */
export class SqliteMessages {
  readonly #append: SqliteStatement<[string, number, string], unknown>
  readonly #clear: SqliteStatement<[string], unknown>
  readonly #of: SqliteStatement<[string], MessageRow>
  readonly #ofMany: SqliteStatement<[string], MessageRow>

  constructor(db: SqliteDatabase) {
    this.#append = db.prepare(
      'INSERT INTO conversation_messages (conversation_id, seq, data) VALUES (?, ?, ?)',
    )
    this.#clear = db.prepare('DELETE FROM conversation_messages WHERE conversation_id = ?')
    this.#of = db.prepare(
      `SELECT conversation_id, data FROM conversation_messages
       WHERE conversation_id = ? ORDER BY seq`,
    )
    this.#ofMany = db.prepare(
      `SELECT conversation_id, data FROM conversation_messages
       WHERE conversation_id IN (SELECT value FROM json_each(?)) ORDER BY conversation_id, seq`,
    )
  }

  /**
   * Keeps what a store write moves apart (`apart`, made of `state` by `setMessagesApart`): after
   * those kept, or in their place when `state` has no `earlier` (it holds every message).
   */
  keep(conversationId: string, state: ConversationState, apart: MessagesApart): void {
    if (state.earlier === undefined) this.#clear.run(conversationId)
    if (apart.messages.length > 0) {
      this.#append.run(conversationId, apart.from, JSON.stringify(apart.messages))
    }
  }

  of(conversationId: string): Message[] {
    return messagesByConversation(this.#of.all(conversationId)).get(conversationId) ?? []
  }

  /** The records with every message in their states. */
  attach(records: ConversationRecord[]): ConversationRecord[] {
    if (records.length === 0) return records
    const kept = messagesByConversation(this.#ofMany.all(JSON.stringify(records.map((r) => r.id))))
    return records.map((record) => ({
      ...record,
      state: withMessages(record.state, kept.get(record.id) ?? []),
    }))
  }
}
