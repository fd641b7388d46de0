// reason.js: a login's failure reason as the event log writes it.

// "audience: expected A, got B" (the event log's form) as its three parts, or null.
export function expectedReceived(reason) {
  const match = /^([^:]{1,80}):\s*(?:.*?;\s*)?expected (.+?), (?:got|found) (.+)$/s.exec(reason || '');
  return match ? { what: match[1], expected: match[2], received: match[3] } : null;
}
