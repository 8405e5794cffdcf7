import type { Knex } from 'knex'

/**
 * Locks (leases) on collections, and the per-collection counter their fencing
 * tokens come from. Tokens strictly increase with every grant on a collection,
 * across restarts and server instances, because the counter is a column of the
 * collection's row, bumped in the granting transaction.
 */
export async function up(knex: Knex): Promise<void> {
  const isPostgres = knex.client.config.client === 'pg'
  const id = (table: Knex.CreateTableBuilder, name: string, length: number) =>
    isPostgres ? table.specificType(name, `varchar(${length}) COLLATE "C"`) : table.string(name, length)

  await knex.schema.alterTable('collections', (table) => {
    table.bigInteger('lock_seq').notNullable().defaultTo(0)
  })

  await knex.schema.createTable('locks', (table) => {
    id(table, 'collection_id', 128).notNullable().references('id').inTable('collections').onDelete('CASCADE')
    id(table, 'user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE')
    // The device or client of that user holding the lock, as the client names it.
    id(table, 'holder', 128).notNullable()
    table.string('mode', 16).notNullable() // exclusive | shared
    table.bigInteger('token').notNullable()
    table.string('acquired_at', 32).notNullable()
    table.string('expires_at', 32).notNullable()
    table.primary(['collection_id', 'user_id', 'holder'])
    table.index(['expires_at'])
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('locks')
  await knex.schema.alterTable('collections', (table) => {
    table.dropColumn('lock_seq')
  })
}
