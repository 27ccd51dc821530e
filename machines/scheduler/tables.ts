/**
 * The scheduler's tables (sectors, calls by id and by WorkID, index writes in flight) are updated
 * in place. Copying a table on every event, as immutable updates do, makes every event cost the
 * size of the table: restoring 10,000 sectors that each report once was quadratic. The scheduler's
 * snapshot is never persisted (sectors persist their own records), and only its own actions read
 * these tables, so in-place updates are safe; inspection sees the tables as they are now.
 */

/** Sets `key` to `value` in `table` and returns the table. */
export function put<T>(table: Record<string, T>, key: string | number, value: T): Record<string, T> {
  table[key] = value;
  return table;
}

/** Deletes `key` from `table` and returns the table. */
export function drop<T>(table: Record<string, T>, key: string | number): Record<string, T> {
  delete table[key];
  return table;
}
