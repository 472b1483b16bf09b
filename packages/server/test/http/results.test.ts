import Papa from 'papaparse'
import { describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, leadGenBot, makeApp } from '../helpers.js'

const T = Date.parse('2025-03-01T10:00:00Z')

/** An app with the lead-gen bot and a clock the test moves. */
async function setup() {
  let now = T
  const made = makeApp({ now: () => now })
  await made.admin('PUT', '/webhooks/crm', { url: 'https://crm.example.com/hooks' })
  expect((await made.admin('PUT', '/bots/lead-gen', leadGenBot)).status).toBe(201)
  /** A conversation answered up to `answers`; each one starts a minute after the last. */
  const talk = async (answers: string[], variables?: Record<string, unknown>) => {
    now += 60_000
    const started = await made.call(
      'POST',
      '/api/v1/bots/lead-gen/conversations',
      variables ? { variables } : {},
    )
    const id: string = started.json.conversationId
    for (const text of answers) {
      const reply = await made.call('POST', `/api/v1/conversations/${id}/replies`, { text })
      expect(reply.status).toBe(200)
    }
    return id
  }
  const raw = (path: string) =>
    made.app.request(`/api/v1/admin${path}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
  return { ...made, talk, raw, at: () => now }
}

describe('results API', () => {
  it('lists conversations newest first with filters, search and cursor paging', async () => {
    const { admin, talk } = await setup()
    const ada = await talk(['Book a demo', 'Ada@Example.com', '+33612345678'])
    const bob = await talk(['Just browsing', 'bob@example.com'])
    const eve = await talk(['Just browsing'], { utm: 'Spring' })
    const list = await admin('GET', '/conversations?bot=lead-gen')
    expect(list.status).toBe(200)
    expect(list.json.nextCursor).toBeNull()
    expect(
      list.json.conversations.map((c: { conversationId: string }) => c.conversationId),
    ).toEqual([eve, bob, ada])
    expect(list.json.conversations[2]).toEqual({
      conversationId: ada,
      botId: 'lead-gen',
      startedAt: new Date(T + 60_000).toISOString(),
      updatedAt: new Date(T + 60_000).toISOString(),
      ended: true,
      variables: { email: 'Ada@Example.com', phone_number: '+33612345678' },
      messages: 7,
    })
    const ids = async (query: string) =>
      (await admin('GET', `/conversations?${query}`)).json.conversations.map(
        (c: { conversationId: string }) => c.conversationId,
      )
    expect(await ids('ended=true')).toEqual([ada])
    expect(await ids('ended=false')).toEqual([eve, bob])
    expect(await ids('q=EXAMPLE.COM')).toEqual([bob, ada])
    expect(await ids('q=spring')).toEqual([eve])
    expect(await ids('q=book%20a%20DEMO')).toEqual([ada])
    expect(await ids(`since=${new Date(T + 120_000).toISOString()}`)).toEqual([eve, bob])
    expect(await ids(`until=${new Date(T + 120_000).toISOString()}`)).toEqual([ada])
    expect(await ids('since=2025-03-01&until=2025-03-02')).toEqual([eve, bob, ada])
    expect(await ids('bot=other')).toEqual([])

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { json: { conversations: { conversationId: string }[]; nextCursor: string } } =
        await admin('GET', `/conversations?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
      expect(page.json.conversations).toHaveLength(1)
      seen.push(...page.json.conversations.map((c) => c.conversationId))
      cursor = page.json.nextCursor
      // A conversation started while paging never shows up in the later pages.
      if (seen.length === 1) await talk([])
    } while (cursor)
    expect(seen).toEqual([eve, bob, ada])
  })

  it('answers 400 for bad queries and bodies, 404 for unknown things, never 500', async () => {
    const { admin, raw } = await setup()
    for (const query of [
      'limit=0',
      'limit=1001',
      'limit=ten',
      'ended=yes',
      'since=yesterday',
      'until=2025-13-45',
      'since=2025-03-02&until=2025-03-01',
      'cursor=nonsense',
      'cursor=WzEsMl0',
      `q=${'x'.repeat(501)}`,
      'bot=no%20spaces',
      'unknown=1',
    ]) {
      const reply = await admin('GET', `/conversations?${query}`)
      expect([query, reply.status]).toEqual([query, 400])
      expect(reply.json.error.code).toMatch(/^invalid_(query|cursor)$/)
      expect(reply.json.error.message).toBeTruthy()
    }
    expect((await admin('GET', '/bots/lead-gen/results?format=xlsx')).status).toBe(400)
    expect((await admin('GET', '/bots/lead-gen/funnel?since=soon')).status).toBe(400)
    expect((await admin('GET', '/bots/nobody/results')).status).toBe(404)
    expect((await admin('GET', '/bots/nobody/funnel')).status).toBe(404)
    expect((await admin('GET', '/bots/bad%20name/funnel')).status).toBe(404)
    expect((await admin('DELETE', '/conversations/nobody')).status).toBe(404)
    for (const body of [
      {},
      { variable: 'email' },
      { variable: 'bad name', value: 'x' },
      { variable: 'email', value: '' },
      { variable: 'email', value: { a: 1 } },
      { variable: 'email', value: 'x', extra: 1 },
      'not json',
    ]) {
      const reply = await admin('POST', '/erasure', body)
      expect(reply.status).toBe(400)
    }
    expect(
      (await admin('POST', '/erasure?dryRun=maybe', { variable: 'a', value: 'b' })).status,
    ).toBe(400)
    const withToken = await raw('/conversations')
    expect(withToken.status).toBe(200)
  })

  it('exports CSV a spreadsheet reads safely, and NDJSON, streamed with a file name', async () => {
    const { talk, raw } = await setup()
    const ada = await talk(['Book a demo', 'ada@example.com', '+33612345678'])
    const evil = await talk(['Just browsing'], {
      note: '=HYPERLINK("http://evil")',
      'say,"hi"': 'a\nb',
    })
    const response = await raw('/bots/lead-gen/results?format=csv')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(response.headers.get('content-disposition')).toBe(
      'attachment; filename="lead-gen-results.csv"',
    )
    const bytes = new Uint8Array(await response.arrayBuffer())
    expect([...bytes.slice(0, 3)]).not.toEqual([0xef, 0xbb, 0xbf])
    const text = new TextDecoder().decode(bytes)
    const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true })
    expect(parsed.errors).toEqual([])
    const [header, ...rows] = parsed.data
    expect(header).toEqual([
      'conversationId',
      'startedAt',
      'updatedAt',
      'ended',
      'email',
      'phone_number',
      'note',
      'say,"hi"',
      'transcript',
    ])
    expect(rows).toHaveLength(2)
    const byId = new Map(rows.map((row) => [row[0], row]))
    expect(byId.get(ada)?.slice(3, 6)).toEqual(['true', 'ada@example.com', "'+33612345678"])
    expect(byId.get(ada)?.[8]).toContain('User: ada@example.com\n')
    expect(byId.get(evil)?.slice(6, 8)).toEqual(['\'=HYPERLINK("http://evil")', 'a\nb'])
    expect(text.split('\r\n')[0]).toBe(
      'conversationId,startedAt,updatedAt,ended,email,phone_number,note,"say,""hi""",transcript',
    )

    const ndjson = await raw('/bots/lead-gen/results?format=ndjson&ended=true')
    expect(ndjson.headers.get('content-disposition')).toBe(
      'attachment; filename="lead-gen-results.ndjson"',
    )
    const lines = (await ndjson.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      conversationId: ada,
      ended: true,
      variables: { email: 'ada@example.com', phone_number: '+33612345678' },
      messages: 7,
    })
    expect(lines[0].transcript).toMatch(/^Bot: What brings you here today\?\nUser: Book a demo\n/)
  })

  it('counts the funnel in block order', async () => {
    const { admin, talk } = await setup()
    await talk(['Book a demo', 'ada@example.com', '0612345678'])
    await talk(['Just browsing', 'bob@example.com'])
    await talk(['Just browsing'])
    await talk([])
    const funnel = await admin('GET', '/bots/lead-gen/funnel')
    expect(funnel.json).toEqual({
      conversations: 4,
      blocks: [
        { id: 'welcome', type: 'buttons', reached: 4, stoppedHere: 1 },
        { id: 'ask-email', type: 'question', reached: 3, stoppedHere: 1 },
        { id: 'ask-phone', type: 'question', reached: 2, stoppedHere: 1 },
        { id: 'notify', type: 'webhook', reached: 1, stoppedHere: 0 },
        { id: 'thanks', type: 'text', reached: 1, stoppedHere: 0 },
      ],
    })
  })

  it('deletes a conversation and erases a person everywhere, with a dry run first', async () => {
    const { admin, talk, store } = await setup()
    const ada = await talk(['Book a demo', 'Ada@Example.com', '0612345678'])
    const again = await talk(['Book a demo', ' ada@example.com ', '0612345679'])
    const bob = await talk(['Book a demo', 'bob@example.com', '0712345678'])
    expect((await store.listDeliveries({ limit: 10 })).length).toBe(3)
    const dry = await admin('POST', '/erasure?dryRun=true', {
      variable: 'email',
      value: 'ADA@example.com',
    })
    expect(dry.json).toEqual({ wouldErase: 2 })
    expect((await admin('GET', `/conversations/${ada}`)).status).toBe(200)
    const erased = await admin('POST', '/erasure', { variable: 'email', value: 'ada@EXAMPLE.com' })
    expect(erased.json).toEqual({ erased: 2 })
    for (const id of [ada, again]) {
      expect((await admin('GET', `/conversations/${id}`)).status).toBe(404)
    }
    const deliveries = await store.listDeliveries({ limit: 10 })
    expect(deliveries.map((d) => d.conversationId)).toEqual([bob])
    expect(JSON.stringify(deliveries)).not.toMatch(/ada@/i)
    expect(
      (await admin('POST', '/erasure', { variable: 'email', value: 'ada@example.com' })).json,
    ).toEqual({ erased: 0 })

    expect((await admin('DELETE', `/conversations/${bob}`)).status).toBe(204)
    expect((await admin('DELETE', `/conversations/${bob}`)).status).toBe(404)
    expect(await store.listDeliveries({ limit: 10 })).toEqual([])
    expect((await admin('GET', '/conversations')).json.conversations).toEqual([])
  })
})
