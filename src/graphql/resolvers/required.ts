/** A row a foreign key guarantees; its absence is a bug, not a client error. */
export function required<T>(row: T | null, what: string, id: number): T {
  if (row === null) throw new Error(`${what} ${id} is missing although a foreign key names it`);
  return row;
}
