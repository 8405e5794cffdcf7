/**
 * Rows or ids per statement, under every backend's limits: knex writes a
 * multi-row insert on SQLite as a compound SELECT, which SQLite caps at 500
 * terms; 1000 ids or 500 rows of 9 columns stay far under the bound-parameter
 * limits (SQLite 32766, PostgreSQL 65535).
 */
export const ROWS_PER_INSERT = 500
export const IDS_PER_QUERY = 1000

export const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))
