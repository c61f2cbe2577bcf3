// The bar chart of events/s per design: an SVG built here (pure), turned into a PNG by
// screenshotting it in chromium through playwright-core, launched as the browser test does.
import { chromium } from "playwright-core";
import { formatInt, formatRatio, type RatedResult } from "./report.js";

const COLORS: Record<string, string> = {
  ceiling: "#9aa5b1",
  seed: "#e8913a",
  naive: "#d64545",
  pipeline: "#2f6fdb",
};

/** What each bar is, short enough for the column left of the bars. */
export const CHART_DESCRIPTIONS: Record<string, string> = {
  ceiling: "kafkajs read + JSON.parse, no writes",
  oracle: "the limit: each distinct article written once",
  seed: "Go path: Lua + updateOne per event",
  naive: "BullMQ: a job per event, same writes",
  pipeline: "this project, default settings",
};

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function barLabel(r: RatedResult): string {
  const ratio =
    r.vsSeed === null ? "" : r.design === "seed" ? ", 1.00x (the seed)" : `, ${formatRatio(r.vsSeed)} seed`;
  const limit =
    r.ofLimit === null || r.design === "oracle" ? "" : `, ${Math.round(r.ofLimit * 100)}% of the limit`;
  const status = r.failure !== null ? " (failed)" : r.timedOut ? " (timed out)" : "";
  return `${formatInt(r.eventsPerSecond)} events/s${limit}${ratio}${status}`;
}

/** Rough width of a label in 14 px bold sans-serif (DejaVu Sans Bold digits are ~9.7 px). */
function labelWidth(label: string): number {
  return label.length * 9.2;
}

export interface ChartText {
  title: string;
  subtitle: string;
  descriptions: Record<string, string>;
}

/** Horizontal bars, one per design, on a linear scale; each labelled with events/s and ratio. */
export function renderChartSvg(results: readonly RatedResult[], text: ChartText): string {
  const width = 1100;
  const left = 300;
  const right = 30;
  const top = 78;
  const row = 62;
  const barHeight = 34;
  const height = top + row * results.length + 24;
  const span = width - left - right;
  const max = Math.max(1, ...results.map((r) => r.eventsPerSecond));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="20" y="32" font-size="19" font-weight="bold" fill="#1f2933">${escapeXml(text.title)}</text>`,
    `<text x="20" y="56" font-size="13" fill="#52606d">${escapeXml(text.subtitle)}</text>`,
  ];
  results.forEach((r, i) => {
    const y = top + i * row;
    const w = Math.max(2, (r.eventsPerSecond / max) * span);
    const label = escapeXml(barLabel(r));
    // A label goes inside a bar long enough for it; otherwise right after the bar's end.
    const inside = w >= labelWidth(barLabel(r)) + 20;
    parts.push(
      `<text x="20" y="${y + 16}" font-size="15" font-weight="bold" fill="#1f2933">${escapeXml(r.design)}</text>`,
      `<text x="20" y="${y + 34}" font-size="11" fill="#52606d">${escapeXml(text.descriptions[r.design] ?? "")}</text>`,
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" rx="3" fill="${COLORS[r.design] ?? "#888"}"/>`,
      inside
        ? `<text x="${(left + w - 10).toFixed(1)}" y="${y + 22}" font-size="14" text-anchor="end" fill="#ffffff" font-weight="bold">${label}</text>`
        : `<text x="${(left + w + 8).toFixed(1)}" y="${y + 22}" font-size="14" fill="#1f2933" font-weight="bold">${label}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Screenshots the SVG in chromium (CHROMIUM_PATH or Debian's /usr/bin/chromium) into a PNG. */
export async function writeChartPng(svg: string, path: string): Promise<void> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1140, height: 800 } });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    await page.locator("svg").screenshot({ path });
  } finally {
    await browser.close();
  }
}
