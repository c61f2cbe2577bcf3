// How ids name a Kafka message: read jobs by their range's first message, dead letters by their
// own. The topic's life, the partition, the offset and the message's timestamp together name one
// message of one log, so a redelivered message finds what was made of it, and a message of a
// re-created topic (same offset, another life or another timestamp) does not.

/**
 * What an operator does when a partition's log is another than the one its position or marks came
 * from (the topic re-created or replaced): one text for every report that finds it.
 */
export const NEW_INCARNATION_STEPS =
  "Stop the ingestors, set a new KAFKA_TOPIC_INCARNATION on every worker and restart them, then " +
  'start the ingestors with it (docs/reliability.md, "When a partition is held back")';

/** The topic as marks and ids name it: `topic`, or `topic@incarnation` after a re-creation. */
export function topicLife(topic: string, incarnation: string | undefined): string {
  return incarnation ? `${topic}@${incarnation}` : topic;
}

/**
 * The incarnation of one partition whose log was found truncated (an unclean leader election):
 * its messages from `start` on are another log's, so they get marks, ledger and ids of their
 * own, `<incarnation>~<start>`, while what survived below `start` stays counted once. A
 * partition truncated again adds another `~<start>`.
 */
export function truncatedIncarnation(incarnation: string, start: bigint): string {
  return `${incarnation}~${start}`;
}

/** The incarnation of the topic life a partition's incarnation is of: without its truncations. */
export function untruncatedIncarnation(partitionIncarnation: string): string {
  return partitionIncarnation.replace(/(~\d{1,19})+$/, "");
}

/**
 * Whether a partition's incarnation is `incarnation` (a KAFKA_TOPIC_INCARNATION, which holds no
 * `~`) or a truncated partition's of it.
 */
export function isIncarnationOf(partitionIncarnation: string, incarnation: string): boolean {
  return untruncatedIncarnation(partitionIncarnation) === incarnation;
}

/**
 * The incarnation a partition's life names when it is this topic life's (`incarnation`, or a
 * truncated partition's of it); undefined for another life.
 */
export function incarnationOfLife(life: string, topic: string, incarnation: string): string | undefined {
  if (life === topic) return incarnation === "" ? "" : undefined;
  const named = life.startsWith(`${topic}@`) ? life.slice(topic.length + 1) : undefined;
  return named !== undefined && isIncarnationOf(named, incarnation) ? named : undefined;
}

export interface MessageName {
  topic: string;
  incarnation?: string | undefined;
  partition: number;
  offset: string;
  /** Kafka timestamp (Unix ms); absent only in ids made before timestamps were part of them. */
  timestamp?: string | number | undefined;
}

/** `<topic life>-p<partition>-o<offset>[-t<timestamp>]` */
export function messageId(m: MessageName): string {
  const base = `${topicLife(m.topic, m.incarnation)}-p${m.partition}-o${m.offset}`;
  return m.timestamp === undefined ? base : `${base}-t${m.timestamp}`;
}

/** The topic life, partition and offset a messageId names, or undefined for an id of another form. */
export function parseMessageId(id: string): { life: string; partition: number; offset: string } | undefined {
  // Greedy on the life: after the real `-p<n>-o<n>` an id holds only `-t<timestamp>`.
  const m = /^(.+)-p(\d+)-o(\d+)(?:-t-?\d+)?$/.exec(id);
  if (m === null) return undefined;
  return { life: m[1] as string, partition: Number(m[2]), offset: m[3] as string };
}
