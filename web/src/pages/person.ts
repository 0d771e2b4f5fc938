import { html } from 'lit';
import { call, type Erasure, type Face, faceThumbnailUrl, get, imageIdOfFace, type Person, photoOf } from '../api';
import { notify, Page, when } from '../base';
import { confirmErasure } from '../confirm';

/**
 * One person: their details (editable: `PATCH /people/{id}`), their faces over time, their enrolment photos, more
 * photos, merging a duplicate into them, and removal (their faces become unknown) or erasure (their faces go too).
 */
class PersonPage extends Page {
  static override properties = {
    ...Page.properties,
    personId: { attribute: false },
    person: { state: true },
    faces: { state: true },
    people: { state: true },
    busy: { state: true },
  };
  personId = '';
  person: Person | undefined;
  faces: Face[] = [];
  people: Person[] = [];
  busy = false;

  protected override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has('personId')) void this.load();
  }

  private async load() {
    await this.attempt(async () => {
      const id = encodeURIComponent(this.personId);
      const [person, faces, people] = await Promise.all([
        get<Person>(`/people/${id}`),
        get<{ faces: Face[] }>(`/faces?person=${id}&limit=1000`),
        get<{ people: Person[] }>('/people'),
      ]);
      this.person = person;
      this.faces = faces.faces;
      this.people = people.people.filter((p) => p.personId !== this.personId);
    });
  }

  private async save(event: Event) {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const saved = await this.attempt(async () => {
      const detailsText = String(data.get('details') ?? '').trim() || '{}';
      let details: unknown;
      try {
        details = JSON.parse(detailsText);
      } catch {
        throw new Error('Details must be a JSON object, e.g. {"team": "blue"}.');
      }
      return call<Person>('PATCH', `/people/${encodeURIComponent(this.personId)}`, {
        name: String(data.get('name') ?? ''),
        details,
      });
    });
    if (saved) {
      this.person = saved;
      notify(`Saved ${saved.name}.`);
    }
  }

  private async addPhotos(event: Event) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const files = new FormData(form).getAll('photos').filter((f): f is File => f instanceof File && f.size > 0);
    if (files.length === 0) return;
    this.busy = true;
    const added = await this.attempt(async () =>
      call<Person>('POST', '/people', { personId: this.personId, photos: await Promise.all(files.map(photoOf)) }),
    );
    this.busy = false;
    if (!added) return;
    form.reset();
    notify(`Added ${files.length} photo(s) to ${added.name}.`);
    await this.load();
  }

  private async merge(event: Event) {
    event.preventDefault();
    const from = String(new FormData(event.target as HTMLFormElement).get('from') ?? '');
    const other = this.people.find((p) => p.personId === from);
    if (!other || !this.person) return;
    const ok = await confirmErasure(
      `Merge ${other.name} into ${this.person.name}?`,
      [
        `${other.name} (${other.personId}) was this person enrolled twice: their faces and enrolment photos become ${this.person.name}'s`,
        `the person record ${other.personId} is removed`,
      ],
      'Merge',
    );
    if (!ok) return;
    if (await this.attempt(() => call('POST', `/people/${encodeURIComponent(this.personId)}/merge`, { from }))) {
      notify(`Merged ${other.name} into ${this.person.name}.`);
      await this.load();
    }
  }

  private async removePerson(erase: boolean) {
    const person = this.person;
    if (!person) return;
    const images = new Set(this.faces.map((f) => imageIdOfFace(f.faceId))).size;
    const lines = erase
      ? [
          `the person record of ${person.name} (${person.personId}) with their details and ${person.enrolledPhotos} enrolment embedding(s)`,
          `${this.faces.length} face(s) recognised as them in ${images} image(s): records, crops, thumbnails, embeddings`,
          'photos that show only them are erased whole; photos with others lose their upload and thumbnail',
        ]
      : [
          `the person record of ${person.name} (${person.personId}) with their details and ${person.enrolledPhotos} enrolment embedding(s)`,
          `their ${this.faces.length} recognised face(s) stay, as unknown faces`,
        ];
    const ok = await confirmErasure(
      erase ? `Erase ${person.name} and their faces?` : `Remove ${person.name}?`,
      lines,
      erase ? 'Erase' : 'Remove',
    );
    if (!ok) return;
    const done = await this.attempt(() =>
      call<Erasure>('DELETE', `/people/${encodeURIComponent(person.personId)}?erase=${erase}`),
    );
    if (!done) return;
    notify(
      `${erase ? 'Erased' : 'Removed'} ${person.name}: ${done.removed.records} record(s), ${done.removed.objects} file(s).`,
    );
    location.hash = '#/people';
  }

  override render() {
    const person = this.person;
    if (!person)
      return html`<h1>Person</h1>${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<p>Loading…</p>`}`;
    return html`
      <h1>${person.name}</h1>
      <p class="meta">${person.personId} · enrolled ${when(person.createdAt)} · changed ${when(person.updatedAt)}</p>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <div class="columns">
        <form class="card details" @submit=${this.save} aria-labelledby="details-title">
          <h2 id="details-title">Details</h2>
          <label>Name <input name="name" required maxlength="256" .value=${person.name} /></label>
          <label>Details (JSON) <textarea name="details" rows="4" .value=${JSON.stringify(person.details, null, 2)}></textarea></label>
          <button type="submit">Save</button>
        </form>
        <section class="card" aria-labelledby="photos-title">
          <h2 id="photos-title">Enrolment photos</h2>
          <ul class="plain">${(person.enrolmentPhotos ?? []).map((name) => html`<li>${name}</li>`)}</ul>
          <form @submit=${this.addPhotos}>
            <label>Add photos (one face each) <input name="photos" type="file" accept="image/*" multiple required /></label>
            <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Adding…' : 'Add photos'}</button>
          </form>
        </section>
      </div>
      <section aria-labelledby="faces-title">
        <h2 id="faces-title">Faces over time (${this.faces.length})</h2>
        <ul class="strip">
          ${this.faces.map(
            (face) => html`<li>
              <a href="#/image/${imageIdOfFace(face.faceId)}" title=${face.image}>
                <img src=${faceThumbnailUrl(face)} alt=${`${person.name}, ${when(face.detectedAt)}`} loading="lazy" width="80" height="80" />
                <span class="meta">${new Date(face.detectedAt).toLocaleDateString()} · ${face.emotion?.label ?? ''}</span>
              </a>
            </li>`,
          )}
        </ul>
      </section>
      <section class="card" aria-labelledby="manage-title">
        <h2 id="manage-title">Manage</h2>
        <form class="inline" @submit=${this.merge}>
          <label>Merge a duplicate into ${person.name}
            <select name="from"><option value="">…</option>${this.people.map((p) => html`<option value=${p.personId}>${p.name} (${p.personId})</option>`)}</select>
          </label>
          <button type="submit">Merge…</button>
        </form>
        <p>
          <button type="button" @click=${() => this.removePerson(false)}>Remove person…</button>
          <button type="button" class="danger" @click=${() => this.removePerson(true)}>Erase person and faces…</button>
        </p>
      </section>
    `;
  }
}

customElements.define('fp-person-page', PersonPage);
