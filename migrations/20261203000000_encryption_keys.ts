import type { Knex } from 'knex'

/**
 * End-to-end encryption keys (issue 16, docs/ENCRYPTION.md). The server keeps
 * only what is public or wrapped: each user's account public key (and,
 * optionally, the account secret encrypted under a passphrase), the key
 * epochs of encrypted collections, and each epoch's key wrapped for each
 * member's public key. Invitations carry the keys wrapped for their invitee.
 * Wrapped values are JSON text, never looked inside.
 */
export async function up(knex: Knex): Promise<void> {
  const isPostgres = knex.client.config.client === 'pg'
  const id = (table: Knex.CreateTableBuilder, name: string, length: number) =>
    isPostgres ? table.specificType(name, `varchar(${length}) COLLATE "C"`) : table.string(name, length)

  await knex.schema.createTable('user_keys', (table) => {
    id(table, 'user_id', 36).primary().references('id').inTable('users').onDelete('CASCADE')
    table.text('public_key').notNullable()
    table.integer('key_version').notNullable()
    table.text('passphrase_wrap').nullable()
    table.string('created_at', 32).notNullable()
    table.string('updated_at', 32).notNullable()
  })

  await knex.schema.createTable('key_epochs', (table) => {
    id(table, 'collection_id', 128).notNullable().references('id').inTable('collections').onDelete('CASCADE')
    table.integer('epoch').notNullable()
    // Who started it; not a foreign key: the epoch stays whatever becomes of them.
    id(table, 'created_by', 36).notNullable()
    table.string('created_at', 32).notNullable()
    table.primary(['collection_id', 'epoch'])
  })

  await knex.schema.createTable('collection_keys', (table) => {
    id(table, 'collection_id', 128).notNullable()
    table.integer('epoch').notNullable()
    id(table, 'user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE')
    // The version of the user's public key it was wrapped for.
    table.integer('key_version').notNullable()
    table.text('wrapped_key').notNullable()
    id(table, 'wrapped_by', 36).notNullable()
    table.string('created_at', 32).notNullable()
    table.primary(['collection_id', 'epoch', 'user_id'])
    table.foreign(['collection_id', 'epoch']).references(['collection_id', 'epoch']).inTable('key_epochs').onDelete('CASCADE')
    // A member's keys: removing them, and a member reading their own.
    table.index(['collection_id', 'user_id'])
  })

  await knex.schema.alterTable('invitations', (table) => {
    // JSON text of the keys carried for the invitee (src/storage/invitation-keys.ts); null when none.
    table.text('keys').nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('invitations', (table) => {
    table.dropColumn('keys')
  })
  await knex.schema.dropTable('collection_keys')
  await knex.schema.dropTable('key_epochs')
  await knex.schema.dropTable('user_keys')
}
