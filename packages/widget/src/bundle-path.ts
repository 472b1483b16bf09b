/// <reference types="node" />
import { fileURLToPath } from 'node:url'

/**
 * Absolute path of the script-tag bundle, for servers that serve it (`@joon/server` at
 * `/widget.js`). Resolves to dist/widget.js from this file in src/ and in dist/ alike.
 */
export const widgetBundlePath: string = fileURLToPath(new URL('../dist/widget.js', import.meta.url))
