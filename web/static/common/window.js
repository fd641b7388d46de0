// window.js: a sign-in window opened from a click. It is opened blank in the click itself, so
// no popup blocker stops it, and holds no handle on the page that opened it (opener); it gets
// its address once the server has given one.

export function blankWindow() {
  const win = window.open('', '_blank');
  if (win) {
    try {
      win.opener = null;
    } catch (_) {
      // a browser that refuses: the window keeps a harmless same-origin opener
    }
  }
  return win;
}

// The server's address as a URL when it is http(s), else null (the window, if any, is closed).
export function signInUrl(win, address) {
  let url = null;
  try {
    url = new URL(address, window.location.href);
  } catch (_) {
    url = null;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    if (win) win.close();
    return null;
  }
  if (win) win.location.replace(url.href);
  return url;
}
