// `pnpm joon …` from a clone: pnpm runs a script from the repository root, so this moves back
// to the folder the command was typed in (INIT_CWD, which pnpm and npm set) before the CLI
// reads `--bots`, `--webhooks` or `--data`: relative paths mean what the user expects.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read at run time, not by a turbo task
process.chdir(process.env.INIT_CWD || process.cwd())
await import('../packages/server/dist/cli.js')
