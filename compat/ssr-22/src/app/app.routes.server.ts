import { RenderMode, ServerRoute } from '@angular/ssr';

// Pages are rendered per request by the Node server (no prerendering at build time), so the
// tests see what a server renders for a real request, cookies and all. The guarded route is
// the exception: the server cannot know the browser's session, so authGuard does not let it
// in there, and Angular answers a server render whose first navigation was refused with no
// page at all (Express then says 404). Client rendering sends the app's shell instead; the
// browser runs the guard.
export const serverRoutes: ServerRoute[] = [
  { path: 'protected', renderMode: RenderMode.Client },
  { path: '**', renderMode: RenderMode.Server },
];
