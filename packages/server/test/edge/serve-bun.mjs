// Runs the edge entry under Bun (a non-Node runtime) with the in-memory store.
import { createEdgeApp } from '../../dist/edge.js'

const app = createEdgeApp({ adminToken: 'edge-token', rateLimit: 0 })
const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: app.fetch })
console.log(`listening ${server.url.href.replace(/\/$/, '')} runtime=bun/${Bun.version}`)
