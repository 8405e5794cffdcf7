/**
 * The operator view's counts (StatsPort.stats), one statement: each a
 * scalar subquery. `octet_length` of the data's JSON text is its size in
 * bytes (UTF-8) on both databases (SQLite has it since 3.43).
 */
export const SELECT_STATS =
  'SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM collections) AS collections, ' +
  'records.live AS records, records.tombstones AS tombstones, records.bytes AS bytes, ' +
  "(SELECT COUNT(*) FROM batches WHERE status = 'open' AND expires_at > ?) AS open_batches, " +
  '(SELECT COUNT(*) FROM locks WHERE expires_at > ?) AS locks ' +
  'FROM (SELECT COALESCE(SUM(CASE WHEN deleted THEN 0 ELSE 1 END), 0) AS live, COALESCE(SUM(CASE WHEN deleted THEN 1 ELSE 0 END), 0) AS tombstones, ' +
  'COALESCE(SUM(CASE WHEN deleted THEN 0 ELSE octet_length(data) END), 0) AS bytes FROM records) AS records'
