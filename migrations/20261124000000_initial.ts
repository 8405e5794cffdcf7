import type { Knex } from 'knex'

/** Users, collections and versioned records with their change positions. */
export async function up(knex: Knex): Promise<void> {
  // Ids sort by code point on every backend (SQLite's default), not by the
  // PostgreSQL server's locale, so $sort and paging agree across backends.
  const isPostgres = knex.client.config.client === 'pg'
  const id = (table: Knex.CreateTableBuilder, name: string, length: number) =>
    isPostgres ? table.specificType(name, `varchar(${length}) COLLATE "C"`) : table.string(name, length)

  await knex.schema.createTable('users', (table) => {
    id(table, 'id', 36).primary()
    table.string('email', 320).notNullable().unique()
    table.string('password', 255).notNullable()
    table.string('created_at', 32).notNullable()
  })

  await knex.schema.createTable('collections', (table) => {
    id(table, 'id', 128).primary()
    table.string('name', 256).nullable()
    id(table, 'owner_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.string('epoch', 32).notNullable()
    // Position of the collection's latest change. Writers bump it first thing
    // in their transaction, which serialises writers per collection (a row
    // lock on PostgreSQL): see docs/PROTOCOL.md, "Why the feed has no gaps".
    table.bigInteger('seq').notNullable().defaultTo(0)
    table.string('created_at', 32).notNullable()
    table.string('updated_at', 32).notNullable()
    table.index(['owner_id'])
  })

  await knex.schema.createTable('records', (table) => {
    id(table, 'collection_id', 128).notNullable().references('id').inTable('collections').onDelete('CASCADE')
    id(table, 'id', 128).notNullable()
    table.integer('version').notNullable()
    table.text('data').nullable()
    table.boolean('deleted').notNullable().defaultTo(false)
    table.string('updated_at', 32).notNullable()
    id(table, 'updated_by', 36).nullable()
    table.bigInteger('seq').notNullable()
    table.primary(['collection_id', 'id'])
    table.unique(['collection_id', 'seq'])
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('records')
  await knex.schema.dropTable('collections')
  await knex.schema.dropTable('users')
}
