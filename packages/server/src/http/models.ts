import { Model, Name } from '@joon/core'
import { Hono } from 'hono'
import * as z from 'zod'
import type { TurnDeps } from '../conversation.js'
import { refusedUrlHost } from '../net/address-guard.js'
import { jsonBody } from './body.js'
import { ApiError, invalidInput, notFound } from './errors.js'
import { masked } from './masking.js'
import { nameToCreate } from './names.js'
import { describe } from './openapi.js'

/** A model as the admin API shows it: the API key masked. */
export const ModelView = Model.extend({
  apiKey: z.string().optional().describe('Masked: only its last 4 characters are shown.'),
}).meta({ id: 'Model' })
const Models = z.object({ models: z.array(ModelView) })
const SavedModel = ModelView.extend({
  warnings: z
    .array(z.string())
    .optional()
    .describe("Why calls to this URL will fail under the server's settings (a private address)"),
})

function view(model: Model): z.input<typeof ModelView> {
  return model.apiKey === undefined ? model : { ...model, apiKey: masked(model.apiKey) }
}

/**
 * The language models `ai` blocks use (contract §10), registered like webhooks. The API key is
 * never shown in full; a PUT that sends back the masked key keeps the stored one, so a client
 * can read, change another field and save.
 */
export function modelRoutes({
  deps,
  allowPrivateUrls,
}: {
  deps: TurnDeps
  allowPrivateUrls: boolean
}) {
  const { store } = deps
  const known = (name: string) => {
    if (!Name.safeParse(name).success) throw notFound('Model', name)
    return name
  }
  return new Hono()
    .get('/models', describe('Models', 'List the models', { 200: Models }), async (c) =>
      c.json({ models: (await store.listModels()).map(view) }, 200),
    )
    .get('/models/:name', describe('Models', 'Read a model', { 200: ModelView }), async (c) => {
      const name = known(c.req.param('name'))
      const model = await store.getModel(name)
      if (!model) throw notFound('Model', name)
      return c.json(view(model), 200)
    })
    .put(
      '/models/:name',
      describe('Models', 'Register or replace a model', {
        200: SavedModel,
        201: { description: 'Created', schema: SavedModel },
      }),
      nameToCreate('name'),
      jsonBody(z.record(z.string(), z.unknown()), { maxBytes: 64 * 1024 }),
      async (c) => {
        const name = c.req.param('name')
        const body = c.req.valid('json')
        if (body.name !== undefined && body.name !== name) {
          throw new ApiError(
            400,
            'invalid_body',
            `The body's name "${String(body.name)}" differs from the URL's "${name}".`,
          )
        }
        const stored = await store.getModel(name)
        // The masked key sent back unchanged means "keep it".
        const keepKey = stored?.apiKey !== undefined && body.apiKey === masked(stored.apiKey)
        const parsed = Model.safeParse({
          ...body,
          name,
          ...(keepKey ? { apiKey: stored.apiKey } : {}),
        })
        if (!parsed.success)
          throw invalidInput('invalid_body', 'The model is not valid.', parsed.error)
        const { created } = await store.putModel(parsed.data)
        const refusal = allowPrivateUrls
          ? null
          : refusedUrlHost(new URL(parsed.data.baseUrl).hostname)
        const saved: z.input<typeof SavedModel> = {
          ...view(parsed.data),
          ...(refusal ? { warnings: [`Calls to this URL will fail: ${refusal}`] } : {}),
        }
        return c.json(saved, created ? 201 : 200)
      },
    )
    .delete(
      '/models/:name',
      describe(
        'Models',
        'Delete a model',
        { 204: { description: 'Deleted' } },
        { description: '409 model_in_use while a bot uses it.' },
      ),
      async (c) => {
        const name = known(c.req.param('name'))
        const users = (await store.listBots())
          .filter((bot) => bot.blocks.some((block) => block.type === 'ai' && block.model === name))
          .map((bot) => `"${bot.id}"`)
        if (users.length > 0) {
          throw new ApiError(
            409,
            'model_in_use',
            `Model "${name}" is used by ${users.length === 1 ? 'bot' : 'bots'} ${users.join(', ')}; remove it from them first.`,
          )
        }
        if (!(await store.deleteModel(name))) throw notFound('Model', name)
        return c.body(null, 204)
      },
    )
}
