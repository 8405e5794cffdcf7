import type { Knex } from 'knex'
import type { KnexDialect } from './connection.js'
import { PostgresSessions } from './postgres-sessions.js'
import { SqliteSessions } from './sqlite-sessions.js'
import type { Steps } from './statements.js'

/**
 * Runs statement steps (./statements.ts) on the connections of knex's pool,
 * so that they take turns with knex's own queries (cold reads, migrations)
 * exactly as knex's queries do (on SQLite: the one connection).
 *
 * What a step throws comes out boxed (ThrownByStep); anything else thrown is
 * the driver's or the pool's, as it is: the caller translates.
 */
export interface Sessions {
  /** Each statement on its own, seeing what is committed. */
  read<T>(steps: Steps<T>): Promise<T>
  /** All statements in one transaction: committed if the steps return, rolled back if they throw. */
  write<T>(steps: Steps<T>): Promise<T>
}

export const createSessions = (dialect: KnexDialect, db: Knex, shortcuts: boolean): Sessions =>
  dialect === 'sqlite' ? new SqliteSessions(db, shortcuts) : new PostgresSessions(db, shortcuts)
