// autopost.js: submits the page's form at once. The page (lib/sso_html, sso_html_autopost)
// carries a message to another site by HTTP-POST, as the SAML HTTP-POST binding does; its CSP
// allows scripts from /static only, so this cannot be inline. Without scripts the page shows
// a Continue button instead.
const form = document.getElementById('autopost');
if (form) {
  form.submit();
}
