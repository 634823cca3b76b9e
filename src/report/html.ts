/** The HTML shell of mmgap's reports: escaping, tables, figures, and one inline stylesheet (nothing external). */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A table; cells are plain text (escaped here). */
export function table(headers: string[], rows: string[][]): string {
  const th = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A chart: its inlined SVG with a caption; `name` lets tests and readers find it. */
export function figure(name: string, svg: string, caption: string): string {
  return `<figure class="chart" data-chart="${escapeHtml(name)}">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

const STYLE = `
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1180px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; font-size: 12px; } .note { color: #555; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; } th { background: #f5f5f5; }
td { font-variant-numeric: tabular-nums; }
figure.chart { display: inline-block; margin: 6px; vertical-align: top; }
figure.chart figcaption { font-size: 12px; color: #555; max-width: 560px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: 4px; }
.grid figure.chart { margin: 0; } .grid figcaption { display: none; }
.swatch { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: -1px; }
h3 { font-size: 15px; margin: 18px 0 4px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: 8px; }
.sample { border: 1px solid #ddd; border-radius: 4px; padding: 6px; font-size: 12px; }
.sample .note { font-size: 11px; }
.thumbs { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-end; margin-bottom: 4px; }
figure.thumb { margin: 0; text-align: center; } figure.thumb figcaption { font-size: 11px; color: #555; }
figure.thumb img { display: block; image-rendering: pixelated; border: 1px solid #eee; }
.thumb-missing { display: flex; align-items: center; justify-content: center; width: 96px; height: 48px; background: #f5f5f5; color: #888; font-size: 11px; }
.ok { color: #2a7a2a; } .wrong { color: #b3261e; } .facts span { white-space: nowrap; }
`;

/** A complete, self-contained page. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
