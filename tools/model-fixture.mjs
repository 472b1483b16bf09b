import { createServer } from 'node:http'

// Types: model-fixture.d.mts.
/**
 * A loopback OpenAI-compatible chat completions server for tests: `POST /v1/chat/completions`
 * with `stream: true` answers Server-Sent Events shaped as OpenAI's API streams them (role
 * chunk, content deltas, tool-call deltas with arguments in pieces, a usage chunk, `[DONE]`),
 * following a script: one `ScriptedReply` per call, in order.
 */
/** @type {typeof import('./model-fixture.d.mts').startModelFixture} */
export async function startModelFixture(script) {
  const requests = []
  const sockets = new Set()
  const server = createServer(async (request, response) => {
    let text = ''
    for await (const chunk of request) text += chunk
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
      response.writeHead(404).end()
      return
    }
    const body = JSON.parse(text)
    requests.push({ body, headers: request.headers })
    const call = requests.length
    const reply = typeof script === 'function' ? script(call) : script[call - 1]
    await answer(response, reply ?? { status: 500 }, String(body.model))
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function answer(response, reply, model) {
  if (reply.status) {
    response.writeHead(reply.status, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ error: { message: 'Scripted failure', type: 'server_error' } }))
    return
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const base = { id: 'chatcmpl-fixture', object: 'chat.completion.chunk', created: 0, model }
  const chunks = [
    {
      ...base,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    },
  ]
  for (const content of reply.text ?? []) {
    chunks.push({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] })
  }
  if (reply.toolCall) {
    const [first = '', ...rest] = reply.toolCall.arguments
    chunks.push({
      ...base,
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 0,
                id: 'call_fixture',
                type: 'function',
                function: { name: reply.toolCall.name, arguments: first },
              },
            ],
          },
          finish_reason: null,
        },
      ],
    })
    for (const piece of rest) {
      chunks.push({
        ...base,
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] },
            finish_reason: null,
          },
        ],
      })
    }
  }
  chunks.push({
    ...base,
    choices: [{ index: 0, delta: {}, finish_reason: reply.toolCall ? 'tool_calls' : 'stop' }],
  })
  if (reply.usage) chunks.push({ ...base, choices: [], usage: reply.usage })
  if (reply.firstTokenDelayMs) await sleep(reply.firstTokenDelayMs)
  for (const [i, chunk] of chunks.entries()) {
    if (reply.cutAfterChunks !== undefined && i === reply.cutAfterChunks) {
      response.socket?.destroy()
      return
    }
    if (i === chunks.length - 1 && reply.holdUntil) await reply.holdUntil
    if (reply.pauseAt && i === 1 + reply.pauseAt.chunk) await reply.pauseAt.until
    if (i === 1 && reply.text?.length) reply.onFirstToken?.()
    response.write(`data: ${JSON.stringify(chunk)}\n\n`)
    if (reply.chunkDelayMs) await sleep(reply.chunkDelayMs)
  }
  response.end('data: [DONE]\n\n')
}
