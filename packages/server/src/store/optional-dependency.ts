import { createRequire } from 'node:module'

/**
 * The SQL drivers are optional peer dependencies of @joon/server: `pg` is for PostgreSQL users
 * only, and `better-sqlite3` only for Node 20 (Node 22.13+ has `node:sqlite` built in). A
 * store loads its driver when it opens, and a missing one is a start error naming the
 * package to install, not a stack trace.
 */
export class MissingDependencyError extends Error {
  override name = 'MissingDependencyError'
}

const require = createRequire(import.meta.url)

/** `require(name)`, or a MissingDependencyError saying what needs it and how to install it. */
export function requireOptional<T>(name: string, neededFor: string, alternative = ''): T {
  try {
    return require(name) as T
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string }
    // Only the package itself missing: a broken install inside it keeps its own error.
    if (code === 'MODULE_NOT_FOUND' && message?.includes(`'${name}'`)) {
      throw new MissingDependencyError(
        `${neededFor} needs the ${name} package, which is not installed: run \`npm install ${name}\` in your project${alternative}`,
      )
    }
    throw error
  }
}
