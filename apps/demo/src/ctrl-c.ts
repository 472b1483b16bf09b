import { readFileSync } from 'node:fs'

/**
 * Calls `onPress` when Ctrl-C is typed in the demo's terminal, read as a key rather than
 * received as SIGINT.
 *
 * Ctrl-C makes the terminal send SIGINT to the whole foreground process group; under
 * `npx pnpm demo` that is npm, the `sh` npm runs pnpm with, pnpm and this process. pnpm then
 * forwards its SIGINT to us a second time, and dash (Debian's `sh`) kills itself with SIGINT
 * after its child ends if it got one while waiting: the command ended with 130 however
 * cleanly the demo stopped. With the terminal in raw mode (as jest's watch mode does), only
 * the demo sees the key, it stops, and every wrapper exits with its 0.
 */
export function onCtrlC(onPress: () => void): void {
  const input = process.stdin
  if (!input.isTTY || !inForeground()) return
  // Node puts the terminal back as it was when the process exits, however it exits.
  input.setRawMode(true)
  input.on('data', (bytes: Buffer) => {
    if (bytes.includes(CTRL_C)) onPress()
  })
}

const CTRL_C = 0x03

/**
 * A background job that changes its terminal's mode is stopped (SIGTTOU): raw mode only in
 * the foreground. Known from /proc on Linux; elsewhere Ctrl-C stays a signal.
 */
function inForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // pid (comm) state ppid pgrp session tty_nr tpgid …; comm may hold spaces and parentheses.
    const [, , pgrp, , , foregroundGroup] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return pgrp !== undefined && pgrp === foregroundGroup
  } catch {
    return false
  }
}
