import { performance } from 'node:perf_hooks'
import type { AiEffect, AiOutcome, Model } from '@joon/core'
import OpenAI from 'openai'
import { Agent, fetch as undiciFetch } from 'undici'
import { guardedConnector, type ResolveHostname } from '../net/guarded-connector.js'

/** What one model call gave, for the conversation and for the delivery log. */
export interface ModelCallResult {
  outcome: AiOutcome
  /** The HTTP status of the API's answer, null when none came. */
  status: number | null
  durationMs: number
  /** Tokens the call used, when the API said. */
  usage: { inputTokens: number; outputTokens: number } | null
}

/** Performs `ai` blocks' calls; the server's counterpart of the webhook sender. */
export interface ModelCaller {
  call(model: Model, effect: AiEffect, onDelta?: (text: string) => void): Promise<ModelCallResult>
  close(): Promise<void>
}

/**
 * Model calls on the `openai` client (any OpenAI-compatible chat completions API: OpenAI,
 * Mistral, Groq, OpenRouter, Ollama, vLLM), streamed, through the same connect-time address
 * guard as webhooks: a model server on a private address needs `JOON_ALLOW_PRIVATE_URLS=1`
 * too. One deadline (`timeoutMs`) covers the whole call, the stream included; the client never
 * retries on its own (a failed call goes to the block's `onError`).
 */
export function createModelCaller(options: {
  allowPrivate: boolean
  userAgent: string
  resolve?: ResolveHostname
}): ModelCaller {
  const dispatcher = new Agent({
    connect: guardedConnector({
      allowPrivate: options.allowPrivate,
      resolve: options.resolve,
      timeout: 10_000,
    }),
    headersTimeout: 130_000,
    bodyTimeout: 130_000,
  })
  const fetchThroughGuard = ((url: string, init?: RequestInit) =>
    undiciFetch(url, { ...(init as object), dispatcher })) as unknown as typeof fetch

  async function call(
    model: Model,
    effect: AiEffect,
    onDelta?: (text: string) => void,
  ): Promise<ModelCallResult> {
    const started = performance.now()
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), model.timeoutMs)
    let status: number | null = null
    let usage: ModelCallResult['usage'] = null
    const done = (outcome: AiOutcome): ModelCallResult => ({
      outcome,
      status,
      durationMs: Math.round(performance.now() - started),
      usage,
    })
    try {
      const client = new OpenAI({
        baseURL: model.baseUrl,
        // Local servers (Ollama, vLLM) take any key; the client insists on one.
        apiKey: model.apiKey ?? 'none',
        defaultHeaders: { 'user-agent': options.userAgent, ...model.headers },
        maxRetries: 0,
        timeout: model.timeoutMs,
        fetch: fetchThroughGuard,
      })
      const stream = await client.chat.completions.create(
        {
          model: model.model,
          messages: effect.messages,
          stream: true,
          stream_options: { include_usage: true },
          ...(model.maxTokens === undefined ? {} : { max_tokens: model.maxTokens }),
          ...(model.temperature === undefined ? {} : { temperature: model.temperature }),
          ...(effect.tool ? { tools: [{ type: 'function' as const, function: effect.tool }] } : {}),
        },
        { signal: deadline.signal },
      )
      status = 200
      let text = ''
      const toolCalls = new Map<number, { name: string; args: string }>()
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta
        if (delta?.content) {
          text += delta.content
          onDelta?.(delta.content)
        }
        for (const part of delta?.tool_calls ?? []) {
          const call = toolCalls.get(part.index) ?? { name: '', args: '' }
          call.name += part.function?.name ?? ''
          call.args += part.function?.arguments ?? ''
          toolCalls.set(part.index, call)
        }
        if (chunk.usage) {
          usage = {
            inputTokens: chunk.usage.prompt_tokens,
            outputTokens: chunk.usage.completion_tokens,
          }
        }
      }
      const collected = [...toolCalls.values()].find((call) => call.name === effect.tool?.name)
      if (collected) return done({ kind: 'collected', values: parseArguments(collected.args) })
      if (text.trim() !== '') return done({ kind: 'answer', text })
      return done({ kind: 'failure', reason: 'the model answered nothing' })
    } catch (error) {
      if (error instanceof OpenAI.APIError && error.status !== undefined) status = error.status
      const reason = deadline.signal.aborted
        ? `timed out after ${model.timeoutMs} ms`
        : error instanceof OpenAI.APIError && error.status !== undefined
          ? `HTTP ${error.status}: ${error.message}`
          : `network error: ${causeOf(error)}`
      return done({ kind: 'failure', reason })
    } finally {
      clearTimeout(timer)
    }
  }

  let closing: Promise<void> | undefined
  return {
    call,
    close: () => {
      closing ??= dispatcher.close()
      return closing
    },
  }
}

/** The tool call's arguments; text that is not JSON is handed on as is, to be refused by core. */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The innermost message of an error (fetch wraps connection failures in `cause`). */
function causeOf(error: unknown): string {
  let current = error
  while (current instanceof Error && current.cause instanceof Error) current = current.cause
  return current instanceof Error ? current.message || current.name : String(error)
}
