import { html } from 'lit';
import { call, get, type Person, photoOf } from '../api';
import { notify, Page } from '../base';

/** Every enrolled person, and the form that enrols a new one from photos (each must show exactly one face). */
class PeoplePage extends Page {
  static override properties = { ...Page.properties, people: { state: true }, busy: { state: true } };
  people: Person[] = [];
  busy = false;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load() {
    await this.attempt(async () => {
      this.people = (await get<{ people: Person[] }>('/people')).people.sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  private async enrol(event: Event) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const files = data.getAll('photos').filter((f): f is File => f instanceof File && f.size > 0);
    this.busy = true;
    const enrolled = await this.attempt(async () => {
      const detailsText = String(data.get('details') ?? '').trim();
      const details = detailsText ? (JSON.parse(detailsText) as Record<string, unknown>) : undefined;
      return call<Person>('POST', '/people', {
        personId: String(data.get('personId') ?? '').trim(),
        name: String(data.get('name') ?? '').trim(),
        ...(details ? { details } : {}),
        photos: await Promise.all(files.map(photoOf)),
      });
    });
    this.busy = false;
    if (!enrolled) return;
    notify(`Enrolled ${enrolled.name}.`);
    form.reset();
    await this.load();
  }

  override render() {
    return html`
      <h1>People</h1>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : ''}
      <ul class="people">
        ${this.people.map(
          (p) => html`<li>
            <a href="#/people/${encodeURIComponent(p.personId)}"><strong>${p.name}</strong></a>
            <span class="meta">${p.personId} · ${p.enrolledPhotos} enrolment photo(s)</span>
          </li>`,
        )}
      </ul>
      ${this.people.length === 0 ? html`<p>Nobody is enrolled yet.</p>` : ''}
      <form class="card enrol" @submit=${this.enrol} aria-labelledby="enrol-title">
        <h2 id="enrol-title">Enrol a person</h2>
        <label>Id <input name="personId" required pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" /></label>
        <label>Name <input name="name" required maxlength="256" /></label>
        <label>Details (JSON) <textarea name="details" rows="2" placeholder='{"team": "blue"}'></textarea></label>
        <label>Photos (one face each) <input name="photos" type="file" accept="image/*" multiple required /></label>
        <button type="submit" ?disabled=${this.busy}>${this.busy ? 'Enrolling…' : 'Enrol'}</button>
      </form>
    `;
  }
}

customElements.define('fp-people-page', PeoplePage);
