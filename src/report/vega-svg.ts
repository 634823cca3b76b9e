/**
 * Vega-Lite -> Vega -> SVG on the server (no browser, no canvas), so that reports are plain
 * self-contained HTML: the SVG is inlined and nothing is fetched when the page opens.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Shared look of every chart (small, legible, white background for screenshots). */
const CONFIG = {
  background: 'white',
  font: 'Helvetica, Arial, sans-serif',
  axis: { labelFontSize: 10, titleFontSize: 11, grid: true, gridOpacity: 0.5 },
  legend: { labelFontSize: 10, titleFontSize: 11, orient: 'bottom', labelLimit: 320 },
  title: { fontSize: 12, anchor: 'start' },
  view: { stroke: '#ddd' },
} as const;

/** Renders a Vega-Lite spec to an SVG string ready to inline in HTML. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // Inline SVG needs no namespace declarations; dropping them keeps the page free of URLs.
    return svg.replace(/ xmlns(:xlink)?="[^"]*"/g, '');
  } finally {
    view.finalize();
  }
}
