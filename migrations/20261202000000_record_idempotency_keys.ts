import type { Knex } from 'knex'

/**
 * The idempotency key of the call that wrote each record's current version
 * (null when that call sent none). Keys themselves expire
 * (`idempotency_keys`); this one stays with the version, so a client whose
 * answer was lost for longer than that can still tell its own write (a 409
 * whose current version carries its key) from somebody else's.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('records', (table) => {
    // As long as idempotency_keys.key. Existing versions were written before keys were kept: null.
    table.string('idempotency_key', 255).nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('records', (table) => {
    table.dropColumn('idempotency_key')
  })
}
