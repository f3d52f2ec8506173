// The echo benchmark's chart, drawn by hand as SVG (no dependency): four
// panels of grouped bars, one bar per server, from a Results object.
//
//   top left:     msgs/s with 64-byte messages, a group per connection count
//   top right:    msgs/s with 16-KiB messages (the other size, if configured so)
//   bottom left:  server CPU µs per message, a group per cell
//   bottom right: resident memory per idle connection, KiB
//
// Every bar carries its value; failed or missing runs say so at the baseline.

import { cellName, sizeName, type Results, type ServerName } from "./results.ts";

const COLORS: Record<ServerName, string> = {
  go: "#00ADD8",
  node: "#5FA04E",
  "gort-epoll": "#E8590C",
  "gort-eventports": "#F59F00",
};

const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

interface Group {
  label: string;
  /** One value per series, in series order; null: no figure (failed or not run). */
  values: (number | null)[];
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
  title: string;
  groups: Group[];
  series: readonly ServerName[];
  /** A bar's value label. */
  label: (v: number) => string;
  /** An axis tick's label. */
  tick: (v: number) => string;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${r1(x)}" y="${r1(y)}" ${attrs}>${esc(s)}</text>`;
}

function r1(x: number): string {
  return String(Math.round(x * 10) / 10);
}

/** A round step (1, 2, 2.5 or 5 × 10^k) giving about `n` ticks up to max. */
function niceStep(max: number, n: number): number {
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** 1234 → "1.2k", 56000 → "56k", 1.5e6 → "1.5M"; small values keep two decimals. */
export function compact(v: number): string {
  const a = Math.abs(v);
  const trim = (s: string): string => s.replace(/\.0+$|(\.\d*?)0+$/, "$1");
  if (a >= 1e6) return `${trim((v / 1e6).toFixed(a >= 1e7 ? 0 : 2))}M`;
  if (a >= 1e3) return `${trim((v / 1e3).toFixed(a >= 1e5 ? 0 : a >= 1e4 ? 1 : 2))}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return trim(v.toFixed(1));
  return trim(v.toFixed(2));
}

function panel(p: Panel): string {
  const out: string[] = [];
  const left = p.x + 52;
  const right = p.x + p.w;
  const top = p.y + 26;
  const bottom = p.y + p.h - 22;
  out.push(text(p.x, p.y + 12, p.title, `font-size="13" font-weight="bold"`));

  const vals = p.groups.flatMap((g) => g.values).filter((v): v is number => v !== null);
  const max = vals.length > 0 ? Math.max(...vals) : 1;
  // Leave ~22% of the height above the tallest bar for its (vertical) value label.
  const step = niceStep(max / 0.78, 5);
  const yMax = Math.max(step, Math.ceil(max / 0.78 / step) * step);
  const y = (v: number): number => bottom - (v / yMax) * (bottom - top);

  for (let t = 0; t <= yMax + step / 1e6; t += step) {
    const ty = y(t);
    out.push(`<line x1="${left}" x2="${right}" y1="${r1(ty)}" y2="${r1(ty)}" stroke="${t === 0 ? "#333" : "#e3e3e3"}" stroke-width="1"/>`);
    out.push(text(left - 5, ty + 4, p.tick(t), `font-size="10" text-anchor="end" fill="#555"`));
  }

  const gw = (right - left) / Math.max(1, p.groups.length);
  const nb = p.series.length;
  const bw = Math.min(34, (gw * 0.8) / nb);
  p.groups.forEach((g, gi) => {
    const gx = left + gi * gw + (gw - bw * nb) / 2;
    g.values.forEach((v, si) => {
      const bx = gx + si * bw;
      const cx = bx + bw / 2;
      if (v === null) {
        out.push(text(cx + 3, bottom - 4, "failed / n/a", `font-size="9" fill="#c00" transform="rotate(-90 ${r1(cx + 3)} ${r1(bottom - 4)})"`));
        return;
      }
      const by = y(v);
      out.push(
        `<rect x="${r1(bx + 1)}" y="${r1(by)}" width="${r1(bw - 2)}" height="${r1(bottom - by)}" fill="${COLORS[p.series[si]!]}">` +
          `<title>${esc(`${p.series[si]}, ${g.label}: ${p.label(v)}`)}</title></rect>`,
      );
      const ly = by - 4;
      out.push(text(cx + 3.5, ly, p.label(v), `font-size="10" fill="#222" transform="rotate(-90 ${r1(cx + 3.5)} ${r1(ly)})"`));
    });
    out.push(text(left + gi * gw + gw / 2, bottom + 15, g.label, `font-size="11" text-anchor="middle"`));
  });
  return out.join("\n");
}

function note(x: number, y: number, title: string, msg: string): string {
  return [text(x, y + 12, title, `font-size="13" font-weight="bold"`), text(x, y + 50, msg, `font-size="11" fill="#777"`)].join("\n");
}

/** The whole chart as an SVG document. */
export function chart(res: Results): string {
  const W = 1000;
  const H = 850;
  const servers = res.config.servers;
  const m = res.machine;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    text(20, 28, "Echo server: gort (epoll, event ports) vs Go std-net and Node net", `font-size="18" font-weight="bold"`),
  );
  const dirty = m.git_dirty.length > 0 ? " + local changes" : "";
  // The sources the servers ran (last commit touching src/, examples/, native/), when recorded.
  const states = m.src_states ?? [];
  const src = states.length === 1 ? `sources ${states[0]!.slice(0, 7)}` : states.length > 1 ? "sources changed during the run" : `commit ${m.git_commit.slice(0, 7)}${dirty}`;
  const la = `load avg ${m.loadavg_start[0]!.toFixed(2)} → ${m.loadavg_end[0]!.toFixed(2)}`;
  out.push(
    text(
      20,
      48,
      `${m.date.slice(0, 10)} · ${m.cpu_model} · ${m.cores} cores · Node ${m.node} · ${m.go} · ${src} · ${la}`,
      `font-size="11" fill="#555"`,
    ),
    text(
      20,
      64,
      `closed loop (echoload), server pinned to CPU 0, load to CPU 1, ${res.config.secs} s per run, median of ${res.config.reps}`,
      `font-size="11" fill="#555"`,
    ),
  );
  // Legend.
  let lx = 20;
  for (const s of servers) {
    out.push(`<rect x="${lx}" y="76" width="14" height="14" fill="${COLORS[s]}"/>`, text(lx + 19, 88, s, `font-size="12"`));
    lx += 32 + s.length * 6.8;
  }

  const value = (conns: number, size: number, s: ServerName): number | null =>
    res.cells.find((c) => c.conns === conns && c.size === size)?.median[s]?.result?.msgs_per_s ?? null;
  const sizes = res.config.sizes;
  const half = (W - 60) / 2;
  const rowH = 340;
  for (let i = 0; i < 2; i++) {
    const size = sizes[i];
    const x = 20 + i * (half + 20);
    if (size === undefined) {
      out.push(note(x, 105, "messages per second", "(only one message size in this run)"));
      continue;
    }
    out.push(
      panel({
        x,
        y: 105,
        w: half,
        h: rowH,
        title: `messages per second, ${sizeName(size)} messages (higher is better)`,
        groups: res.config.conns.map((c) => ({ label: `${c} conn${c === 1 ? "" : "s"}`, values: servers.map((s) => value(c, size, s)) })),
        series: servers,
        label: compact,
        tick: compact,
      }),
    );
  }

  const y2 = 105 + rowH + 30;
  const cpuW = W - 40 - 290 - 20;
  out.push(
    panel({
      x: 20,
      y: y2,
      w: cpuW,
      h: rowH,
      title: "server CPU µs per message (lower is better)",
      groups: res.cells.map((c) => ({
        label: cellName(c.conns, c.size).replace(" conns", "c").replace(" conn", "c").replace("×", "·"),
        values: servers.map((s) => c.median[s]?.result?.server_cpu_us_per_msg ?? null),
      })),
      series: servers,
      label: compact,
      tick: compact,
    }),
  );
  const mx = 20 + cpuW + 20;
  if (res.memory === null) {
    out.push(note(mx, y2, "memory per idle connection", "(not measured in this run)"));
  } else {
    const mem = res.memory;
    out.push(
      panel({
        x: mx,
        y: y2,
        w: W - 20 - mx,
        h: rowH,
        title: "RSS per idle conn, KiB (lower is better)",
        groups: [
          {
            label: `${mem.idle_conns.toLocaleString("en-US")} idle connections`,
            values: servers.map((s) => {
              const b = mem.median[s]?.bytes_per_conn;
              return b === undefined || b === null ? null : b / 1024;
            }),
          },
        ],
        series: servers,
        label: (v) => v.toFixed(1),
        tick: compact,
      }),
    );
  }
  out.push(
    text(20, H - 8, "Full figures, every run and the method: bench/results/echo.json, docs/benchmarks.md", `font-size="10" fill="#777"`),
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}
