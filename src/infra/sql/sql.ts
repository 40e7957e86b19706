/** The one SQL dialect (PostgreSQL) behind two drivers: pg for a server, PGlite embedded. */
export interface SqlRunner {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface Sql extends SqlRunner {
  /** Runs fn in one transaction: all of it commits or none of it. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
