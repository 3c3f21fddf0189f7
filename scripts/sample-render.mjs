#!/usr/bin/env node
/**
 * A small sample publish render for the demo and docker compose: pages under /content/site-a and
 * /content/site-b whose body shows when they were rendered, so a cached copy is easy to tell from
 * a fresh one; HTML pages are tagged with `Surrogate-Key`. PORT (default 4503), HOST (default 127.0.0.1).
 */
import http from 'node:http';

const port = Number(process.env.PORT ?? 4503);
const host = process.env.HOST ?? '127.0.0.1';
let renders = 0;

const page = (site, path, now) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${site}: ${path}</title></head>
<body>
<h1>${site}</h1>
<p>Page <code>${path}</code></p>
<p>Rendered at <strong>${now.toISOString()}</strong> (render #${renders})</p>
</body></html>
`;

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://render');
  const m = /^\/content\/(site-a|site-b)(\/.*)?$/.exec(url.pathname);
  renders++;
  if (url.pathname === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  if (!m) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found\n');
  }
  const now = new Date();
  if (url.pathname.endsWith('.json')) {
    res.writeHead(200, { 'content-type': 'application/json', 'last-modified': now.toUTCString() });
    return res.end(JSON.stringify({ site: m[1], path: url.pathname, renderedAt: now.toISOString(), render: renders }) + '\n');
  }
  if (url.pathname.endsWith('.html')) {
    // Cache tags (README "Tagging pages"): this page's own id, its site, and the navigation it shows.
    const id = url.pathname.slice(url.pathname.lastIndexOf('/') + 1).replace(/\..*$/, '');
    const tags = `page-${m[1]}-${id} ${m[1]} nav`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'last-modified': now.toUTCString(), 'surrogate-key': tags });
    return res.end(page(m[1], url.pathname, now));
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

server.listen(port, host, () => {
  console.log(`sample render listening on http://${host}:${port} (pages under /content/site-a and /content/site-b)`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
