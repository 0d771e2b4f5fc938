import { html, svg } from 'lit';
import { get } from '../api';
import { Page } from '../base';

interface Timeline {
  bucket: 'hour' | 'day';
  buckets: { at: string; counts: Record<string, number> }[];
  faces: number;
  truncated: boolean;
}

const COLOURS: Record<string, string> = {
  neutral: '#8a8f98',
  happy: '#e3b505',
  sad: '#3f72af',
  angry: '#c0392b',
  fearful: '#7d3c98',
  disgusted: '#27ae60',
  surprised: '#e67e22',
};

/** Faces per emotion per day or hour, as stacked bars (an SVG drawn here: no chart library), with a table of the same. */
class EmotionsPage extends Page {
  static override properties = { ...Page.properties, bucket: { attribute: false }, timeline: { state: true } };
  bucket: 'hour' | 'day' = 'day';
  timeline: Timeline | undefined;

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('bucket')) void this.load();
  }

  private async load() {
    await this.attempt(async () => {
      this.timeline = await get<Timeline>(`/ui/api/emotions?bucket=${this.bucket}`);
    });
  }

  override render() {
    const timeline = this.timeline;
    return html`
      <h1>Emotions over time</h1>
      <nav class="toolbar" aria-label="Bar width">
        <a href="#/emotions?bucket=day" aria-current=${this.bucket === 'day' ? 'page' : 'false'}>per day</a>
        <a href="#/emotions?bucket=hour" aria-current=${this.bucket === 'hour' ? 'page' : 'false'}>per hour</a>
      </nav>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      ${timeline ? this.chart(timeline) : html`<p>Loading…</p>`}
    `;
  }

  private chart(timeline: Timeline) {
    if (timeline.buckets.length === 0) return html`<p>No faces with an emotion yet.</p>`;
    const labels = Object.keys(COLOURS);
    const max = Math.max(...timeline.buckets.map((b) => labels.reduce((sum, l) => sum + (b.counts[l] ?? 0), 0)));
    const barWidth = 24;
    const gap = 6;
    const height = 200;
    const width = timeline.buckets.length * (barWidth + gap);
    const label = (at: string) =>
      timeline.bucket === 'hour' ? `${at.slice(0, 10)} ${at.slice(11, 16)}` : at.slice(0, 10);
    return html`
      <p class="meta">${timeline.faces} face(s)${timeline.truncated ? ' (the newest only: narrow the window)' : ''}</p>
      <ul class="legend">${labels.map((l) => html`<li><span class="swatch" style="background:${COLOURS[l]}"></span>${l}</li>`)}</ul>
      <div class="chart">
        <svg viewBox="0 0 ${width} ${height + 4}" width=${width} height=${height + 4} role="img"
          aria-label="Stacked bars: faces per emotion per ${timeline.bucket}">
          ${timeline.buckets.map((bucket, i) => {
            let y = height;
            return svg`<g><title>${label(bucket.at)}: ${labels.map((l) => `${l} ${bucket.counts[l] ?? 0}`).join(', ')}</title>
              ${labels.map((l) => {
                const h = ((bucket.counts[l] ?? 0) / max) * height;
                y -= h;
                return h > 0
                  ? svg`<rect x=${i * (barWidth + gap)} y=${y} width=${barWidth} height=${h} fill=${COLOURS[l]}></rect>`
                  : '';
              })}</g>`;
          })}
        </svg>
      </div>
      <table class="emotion-table">
        <caption>Faces per emotion per ${timeline.bucket}</caption>
        <thead><tr><th scope="col">${timeline.bucket}</th>${labels.map((l) => html`<th scope="col">${l}</th>`)}</tr></thead>
        <tbody>
          ${timeline.buckets.map(
            (b) =>
              html`<tr><th scope="row">${label(b.at)}</th>${labels.map((l) => html`<td>${b.counts[l] ?? 0}</td>`)}</tr>`,
          )}
        </tbody>
      </table>
    `;
  }
}

customElements.define('fp-emotions-page', EmotionsPage);
