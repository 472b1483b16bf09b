import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedCall {
  headers: IncomingHttpHeaders
  body: string
}

/** A webhook receiver on 127.0.0.1 that answers `status` (changeable while running). */
export async function startReceiver() {
  const calls: ReceivedCall[] = []
  let status = 200
  let errorBody = '{"error":"the receiver is down for the test"}'
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      calls.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') })
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(status < 300 ? '{"received":true}' : errorBody)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    calls,
    /** Answers `next` from now on; a failure with `body` when given. */
    answer(next: number, body?: string) {
      status = next
      if (body !== undefined) errorBody = body
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
