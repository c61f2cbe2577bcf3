// The one way this project makes a kafkajs client: with kafkajs's 1 ms timer loop fixed first
// (request-queue-fix.ts), so no connection of the process re-arms a timer every millisecond.
import { Kafka, type KafkaConfig } from "kafkajs";
import { patchRequestQueueIdleLoop } from "./request-queue-fix.js";

export function kafkaClient(options: KafkaConfig): Kafka {
  patchRequestQueueIdleLoop();
  return new Kafka(options);
}
