// portal-start.js: the start page of a portal link (<public url>/portal/start#<token>). The
// token is the URL's fragment, which the browser never sends to a server nor in a Referer.
// It leaves the address bar and the history at once, and goes to the server only in the
// form's POST body, when the admin clicks (a mail scanner that opens links, even one that
// runs scripts, clicks nothing, so it cannot use up the single-use link).
const form = document.getElementById('portal-start');
const token = window.location.hash.slice(1);
window.history.replaceState(null, '', window.location.pathname + window.location.search);
if (form && /^[A-Za-z0-9_-]{43}$/.test(token)) {
  form.elements.token.value = token;
  form.hidden = false;
  form.querySelector('button').focus();
} else {
  document.getElementById('portal-no-token').hidden = false;
}
