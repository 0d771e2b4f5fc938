import { html, svg } from 'lit';

/** The seven emotions in the order the charts stack and list them, each with its colour. */
export const EMOTION_COLOURS: Record<string, string> = {
  neutral: '#8a8f98',
  happy: '#e3b505',
  sad: '#3f72af',
  angry: '#c0392b',
  fearful: '#7d3c98',
  disgusted: '#27ae60',
  surprised: '#e67e22',
};

/** One bar of a chart: its label (a day, an hour, a window of a video) and the faces per emotion. */
export interface EmotionColumn {
  label: string;
  counts: Partial<Record<string, number>>;
  /** The faces seen in it, where that is more than those with an emotion (a video's visible faces). */
  faces?: number;
}

/**
 * Faces per emotion as stacked bars (an SVG drawn here: a chart library would be most of the bundle), and the same
 * numbers as a table (for screen readers, and to read exact counts). Colours are SVG attributes, not inline styles.
 */
export function emotionChart(columns: readonly EmotionColumn[], text: { caption: string; unit: string }) {
  const labels = Object.keys(EMOTION_COLOURS);
  const total = (c: EmotionColumn) => labels.reduce((sum, l) => sum + (c.counts[l] ?? 0), 0);
  const max = Math.max(1, ...columns.map(total));
  const barWidth = 24;
  const gap = 6;
  const height = 200;
  const width = Math.max(1, columns.length * (barWidth + gap));
  const withFaces = columns.some((c) => c.faces !== undefined);
  return html`
    <ul class="legend">
      ${labels.map(
        (l) =>
          html`<li><svg class="swatch" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" fill=${EMOTION_COLOURS[l]}></rect></svg>${l}</li>`,
      )}
    </ul>
    <div class="chart">
      <svg viewBox="0 0 ${width} ${height + 4}" width=${width} height=${height + 4} role="img"
        aria-label=${`Stacked bars: ${text.caption}`}>
        ${columns.map((column, i) => {
          let y = height;
          return svg`<g class="bar" data-label=${column.label}><title>${column.label}: ${labels
            .map((l) => `${l} ${column.counts[l] ?? 0}`)
            .join(', ')}</title>
            ${labels.map((l) => {
              const h = ((column.counts[l] ?? 0) / max) * height;
              y -= h;
              return h > 0
                ? svg`<rect x=${i * (barWidth + gap)} y=${y} width=${barWidth} height=${h} fill=${EMOTION_COLOURS[l]}
                    data-emotion=${l}></rect>`
                : '';
            })}</g>`;
        })}
      </svg>
    </div>
    <div class="table-scroll">
    <table class="emotion-table">
      <caption>${text.caption}</caption>
      <thead>
        <tr>
          <th scope="col">${text.unit}</th>
          ${labels.map((l) => html`<th scope="col">${l}</th>`)}
          ${withFaces ? html`<th scope="col">faces</th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${columns.map(
          (c) =>
            html`<tr>
              <th scope="row">${c.label}</th>
              ${labels.map((l) => html`<td data-emotion=${l}>${c.counts[l] ?? 0}</td>`)}
              ${withFaces ? html`<td class="faces">${c.faces ?? 0}</td>` : ''}
            </tr>`,
        )}
      </tbody>
    </table>
    </div>
  `;
}
