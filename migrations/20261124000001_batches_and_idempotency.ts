import type { Knex } from 'knex'

/** Multi-request batches with their staged operations, and idempotency keys. */
export async function up(knex: Knex): Promise<void> {
  const isPostgres = knex.client.config.client === 'pg'
  const id = (table: Knex.CreateTableBuilder, name: string, length: number) =>
    isPostgres ? table.specificType(name, `varchar(${length}) COLLATE "C"`) : table.string(name, length)

  await knex.schema.createTable('batches', (table) => {
    id(table, 'id', 128).primary()
    id(table, 'user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE')
    // open | committed | aborted ("expired" is open with expires_at in the past)
    table.string('status', 16).notNullable()
    table.integer('operation_count').notNullable().defaultTo(0)
    table.bigInteger('bytes').notNullable().defaultTo(0)
    table.integer('declared_operations').nullable()
    table.bigInteger('declared_bytes').nullable()
    // The commit's answer, kept so that committing again returns it again.
    table.text('result').nullable()
    table.string('created_at', 32).notNullable()
    table.string('expires_at', 32).notNullable()
    table.string('committed_at', 32).nullable()
    table.index(['user_id', 'status'])
    table.index(['status', 'expires_at'])
  })

  await knex.schema.createTable('batch_operations', (table) => {
    id(table, 'batch_id', 128).notNullable().references('id').inTable('batches').onDelete('CASCADE')
    id(table, 'collection_id', 128).notNullable()
    id(table, 'record_id', 128).notNullable()
    // Staging order of the first time this record was staged; a re-sent operation keeps it.
    table.integer('ordinal').notNullable()
    table.string('op', 8).notNullable() // put | delete
    table.text('data').nullable()
    table.integer('base_version').nullable() // null: the record must not exist yet
    table.integer('bytes').notNullable()
    table.primary(['batch_id', 'collection_id', 'record_id'])
  })

  await knex.schema.createTable('idempotency_keys', (table) => {
    id(table, 'user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.string('key', 255).notNullable()
    // Hash of what the request asked for: the same key with other content is refused.
    table.string('fingerprint', 64).notNullable()
    table.text('response').notNullable()
    table.string('created_at', 32).notNullable()
    table.string('expires_at', 32).notNullable()
    table.primary(['user_id', 'key'])
    table.index(['expires_at'])
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys')
  await knex.schema.dropTable('batch_operations')
  await knex.schema.dropTable('batches')
}
