// The one way this project makes a kafkajs client: with kafkajs's request-queue timers fixed first
// (request-queue-fix.ts), so no connection of the process wakes the event loop for nothing.
import { Kafka, type KafkaConfig } from "kafkajs";
import { patchRequestQueueTimers } from "./request-queue-fix.js";

export function kafkaClient(options: KafkaConfig): Kafka {
  patchRequestQueueTimers();
  return new Kafka(options);
}
