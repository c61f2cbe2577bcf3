// One row of the Go table, checked and converted to exact integers, or the reason it is skipped.
// mysql2 returns BIGINT columns as decimal strings (supportBigNumbers + bigNumberStrings), so
// nothing passes through a JavaScript number and ids above 2^53 stay exact.

/** A row that can be imported; every integer exact. */
export interface ImportRow {
  id: bigint;
  biz: string;
  bizId: bigint;
  readCnt: bigint;
  likeCnt: bigint;
  collectCnt: bigint;
  /** Unix ms, as in the Go table. */
  ctime: bigint;
  utime: bigint;
}

export type RowCheck = { ok: true; row: ImportRow } | { ok: false; id: string; reason: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

type IntValue = { value: bigint } | { problem: string } | null;

/** An integer column as bigint; null for SQL NULL; a problem for anything else. */
function intOf(v: unknown): IntValue {
  if (v === null || v === undefined) return null;
  let n: bigint;
  if (typeof v === "bigint") n = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === "string" && /^-?\d+$/.test(v)) n = BigInt(v);
  else return { problem: "is not an integer" };
  // A BIGINT UNSIGNED column can hold values MongoDB's Int64 cannot.
  if (n < INT64_MIN || n > INT64_MAX) return { problem: "is outside the int64 range" };
  return { value: n };
}

function textOf(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (Buffer.isBuffer(v)) return v.toString("utf8"); // a binary collation returns bytes
  return null;
}

/**
 * Checks a raw row. Reasons are short and the same for every row with the same problem, so the
 * summary can count rows per reason. NULL or negative ctime/utime are not a reason to lose a
 * row's counts: ctime falls back to utime, then to `nowMs`; utime falls back to ctime.
 */
export function checkRow(raw: Readonly<Record<string, unknown>>, nowMs: number): RowCheck {
  const idValue = intOf(raw.id);
  const id = idValue !== null && "value" in idValue ? idValue.value : null;
  const idText = id === null ? String(raw.id) : id.toString();
  const skip = (reason: string): RowCheck => ({ ok: false, id: idText, reason });
  if (id === null) return skip("id is not an integer");

  const biz = textOf(raw.biz);
  if (biz === null) return skip("biz is NULL or not text");
  if (biz === "") return skip("biz is empty");

  const bizId = intOf(raw.biz_id);
  if (bizId === null) return skip("biz_id is NULL");
  if ("problem" in bizId) return skip(`biz_id ${bizId.problem}`);
  if (bizId.value <= 0n) return skip("biz_id <= 0");

  const counters: bigint[] = [];
  for (const field of ["read_cnt", "like_cnt", "collect_cnt"] as const) {
    const c = intOf(raw[field]);
    if (c === null) return skip(`${field} is NULL`);
    if ("problem" in c) return skip(`${field} ${c.problem}`);
    if (c.value < 0n) return skip(`${field} is negative`);
    counters.push(c.value);
  }
  const [readCnt = 0n, likeCnt = 0n, collectCnt = 0n] = counters;

  const time = (v: unknown): bigint | null => {
    const t = intOf(v);
    return t !== null && "value" in t && t.value >= 0n ? t.value : null;
  };
  const ctime = time(raw.ctime) ?? time(raw.utime) ?? BigInt(nowMs);
  const utime = time(raw.utime) ?? ctime;
  return { ok: true, row: { id, biz, bizId: bizId.value, readCnt, likeCnt, collectCnt, ctime, utime } };
}
