import { type Bot, MAX_BLOCKS_PER_STEP } from '@joon/core'
import { describe, expect, it } from 'vitest'
import { makeApp } from '../helpers.js'

describe('a turn stopped by a safety limit', () => {
  it('is logged when a sync webhook loop reaches the calls limit', async () => {
    const events: { event: string; fields: Record<string, unknown> }[] = []
    const { call, admin } = makeApp({ log: (event, fields) => events.push({ event, fields }) })
    // Not registered, so every call fails and goes on to "route", which polls again.
    expect(
      (
        await admin('PUT', '/webhooks/status', {
          name: 'status',
          url: 'https://status.example.com/hook',
        })
      ).status,
    ).toBe(201)
    const polling = {
      id: 'poll',
      start: 'check',
      blocks: [
        { id: 'check', type: 'webhook', webhook: 'status', next: 'route' },
        { id: 'route', type: 'condition', rules: [], else: 'check' },
      ],
    }
    expect((await admin('PUT', '/bots/poll', polling)).status).toBe(201)
    const started = await call('POST', '/api/v1/bots/poll/conversations', {})
    expect(started.json).toMatchObject({ ended: true, input: null })
    expect(events.filter((e) => e.event === 'conversation.guard_stopped')).toEqual([
      {
        event: 'conversation.guard_stopped',
        fields: {
          requestId: started.headers.get('x-request-id'),
          botId: 'poll',
          conversationId: started.json.conversationId,
          guard: 'webhook_calls',
        },
      },
    ])
  })

  it('is logged when a stored bot chains more blocks than a turn runs', async () => {
    const events: { event: string; fields: Record<string, unknown> }[] = []
    const { call, store } = makeApp({ log: (event, fields) => events.push({ event, fields }) })
    // validateBot refuses this bot; one stored before the check existed still runs.
    const blocks = Array.from({ length: MAX_BLOCKS_PER_STEP + 1 }, (_, i) => ({
      id: `t${i}`,
      type: 'text' as const,
      text: `line ${i}`,
      ...(i < MAX_BLOCKS_PER_STEP ? { next: `t${i + 1}` } : {}),
    }))
    await store.putBot({ id: 'long', start: 't0', blocks } as Bot)
    const started = await call('POST', '/api/v1/bots/long/conversations', {})
    expect(started.status).toBe(201)
    expect(started.json.ended).toBe(true)
    expect(started.json.responses).toHaveLength(MAX_BLOCKS_PER_STEP)
    expect(events).toContainEqual({
      event: 'conversation.guard_stopped',
      fields: {
        requestId: started.headers.get('x-request-id'),
        botId: 'long',
        conversationId: started.json.conversationId,
        guard: 'blocks',
      },
    })
    // An ordinary end logs nothing.
    await store.putBot({
      id: 'short',
      start: 't0',
      blocks: blocks.slice(0, 3).map((b, i) => (i === 2 ? { ...b, next: undefined } : b)),
    } as Bot)
    events.length = 0
    expect((await call('POST', '/api/v1/bots/short/conversations', {})).json.ended).toBe(true)
    expect(events).toEqual([])
  })
})
