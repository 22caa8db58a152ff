/**
 * Dependency-free SVG charts for training reports: a line chart (loss/accuracy curves) and a confusion-matrix
 * heat map. Inputs are validated first, because a NaN that slips into coordinates yields an SVG that renders
 * as a blank box with no hint of why.
 */
import { OptionError } from '../errors.js';

export interface Series { name: string; points: Array<[number, number]> }
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
}

/** Tableau 10: distinguishable colours for up to ten series; more cycle. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Round-number tick positions (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): { ticks: number[]; decimals: number } {
  if (lo === hi) { // a flat series still needs a visible axis span
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: number[] = [];
  // Index-based so floating error cannot add or drop the last tick.
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toFixed(decimals)));
  return { ticks, decimals };
}

function fmt(v: number, decimals: number): string {
  return v.toFixed(decimals);
}

/** Render a line chart: one polyline per series, axes with ticks, a legend on the right. */
export function lineChart(opts: LineChartOptions): string {
  const { title, xLabel, yLabel, series } = opts;
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  if (!Array.isArray(series) || series.length === 0) throw new OptionError('series', 'line chart needs at least one series');
  series.forEach((s, i) => {
    if (!Array.isArray(s.points) || s.points.length === 0) throw new OptionError(`series[${i}]`, `series '${s.name}' has no points`);
    s.points.forEach((p, j) => {
      if (!Array.isArray(p) || p.length !== 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
        throw new OptionError(`series[${i}].points[${j}]`, `series '${s.name}' point ${j} is ${JSON.stringify(p)}; both x and y must be finite numbers`);
      }
    });
  });
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xt = niceTicks(Math.min(...xs), Math.max(...xs));
  const yt = niceTicks(Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [xt.ticks[0]!, xt.ticks[xt.ticks.length - 1]!];
  const [y0, y1] = [yt.ticks[0]!, yt.ticks[yt.ticks.length - 1]!];
  const m = { left: 70, right: 170, top: 40, bottom: 55 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const sx = (x: number) => (m.left + ((x - x0) / (x1 - x0)) * pw).toFixed(2);
  const sy = (y: number) => (m.top + ph - ((y - y0) / (y1 - y0)) * ph).toFixed(2);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`);
  for (const t of xt.ticks) {
    out.push(`<line x1="${sx(t)}" y1="${m.top}" x2="${sx(t)}" y2="${m.top + ph}" stroke="#eee"/>`);
    out.push(`<text class="tick" x="${sx(t)}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t, xt.decimals)}</text>`);
  }
  for (const t of yt.ticks) {
    out.push(`<line x1="${m.left}" y1="${sy(t)}" x2="${m.left + pw}" y2="${sy(t)}" stroke="#eee"/>`);
    out.push(`<text class="tick" x="${m.left - 6}" y="${sy(t)}" text-anchor="end" dominant-baseline="middle">${fmt(t, yt.decimals)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const pts = s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ');
    out.push(`<polyline class="series" fill="none" stroke="${colour}" stroke-width="2" points="${pts}"/>`);
    // A one-point series draws no line; a dot keeps it visible.
    if (s.points.length === 1) out.push(`<circle cx="${sx(s.points[0]![0])}" cy="${sy(s.points[0]![1])}" r="3" fill="${colour}"/>`);
    const ly = m.top + 10 + i * 18;
    out.push(`<line x1="${W - m.right + 15}" y1="${ly}" x2="${W - m.right + 35}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text class="legend" x="${W - m.right + 40}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Cell text: integers as is, fractions (a normalized matrix) to two decimals. */
function cellText(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

/** Render a confusion matrix (rows = true class, columns = predicted) as a heat map with the value in each cell. */
export function confusionMatrixSvg(matrix: number[][], labels: string[], title: string): string {
  const n = labels.length;
  if (n === 0) throw new OptionError('labels', 'confusion matrix needs at least one class');
  if (!Array.isArray(matrix) || matrix.length !== n) throw new OptionError('matrix', `expected ${n} rows (one per label), got ${matrix?.length}`);
  matrix.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== n) throw new OptionError(`matrix[${i}]`, `expected ${n} columns, got ${row?.length}`);
    row.forEach((v, j) => {
      if (!Number.isFinite(v) || v < 0) throw new OptionError(`matrix[${i}][${j}]`, `must be a finite non-negative number, got ${v}`);
    });
  });
  const max = Math.max(...matrix.flat());
  const cell = Math.max(20, Math.min(48, Math.floor(480 / n)));
  const left = 110;
  const top = 50;
  const W = left + n * cell + 20;
  const H = top + n * cell + 110;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="16">${escapeXml(title)}</text>`);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = matrix[i]![j]!;
      const t = max > 0 ? v / max : 0; // intensity: white (0) to dark blue (max)
      const [r, g, b] = [255 - 222 * t, 255 - 153 * t, 255 - 75 * t].map(Math.round);
      const x = left + j * cell;
      const y = top + i * cell;
      out.push(`<rect class="cell" x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${r},${g},${b})" stroke="#ddd"/>`);
      out.push(`<text class="count" x="${x + cell / 2}" y="${y + cell / 2}" text-anchor="middle" dominant-baseline="middle" fill="${t > 0.5 ? '#fff' : '#000'}">${cellText(v)}</text>`);
    }
    // Row label (true class) on the left, column label (predicted class) below, rotated to fit long names.
    out.push(`<text x="${left - 6}" y="${top + i * cell + cell / 2}" text-anchor="end" dominant-baseline="middle">${escapeXml(labels[i]!)}</text>`);
    const cx = left + i * cell + cell / 2;
    out.push(`<text transform="translate(${cx} ${top + n * cell + 8}) rotate(-45)" text-anchor="end">${escapeXml(labels[i]!)}</text>`);
  }
  out.push(`<text x="${left + (n * cell) / 2}" y="${H - 8}" text-anchor="middle">Predicted</text>`);
  out.push(`<text transform="translate(14 ${top + (n * cell) / 2}) rotate(-90)" text-anchor="middle">True</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
