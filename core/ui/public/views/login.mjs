/**
 * #/login: a token form. The token is checked with GET /whoami and kept in sessionStorage; the field is
 * emptied after every attempt, so the token is never left in the page.
 */
import { ApiError, describe, session } from '../api.mjs';
import { h } from '../dom.mjs';

let pending = '';

/** A message for the next time the login form is shown (why the session ended). */
export function loginMessage(text) {
  pending = text;
}

export function loginView(onLogin) {
  return (main) => {
    const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true });
    const error = h('p', { id: 'login-error', class: 'error', role: 'alert' }, pending);
    pending = '';
    const button = h('button', { type: 'submit' }, 'Log in');
    const form = h(
      'form',
      { class: 'login', id: 'login' },
      h('h1', {}, 'Log in to anneal'),
      h('label', { for: 'token' }, 'API token'),
      input,
      button,
      error,
      h('p', { class: 'hint' }, 'The token stays in this browser tab only (sessionStorage) until you log out.'),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const token = input.value.trim();
      input.value = '';
      button.disabled = true;
      error.textContent = '';
      try {
        await session.login(token);
        onLogin();
      } catch (err) {
        error.textContent =
          err instanceof ApiError && err.status === 401 ? `Token not accepted: ${err.message}` : describe(err);
      } finally {
        button.disabled = false;
      }
    });
    main.append(form);
    input.focus();
  };
}
