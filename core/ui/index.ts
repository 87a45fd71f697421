/**
 * The web UI (docs/ui.md): a dependency-free single-page app in `public/` (plain ES modules, no build
 * step), served by the API's express app under `/ui`. The app talks only to `/api/v2` with the operator's
 * bearer token; this router serves static files and nothing else.
 *
 * Contract: every answer carries a strict Content-Security-Policy (no inline script or style, no other
 * origin: the page can load and connect to this server only) and `Cache-Control: no-cache` (browsers
 * revalidate, so a new anneal version's files are picked up at once). An unknown file falls through to
 * the app's 404 handler (ERR_NOT_FOUND).
 */
import path from 'node:path';
import express from 'express';

/** The policy every UI file is served with; `data:` images only for the inline favicon. */
export const UI_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'";

const publicDir = path.join(__dirname, 'public');

/** Serves `core/ui/public` (`index.html` for the directory itself); mount it at `/ui`. */
export function uiRouter(): express.Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.set({
      'content-security-policy': UI_CSP,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    next();
  });
  router.use(
    express.static(publicDir, {
      index: 'index.html',
      // express.static sets its own Cache-Control (max-age=0); keep ours.
      cacheControl: false,
      dotfiles: 'ignore',
      fallthrough: true,
      redirect: true,
    }),
  );
  return router;
}
