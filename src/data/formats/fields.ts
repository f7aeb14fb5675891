/** Field checks for rows; a failure is a `RowProblem` that names the field and what was there. */
import { describe, RowProblem } from '../rows.js';

/** A required string field. */
export function stringField(row: Record<string, unknown>, key: string, what: string): string {
  if (!(key in row)) throw new RowProblem(`missing field '${key}' (${what})`);
  const v = row[key];
  if (typeof v !== 'string') throw new RowProblem(`'${key}' must be a string, got ${describe(v)}`);
  return v;
}

/** An optional string field: undefined when absent or null. */
export function optionalString(row: Record<string, unknown>, key: string): string | undefined {
  const v = row[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new RowProblem(`'${key}' must be a string, got ${describe(v)}`);
  return v;
}
