import { html, raw } from 'hono/html'
import type { ReceivedLead, SyncCall } from './owner-api.js'

export interface OwnerPageData {
  /** Newest first. */
  leads: ReceivedLead[]
  calls: SyncCall[]
  shopUrl: string
}

/**
 * The owner's leads page. It refreshes itself with a meta tag: no script at all.
 */
export function ownerPage({ leads, calls, shopUrl }: OwnerPageData) {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta http-equiv="refresh" content="3" />
    <title>Leads received (${leads.length}) · Acme API</title>
    <style>${raw(OWNER_CSS)}</style>
  </head>
  <body>
    <main>
      <h1>Leads received</h1>
      <p>
        This page belongs to the shop owner’s own API, the one Joon’s webhooks call. Each lead
        below is the exact JSON body the <code>crm</code> webhook POSTed to
        <code>/hooks/leads</code>, after its <code>webhook-signature</code> was verified with
        <code>verifyWebhook</code> from <code>@joon/core</code>. The page refreshes every 3
        seconds. Chat on <a href="${shopUrl}">the shop</a> to send one.
      </p>
      ${
        leads.length === 0
          ? html`<p class="empty">No lead yet.</p>`
          : leads.map(
              (lead) => html`<article>
                <h2>Lead received ${lead.receivedAt}</h2>
                <p class="meta">webhook-id <code>${lead.webhookId}</code> · signature verified</p>
                <pre>${lead.body}</pre>
              </article>`,
            )
      }
      <h2 class="section">Synchronous calls</h2>
      <p>
        The order-status and delivery-status bots call <code>/hooks/order-status</code> and
        <code>/hooks/delivery-status</code> during the conversation; here is what they sent and
        what the API answered.
      </p>
      ${
        calls.length === 0
          ? html`<p class="empty">No call yet.</p>`
          : calls.map(
              (call) => html`<article>
                <h3><code>/hooks/${call.hook}</code> called ${call.receivedAt}</h3>
                <div class="pair">
                  <div><p class="meta">Request body</p><pre>${call.body}</pre></div>
                  <div><p class="meta">Reply</p><pre>${call.reply}</pre></div>
                </div>
              </article>`,
            )
      }
    </main>
  </body>
</html>
`
}

const OWNER_CSS = `
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #0f172a; background: #f8fafc; }
body { margin: 0; }
main { max-width: 960px; margin: 0 auto; padding: 24px 32px 64px; }
p { line-height: 1.5; }
article { background: #fff; border: 1px solid #e2e8f0; border-radius: 10px; padding: 4px 20px 12px; margin: 16px 0; }
h2 { font-size: 18px; }
h2.section { margin-top: 40px; font-size: 24px; }
h3 { font-size: 15px; }
.meta { color: #475569; font-size: 14px; margin: 4px 0; }
.empty { color: #64748b; font-style: italic; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
pre { background: #0f172a; color: #e2e8f0; padding: 12px 16px; border-radius: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 13px; }
`
