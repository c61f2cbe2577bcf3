// One row per partition from the broker's lag, the open jobs and the processes' reports.
import assert from "node:assert/strict";
import { test } from "node:test";
import { partitionRows } from "../../src/status/collect-status.js";

const lag = (partition: number, n: number) => ({ partition, lag: n, committed: "10", end: String(10 + n) });

test("owner, state, open job and hold per partition; a failed job holds its partition whoever reports it", () => {
  const rows = partitionRows(
    [lag(0, 5), lag(1, 0), lag(2, 7), lag(3, 1)],
    [
      { partition: 0, id: "j0", name: "p0 10-14 (5 events)", state: "active", attempts: 0 },
      {
        partition: 2,
        id: "j2",
        name: "p2 10-16 (7 events)",
        state: "failed",
        attempts: 3,
        failedReason: "refused",
      },
    ],
    [
      {
        kind: "ingestor",
        id: "a",
        at: 0,
        assigned: [0, 1],
        partitions: [{ partition: 0, state: "waiting", jobId: "j0" }],
      },
      {
        kind: "ingestor",
        id: "b",
        at: 0,
        assigned: [2],
        partitions: [{ partition: 2, state: "held-back", cause: "log-replaced", reason: "ends early" }],
      },
      { kind: "worker", id: "w", at: 0 },
    ],
  );
  assert.deepEqual(
    rows.map((r) => [r.partition, r.owner, r.state, r.job?.id, r.cause]),
    [
      [0, "a", "waiting", "j0", undefined],
      [1, "a", "reading", undefined, undefined],
      [2, "b", "held-back", undefined, "log-replaced"],
      [3, undefined, "unassigned", undefined, undefined],
    ],
  );
  assert.match(rows[2]?.whatToDo ?? "", /KAFKA_TOPIC_INCARNATION/);
  // An ingestor's report is what its partition does: a failed job of another life left in Redis
  // (j2, not its open job) does not hold partition 2 back twice, nor show as its job.
  // No ingestor reports partition 2 (its ingestor is gone): its failed job still holds it back.
  const [orphan] = partitionRows(
    [lag(2, 7)],
    [{ partition: 2, id: "j2", name: "n", state: "failed", attempts: 3, failedReason: "refused" }],
    [],
  );
  assert.deepEqual([orphan?.state, orphan?.cause, orphan?.reason], ["held-back", "job-failed", "refused"]);
  assert.match(orphan?.whatToDo ?? "", /retry the job in Bull Board/);
});
