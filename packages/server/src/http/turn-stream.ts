import type { Instruction } from '@joon/core'
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { TurnListener, TurnReply } from '../conversation.js'
import { ApiError, errorBody } from './errors.js'

type Log = (event: string, fields: Record<string, unknown>) => void
type StreamedTurn = TurnReply & { conversationId?: string }

/** Whether the client asked for the turn as Server-Sent Events (`accept: text/event-stream`). */
export function wantsEventStream(c: Context): boolean {
  return (c.req.header('accept') ?? '').toLowerCase().includes('text/event-stream')
}

/**
 * A turn answered as Server-Sent Events: an `instruction` event for each instruction the
 * moment the turn knows it (a text block's before the slow webhook after it is called), `delta`
 * events with a model's text as it streams (its `instruction` follows, whole), then `done`
 * with `{ conversationId?, input, ended }`. The turn itself is the same as without a
 * stream, saved once at its end; a client that goes away mid-stream stops the events, not the
 * turn.
 *
 * Until the first instruction nothing is sent, so a turn refused at once (unknown bot, ended
 * conversation) is the usual JSON error with its status. One that fails after instructions
 * went out (a conflicting reply saved first) ends the stream with an `error` event holding the
 * usual error body.
 */
export async function streamTurn(
  c: Context,
  status: 200 | 201,
  log: Log | undefined,
  run: (listener: TurnListener) => Promise<StreamedTurn>,
): Promise<Response> {
  const queue: (
    | { event: 'instruction'; data: Instruction }
    | { event: 'delta'; data: { text: string } }
  )[] = []
  let arrived = signal()
  const settled = run({
    onInstructions: (instructions) => {
      for (const instruction of instructions)
        queue.push({ event: 'instruction', data: instruction })
      arrived.resolve()
    },
    onDelta: (text) => {
      queue.push({ event: 'delta', data: { text } })
      arrived.resolve()
    },
  }).then(
    (reply) => ({ reply }),
    (error: unknown) => ({ error }),
  )
  const early = await Promise.race([settled, arrived.promise])
  if (early && 'error' in early && queue.length === 0) throw early.error

  c.header('cache-control', 'no-cache')
  // nginx and others buffer proxied answers unless told not to.
  c.header('x-accel-buffering', 'no')
  c.status(status)
  return streamSSE(c, async (stream) => {
    const send = async (event: string, data: unknown) => {
      if (!stream.aborted) await stream.writeSSE({ event, data: JSON.stringify(data) })
    }
    let sent = 0
    let outcome: Awaited<typeof settled> | undefined
    void settled.then((value) => {
      outcome = value
      arrived.resolve()
    })
    for (;;) {
      arrived = signal()
      for (let next = queue.shift(); next; next = queue.shift()) {
        await send(next.event, next.data)
        if (next.event === 'instruction') sent++
      }
      if (outcome) break
      await arrived.promise
    }
    if ('error' in outcome) {
      const error = outcome.error
      if (!(error instanceof ApiError))
        log?.('http.error', { path: c.req.path, error: String(error) })
      await send(
        'error',
        error instanceof ApiError
          ? errorBody(error.code, error.message, error.issues)
          : errorBody('internal_error', 'Something went wrong on our side.'),
      )
      return
    }
    const { responses, input, ended, conversationId } = outcome.reply
    // What the turn said without going through the interpreter (a gone bot's notice).
    for (const instruction of responses.slice(sent)) await send('instruction', instruction)
    await send(
      'done',
      conversationId === undefined ? { input, ended } : { conversationId, input, ended },
    )
  })
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {}
  const promise = new Promise<void>((done) => {
    resolve = done
  })
  return { promise, resolve }
}
