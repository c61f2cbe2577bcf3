// Test helpers for the MySQL importer: a fresh database per test on the MariaDB that
// `scripts/services/up.sh mariadb` starts (or the server MYSQL_URL names), holding the Go
// service's table, filled with multi-row INSERTs.
import { type Connection, createConnection } from "mysql2/promise";
import { uniqueName } from "./env.js";

/** Server URL without a database: MYSQL_URL, or the local MariaDB's test user. */
function mysqlServerUrl(): string {
  const url = new URL(
    process.env.MYSQL_URL || `mysql://test:test@127.0.0.1:${process.env.LOCAL_MARIADB_PORT || "3306"}/`,
  );
  url.pathname = "/";
  return url.toString();
}

/** The Go service's table, as its GORM model creates it. */
const GO_TABLE_DDL = `CREATE TABLE interactives (
  id bigint auto_increment primary key,
  biz_id bigint not null,
  biz varchar(128) not null,
  read_cnt bigint,
  like_cnt bigint,
  collect_cnt bigint,
  ctime bigint,
  utime bigint,
  unique key biz_type_id (biz_id, biz)
)`;

/** A row as the test writes it; integers as decimal strings so int64 values stay exact. */
export interface GoRow {
  id?: string;
  biz_id: string;
  biz: string;
  read_cnt: string | null;
  like_cnt: string | null;
  collect_cnt: string | null;
  ctime: string | null;
  utime: string | null;
}

export class MysqlFixture {
  private constructor(
    readonly conn: Connection,
    readonly database: string,
    /** URL of the test's database, with credentials: what --url gets. */
    readonly url: string,
  ) {}

  /** A new database holding an empty Go table. */
  static async create(): Promise<MysqlFixture> {
    const server = mysqlServerUrl();
    const database = uniqueName("imp").replace(/-/g, "_");
    const conn = await createConnection({ uri: server, supportBigNumbers: true, bigNumberStrings: true });
    await conn.query(`CREATE DATABASE \`${database}\``);
    await conn.query(`USE \`${database}\``);
    await conn.query(GO_TABLE_DDL);
    const url = new URL(server);
    url.pathname = `/${database}`;
    return new MysqlFixture(conn, database, url.toString());
  }

  /** Inserts rows, `perStatement` per multi-row INSERT. */
  async insert(rows: readonly GoRow[], perStatement = 2000): Promise<void> {
    const withId = rows.some((r) => r.id !== undefined);
    const cols = `${withId ? "id, " : ""}biz_id, biz, read_cnt, like_cnt, collect_cnt, ctime, utime`;
    for (let i = 0; i < rows.length; i += perStatement) {
      const chunk = rows.slice(i, i + perStatement);
      const values = chunk.map((r) => [
        ...(withId ? [r.id ?? null] : []),
        r.biz_id,
        r.biz,
        r.read_cnt,
        r.like_cnt,
        r.collect_cnt,
        r.ctime,
        r.utime,
      ]);
      // Decimal strings stored into BIGINT columns are parsed as integers: int64 values stay exact.
      await this.conn.query(`INSERT INTO interactives (${cols}) VALUES ?`, [values]);
    }
  }

  async close(): Promise<void> {
    await this.conn.query(`DROP DATABASE IF EXISTS \`${this.database}\``).catch(() => undefined);
    await this.conn.end().catch(() => undefined);
  }
}
