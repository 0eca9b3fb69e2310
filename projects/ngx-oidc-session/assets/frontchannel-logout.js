// ngx-oidc-session's front-channel logout page's script (OpenID Connect Front-Channel Logout 1.0),
// a file of its own so that a Content-Security-Policy of script-src 'self' lets it run.
// Register frontchannel-logout.html as the client's frontchannel_logout_uri, with
// frontchannel_logout_session_required. When the user signs out at the OP, the OP loads it in a
// hidden iframe with `iss` and `sid`; it passes those two values, and the origin of the page that
// framed it, to the app's tabs on this origin (BroadcastChannel), and each auth instance with
// withSessionMonitor() whose session has that issuer and sid, framed by that OP, ends it. It
// carries no token and runs no app code. Where the OP is on another site, the browser
// partitions this frame's channel from the app's tabs, and the message reaches none of them.
(function () {
  // Only the OP's logout page frames it: a page opened on its own does nothing.
  if (!window.parent || window.parent === window) return;
  const params = new URLSearchParams(window.location.search);
  const iss = params.get('iss');
  const sid = params.get('sid');
  if (!iss || !sid || typeof BroadcastChannel !== 'function') return;
  // The embedding page's origin: location.ancestorOrigins (Chromium, WebKit), else the referrer's
  // (Firefox). Where neither tells (the OP sends Referrer-Policy: no-referrer), nothing is posted:
  // the app could not tell the OP's logout from another site's page framing this one.
  let origin = null;
  if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) {
    origin = window.location.ancestorOrigins[0];
  } else if (document.referrer) {
    try {
      origin = new URL(document.referrer).origin;
    } catch {
      origin = null;
    }
  }
  if (!origin || origin === 'null') return;
  const channel = new BroadcastChannel('ngx-oidc-session:frontchannel-logout');
  channel.postMessage({ type: 'ngx-oidc-session:frontchannel-logout', iss: iss, sid: sid, origin: origin });
  channel.close();
})();
