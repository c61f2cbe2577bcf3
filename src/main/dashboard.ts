// `npm run dashboard`: Bull Board, the read API, metrics and probes (default 127.0.0.1:3000).
import { startDashboard } from "../dashboard/dashboard.js";
import { runProcess } from "./run-process.js";

await runProcess("dashboard", (config, log) => startDashboard(config, log));
