// Reads the Go table in id order, one page at a time (keyset pagination: WHERE id > last ORDER BY
// id LIMIT n), so memory holds one page whatever the table's size, each page is an index range
// scan on the primary key, and no long-running read holds back the Go database's purge.
import { type Connection, createConnection, type RowDataPacket } from "mysql2/promise";
import { describeError, ImportConnectionError, ImportSourceError } from "./errors.js";
import { describeSource, type ImportOptions } from "./import-options.js";

const COLUMNS = "id, biz_id, biz, read_cnt, like_cnt, collect_cnt, ctime, utime";
const ER_BAD_FIELD = 1054;
const ER_NO_SUCH_TABLE = 1146;

export class MysqlRows {
  private constructor(
    private readonly conn: Connection,
    private readonly options: ImportOptions,
  ) {}

  static async connect(options: ImportOptions): Promise<MysqlRows> {
    let conn: Connection;
    try {
      conn = await createConnection({
        uri: options.url,
        // BIGINT as decimal strings, always: ids and counts above 2^53 stay exact.
        supportBigNumbers: true,
        bigNumberStrings: true,
        connectTimeout: 10_000,
      });
    } catch (err) {
      throw new ImportConnectionError(
        `cannot connect to MySQL at ${describeSource(options)}: ${describeError(err)}`,
        { cause: err },
      );
    }
    // The connection can drop between pages; the page query then fails with the reason.
    conn.on("error", () => undefined);
    return new MysqlRows(conn, options);
  }

  /** Rows with an id above `after` (all rows when null): what is left to read. */
  async count(after: bigint | null): Promise<number> {
    const [rows] = await this.run<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM \`${this.options.table}\`${after === null ? "" : " WHERE id > CAST(? AS SIGNED)"}`,
      after === null ? [] : [after.toString()],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** The next `limit` rows after id `after` (from the first when null), in id order. */
  async page(after: bigint | null, limit: number): Promise<Record<string, unknown>[]> {
    // CAST: comparing a BIGINT column with a string parameter would compare as doubles, which
    // cannot tell ids above 2^53 apart.
    const where = after === null ? "" : " WHERE id > CAST(? AS SIGNED)";
    const [rows] = await this.run<RowDataPacket[]>(
      `SELECT ${COLUMNS} FROM \`${this.options.table}\`${where} ORDER BY id LIMIT ?`,
      after === null ? [limit] : [after.toString(), limit],
    );
    return rows;
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => this.conn.destroy());
  }

  private async run<T extends RowDataPacket[]>(sql: string, values: unknown[]): Promise<[T, unknown]> {
    try {
      return await this.conn.query<T>(sql, values);
    } catch (err) {
      const errno = (err as { errno?: unknown }).errno;
      const table = `${this.options.database}.${this.options.table}`;
      if (errno === ER_NO_SUCH_TABLE) {
        throw new ImportSourceError(`table ${table} does not exist (--table names it)`, { cause: err });
      }
      if (errno === ER_BAD_FIELD) {
        throw new ImportSourceError(
          `table ${table} does not have the Go schema (${COLUMNS}): ${describeError(err)}`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}
