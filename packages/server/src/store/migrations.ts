/**
 * The migrations still to run on a schema at `version`. Never edit one that shipped: append
 * a new one. A schema newer than this code knows is refused rather than guessed at.
 */
export function migrationsToRun(version: number, migrations: readonly string[]): string[] {
  if (version > migrations.length) {
    throw new Error(
      `the database schema is at version ${version}, newer than this Joon knows ` +
        `(${migrations.length}): upgrade Joon`,
    )
  }
  return migrations.slice(version)
}
