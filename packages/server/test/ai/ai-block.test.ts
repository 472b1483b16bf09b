import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ModelFixture,
  type ScriptedReply,
  startModelFixture,
} from '../../../../tools/model-fixture.mjs'
import { type JoonProcess, startJoon } from '../cli-process.js'
import { bodyOf, makeApp } from '../helpers.js'
import { eventsOf, type ServerEvent } from '../sse-events.js'

const ADMIN = 'ai-admin-token-0123456789abcdef'
const KEY = 'sk-test-0123456789abcdef'

/** The gate a scripted answer waits at, opened by the test once it saw what it expects. */
function gate() {
  let open = () => {}
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  return { open, opened }
}

describe('the ai block through joon serve, against an OpenAI-compatible server', () => {
  let dir: string
  let joon: JoonProcess
  let fixture: ModelFixture
  /** What the fixture answers next. */
  const script: ScriptedReply[] = []

  beforeAll(async () => {
    fixture = await startModelFixture(() => script.shift() ?? { status: 500 })
    dir = mkdtempSync(join(tmpdir(), 'joon-ai-'))
    mkdirSync(join(dir, 'bots'))
    // The key stays out of the file: the file names the variable that holds it.
    writeFileSync(
      join(dir, 'models.json'),
      JSON.stringify([
        {
          name: 'mini',
          baseUrl: fixture.baseUrl,
          model: 'gpt-fixture',
          apiKeyEnv: 'FIXTURE_KEY',
          maxTokens: 300,
          temperature: 0.2,
          timeoutMs: 2_000,
        },
      ]),
    )
    writeFileSync(
      join(dir, 'bots', 'support.json'),
      JSON.stringify({
        id: 'support',
        start: 'ask',
        blocks: [
          { id: 'ask', type: 'question', answer: 'text', text: 'Your question?', next: 'answer' },
          {
            id: 'answer',
            type: 'ai',
            model: 'mini',
            instructions: 'You help the customers of {{shop}}.',
            next: 'bye',
            onError: 'human',
          },
          { id: 'bye', type: 'text', text: 'Anything else, write to us.' },
          { id: 'human', type: 'text', text: 'A human will answer you.' },
        ],
      }),
    )
    writeFileSync(
      join(dir, 'bots', 'qualify.json'),
      JSON.stringify({
        id: 'qualify',
        start: 'hello',
        blocks: [
          {
            id: 'hello',
            type: 'question',
            answer: 'text',
            text: 'Tell me about you.',
            next: 'collect',
          },
          {
            id: 'collect',
            type: 'ai',
            model: 'mini',
            instructions: 'Find out the company size and budget.',
            collect: {
              size: { type: 'number', description: 'Number of employees' },
              budget: { type: 'string', description: 'Yearly budget' },
            },
            next: 'thanks',
          },
          { id: 'thanks', type: 'text', text: 'Noted: {{size}} people, budget {{budget}}.' },
        ],
      }),
    )
    joon = await startJoon(
      [
        ...['--data', join(dir, 'joon.db'), '--bots', join(dir, 'bots')],
        ...['--models', join(dir, 'models.json')],
      ],
      { JOON_ADMIN_TOKEN: ADMIN, JOON_ALLOW_PRIVATE_URLS: '1', FIXTURE_KEY: KEY },
    )
  })
  afterAll(async () => {
    await joon?.kill()
    await fixture?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  function request(method: string, path: string, body?: unknown, accept = 'application/json') {
    return fetch(`${joon.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}`, accept },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  }
  async function started(botId: string, variables = {}) {
    return bodyOf(await request('POST', `/api/v1/bots/${botId}/conversations`, { variables }))
  }
  async function streamedReply(
    id: string,
    text: string,
    onEvent?: (events: ServerEvent[]) => void,
  ) {
    const response = await request(
      'POST',
      `/api/v1/conversations/${id}/replies`,
      { text },
      'text/event-stream',
    )
    expect(response.status).toBe(200)
    const events: ServerEvent[] = []
    for await (const event of eventsOf(response)) {
      events.push(event)
      onEvent?.(events)
    }
    return events
  }
  const label = (event: ServerEvent) =>
    (event.data as { elements: { label: string }[] }).elements[0]!.label

  it('registers models with the key masked, keeps the key on a masked PUT, refuses deleting one in use', async () => {
    const got = await bodyOf(await request('GET', '/api/v1/admin/models/mini'))
    expect(got).toEqual({
      name: 'mini',
      baseUrl: fixture.baseUrl,
      model: 'gpt-fixture',
      apiKey: '••••••••cdef',
      maxTokens: 300,
      temperature: 0.2,
      timeoutMs: 2_000,
    })
    expect(
      JSON.stringify(await bodyOf(await request('GET', '/api/v1/admin/models'))),
    ).not.toContain(KEY)
    const saved = await request('PUT', '/api/v1/admin/models/mini', { ...got, temperature: 0.3 })
    expect(saved.status).toBe(200)
    expect((await bodyOf(saved)).apiKey).toBe('••••••••cdef')
    const bad = await request('PUT', '/api/v1/admin/models/other', {
      baseUrl: 'ftp://x',
      model: '',
    })
    expect(bad.status).toBe(400)
    expect((await bodyOf(bad)).error.code).toBe('invalid_body')
    const inUse = await request('DELETE', '/api/v1/admin/models/mini')
    expect(inUse.status).toBe(409)
    expect((await bodyOf(inUse)).error.code).toBe('model_in_use')
    expect((await request('DELETE', '/api/v1/admin/models/nope')).status).toBe(404)
    const unknownModel = await request('PUT', '/api/v1/admin/bots/broken', {
      id: 'broken',
      start: 'a',
      blocks: [{ id: 'a', type: 'ai', model: 'nope', instructions: 'x' }],
    })
    expect(unknownModel.status).toBe(400)
    expect((await bodyOf(unknownModel)).error.message).toContain('model "nope" is not registered')
  })

  it('streams the answer as deltas, then the whole message; the transcript holds the final text', async () => {
    const seen = gate()
    script.push({
      text: ['We ship ', 'within ', '2 days.'],
      holdUntil: seen.opened,
      usage: { prompt_tokens: 42, completion_tokens: 7 },
    })
    const { conversationId } = await started('support', { shop: 'Joon Shop' })
    const events = await streamedReply(conversationId, 'How fast do you ship?', (so) => {
      // The end of the answer is held until the deltas are here: they cannot be buffered.
      if (so.filter((e) => e.event === 'delta').length === 3) seen.open()
    })
    expect(events.map((e) => e.event)).toEqual([
      'delta',
      'delta',
      'delta',
      'instruction',
      'instruction',
      'done',
    ])
    expect(
      events
        .slice(0, 3)
        .map((e) => (e.data as { text: string }).text)
        .join(''),
    ).toBe('We ship within 2 days.')
    expect(events.slice(3, 5).map(label)).toEqual([
      'We ship within 2 days.',
      'Anything else, write to us.',
    ])
    // What the model was sent, and with which key (the real one, from the environment).
    const sent = fixture.requests.at(-1)!
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(sent.body).toMatchObject({
      model: 'gpt-fixture',
      stream: true,
      max_tokens: 300,
      temperature: 0.3,
      messages: [
        { role: 'system', content: 'You help the customers of Joon Shop.' },
        { role: 'assistant', content: 'Your question?' },
        { role: 'user', content: 'How fast do you ship?' },
      ],
    })
    expect(sent.body.tools).toBeUndefined()
    const admin = await bodyOf(
      await request('GET', `/api/v1/admin/conversations/${conversationId}`),
    )
    expect(admin.transcript).toBe(
      'Bot: Your question?\nUser: How fast do you ship?\nBot: We ship within 2 days.\nBot: Anything else, write to us.\n',
    )
    const log = await bodyOf(await request('GET', '/api/v1/admin/deliveries?limit=5'))
    const call = log.deliveries.find((d: { webhook: string }) => d.webhook === 'ai:mini')
    expect(call).toMatchObject({ status: 'delivered', async: false, conversationId })
  })

  it('collects typed values through its tool call, arguments streamed in pieces', async () => {
    script.push(
      { text: ['How many ', 'people work there?'] },
      {
        toolCall: { name: 'save_answers', arguments: ['{"size":', ' "40", "bud', 'get": "20k"}'] },
      },
    )
    const { conversationId } = await started('qualify')
    const first = await bodyOf(
      await request('POST', `/api/v1/conversations/${conversationId}/replies`, {
        text: 'We sell bikes, budget 20k.',
      }),
    )
    expect(
      first.responses.map((r: { elements: { label: string }[] }) => r.elements[0]!.label),
    ).toEqual(['How many people work there?'])
    expect(first.input).toEqual({ type: 'text' })
    expect(fixture.requests.at(-1)!.body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'save_answers',
          description: expect.any(String),
          parameters: {
            type: 'object',
            properties: {
              size: { type: 'number', description: 'Number of employees' },
              budget: { type: 'string', description: 'Yearly budget' },
            },
            required: ['size', 'budget'],
            additionalProperties: false,
          },
        },
      },
    ])
    const events = await streamedReply(conversationId, 'About 40.')
    expect(events.filter((e) => e.event === 'instruction').map(label)).toEqual([
      'Noted: 40 people, budget 20k.',
    ])
    expect(events.at(-1)).toEqual({ event: 'done', data: { input: null, ended: true } })
    const admin = await bodyOf(
      await request('GET', `/api/v1/admin/conversations/${conversationId}`),
    )
    expect(admin.context).toMatchObject({ size: 40, budget: '20k' })
  })

  it('takes onError on an error status, a stream cut off, or a model too slow to answer', async () => {
    for (const reply of [
      { status: 500 },
      { text: ['Half an ans'], cutAfterChunks: 2 },
      { firstTokenDelayMs: 2_500, text: ['Too late'] },
    ] satisfies ScriptedReply[]) {
      script.push(reply)
      const { conversationId } = await started('support')
      const events = await streamedReply(conversationId, 'Hello?')
      expect(events.filter((e) => e.event === 'instruction').map(label)).toEqual([
        'A human will answer you.',
      ])
      // Any text streamed before the failure was only a draft: the transcript does not hold it.
      const shown = await bodyOf(await request('GET', `/api/v1/conversations/${conversationId}`))
      expect(shown.messages.map((m: { text: string }) => m.text)).toEqual([
        'Your question?',
        'Hello?',
        'A human will answer you.',
      ])
    }
    const failed = await bodyOf(
      await request('GET', '/api/v1/admin/deliveries?status=failed&limit=3'),
    )
    expect(
      failed.deliveries.map((d: { webhook: string; lastError: string }) => [
        d.webhook,
        d.lastError,
      ]),
    ).toEqual([
      ['ai:mini', 'timed out after 2000 ms'],
      ['ai:mini', expect.stringMatching(/network error|terminated|closed/i)],
      ['ai:mini', expect.stringMatching(/^HTTP 500/)],
    ])
  }, 20_000)
})

describe('models on a private address', () => {
  it('are saved with a warning, like webhooks, when private URLs are not allowed', async () => {
    const { admin } = makeApp({ allowPrivateUrls: false })
    const saved = await admin('PUT', '/models/local', {
      baseUrl: 'http://127.0.0.1:11434/v1',
      model: 'llama3',
    })
    expect(saved.status).toBe(201)
    expect(saved.json.warnings).toEqual([expect.stringContaining('Calls to this URL will fail')])
    expect(saved.json.apiKey).toBeUndefined()
  })
})
