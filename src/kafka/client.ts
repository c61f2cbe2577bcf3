// The one way this project makes a kafkajs client: with kafkajs's idle timer loop fixed first
// (request-queue-fix.ts), so no connection of the process spins while nothing happens.
import { Kafka, type KafkaConfig } from "kafkajs";
import { fixRequestQueueIdleLoop } from "./request-queue-fix.js";

export function kafkaClient(options: KafkaConfig): Kafka {
  fixRequestQueueIdleLoop();
  return new Kafka(options);
}
