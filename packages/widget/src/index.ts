/**
 * @joon/widget for bundlers: `mount()` the bubble (or an inline chat) anywhere, or define the
 * `<joon-chat>` element. The script-tag bundle is src/script.ts.
 */
export type { Input, InputType, Message, TextInstruction } from './api.js'
export { ChatApiError, type ChatClient, createFetchClient } from './client.js'
export { defineJoonChat } from './element.js'
export { type ChatModel, type ChatState, createChatModel, type TranscriptItem } from './model.js'
export { type MountedWidget, type MountOptions, mount, type WidgetOptions } from './mount.js'
