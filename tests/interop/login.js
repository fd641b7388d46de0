// Drives a browser's part of a login by hand over HTTP: follows redirects while they stay on
// the broker, reads HTML forms (hidden and named fields) and posts them.
'use strict';

function formOf(html) {
  const form = html.match(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i);
  if (!form) throw new Error(`no form in page: ${html.slice(0, 300)}`);
  const fields = {};
  for (const input of form[2].matchAll(/<input([^>]*)>/gi)) {
    const name = input[1].match(/name="([^"]*)"/);
    const value = input[1].match(/value="([^"]*)"/);
    if (name) fields[unescape(name[1])] = value ? unescape(value[1]) : '';
  }
  return { action: unescape(form[1]), fields };
}

function unescape(text) {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

// GET url and follow redirects on the broker; returns the first response that is not a
// redirect to the broker, with the final URL or Location.
async function follow(brokerUrl, url, init = {}) {
  for (let hop = 0; hop < 10; hop++) {
    const r = await fetch(url, { ...init, redirect: 'manual' });
    const location = r.headers.get('location');
    if (r.status >= 300 && r.status < 400 && location) {
      const next = new URL(location, url).toString();
      if (!next.startsWith(brokerUrl)) return { status: r.status, location: next, response: r };
      url = next;
      init = {};
      continue;
    }
    return { status: r.status, url, response: r, body: await r.text() };
  }
  throw new Error('too many redirects');
}

async function postForm(url, fields, cookie) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (cookie) headers.cookie = cookie;
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers,
    body: new URLSearchParams(fields).toString(),
  });
}

// The name=value of a response's Set-Cookie (its attributes dropped), as a browser sends it back.
function cookieOf(response) {
  const set = response.headers.get('set-cookie');
  return set ? set.split(';')[0] : undefined;
}

// From /oauth/authorize to the client's redirect URI through the simulator's page.
async function simulatorLogin(brokerUrl, authorizeUrl, person) {
  const page = await follow(brokerUrl, authorizeUrl);
  if (page.status !== 200) throw new Error(`simulator page: ${page.status} ${page.body || page.location}`);
  const form = formOf(page.body);
  const fields = { ...form.fields, ...person };
  // The simulator's form is CSRF-protected: its cookie goes back with the post.
  const posted = await postForm(new URL(form.action, page.url).toString(), fields, cookieOf(page.response));
  const postPage = await posted.text();
  if (posted.status !== 200) throw new Error(`simulator post: ${posted.status} ${postPage}`);
  const acs = formOf(postPage);
  const answered = await postForm(new URL(acs.action, page.url).toString(), acs.fields);
  return { status: answered.status, location: answered.headers.get('location'), body: await answered.text() };
}

module.exports = { formOf, unescape, follow, postForm, cookieOf, simulatorLogin };
