import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { type RunningServer, startNodeServer } from '../../src/node.js'
import { MemoryStore } from '../../src/store/memory.js'
import { ADMIN_TOKEN, bodyOf } from '../helpers.js'

const METHODS = ['get', 'put', 'post', 'delete', 'patch']

/** The app's own routes (every handler Hono knows), as OpenAPI paths: `/bots/{botId}`. */
function appRoutes(): string[] {
  const app = createApp({ store: new MemoryStore(), adminToken: ADMIN_TOKEN })
  const routes = new Set<string>()
  for (const route of app.routes) {
    const method = route.method.toLowerCase()
    if (!METHODS.includes(method) || route.path.includes('*')) continue
    if (route.path === '/api/v1/openapi.json' || route.path === '/api/docs') continue
    routes.add(`${method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`)
  }
  return [...routes].sort()
}

describe('the OpenAPI document', () => {
  let server: RunningServer
  let document: {
    openapi: string
    paths: Record<string, Record<string, { requestBody?: unknown; parameters?: unknown[] }>>
  }
  beforeAll(async () => {
    server = await startNodeServer({
      store: new MemoryStore(),
      port: 0,
      host: '127.0.0.1',
      adminToken: ADMIN_TOKEN,
    })
    const response = await fetch(`${server.url}/api/v1/openapi.json`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('application/json')
    document = (await response.json()) as typeof document
  })
  afterAll(() => server.close())

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0')
    const result = await new Validator().validate(structuredClone(document))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('describes every route of the app, and nothing else', async () => {
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m} ${path}`))
      .sort()
    expect(documented).toEqual(appRoutes())
    expect(documented.length).toBeGreaterThan(25)
  })

  it('has every documented route answering on the server', async () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        const url = server.url + path.replace(/\{[^}]+\}/g, 'x1')
        const response = await fetch(url, {
          method: method.toUpperCase(),
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          ...(method === 'get' || method === 'delete' ? {} : { body: '{}' }),
        })
        const body = response.headers.get('content-type')?.includes('json')
          ? await bodyOf(response)
          : await response.text()
        // Unknown ids may be 404 not_found; a route that does not exist says "No route for".
        expect(JSON.stringify(body), `${method} ${path}`).not.toContain('No route for')
      }
    }
  })

  it('describes bodies and queries from the schemas the routes validate with', async () => {
    const reply = document.paths['/api/v1/conversations/{id}/replies']?.post
    expect(JSON.stringify(reply?.requestBody)).toContain('"text"')
    const list = document.paths['/api/v1/admin/conversations']?.get
    const names = ((list?.parameters ?? []) as { name: string }[]).map((p) => p.name)
    expect(names).toEqual(expect.arrayContaining(['bot', 'ended', 'since', 'until', 'q', 'cursor']))
    const bot = document.paths['/api/v1/admin/bots/{botId}']?.put
    expect(JSON.stringify(bot)).toContain('adminToken')
  })

  it('has an API reference page pointing at it', async () => {
    const response = await fetch(`${server.url}/api/docs`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toContain('text/html')
    expect(await response.text()).toContain('/api/v1/openapi.json')
  })
})
