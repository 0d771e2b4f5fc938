import { html } from 'lit';
import { get } from '../api';
import { Page } from '../base';
import { emotionChart } from '../emotionChart';

interface Timeline {
  bucket: 'hour' | 'day';
  buckets: { at: string; counts: Record<string, number> }[];
  faces: number;
  truncated: boolean;
}

/** Faces per emotion per day or hour, as stacked bars with a table of the same (a video's are on its own page). */
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
    const label = (at: string) =>
      timeline.bucket === 'hour' ? `${at.slice(0, 10)} ${at.slice(11, 16)}` : at.slice(0, 10);
    return html`
      <p class="meta">${timeline.faces} face(s)${timeline.truncated ? ' (the newest only: narrow the window)' : ''}</p>
      ${emotionChart(
        timeline.buckets.map((b) => ({ label: label(b.at), counts: b.counts })),
        { caption: `Faces per emotion per ${timeline.bucket}`, unit: timeline.bucket },
      )}
    `;
  }
}

customElements.define('fp-emotions-page', EmotionsPage);
