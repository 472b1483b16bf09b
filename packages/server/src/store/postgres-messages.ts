import type { Message } from '@joon/core'
import { type MessageRow, messagesByConversation, withMessages } from './conversations.js'
import type { Statements } from './postgres-statements.js'
import type { ConversationRecord } from './types.js'

/**
 * Reading the messages PostgresStore keeps apart from long conversations' states, in
 * `conversation_messages` (written by the turn writes in postgres-turns.ts, deleted with their
 * conversation by the foreign key's cascade).
 */

const MESSAGES_OF = `
  SELECT conversation_id, data FROM conversation_messages
  WHERE conversation_id = ANY($1::text[]) ORDER BY conversation_id, seq`

export async function messagesOf(db: Statements, id: string): Promise<Message[]> {
  const { rows } = await db.query<MessageRow>('messages-of', MESSAGES_OF, [[id]])
  return messagesByConversation(rows).get(id) ?? []
}

/** The records with every message in their states, read in one query. */
export async function withAllMessages(
  db: Statements,
  records: ConversationRecord[],
): Promise<ConversationRecord[]> {
  if (records.length === 0) return records
  const ids = records.map((record) => record.id)
  const { rows } = await db.query<MessageRow>('messages-of', MESSAGES_OF, [ids])
  const kept = messagesByConversation(rows)
  return records.map((record) => ({
    ...record,
    state: withMessages(record.state, kept.get(record.id) ?? []),
  }))
}
