import type { Knex } from 'knex'

/**
 * Pending idempotency keys: a call whose answer is stored after it (not in
 * its own transaction) first claims its key with a row that has no answer
 * yet, so that a duplicate arriving at another instance waits for it instead
 * of running beside it. The claim has a lease (`pending_until`), so a process
 * that died mid-call does not block the key for ever; `claim_token` names the
 * run that holds it (only that run completes or releases it).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (table) => {
    // Null while pending. (SQLite: knex rebuilds the table for this; the rows are kept.)
    table.setNullable('response')
    table.string('claim_token', 36).nullable()
    table.string('pending_until', 32).nullable()
  })
}

export async function down(knex: Knex): Promise<void> {
  // Pending claims have no answer to keep.
  await knex('idempotency_keys').whereNotNull('claim_token').delete()
  await knex.schema.alterTable('idempotency_keys', (table) => {
    table.dropColumn('claim_token')
    table.dropColumn('pending_until')
    table.dropNullable('response')
  })
}
