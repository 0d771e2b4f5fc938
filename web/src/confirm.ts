/**
 * A confirmation before something is erased: a modal <dialog> (focus trapped, Escape cancels) that lists what will go.
 * Resolves true only when the user presses the erase button.
 */
export function confirmErasure(title: string, lines: string[], action = 'Erase'): Promise<boolean> {
  const dialog = document.createElement('dialog');
  dialog.className = 'confirm';
  dialog.setAttribute('aria-labelledby', 'confirm-title');
  const heading = document.createElement('h2');
  heading.id = 'confirm-title';
  heading.textContent = title;
  const list = document.createElement('ul');
  for (const line of lines) {
    const item = document.createElement('li');
    item.textContent = line;
    list.append(item);
  }
  const note = document.createElement('p');
  note.textContent = 'This cannot be undone.';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.textContent = 'Cancel';
  const erase = document.createElement('button');
  erase.type = 'button';
  erase.className = 'danger';
  erase.textContent = action;
  const buttons = document.createElement('div');
  buttons.className = 'buttons';
  buttons.append(cancel, erase);
  dialog.append(heading, list, note, buttons);
  document.body.append(dialog);
  return new Promise((resolve) => {
    const close = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener('click', () => close(false));
    erase.addEventListener('click', () => close(true));
    dialog.addEventListener('cancel', () => close(false));
    dialog.showModal();
    cancel.focus();
  });
}
