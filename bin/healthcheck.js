#!/usr/bin/env node
// A container's healthcheck (the Dockerfile's HEALTHCHECK, docker-compose.yml): exit 0 when the
// balancer answers /health_check with `success`, 1 otherwise, saying why on stderr (where
// `docker inspect` shows it). The slim image has no curl or wget, and this runs every few
// seconds in every container: node:http only, no dependency, nothing of the CLI loaded.
//
//   node bin/healthcheck.js [URL]
//
// Without URL: http://127.0.0.1:$PORT/health_check (`start`, `api`); when nothing listens there,
// http://127.0.0.1:$METRICS_PORT/health_check (`poller`, `projector`, `importer`, which answer
// it on their metrics port). With BIND set to another address or a socket, give the URL.
'use strict';
const http = require('node:http');

/** Below compose's healthcheck timeout (5 s), so the reason is printed before docker gives up. */
const TIMEOUT_MS = 4000;

/** @returns {Promise<{ ok: boolean, refused?: boolean, why?: string }>} */
function check(url) {
  return new Promise((resolve) => {
    let req;
    try {
      req = http.get(url, { timeout: TIMEOUT_MS }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          if (body.length < 1000) body += chunk;
        });
        res.on('end', () => {
          const said = body.trim();
          if (res.statusCode === 200 && said === 'success') resolve({ ok: true });
          else resolve({ ok: false, why: `${url} answered ${res.statusCode}: ${said.slice(0, 300) || '(nothing)'}` });
        });
      });
    } catch (err) {
      resolve({ ok: false, why: `${url}: ${err.message}` });
      return;
    }
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => resolve({ ok: false, refused: err.code === 'ECONNREFUSED', why: `${url}: ${err.code || err.message}` }));
  });
}

const portOf = (value) => (/^\d+$/.test(String(value || '').trim()) ? Number(value) : 0);

async function health(url, env) {
  if (url) return check(url);
  const port = portOf(env.PORT) || 3000;
  const api = await check(`http://127.0.0.1:${port}/health_check`);
  const metricsPort = portOf(env.METRICS_PORT);
  if (!api.refused) return api;
  if (metricsPort > 0) return check(`http://127.0.0.1:${metricsPort}/health_check`);
  return { ok: false, why: `${api.why} (nothing listens on PORT; a poller, projector or importer answers on METRICS_PORT, which is not set)` };
}

health(process.argv[2], process.env).then((r) => {
  if (!r.ok) process.stderr.write(`unhealthy: ${r.why}\n`);
  process.exitCode = r.ok ? 0 : 1;
});
