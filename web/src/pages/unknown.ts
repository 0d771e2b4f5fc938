import { html } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ApiFailure, type Cluster, call, cropUrl, type Face, get, imageIdOfFace, type Person } from '../api';
import { notify, Page } from '../base';
import { faceActions } from './faceActions';

/** Clusters shown at once, and faces shown per cluster row. */
const CLUSTERS_SHOWN = 40;
const FACES_PER_ROW = 12;

interface ClusterRow extends Cluster {
  sample: Face[];
}

/**
 * Unknown faces as the clusters group them, biggest first, one row of crops each: name a cluster (a new person, or
 * more faces for someone enrolled), take a face out of its group, or move it to a person.
 */
class UnknownPage extends Page {
  static override properties = {
    ...Page.properties,
    rows: { state: true },
    people: { state: true },
    total: { state: true },
    unavailable: { state: true },
  };
  rows: ClusterRow[] = [];
  people: Person[] = [];
  total = 0;
  unavailable = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    await this.attempt(async () => {
      let clusters: Cluster[];
      try {
        clusters = (await get<{ clusters: Cluster[] }>('/clusters?limit=1000')).clusters;
      } catch (error) {
        if (error instanceof ApiFailure && error.status === 404) {
          this.unavailable = true;
          return;
        }
        throw error;
      }
      this.people = (await get<{ people: Person[] }>('/people')).people;
      this.total = clusters.length;
      const biggest = clusters
        .sort((a, b) => b.faces - a.faces || a.clusterId.localeCompare(b.clusterId))
        .slice(0, CLUSTERS_SHOWN);
      this.rows = await Promise.all(
        biggest.map(async (cluster) => ({
          ...cluster,
          sample:
            (await get<{ faces: Face[] }>(`/clusters/${encodeURIComponent(cluster.clusterId)}?limit=${FACES_PER_ROW}`))
              .faces ?? [],
        })),
      );
    });
  }

  private async name(event: Event, cluster: ClusterRow) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const existing = String(data.get('existing') ?? '');
    const personId = existing || String(data.get('personId') ?? '').trim();
    const name = String(data.get('name') ?? '').trim();
    const named = await this.attempt(() =>
      call<Person>('POST', '/people', { personId, ...(existing ? {} : { name }), fromCluster: cluster.clusterId }),
    );
    if (!named) return;
    notify(`${cluster.faces} face(s) are now ${named.name}.`);
    await this.load();
  }

  override render() {
    if (this.unavailable) {
      return html`<h1>Unknown faces</h1><p>This server has no clusters routes (GET /clusters).</p>`;
    }
    return html`
      <h1>Unknown faces</h1>
      <p class="meta">${this.total} group(s) of unknown faces, biggest first${this.total > CLUSTERS_SHOWN ? `; the ${CLUSTERS_SHOWN} biggest shown` : ''}.</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <ol class="clusters">
        ${repeat(
          this.rows,
          (cluster) => cluster.clusterId,
          (cluster) => this.row(cluster),
        )}
      </ol>
    `;
  }

  private row(cluster: ClusterRow) {
    const titleId = `cluster-${cluster.clusterId}`;
    return html`<li class="cluster card" data-cluster-id=${cluster.clusterId} aria-labelledby=${titleId}>
      <h2 id=${titleId}>${cluster.faces} face(s) <span class="meta">${cluster.clusterId}</span></h2>
      <ul class="strip">
        ${cluster.sample.map(
          (face) => html`<li class="cluster-face" data-face-id=${face.faceId}>
            <a href="#/image/${imageIdOfFace(face.faceId)}" title=${face.image}>
              <img src=${cropUrl(face)} alt=${`Unknown face from ${face.image}`} loading="lazy" width="80" height="80" />
            </a>
            ${faceActions(
              face,
              this.people,
              () => void this.load(),
              (error) => {
                this.error = error instanceof Error ? error.message : String(error);
              },
              'cluster',
            )}
          </li>`,
        )}
      </ul>
      <form class="inline name-cluster" @submit=${(e: Event) => this.name(e, cluster)}>
        <label>New person id <input name="personId" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" /></label>
        <label>Name <input name="name" maxlength="256" /></label>
        <label>or add to
          <select name="existing"><option value="">…</option>${this.people.map((p) => html`<option value=${p.personId}>${p.name}</option>`)}</select>
        </label>
        <button type="submit">Name this group</button>
      </form>
    </li>`;
  }
}

customElements.define('fp-unknown-page', UnknownPage);
