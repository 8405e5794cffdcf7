import type { Knex } from 'knex'

/**
 * Sharing: the members of each collection with their roles, and invitations.
 * Every existing collection's owner becomes its first member; from now on
 * `members` (not `collections.owner_id`, which keeps who created it) is what
 * access is decided by.
 */
export async function up(knex: Knex): Promise<void> {
  const isPostgres = knex.client.config.client === 'pg'
  const id = (table: Knex.CreateTableBuilder, name: string, length: number) =>
    isPostgres ? table.specificType(name, `varchar(${length}) COLLATE "C"`) : table.string(name, length)

  await knex.schema.createTable('members', (table) => {
    id(table, 'collection_id', 128).notNullable().references('id').inTable('collections').onDelete('CASCADE')
    id(table, 'user_id', 36).notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.string('role', 16).notNullable() // owner | admin | writer | reader
    table.string('created_at', 32).notNullable()
    table.string('updated_at', 32).notNullable()
    table.primary(['collection_id', 'user_id'])
    // "Which collections may this user see": the collections list.
    table.index(['user_id', 'collection_id'])
  })
  await knex.raw(
    `INSERT INTO members (collection_id, user_id, role, created_at, updated_at)
     SELECT id, owner_id, 'owner', created_at, created_at FROM collections`
  )

  await knex.schema.createTable('invitations', (table) => {
    id(table, 'id', 36).primary()
    id(table, 'collection_id', 128).notNullable().references('id').inTable('collections').onDelete('CASCADE')
    table.string('role', 16).notNullable()
    // Who is invited: a user id, or an e-mail address (lower case) that
    // matches whoever has (or later signs up with) that address.
    id(table, 'invitee_user_id', 36).nullable().references('id').inTable('users').onDelete('CASCADE')
    table.string('invitee_email', 320).nullable()
    id(table, 'invited_by', 36).notNullable().references('id').inTable('users').onDelete('CASCADE')
    table.string('status', 16).notNullable() // pending | accepted | declined | revoked
    table.string('created_at', 32).notNullable()
    table.string('expires_at', 32).notNullable()
    table.string('answered_at', 32).nullable()
    table.index(['collection_id'])
    table.index(['invitee_user_id'])
    table.index(['invitee_email'])
    table.index(['expires_at'])
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('invitations')
  await knex.schema.dropTable('members')
}
