#!/usr/bin/env node
// Renders build/icons/burrow.svg into the PNGs electron-builder and the tray use:
//   png/<n>x<n>.png for n in 16 24 32 48 64 128 256 512 (the app and desktop-entry icon)
//   tray/burrow-tray-<state>-<theme>.png (22 px) and ...@2x.png (44 px), state online|failing|off,
//   theme light (dark glyph for a light panel) | dark (light glyph for a dark panel).
// No browser or native module: the SVG may hold only <rect rx> and <circle> with solid fills
// (anything else is an error), rasterized with 8x8 supersampling and written by a small PNG encoder.
// Run: node build/icons/render-icons.mjs [OUTDIR]  (npm run dist runs it; the output is committed,
// and electron/packaging.test.ts checks it is what the SVG gives).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
export const APP_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];
export const TRAY_STATES = { online: [47, 191, 113], failing: [240, 160, 32], off: [138, 138, 138] };
export const TRAY_THEMES = { light: [32, 32, 32], dark: [240, 240, 240] };
const SS = 8;

export function parseSvg(text) {
  const view = /viewBox="0 0 (\d+) (\d+)"/.exec(text);
  if (!view || view[1] !== view[2]) throw new Error('burrow.svg: needs a square viewBox="0 0 N N"');
  const body = text.replace(/<!--[\s\S]*?-->/g, '');
  const shapes = [];
  for (const m of body.matchAll(/<(\/?)([a-zA-Z]+)\b([^>]*)>/g)) {
    const [, close, tag, rest] = m;
    if (tag === 'svg' || close) continue;
    if (tag !== 'rect' && tag !== 'circle') throw new Error(`burrow.svg: <${tag}> is not supported (only rect and circle)`);
    const a = Object.fromEntries([...rest.matchAll(/([\w-]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const fill = /^#([0-9a-f]{6})$/i.exec(a.fill ?? '');
    if (!fill) throw new Error(`burrow.svg: ${tag} ${a.id ?? ''} needs fill="#rrggbb"`);
    const rgb = [0, 2, 4].map((i) => parseInt(fill[1].slice(i, i + 2), 16));
    const n = (k) => Number(a[k] ?? 0);
    shapes.push(tag === 'circle' ? { kind: 'circle', cx: n('cx'), cy: n('cy'), r: n('r'), rgb, tray: a['data-tray'] } : { kind: 'rect', x: n('x'), y: n('y'), w: n('width'), h: n('height'), rx: n('rx'), rgb, tray: a['data-tray'] });
  }
  return { size: Number(view[1]), shapes };
}

function inside(s, x, y) {
  if (s.kind === 'circle') return (x - s.cx) ** 2 + (y - s.cy) ** 2 <= s.r ** 2;
  if (x < s.x || y < s.y || x > s.x + s.w || y > s.y + s.h) return false;
  const r = Math.min(s.rx, s.w / 2, s.h / 2);
  const dx = Math.max(s.x + r - x, 0, x - (s.x + s.w - r));
  const dy = Math.max(s.y + r - y, 0, y - (s.y + s.h - r));
  return dx * dx + dy * dy <= r * r;
}

/** RGBA pixels; each op is { shape, rgb } (paint) or { shape, cut: true } (erase). */
export function rasterize(ops, viewSize, px) {
  const out = new Float64Array(px * px * 4);
  const scale = viewSize / px;
  for (let py = 0; py < px; py++) {
    for (let pxi = 0; pxi < px; pxi++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (const op of ops) {
        let hits = 0;
        for (let sy = 0; sy < SS; sy++) for (let sx = 0; sx < SS; sx++) if (inside(op.shape, (pxi + (sx + 0.5) / SS) * scale, (py + (sy + 0.5) / SS) * scale)) hits++;
        const cov = hits / (SS * SS);
        if (cov === 0) continue;
        if (op.cut) {
          r *= 1 - cov; g *= 1 - cov; b *= 1 - cov; a *= 1 - cov;
        } else {
          // premultiplied "source over"
          r = op.rgb[0] * cov + r * (1 - cov); g = op.rgb[1] * cov + g * (1 - cov); b = op.rgb[2] * cov + b * (1 - cov); a = cov + a * (1 - cov);
        }
      }
      const i = (py * px + pxi) * 4;
      out[i] = a > 0 ? r / a : 0; out[i + 1] = a > 0 ? g / a : 0; out[i + 2] = a > 0 ? b / a : 0; out[i + 3] = a * 255;
    }
  }
  return Uint8Array.from(out, (v) => Math.max(0, Math.min(255, Math.round(v))));
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** PNG (RFC 2083): 8-bit RGBA, no interlace, filter 0 on every row. */
export function encodePng(rgba, size) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) raw.set(rgba.subarray(y * size * 4, (y + 1) * size * 4), y * (size * 4 + 1) + 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

export function appIcon(svg, px) {
  return encodePng(rasterize(svg.shapes.map((shape) => ({ shape, rgb: shape.rgb })), svg.size, px), px);
}

/** The glyph in the panel's colour with a status dot at the bottom right (a ring of cut keeps it apart). */
export function trayIcon(svg, state, theme, px) {
  const ops = [];
  for (const shape of svg.shapes) {
    if (shape.tray === 'glyph') ops.push({ shape, rgb: TRAY_THEMES[theme] });
    else if (shape.tray === 'cut') ops.push({ shape, cut: true });
  }
  const n = svg.size;
  ops.push({ shape: { kind: 'circle', cx: n * 0.8, cy: n * 0.8, r: n * 0.22 }, cut: true });
  ops.push({ shape: { kind: 'circle', cx: n * 0.8, cy: n * 0.8, r: n * 0.17 }, rgb: TRAY_STATES[state] });
  return encodePng(rasterize(ops, n, px), px);
}

export function renderAll(outDir = HERE) {
  const svg = parseSvg(readFileSync(join(HERE, 'burrow.svg'), 'utf8'));
  mkdirSync(join(outDir, 'png'), { recursive: true });
  mkdirSync(join(outDir, 'tray'), { recursive: true });
  for (const size of APP_SIZES) writeFileSync(join(outDir, 'png', `${size}x${size}.png`), appIcon(svg, size));
  for (const state of Object.keys(TRAY_STATES)) {
    for (const theme of Object.keys(TRAY_THEMES)) {
      writeFileSync(join(outDir, 'tray', `burrow-tray-${state}-${theme}.png`), trayIcon(svg, state, theme, 22));
      writeFileSync(join(outDir, 'tray', `burrow-tray-${state}-${theme}@2x.png`), trayIcon(svg, state, theme, 44));
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) renderAll(process.argv[2] ?? HERE);
